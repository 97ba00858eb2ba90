import MQTTWire
import NIOCore
import Testing

@Suite struct FixedHeaderTests {
    @Test func parsesWithoutMovingTheReaderIndex() throws {
        let buffer = hex("32 CB 01") + ByteBuffer(repeating: 0, count: 203)
        let header = try #require(try MQTTFixedHeader.peek(in: buffer, maximumPacketSize: 1_000))
        #expect(header.type == .publish)
        #expect(header.flags == 0x2)
        #expect(header.remainingLength == 203)
        #expect(header.headerLength == 3)
        #expect(header.packetLength == 206)
        #expect(buffer.readerIndex == 0)
    }

    @Test func zeroLengthBodies() throws {
        for (encoding, type) in [("C0 00", MQTTPacketType.pingreq), ("D0 00", .pingresp), ("E0 00", .disconnect)] {
            let header = try #require(try MQTTFixedHeader.peek(in: hex(encoding), maximumPacketSize: 2))
            #expect(header.type == type)
            #expect(header.packetLength == 2)
        }
    }

    @Test func incompleteHeaderIsNil() throws {
        #expect(try MQTTFixedHeader.peek(in: ByteBuffer(), maximumPacketSize: 100) == nil)
        #expect(try MQTTFixedHeader.peek(in: hex("30"), maximumPacketSize: 100) == nil)
        #expect(try MQTTFixedHeader.peek(in: hex("30 80"), maximumPacketSize: 1 << 30) == nil)
        #expect(try MQTTFixedHeader.peek(in: hex("30 FF FF FF"), maximumPacketSize: 1 << 30) == nil)
    }

    @Test func exactlyTheMaximumIsAcceptedAndOneMoreIsNot() throws {
        // Remaining length 98 + 2 header bytes = 100.
        let atLimit = try MQTTFixedHeader.peek(in: hex("30 62"), maximumPacketSize: 100)
        #expect(atLimit?.packetLength == 100)
        expectWireError(.packetTooLarge, "packet of 101 bytes exceeds the limit of 100") {
            _ = try MQTTFixedHeader.peek(in: hex("30 63"), maximumPacketSize: 100)
        }
        // Across the header-length boundary: 127 + 2 = 129, 128 + 3 = 131.
        #expect(try MQTTFixedHeader.peek(in: hex("30 7F"), maximumPacketSize: 129)?.packetLength == 129)
        expectWireError(.packetTooLarge) {
            _ = try MQTTFixedHeader.peek(in: hex("30 80 01"), maximumPacketSize: 130)
        }
        #expect(try MQTTFixedHeader.peek(in: hex("30 80 01"), maximumPacketSize: 131)?.packetLength == 131)
    }

    @Test func theLimitIsCheckedAsSoonAsTheLengthIsKnown() {
        // Only the header has arrived; the 2 MiB body never needs to.
        expectWireError(.packetTooLarge, "packet of 2097157 bytes exceeds the limit of 1048576") {
            _ = try MQTTFixedHeader.peek(in: hex("30 80 80 80 01"), maximumPacketSize: 1 << 20)
        }
    }

    @Test func malformedLengthsThrow() {
        expectWireError(.variableByteIntegerTooLong) {
            _ = try MQTTFixedHeader.peek(in: hex("30 FF FF FF FF 7F"), maximumPacketSize: .max)
        }
        expectWireError(.overlongVariableByteInteger) {
            _ = try MQTTFixedHeader.peek(in: hex("C0 80 00"), maximumPacketSize: .max)
        }
    }

    @Test func validatesFlagsPerType() throws {
        func header(_ firstByte: UInt8) -> MQTTFixedHeader {
            MQTTFixedHeader(firstByte: firstByte, remainingLength: 0, headerLength: 2)
        }
        for valid: UInt8 in [
            0x10, 0x20, 0x30, 0x31, 0x32, 0x3B, 0x3D, 0x40, 0x50, 0x62, 0x70, 0x82, 0x90, 0xA2, 0xB0, 0xC0, 0xD0, 0xE0,
            0xF0,
        ] {
            #expect(throws: Never.self) { try header(valid).validateFlags() }
        }
        for invalid: UInt8 in [0x00, 0x0F, 0x11, 0x36, 0x37, 0x38, 0x60, 0x80, 0xA0, 0xC1, 0xE2] {
            expectWireError(.malformedPacket) { try header(invalid).validateFlags() }
        }
    }

    @Test func packetTypeNamesAreLowercaseLabels() {
        #expect(MQTTPacketType.allCases.count == 16)
        #expect(MQTTPacketType.pingreq.description == "pingreq")
        #expect(MQTTPacketType.unsuback.description == "unsuback")
        for type in MQTTPacketType.allCases {
            #expect(MQTTPacketType(firstByte: type.rawValue << 4 | 0x0F) == type)
            #expect(type.description == type.description.lowercased())
        }
    }

    @Test func versionDescriptions() {
        #expect(MQTTProtocolVersion.v3_1.description == "3.1")
        #expect(MQTTProtocolVersion.v3_1_1.description == "3.1.1")
        #expect(MQTTProtocolVersion.v5.description == "5.0")
    }
}

extension ByteBuffer {
    static func + (lhs: ByteBuffer, rhs: ByteBuffer) -> ByteBuffer {
        var result = lhs
        var rhs = rhs
        result.writeBuffer(&rhs)
        return result
    }
}
