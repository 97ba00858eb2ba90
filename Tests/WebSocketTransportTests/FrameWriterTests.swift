import NIOCore
import NIOEmbedded
import Testing

@testable import WebSocketTransport

/// The frame writer on its own: what it queues, in which buffers, and what it holds back while a message is streamed.
@Suite struct FrameWriterTests {
    let allocator = ByteBufferAllocator()

    static func writer(role: WebSocketRole = .server, coalescingLimit: Int = 100) -> WebSocketFrameWriter {
        WebSocketFrameWriter(role: role, coalescingLimit: coalescingLimit, compressor: nil)
    }

    /// Everything the writer has for the socket, as separate buffers.
    static func drain(_ writer: inout WebSocketFrameWriter) -> [[UInt8]] {
        var buffers: [[UInt8]] = []
        while let (bytes, _) = writer.nextWrite() { buffers.append(Array(bytes.readableBytesView)) }
        return buffers
    }

    @Test func smallMessagesAndControlFramesShareOneBuffer() throws {
        var writer = Self.writer()
        writer.writeMessage(ByteBuffer(bytes: [1]), kind: .binary, promise: nil, allocator: self.allocator)
        writer.appendControlFrame(.pong, payload: ByteBuffer(bytes: [2]), allocator: self.allocator)
        writer.writeMessage(ByteBuffer(bytes: [3]), kind: .text, promise: nil, allocator: self.allocator)
        let buffers = Self.drain(&writer)
        #expect(buffers.count == 1)
        #expect(try ServerFrame.parseAll(buffers.flatMap { $0 }).map(\.opcode) == [0x2, 0xA, 0x1])
        #expect(!writer.hasOutput)
    }

    @Test func aLargePayloadFollowsItsHeaderUncopied() throws {
        var writer = Self.writer()
        let large = ByteBuffer(repeating: 9, count: 101)
        writer.writeMessage(ByteBuffer(bytes: [1]), kind: .binary, promise: nil, allocator: self.allocator)
        writer.writeMessage(large, kind: .binary, promise: nil, allocator: self.allocator)
        writer.writeMessage(ByteBuffer(bytes: [2]), kind: .binary, promise: nil, allocator: self.allocator)
        let buffers = Self.drain(&writer)
        #expect(buffers.count == 3)
        #expect(buffers[1] == Array(large.readableBytesView))
        #expect(try ServerFrame.parseAll(buffers.flatMap { $0 }).map(\.payload.count) == [1, 101, 1])
    }

    @Test func theClientRoleMasksEveryFrameWithItsOwnKey() throws {
        var writer = Self.writer(role: .client)
        for _ in 0..<3 { writer.writeMessage(ByteBuffer(bytes: [0, 0, 0, 0]), kind: .binary, promise: nil, allocator: self.allocator) }
        let bytes = Self.drain(&writer).flatMap { $0 }
        let frames = try ServerFrame.parseAll(bytes)
        #expect(frames.allSatisfy { $0.masked && $0.payload == [0, 0, 0, 0] })
        // A zero payload masked is the key itself: three different keys.
        let wire = stride(from: 0, to: bytes.count, by: 10).map { Array(bytes[($0 + 6)..<($0 + 10)]) }
        #expect(Set(wire).count == 3)
    }

    @Test func writesDuringAStreamWaitForItsEnd() throws {
        var writer = Self.writer()
        try writer.beginStream(totalLength: 10, firstPart: ByteBuffer(bytes: [0, 1, 2]), promise: nil, allocator: self.allocator)
        writer.writeMessage(ByteBuffer(bytes: [0xAA]), kind: .binary, promise: nil, allocator: self.allocator)
        try writer.beginStream(totalLength: 2, firstPart: ByteBuffer(bytes: [0xB0]), promise: nil, allocator: self.allocator)
        writer.writeMessage(ByteBuffer(bytes: [0xCC]), kind: .binary, promise: nil, allocator: self.allocator)
        #expect(writer.isStreaming)
        let first = Self.drain(&writer).flatMap { $0 }
        #expect(first.count == 2 + 3, "only the streamed frame's start")

        #expect(try writer.continueStream(ByteBuffer(bytes: Array(3..<10)), promise: nil, allocator: self.allocator))
        #expect(writer.isStreaming, "the second stream, held until now, has begun")
        #expect(try writer.continueStream(ByteBuffer(bytes: [0xB1]), promise: nil, allocator: self.allocator))
        #expect(!writer.isStreaming)
        let frames = try ServerFrame.parseAll(first + Self.drain(&writer).flatMap { $0 })
        #expect(frames.map(\.payload) == [Array(0..<10), [0xAA], [0xB0, 0xB1], [0xCC]])
    }

    @Test func theStreamingContractIsChecked() {
        var writer = Self.writer()
        #expect(throws: WebSocketOutboundError.noStreamInProgress) {
            try writer.continueStream(ByteBuffer(bytes: [1]), promise: nil, allocator: self.allocator)
        }
        #expect(throws: WebSocketOutboundError.streamOverrun) {
            try writer.beginStream(totalLength: 1, firstPart: ByteBuffer(bytes: [1, 2]), promise: nil, allocator: self.allocator)
        }
        #expect(throws: Never.self) {
            try writer.beginStream(totalLength: 3, firstPart: ByteBuffer(bytes: [1]), promise: nil, allocator: self.allocator)
        }
        #expect(throws: WebSocketOutboundError.streamOverrun) {
            try writer.continueStream(ByteBuffer(bytes: [2, 3, 4]), promise: nil, allocator: self.allocator)
        }
        #expect(writer.isStreaming, "the refused part changed nothing")
    }

    @Test func aLongCloseReasonIsCutOnACharacterBoundary() throws {
        var writer = Self.writer()
        writer.appendCloseFrame(code: .goingAway, reason: "xy" + String(repeating: "é", count: 100), allocator: self.allocator)
        writer.appendCloseFrame(code: nil, reason: "ignored without a code", allocator: self.allocator)
        let frames = try ServerFrame.parseAll(Self.drain(&writer).flatMap { $0 })
        #expect(frames.first?.payload.count == 124, "2 + 2 + 60 × 2: the 123rd byte would split an é")
        #expect(frames.last?.payload == [])
    }

    @Test func promisesCompleteWithTheWriteThatCarriesTheirBytes() throws {
        let loop = EmbeddedEventLoop()
        var writer = Self.writer()
        let small = loop.makePromise(of: Void.self)
        let large = loop.makePromise(of: Void.self)
        let after = loop.makePromise(of: Void.self)
        writer.writeMessage(ByteBuffer(bytes: [1]), kind: .binary, promise: small, allocator: self.allocator)
        writer.writeMessage(ByteBuffer(repeating: 2, count: 200), kind: .binary, promise: large, allocator: self.allocator)
        writer.attach(after)
        var writes: [EventLoopPromise<Void>?] = []
        while let (_, promise) = writer.nextWrite() { writes.append(promise) }
        #expect(writes.count == 2)
        #expect(writes.first??.futureResult == small.futureResult, "the header buffer carries the small message")
        #expect(writes.last??.futureResult == large.futureResult)
        large.succeed()
        #expect(throws: Never.self) { try after.futureResult.wait() }
        small.succeed()
        let nothingQueued = loop.makePromise(of: Void.self)
        writer.attach(nothingQueued)
        #expect(throws: Never.self) { try nothingQueued.futureResult.wait() }
        try loop.syncShutdownGracefully()
    }

    @Test func failingDropsEverythingAndFailsEveryPromise() {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        var writer = Self.writer()
        let promises = (0..<3).map { _ in loop.makePromise(of: Void.self) }
        try? writer.beginStream(totalLength: 10, firstPart: ByteBuffer(bytes: [1]), promise: promises[0], allocator: self.allocator)
        writer.writeMessage(ByteBuffer(bytes: [2]), kind: .binary, promise: promises[1], allocator: self.allocator)
        writer.writeMessage(ByteBuffer(repeating: 3, count: 500), kind: .binary, promise: promises[2], allocator: self.allocator)
        writer.fail(ChannelError.ioOnClosedChannel)
        #expect(!writer.hasOutput && !writer.isStreaming)
        for promise in promises {
            #expect(throws: ChannelError.ioOnClosedChannel) { try promise.futureResult.wait() }
        }
    }
}
