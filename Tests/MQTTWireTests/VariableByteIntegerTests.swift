import MQTTWire
import NIOCore
import Testing

@Suite struct VariableByteIntegerTests {
    /// The boundaries of MQTT 3.1.1 §2.2.3 / 5.0 §1.5.5, with their encodings written out by hand.
    static let vectors: [(value: Int, encoding: String)] = [
        (0, "00"),
        (1, "01"),
        (127, "7F"),
        (128, "80 01"),
        (16_383, "FF 7F"),
        (16_384, "80 80 01"),
        (2_097_151, "FF FF 7F"),
        (2_097_152, "80 80 80 01"),
        (268_435_455, "FF FF FF 7F"),
    ]

    @Test(arguments: vectors)
    func encodesKnownVectors(value: Int, encoding: String) {
        var buffer = ByteBuffer()
        let written = MQTTVariableByteInteger.write(value, to: &buffer)
        #expect(bytes(of: buffer) == hexBytes(encoding))
        #expect(written == hexBytes(encoding).count)
        #expect(MQTTVariableByteInteger.encodedLength(of: value) == written)
    }

    @Test(arguments: vectors)
    func decodesKnownVectors(value: Int, encoding: String) throws {
        var buffer = hex(encoding + " AA")  // a following byte must not be consumed
        let peeked = try MQTTVariableByteInteger.peek(in: buffer, at: buffer.readerIndex)
        #expect(peeked?.value == value)
        #expect(peeked?.length == hexBytes(encoding).count)
        #expect(try MQTTVariableByteInteger.read(from: &buffer) == value)
        #expect(bytes(of: buffer) == [0xAA])
    }

    @Test func roundTripsEveryLengthBoundaryNeighbourhood() throws {
        for boundary in [0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, 268_435_455] {
            for value in max(0, boundary - 2)...min(268_435_455, boundary + 2) {
                var buffer = ByteBuffer()
                MQTTVariableByteInteger.write(value, to: &buffer)
                #expect(try MQTTVariableByteInteger.read(from: &buffer) == value)
                #expect(buffer.readableBytes == 0)
            }
        }
    }

    @Test func peeksAtAnIndexWithoutMovingTheReader() throws {
        let buffer = hex("AA BB 80 01")
        let peeked = try MQTTVariableByteInteger.peek(in: buffer, at: 2)
        #expect(peeked?.value == 128)
        #expect(peeked?.length == 2)
        #expect(buffer.readerIndex == 0)
    }

    @Test(arguments: ["80 80 80 80 01", "FF FF FF FF 7F", "FF FF FF 80", "80 80 80 80"])
    func rejectsMoreThanFourBytes(encoding: String) {
        expectWireError(.variableByteIntegerTooLong) {
            var buffer = hex(encoding)
            _ = try MQTTVariableByteInteger.read(from: &buffer)
        }
    }

    @Test(arguments: ["80 00", "FF 80 00", "80 80 00", "80 80 80 00", "FF 00", "FF FF FF 00"])
    func rejectsOverlongEncodings(encoding: String) {
        expectWireError(.overlongVariableByteInteger) {
            var buffer = hex(encoding)
            _ = try MQTTVariableByteInteger.read(from: &buffer)
        }
    }

    @Test func acceptsMinimalMultiByteEncodingsEndingInSmallValues() throws {
        // 80 80 01 is 16384: the last byte is non-zero, so it is minimal even though the first two are 0x80.
        var buffer = hex("80 80 01")
        #expect(try MQTTVariableByteInteger.read(from: &buffer) == 16_384)
    }

    @Test(arguments: ["", "80", "FF FF", "FF FF FF", "80 80 80"])
    func incompleteLeavesTheReaderIndexAlone(encoding: String) throws {
        var buffer = hex("AA " + encoding)
        buffer.moveReaderIndex(forwardBy: 1)
        #expect(try MQTTVariableByteInteger.read(from: &buffer) == nil)
        #expect(buffer.readerIndex == 1)
        #expect(try MQTTVariableByteInteger.peek(in: buffer, at: 1) == nil)
    }
}
