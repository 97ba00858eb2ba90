import NIOCore
import Testing

@testable import WebSocketTransport

/// `.binaries`: several binary messages in one write — the relay's read burst — give exactly the frames of writing
/// each as `.binary`, coalesced the same way, and keep the streaming rule.
@Suite struct CodecBinariesTests {
    private static func buffers(_ payloads: [[UInt8]]) -> [ByteBuffer] {
        payloads.map { ByteBuffer(bytes: $0) }
    }

    /// Sizes on both sides of the coalescing limit (100 here), an empty message, and 16-bit lengths.
    static let payloads: [[UInt8]] = [
        [1], [], [UInt8](repeating: 2, count: 100), [UInt8](repeating: 3, count: 101), [4, 4], [UInt8](repeating: 5, count: 300),
    ]

    @Test(arguments: [WebSocketMessageCodec.Role.server, .client])
    func sameBytesAsOneWritePerMessage(role: WebSocketMessageCodec.Role) throws {
        let batched = try CodecHarness(.init(role: role, coalescingLimit: 100))
        defer { batched.finish() }
        let outcome = batched.write(.binaries(Self.buffers(Self.payloads)))
        batched.flush()
        let frames = try ServerFrame.parseAll(batched.outboundBuffers().flatMap { Array($0.readableBytesView) })
        #expect(frames.map(\.payload) == Self.payloads)
        #expect(frames.allSatisfy { $0.fin && $0.opcode == 0x2 && $0.masked == (role == .client) })
        #expect(outcome.succeeded)

        if role == .server {
            // Unmasked, the socket writes are the same too: coalesced up to the limit, the large payloads as given.
            let single = try CodecHarness(.init(role: role, coalescingLimit: 100))
            defer { single.finish() }
            for payload in Self.payloads { single.write(payload) }
            single.flush()
            let batchedAgain = try CodecHarness(.init(role: role, coalescingLimit: 100))
            defer { batchedAgain.finish() }
            batchedAgain.write(.binaries(Self.buffers(Self.payloads)))
            batchedAgain.flush()
            #expect(
                try batchedAgain.outboundBuffers().map { Array($0.readableBytesView) }
                    == single.outboundBuffers().map { Array($0.readableBytesView) })
        }
    }

    @Test func aBurstOfSmallMessagesIsOneSocketWrite() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let payloads = (0..<50).map { [UInt8](repeating: UInt8($0), count: 64) }
        let outcome = harness.write(.binaries(Self.buffers(payloads)))
        #expect(try harness.outboundBuffers().isEmpty, "nothing before the flush")
        #expect(outcome.isPending)
        harness.flush()
        let buffers = try harness.outboundBuffers()
        #expect(buffers.count == 1)
        #expect(try ServerFrame.parseAll(buffers.flatMap { Array($0.readableBytesView) }).map(\.payload) == payloads)
        #expect(outcome.succeeded)
    }

    @Test func heldWhileAStreamedMessageIsIncompleteThenFollowItInOrder() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.write(.beginBinary(totalLength: 10, firstPart: ByteBuffer(bytes: [0, 0, 0, 0])))
        let held = harness.write(.binaries(Self.buffers([[1], [2, 2]])))
        harness.flush()
        #expect(held.isPending, "no frame inside the streamed one")
        harness.write(.continueBinary(ByteBuffer(bytes: [UInt8](repeating: 0, count: 6))))
        harness.flush()
        #expect(try harness.outboundFrames().map(\.payload) == [[UInt8](repeating: 0, count: 10), [1], [2, 2]])
        #expect(held.succeeded)
    }

    @Test func noMessagesWriteNothing() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let outcome = harness.write(.binaries([]))
        harness.flush()
        #expect(try harness.outboundBuffers().isEmpty)
        #expect(outcome.succeeded)
    }

    @Test func refusedAfterTheCloseRequest() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.write(.close(.normalClosure, reason: ""))
        let outcome = harness.write(.binaries(Self.buffers([[1]])))
        #expect(outcome.failed)
    }
}
