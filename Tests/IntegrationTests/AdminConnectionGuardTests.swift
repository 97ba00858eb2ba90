import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import BridgeAdmin

/// `AdminConnectionGuard` on an EmbeddedChannel with a controlled clock, behind a "socket" whose writes complete only
/// when the test says so (a client that does or does not read).
@Suite("Admin listener: the connection guard")
struct AdminConnectionGuardTests {
    static let limits = AdminConnectionGuard.Limits(
        idleTimeout: .seconds(30), writeTimeout: .seconds(10), maxPipelinedRequests: 4)

    /// Holds every write's promise until `complete()`: the socket's send buffer, full until the client reads.
    final class StalledSocket: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = HTTPServerResponsePart
        var held: [EventLoopPromise<Void>] = []

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if let promise { held.append(promise) }
        }

        /// The client read: the oldest write reaches the socket.
        func completeOne() {
            if !held.isEmpty { held.removeFirst().succeed() }
        }
    }

    func makeChannel() throws -> (EmbeddedChannel, StalledSocket) {
        let socket = StalledSocket()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(socket)
        try channel.pipeline.syncOperations.addHandler(AdminConnectionGuard(limits: Self.limits, logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return (channel, socket)
    }

    func request(_ channel: EmbeddedChannel) throws {
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/metrics")))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
    }

    func answer(_ channel: EmbeddedChannel) {
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "x"))), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
    }

    @Test("a client that stops reading is closed once a write has waited admin.write_timeout")
    func stalledWrite() throws {
        let (channel, _) = try makeChannel()
        try request(channel)
        answer(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test("a client that reads slowly but steadily is not: each completed write restarts the clock")
    func slowReader() throws {
        let (channel, socket) = try makeChannel()
        try request(channel)
        answer(channel)
        for _ in 0..<3 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(8))
            socket.completeOne()
        }
        #expect(channel.isActive, "24 s for three writes, none waiting 10 s")
        // All written: the idle clock (30 s) is the one that runs now.
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test("more pipelined requests than the cap waiting for answers close the connection at once")
    func pipeliningCap() throws {
        let (channel, _) = try makeChannel()
        for _ in 0..<4 { try request(channel) }
        #expect(channel.isActive)
        try request(channel)
        #expect(!channel.isActive)
        // Only what the guard let through reached the server.
        var passed = 0
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
            if case .end = part { passed += 1 }
        }
        #expect(passed == 4)
    }

    @Test("answered requests do not count: a client that reads may send any number, one after another")
    func answeredRequests() throws {
        let (channel, socket) = try makeChannel()
        for _ in 0..<20 {
            try request(channel)
            answer(channel)
            for _ in 0..<3 { socket.completeOne() }
        }
        #expect(channel.isActive)
    }

    @Test("no clock while a request is being answered (a publish waiting for the broker), the idle clock otherwise")
    func answering() throws {
        let (channel, _) = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        try request(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(300))
        #expect(channel.isActive)
        try channel.close().wait()
    }

    @Test("a connection that sends nothing is closed after admin.idle_timeout")
    func idle() throws {
        let (channel, _) = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(!channel.isActive)
    }
}
