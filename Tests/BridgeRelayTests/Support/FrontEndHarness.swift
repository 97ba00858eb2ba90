import BridgeConfig
import BridgeFrontEnd
import BridgeRelay
import BridgeServer
import NIOCore
import NIOEmbedded
import Testing

/// A client connection as `BridgeServer` sets it up (`WebSocketFrontEnd.configureHandshake`), on an `EmbeddedChannel`:
/// the test writes raw request bytes and reads the raw response bytes.
final class FrontEndHarness {
    static let rfcKey = "dGhlIHNhbXBsZSBub25jZQ=="
    /// RFC 6455 §1.3: the accept value for `rfcKey`.
    static let rfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    let loop = EmbeddedEventLoop()
    private var finished = false
    let channel: EmbeddedChannel
    let connector: FakeUpstreamConnector
    /// With `countsReads`: the `read()` calls that reach the socket.
    let reads: ReadCounter?
    let metrics = RecordingMetricsFactory()
    let logs = LogStore()
    let maxRequestHeadSize: Int
    private var received: [UInt8] = []
    private var brokerBytes: [UInt8] = []

    init(
        routes: [RouteConfiguration] = RouteConfiguration.defaults,
        maxRequestHeadSize: Int = 1024,
        handshakeTimeout: Duration = .seconds(5),
        connectTimeout: Duration = .seconds(10),
        connector: FakeUpstreamConnector.Behaviour = .connect,
        remoteAddress: SocketAddress? = nil,
        dialsBeforeUpgrade: Bool = false,
        brokerAnswer: @escaping @Sendable ([String]?) -> String? = { $0?.first },
        countsReads: Bool = false
    ) throws {
        var configuration = BridgeConfiguration(routes: routes)
        configuration.timeouts = TimeoutConfiguration(
            handshake: handshakeTimeout, connectPacket: connectTimeout, closeHandshake: .seconds(3))
        configuration.limits = LimitsConfiguration(maxRequestHeadSize: maxRequestHeadSize)
        // Virtual time stands still here: every flush at once, as these tests expect (SessionCoalescingTests covers the window).
        configuration.upstream.coalesceWindow = .zero
        self.maxRequestHeadSize = maxRequestHeadSize
        self.connector = FakeUpstreamConnector(connector, dialsBeforeUpgrade: dialsBeforeUpgrade, answer: brokerAnswer)
        let frontEnd = WebSocketFrontEnd(
            settings: FrontEndSettings(configuration),
            upstream: self.connector.relayUpstream,
            metrics: BridgeMetrics(routeNames: routes.map(\.name), factory: self.metrics),
            logger: self.logs.logger(label: "bridge"),
            accessLogger: self.logs.logger(label: "access")
        )
        self.channel = EmbeddedChannel(loop: self.loop)
        let address = try remoteAddress ?? SocketAddress(ipAddress: "198.51.100.4", port: 40000)
        self.reads = countsReads ? ReadCounter() : nil
        if let reads = self.reads { try self.channel.pipeline.syncOperations.addHandler(reads) }
        try frontEnd.configureHandshake(on: self.channel.pipeline.syncOperations, listener: ListenerSettings(name: "wss"))
        self.channel.connect(to: address, promise: nil)
    }

    /// Bytes from the client in one read burst; then the loop runs its queued tasks, as a real event loop does
    /// between reads (NIO removes `ByteToMessageHandler` in such a task).
    func send(_ bytes: [UInt8]) throws {
        try self.channel.writeInbound(ByteBuffer(bytes: bytes))
        self.loop.run()
    }

    func send(_ text: String) throws {
        try self.send(Array(text.utf8))
    }

    /// Sends `bytes` one read burst per chunk; stops early once the connection is closed.
    func send(_ bytes: [UInt8], chunkSizes: [Int]) throws {
        for chunk in chunks(of: bytes, sizes: chunkSizes) where self.channel.isActive {
            try self.send(chunk)
        }
    }

    var isOpen: Bool { self.channel.isActive }

    /// Every byte the server wrote so far.
    func output() throws -> [UInt8] {
        while let buffer = try self.channel.readOutbound(as: ByteBuffer.self) {
            self.received += bytes(of: buffer)
        }
        return self.received
    }

    /// Bytes the session wrote to its broker connection, accumulated over the whole test.
    func bytesToBroker() throws -> [UInt8] {
        if let upstream = self.connector.upstream {
            while let buffer = try upstream.channel.readOutbound(as: ByteBuffer.self) {
                self.brokerBytes += bytes(of: buffer)
            }
        }
        return self.brokerBytes
    }

    /// The HTTP response the server wrote, split into its parts; nil if no complete head was written.
    func response() throws -> RawHTTPResponse? {
        RawHTTPResponse(parsing: try self.output())
    }

    /// The handler type names in pipeline order, read from the pipeline's debug description.
    var handlerTypeNames: [String] {
        let lines = self.channel.pipeline.debugDescription.split(separator: "\n").dropFirst(2)
        // An outbound-only handler's line starts with the arrows.
        return lines.compactMap { line in line.split(separator: " ").first { $0 != "↓↑" }.map(String.init) }.filter { $0 != "ReadCounter" }
    }

    func advance(by amount: TimeAmount) {
        self.loop.advanceTime(by: amount)
    }

    func finish() {
        guard !self.finished else { return }
        self.finished = true
        self.connector.closeAll()
        self.channel.close(promise: nil)
        self.loop.run()
        do {
            try self.loop.syncShutdownGracefully()
        } catch {
            Issue.record("loop shutdown: \(error)")
        }
    }
}

/// A response as bytes on the wire: status line, header lines (in order, as written), body, and what followed.
struct RawHTTPResponse {
    var statusLine: String
    var headerLines: [String]
    var body: String
    /// Bytes after the head (101) or after the `Content-Length` body (refusals).
    var trailing: [UInt8]

    init?(parsing bytes: [UInt8]) {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0...max(0, bytes.count - 4)).first(where: { bytes.count >= 4 && Array(bytes[$0..<$0 + 4]) == separator }) else {
            return nil
        }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        self.statusLine = lines.removeFirst()
        self.headerLines = lines
        var rest = Array(bytes[(end + 4)...])
        let length =
            lines.lazy.compactMap { line -> Int? in
                guard line.lowercased().hasPrefix("content-length:") else { return nil }
                return Int(line.dropFirst("content-length:".count).filter { $0 != " " && $0 != "\t" })
            }.first ?? 0
        let bodyLength = min(length, rest.count)
        self.body = String(decoding: rest[..<bodyLength], as: UTF8.self)
        rest.removeFirst(bodyLength)
        self.trailing = rest
    }

    var status: Int? { Int(self.statusLine.split(separator: " ").dropFirst().first ?? "") }

    /// The header lines as a set: the exact names, values and spelling, not their order.
    var headerSet: Set<String> { Set(self.headerLines) }
}
