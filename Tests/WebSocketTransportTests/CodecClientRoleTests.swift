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

    @Test func maskedServerFramesAreAProtocolError() throws {
        let harness = try CodecHarness(.init(role: .client))
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1, 2, 3]))
        let frames = try harness.outboundFrames()
        #expect(frames.last?.closeCode == 1002)
        #expect(frames.last?.masked == true, "even the client's close frame is masked")
    }
}
