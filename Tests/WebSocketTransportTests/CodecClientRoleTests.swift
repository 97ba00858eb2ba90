import NIOCore
import Testing

@testable import WebSocketTransport

/// The client role, used towards a broker's WebSocket listener (RFC 6455 §5.1, §5.3).
@Suite struct CodecClientRoleTests {
    @Test func outboundFramesAreMaskedWithAFreshKeyEach() throws {
        let harness = try CodecHarness(.init(role: .client))
        defer { harness.finish() }
        let small = Array(0..<40).map { UInt8($0) }
        let large = (0..<(20 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        harness.write(small)
        harness.write(small)
        harness.write(large)
        harness.flush()
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.masked) == [true, true, true])
        #expect(frames.map(\.payload) == [small, small, large], "unmasking gives back the message")
        let wire = try harness.outboundBuffers().isEmpty
        #expect(wire, "everything was already read")
    }

    @Test func unmaskedServerFramesAreDelivered() throws {
        let harness = try CodecHarness(.init(role: .client))
        defer { harness.finish() }
        harness.feed(TestFrame.frame(opcode: 0x2, mask: nil, payload: [1, 2, 3]), TestFrame.frame(opcode: 0x2, mask: nil, payload: [4]))
        #expect(harness.recorder.delivered == [1, 2, 3, 4])
    }

    @Test func anUnmaskedPayloadIsDeliveredWithoutACopy() throws {
        let harness = try CodecHarness(.init(role: .client))
        defer { harness.finish() }
        var delivered: [ByteBuffer] = []
        harness.recorder.onRead = { _, buffer in delivered.append(buffer) }
        let input = ByteBuffer(bytes: TestFrame.frame(opcode: 0x2, mask: nil, payload: Array(repeating: 7, count: 200)))
        harness.read(buffer: input)
        harness.readComplete()
        let payload = try #require(delivered.first)
        #expect(Array(payload.readableBytesView) == Array(repeating: 7, count: 200))
        let inputStart = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let payloadStart = payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(payloadStart == inputStart + 4, "a slice of the read, after the 4-byte frame header")
    }

    @Test func maskedServerFramesAreAProtocolError() throws {
        let harness = try CodecHarness(.init(role: .client))
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1, 2, 3]))
        let frames = try harness.outboundFrames()
        #expect(frames.last?.closeCode == 1002)
        #expect(frames.last?.masked == true, "even the client's close frame is masked")
    }
}
