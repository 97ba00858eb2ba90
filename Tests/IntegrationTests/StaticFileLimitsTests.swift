import BridgeConfig
import BridgeTestSupport
import Foundation
import NIOCore
import NIOEmbedded
import Testing

@testable import BridgeFrontEnd

/// `static_files` against readers that do not read (issue 12 §6): a send deadline, one chunk in flight per
/// connection, and a per-address cap on concurrent static requests.
@Suite("Static files: slow readers", .timeLimit(.minutes(2)))
struct StaticFileLimitsTests {
    /// A directory with one 15 MiB file.
    final class BigFile {
        let directory = FileManager.default.temporaryDirectory.path + "/static-big-" + UUID().uuidString
        static let size = 15 << 20

        init() throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(repeating: 0x41, count: Self.size).write(to: URL(fileURLWithPath: directory + "/big.bin"))
        }

        deinit {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    static let request = Array("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

    /// A client with a 4 KiB receive window that asks for the big file and reads nothing.
    static func stalledReader(port: Int) async throws -> TestTCPClient {
        let client = try await TestTCPClient.connect(host: "127.0.0.1", port: port, receiveBufferSize: 4096)
        try await client.pauseReading()
        try await client.send(request)
        return client
    }

    /// A client whose request was admitted (its response's status line arrived) and which then stops reading, so
    /// that the rest of the file waits on it and the request stays in flight.
    static func admittedStalledReader(port: Int) async throws -> TestTCPClient {
        let client = try await TestTCPClient.connect(host: "127.0.0.1", port: port, receiveBufferSize: 4096)
        try await client.send(request)
        let statusLine = try await client.receive(count: 12)
        guard statusLine == Array("HTTP/1.1 200".utf8) else {
            throw TestSupportError("expected HTTP/1.1 200, got \(String(decoding: statusLine, as: UTF8.self))")
        }
        try await client.pauseReading()
        return client
    }

    @Test("a reader that never reads is closed at static_files.send_timeout, not held open with the file")
    func sendDeadline() async throws {
        let site = try BigFile()
        try await BridgeHarness.with(configure: {
            $0.staticFiles = StaticFilesConfiguration(
                enabled: true, directory: site.directory, maxSize: 16 << 20, sendTimeout: .milliseconds(500))
        }) { bridge in
            let client = try await Self.stalledReader(port: bridge.wsPort)
            try await bridge.waitUntil { bridge.server.connectionCount == 1 }
            try await bridge.waitUntil(timeout: .seconds(10)) { bridge.server.connectionCount == 0 }
            withExtendedLifetime(client) {}
        }
    }

    @Test("static_files.max_requests_per_ip: the request over the cap from one address gets 429 while the others are sent")
    func perAddressCap() async throws {
        let site = try BigFile()
        try await BridgeHarness.with(configure: {
            $0.staticFiles = StaticFilesConfiguration(
                enabled: true, directory: site.directory, maxSize: 16 << 20, sendTimeout: .seconds(60), maxRequestsPerIP: 2)
        }) { bridge in
            // Each one's status line has arrived, so the bridge has admitted (counted) both before the third asks.
            let first = try await Self.admittedStalledReader(port: bridge.wsPort)
            let second = try await Self.admittedStalledReader(port: bridge.wsPort)
            let third = try await RawHTTP.send("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n", port: bridge.wsPort)
            #expect(third.status == 429)
            #expect(third.value("Retry-After") != nil)
            #expect(String(decoding: third.body, as: UTF8.self).contains("limit 2"))
            withExtendedLifetime((first, second)) {}
        }
    }

    /// Holds every write's promise until the test completes it: a socket whose client reads when told to.
    final class SlowSocket: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        var held: [(bytes: Int, promise: EventLoopPromise<Void>?)] = []
        var heldBytes: Int { held.reduce(0) { $0 + $1.bytes } }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            held.append((unwrapOutboundIn(data).readableBytes, promise))
        }

        func drainOne() {
            guard !held.isEmpty else { return }
            held.removeFirst().promise?.succeed()
        }
    }

    /// Gives the sender a context to write through, as the upgrade handler does.
    final class Answerer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var context: ChannelHandlerContext?
        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    }

    @Test("one chunk in flight: the next is written only once the previous reached the socket")
    func oneChunkInFlight() throws {
        let socket = SlowSocket()
        let answerer = Answerer()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(socket)
        try channel.pipeline.syncOperations.addHandler(answerer)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        let body = ByteBuffer(repeating: 0x41, count: 5 * StaticFileSender.chunkSize + 10)
        StaticFileSender.send(
            head: ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"), body: body, deadline: .seconds(30), context: try #require(answerer.context)
        )

        var written = 0
        while channel.isActive {
            #expect(socket.held.count <= 1 && socket.heldBytes <= StaticFileSender.chunkSize, "more than one chunk in flight")
            written += socket.held.first?.bytes ?? 0
            socket.drainOne()
        }
        #expect(written == 19 + body.readableBytes, "head and every byte of the file, then closed")
    }

    @Test("the deadline covers the whole answer: a client that reads too slowly is closed when it passes")
    func deadline() throws {
        let socket = SlowSocket()
        let answerer = Answerer()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(socket)
        try channel.pipeline.syncOperations.addHandler(answerer)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        StaticFileSender.send(
            head: ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"), body: ByteBuffer(repeating: 0, count: 1 << 20), deadline: .seconds(30),
            context: try #require(answerer.context))
        for _ in 0..<5 {
            channel.embeddedEventLoop.advanceTime(by: .seconds(5))
            socket.drainOne()
        }
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(!channel.isActive)
    }
}
