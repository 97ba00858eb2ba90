import BridgeTestSupport
import MQTTWire
import NIOCore
import Testing

/// Bytes from a hex string; spaces and newlines are ignored ("10 0f 00 04").
func hex(_ string: String) -> ByteBuffer {
    ByteBuffer(bytes: hexBytes(string))
}

func hexBytes(_ string: String) -> [UInt8] {
    guard let bytes = ByteFormatting.bytes(fromHex: string) else { preconditionFailure("not hex: \(string)") }
    return bytes
}

/// A length-prefixed UTF-8 string field.
func str(_ string: String) -> [UInt8] {
    HandEncodedMQTT.string(string)
}

/// A length-prefixed binary field.
func bin(_ bytes: [UInt8]) -> [UInt8] {
    HandEncodedMQTT.binary(bytes)
}

/// A whole packet: first byte, remaining length (computed by hand, not by the code under test), body.
func packet(_ firstByte: UInt8, _ body: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: HandEncodedMQTT.packet(firstByte, body))
}

func bytes(of buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

/// Expects `body` to throw an `MQTTWireError` with `code` (and a description containing `reason`, if given).
func expectWireError(
    _ code: MQTTWireError.Code,
    _ reason: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    let error = #expect(throws: MQTTWireError.self, sourceLocation: sourceLocation) {
        try body()
    }
    guard let error else {
        return
    }
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    if let reason {
        #expect(error.description.contains(reason), "\(error.description)", sourceLocation: sourceLocation)
    }
}

typealias SeededGenerator = SeededRandom

/// Splits `stream` into chunks at the given offsets.
func chunks(of stream: [UInt8], splitAt offsets: [Int]) -> [ByteBuffer] {
    var result: [ByteBuffer] = []
    var start = 0
    for offset in offsets.sorted() + [stream.count] where offset >= start {
        result.append(ByteBuffer(bytes: stream[start..<offset]))
        start = offset
    }
    return result
}

/// A stream of varied packets: zero-length bodies, one- and two-byte remaining lengths, several types.
func sampleStream() -> (stream: [UInt8], packets: [[UInt8]]) {
    var packets: [[UInt8]] = []
    var buffer = ByteBuffer()
    MQTTPacket.writeConnect(version: .v3_1_1, clientID: "c1", username: "u", password: "p", to: &buffer)
    packets.append(bytes(of: buffer))
    packets.append([0x20, 0x02, 0x00, 0x00])  // CONNACK
    packets.append([0xC0, 0x00])  // PINGREQ
    buffer.clear()
    MQTTPacket.writePublish(
        topic: "a/b",
        payload: ByteBuffer(repeating: 0x5A, count: 300),
        qos: 1,
        packetID: 7,
        version: .v3_1_1,
        to: &buffer
    )
    packets.append(bytes(of: buffer))
    packets.append([0xD0, 0x00])  // PINGRESP
    buffer.clear()
    MQTTPacket.writePublish(topic: "t", payload: ByteBuffer(string: "x"), version: .v5, to: &buffer)
    packets.append(bytes(of: buffer))
    packets.append([0x40, 0x02, 0x00, 0x07])  // PUBACK
    buffer.clear()
    MQTTPacket.writePublish(
        topic: "big",
        payload: ByteBuffer(repeating: 0x01, count: 16_400),
        version: .v3_1_1,
        to: &buffer
    )
    packets.append(bytes(of: buffer))  // three length bytes
    packets.append([0xE0, 0x00])  // DISCONNECT
    return (packets.flatMap { $0 }, packets)
}
