import BridgeTestSupport
import NIOCore
import Testing
import WebSocketTransport

/// `WebSocketFrameHeader.read/write` against RFC 6455 §5.2, with inputs from the independent `TestFrame` encoder.
@Suite struct WebSocketFrameHeaderTests {
    static let boundaryLengths: [UInt64] = [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 32, (1 << 63) - 1]

    /// Reads a header from `bytes` placed after some already-consumed bytes, so that a reader that
    /// confuses absolute and relative indices fails.
    private func readHeader(_ bytes: [UInt8], consumedPrefix: Int = 3) throws(WebSocketProtocolError) -> (WebSocketFrameHeader?, ByteBuffer)
    {
        var buffer = ByteBuffer(bytes: [UInt8](repeating: 0xEE, count: consumedPrefix) + bytes)
        buffer.moveReaderIndex(forwardBy: consumedPrefix)
        let header = try WebSocketFrameHeader.read(from: &buffer)
        return (header, buffer)
    }

    private func readError(_ bytes: [UInt8]) -> WebSocketProtocolError? {
        do {
            _ = try readHeader(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: boundaryLengths, [nil, TestFrame.exampleKey])
    func readsEveryLengthFormMaskedAndUnmasked(length: UInt64, mask: [UInt8]?) throws {
        let bytes = TestFrame.header(opcode: 0x2, mask: mask, length: length)
        let expectedSize = 2 + (length < 126 ? 0 : length < 65536 ? 2 : 8) + (mask == nil ? 0 : 4)
        #expect(bytes.count == expectedSize)

        // Trailing payload bytes must stay unread.
        let (header, rest) = try readHeader(bytes + [1, 2, 3])
        let parsed = try #require(header)
        #expect(parsed.fin)
        #expect(parsed.reservedBits == 0)
        #expect(parsed.opcode == .binary)
        #expect(parsed.payloadLength == Int(length))
        #expect(parsed.maskingKey == mask.map { WebSocketMaskingKey($0[0], $0[1], $0[2], $0[3]) })
        #expect(parsed.encodedLength == expectedSize)
        #expect(WebSocketFrameHeader.encodedLength(payloadLength: Int(length), masked: mask != nil) == expectedSize)
        #expect(Array(rest.readableBytesView) == [1, 2, 3])
    }

    @Test(arguments: boundaryLengths, [nil, TestFrame.exampleKey])
    func writeMatchesTheIndependentEncoder(length: UInt64, mask: [UInt8]?) {
        let header = WebSocketFrameHeader(
            opcode: .binary,
            maskingKey: mask.map { WebSocketMaskingKey($0[0], $0[1], $0[2], $0[3]) },
            payloadLength: Int(length)
        )
        var buffer = ByteBuffer(bytes: [0xAA])  // written bytes are appended, not placed at 0
        let written = header.write(to: &buffer)
        let expected = TestFrame.header(opcode: 0x2, mask: mask, length: length)
        #expect(Array(buffer.readableBytesView) == [0xAA] + expected)
        #expect(written == expected.count)
        #expect(header.encodedLength == expected.count)
    }

    @Test(arguments: boundaryLengths, [nil, TestFrame.exampleKey])
    func everyIncompletePrefixReturnsNilAndLeavesTheBufferUntouched(length: UInt64, mask: [UInt8]?) throws {
        let bytes = TestFrame.header(opcode: 0x2, mask: mask, length: length)
        for cut in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: [0xEE, 0xEE] + bytes[..<cut])
            buffer.moveReaderIndex(forwardBy: 2)
            let before = buffer
            let header = try WebSocketFrameHeader.read(from: &buffer)
            #expect(header == nil, "prefix of \(cut) bytes")
            #expect(buffer.readerIndex == before.readerIndex && buffer.writerIndex == before.writerIndex, "prefix of \(cut) bytes")
            #expect(buffer == before)
        }
    }

    @Test(arguments: [
        (UInt64(0), TestFrame.LengthForm.forced16),
        (125, .forced16),
        (0, .forced64),
        (125, .forced64),
        (126, .forced64),
        (65535, .forced64),
    ])
    func nonMinimalLengthEncodingsAreRejected(length: UInt64, form: TestFrame.LengthForm) {
        for mask in [nil, TestFrame.exampleKey] {
            let error = readError(TestFrame.header(opcode: 0x2, mask: mask, length: length, lengthForm: form))
            #expect(error?.closeCode == .protocolError, "length \(length) as \(form)")
        }
    }

    @Test func smallestExtendedLengthsAreAccepted() throws {
        let sixteen = try #require(try readHeader(TestFrame.header(opcode: 0x2, mask: nil, length: 126, lengthForm: .forced16)).0)
        #expect(sixteen.payloadLength == 126)
        let sixtyFour = try #require(try readHeader(TestFrame.header(opcode: 0x2, mask: nil, length: 65536, lengthForm: .forced64)).0)
        #expect(sixtyFour.payloadLength == 65536)
    }

    @Test(arguments: [UInt64(1) << 63, UInt64.max, (UInt64(1) << 63) | 65536])
    func sixtyFourBitLengthWithTheMostSignificantBitSetIsRejected(length: UInt64) {
        let error = readError(TestFrame.header(opcode: 0x2, mask: TestFrame.exampleKey, length: length, lengthForm: .forced64))
        #expect(error?.closeCode == .protocolError)
    }

    @Test func reservedBitsOpcodesAndFinRoundTrip() throws {
        for rsv in UInt8(0)...7 {
            for opcode in UInt8(0)...15 {
                for fin in [false, true] {
                    let bytes = TestFrame.header(fin: fin, rsv: rsv, opcode: opcode, mask: [1, 2, 3, 4], length: 5)
                    let parsed = try #require(try readHeader(bytes).0)
                    #expect(parsed.fin == fin)
                    #expect(parsed.reservedBits == rsv)
                    #expect(parsed.opcode.rawValue == opcode)
                    #expect(parsed.payloadLength == 5)

                    var written = ByteBuffer()
                    parsed.write(to: &written)
                    #expect(Array(written.readableBytesView) == bytes, "rsv \(rsv) opcode \(opcode) fin \(fin)")
                }
            }
        }
    }

    @Test func readThenWriteRoundTripsRandomHeaders() throws {
        var random = SeededRandom(seed: 0x5EED_0001)
        for iteration in 0..<2000 {
            let lengthClass = Int.random(in: 0..<3, using: &random)
            let length: UInt64 =
                switch lengthClass {
                case 0: UInt64.random(in: 0...125, using: &random)
                case 1: UInt64.random(in: 126...65535, using: &random)
                default: UInt64.random(in: 65536...UInt64(Int.max), using: &random)
                }
            let mask: [UInt8]? = Bool.random(using: &random) ? random.key() : nil
            let bytes = TestFrame.header(
                fin: Bool.random(using: &random),
                rsv: UInt8.random(in: 0...7, using: &random),
                opcode: UInt8.random(in: 0...15, using: &random),
                mask: mask,
                length: length
            )
            let (header, rest) = try readHeader(bytes)
            let parsed = try #require(header, "iteration \(iteration)")
            #expect(rest.readableBytes == 0)
            var written = ByteBuffer()
            #expect(parsed.write(to: &written) == bytes.count)
            #expect(Array(written.readableBytesView) == bytes, "iteration \(iteration)")
        }
    }

    @Test func opcodeClassification() {
        for raw in UInt8(0)...15 {
            let opcode = WebSocketOpcode(rawValue: raw)
            #expect(opcode.isControl == (raw >= 8), "opcode \(raw)")
            #expect(opcode.isKnown == [0, 1, 2, 8, 9, 10].contains(raw), "opcode \(raw)")
        }
        // Only the low four bits are an opcode.
        #expect(WebSocketOpcode(rawValue: 0x12) == .binary)
    }

    @Test func closeCodesAllowedOnTheWire() {
        // RFC 6455 §7.4.1/§7.4.2 and the IANA registry: 1004–1006 and 1015 are reserved, 1016–2999
        // unassigned (and Autobahn 7.9.x expects them refused), 3000–4999 for applications.
        var allowed: Set<UInt16> = [1000, 1001, 1002, 1003]
        allowed.formUnion(1007...1014)
        allowed.formUnion(3000...4999)
        for raw in UInt16(0)...UInt16.max {
            let code = WebSocketCloseCode(rawValue: raw)
            if code.isValidOnTheWire != allowed.contains(raw) {
                Issue.record("close code \(raw): isValidOnTheWire = \(code.isValidOnTheWire)")
            }
        }
    }
}
