import EdgeAuth
import Foundation
import Logging
import NIOCore
import NIOEmbedded
import SessionRegistry
import Testing
import WebSocketTransport

@testable import BridgeRelay

/// One relayed session on an `EmbeddedEventLoop`: a client channel with `ReadCounter`, `WebSocketMessageCodec` and
/// `ClientSessionHandler`, a `FakeUpstreamConnector` for the broker side, and recorders for metrics and logs.
///
/// Everything runs on the test's thread; time moves only with `advance(by:)`. Call `finish()` at the end: it closes
/// both sides and shuts the loop down, which `EmbeddedChannel`/`EmbeddedEventLoop` insist on.
///
/// With `upgradeOffer` the broker behaves as the `ws` kind: the session dials it before the 101, and the codec and the
/// session join the pipeline only once the answer is a 101 (`upgradeAnswer`), as the front end does it.
final class SessionHarness {
    static let route = "miniprogram"
    static let clientAddress = "203.0.113.7:51234"

    let loop = EmbeddedEventLoop()
    private var finished = false
    let client: EmbeddedChannel
    let clientReads = ReadCounter()
    let connector: FakeUpstreamConnector
    let metrics = RecordingMetricsFactory()
    let logs = LogStore()
    let settings: SessionSettings
    /// The session under test (for the calls the admin API makes on its event loop).
    let session: ClientSessionHandler
    /// With `upgradeOffer`: the session's answer, once given.
    private(set) var upgradeAnswer: UpgradeAnswer?
    private var parser = ServerFrameParser()
    private var upstreamOffsets: [Int: Int] = [:]

    init(
        _ behaviour: FakeUpstreamConnector.Behaviour = .connect,
        emulateHalfClose: Bool = false,
        settings: SessionSettings = SessionSettings(
            maximumPacketSize: 4096, connectPacketTimeout: .seconds(10), upstreamReadyTimeout: .seconds(5)),
        subprotocol: String? = nil,
        codec: WebSocketMessageCodec.Configuration = .init(closeTimeout: .seconds(3)),
        upgradeOffer: SubprotocolOffer? = nil,
        brokerAnswer: @escaping @Sendable ([String]?) -> String? = { $0?.first },
        servers: (any UpstreamServerSelector)? = nil,
        refusing: Set<UpstreamServer> = [],
        dialGates: UpstreamDialGates = .unlimited,
        registry: SessionRegistry? = nil,
        edgeAuth: (auth: RouteEdgeAuth, upgrade: UpgradeAuthOutcome, now: @Sendable () -> Date)? = nil
    ) throws {
        self.connector = FakeUpstreamConnector(
            behaviour, emulateHalfClose: emulateHalfClose, dialsBeforeUpgrade: upgradeOffer != nil, answer: brokerAnswer,
            refusing: refusing)
        self.settings = settings
        self.client = EmbeddedChannel(loop: self.loop)
        let connector = self.connector
        let metrics = BridgeMetrics(routeNames: [Self.route, "browser"], factory: self.metrics)
        let session = ClientSessionHandler(
            descriptor: SessionDescriptor(clientAddress: Self.clientAddress, listener: "wss", route: Self.route, subprotocol: subprotocol),
            settings: settings,
            upstream: BridgeRelay.Upstream(
                connector: connector, servers: servers ?? SingleUpstreamServer(FakeUpstreamConnector.server), dialGates: dialGates),
            metrics: metrics,
            logger: self.logs.logger(label: "relay"),
            accessLogger: self.logs.logger(label: "access"),
            registry: registry
        )
        self.session = session
        let pipeline = self.client.pipeline.syncOperations
        try pipeline.addHandler(self.clientReads)
        self.client.connect(to: try SocketAddress(ipAddress: "203.0.113.7", port: 51234), promise: nil)
        guard let upgradeOffer else {
            try pipeline.addHandler(WebSocketMessageCodec(configuration: codec))
            if let edgeAuth {
                try pipeline.addHandler(
                    ConnectAuthHandler(
                        auth: edgeAuth.auth, upgrade: edgeAuth.upgrade, clientAddress: Self.clientAddress,
                        maximumPacketSize: settings.maximumPacketSize, metrics: metrics.route(Self.route), now: edgeAuth.now))
            }
            try pipeline.addHandler(session)
            return
        }
        let client = self.client
        session.answerUpgrade(upgradeOffer, client: client).assumeIsolated().whenSuccess { answer in
            self.upgradeAnswer = answer
            guard case .switchProtocols = answer else { return }
            do {
                try client.pipeline.syncOperations.addHandler(WebSocketMessageCodec(configuration: codec))
                try client.pipeline.syncOperations.addHandler(session)
            } catch {
                Issue.record("pipeline: \(error)")
            }
        }
    }

    // MARK: Client side

    /// The client sends these frames in one TCP segment (one read burst).
    func send(_ frames: ClientFrame...) throws {
        try self.sendBytes(encode(frames))
    }

    /// Raw bytes from the client in one read burst.
    func sendBytes(_ bytes: [UInt8]) throws {
        try self.client.writeInbound(ByteBuffer(bytes: bytes))
    }

    /// The client's bytes, one read burst per chunk.
    func sendBytes(_ bytes: [UInt8], chunkSizes: [Int]) throws {
        for chunk in chunks(of: bytes, sizes: chunkSizes) {
            try self.sendBytes(chunk)
        }
    }

    /// Frames the bridge sent to the client since the last call.
    func framesToClient() throws -> [ServerFrame] {
        var frames: [ServerFrame] = []
        while let buffer = try self.client.readOutbound(as: ByteBuffer.self) {
            frames += self.parser.feed(bytes(of: buffer))
        }
        #expect(self.parser.violation == nil, "server frame rule broken: \(self.parser.violation ?? "")")
        return frames
    }

    /// The bytes the bridge wrote to the client since the last call, unparsed: for frames still being sent.
    /// Use either this or `framesToClient()` in one test, as this bypasses the frame parser.
    func rawBytesToClient() throws -> [UInt8] {
        var out: [UInt8] = []
        while let buffer = try self.client.readOutbound(as: ByteBuffer.self) {
            out += bytes(of: buffer)
        }
        return out
    }

    /// True while the client's connection is open.
    var clientIsOpen: Bool { self.client.isActive }

    // MARK: Broker side

    var upstream: FakeUpstreamConnector.Upstream? { self.connector.upstream }

    /// Bytes the bridge wrote (and flushed) to broker connection `index` since the last call.
    func bytesToBroker(_ index: Int = 0) throws -> [UInt8] {
        let upstreams = self.connector.upstreams
        guard index < upstreams.count else { return [] }
        var out: [UInt8] = []
        while let buffer = try upstreams[index].channel.readOutbound(as: ByteBuffer.self) {
            out += bytes(of: buffer)
        }
        return out
    }

    /// The broker sends bytes (one read burst per chunk).
    func brokerSends(_ bytes: [UInt8], chunkSizes: [Int]? = nil) throws {
        guard let upstream = self.upstream else {
            Issue.record("no broker connection")
            return
        }
        for chunk in chunks(of: bytes, sizes: chunkSizes ?? [max(bytes.count, 1)]) {
            try upstream.channel.writeInbound(ByteBuffer(bytes: chunk))
        }
    }

    /// The broker closes its side (EOF).
    func brokerCloses() {
        self.upstream?.channel.close(promise: nil)
    }

    var upstreamIsOpen: Bool { self.upstream?.channel.isActive ?? false }

    /// How the bridge closed the broker connection so far (`.output`: orderly, after the pending bytes).
    var upstreamCloseModes: [CloseMode] { self.upstream?.closes.modes ?? [] }

    // MARK: Common sequences

    /// CONNECT (3.1.1 by default) sent and, with the default `.connect` connector, relayed.
    func connect(level: UInt8 = 4) throws {
        try self.send(.binary(MQTTSample.connect(level: level)))
    }

    // MARK: Time and tear-down

    func advance(by amount: TimeAmount) {
        self.loop.advanceTime(by: amount)
    }

    /// Closes whatever is still open and shuts the loop down (also fails the left-over scheduled tasks).
    func finish() {
        guard !self.finished else { return }
        self.finished = true
        self.connector.closeAll()
        self.client.close(promise: nil)
        self.loop.run()
        do {
            try self.loop.syncShutdownGracefully()
        } catch {
            Issue.record("loop shutdown: \(error)")
        }
    }

    /// The single access-log line, if exactly one was written.
    var accessLine: LogStore.Entry? {
        let lines = self.logs.entries(label: "access")
        #expect(lines.count <= 1, "more than one access-log line: \(lines)")
        return lines.first
    }
}
