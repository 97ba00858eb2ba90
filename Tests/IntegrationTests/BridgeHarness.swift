import BridgeAdmin
import BridgeConfig
import BridgeLogging
import BridgeRelay
import BridgeServer
import BridgeTLS
import BridgeTestSupport
import Foundation
import Logging
import MQTTWire
import NIOCore
import ServiceLifecycle

/// A real bridge (in this process) in front of a real Mosquitto (a child process), both on ephemeral
/// loopback ports, with a `wss` and a `ws` listener and the default routes.
///
/// Use `BridgeHarness.with { bridge in … }`: the bridge is drained and the broker stopped on both the
/// success and the error path.
///
/// With `admin: true` the admin listener runs too (loopback, ephemeral port, 200 ms readiness probe unless `configure`
/// says otherwise), in front of the bridge in the service group as in the executable, and the bridge's metrics go to
/// this harness's own Prometheus registry (`metricsExport`), never to a process-wide one.
struct BridgeHarness {
    let broker: MosquittoProcess
    let server: BridgeServer
    let group: ServiceGroup
    let runTask: Task<Void, any Error>
    let wssPort: Int
    let wsPort: Int
    let logs: LogSink
    let configuration: BridgeConfiguration
    /// Present with `admin: true`.
    let admin: AdminService?
    let adminPort: Int
    let metricsExport: MetricsExport?

    /// The development CA and server certificate, created once per test process.
    static let certificates: Result<DevelopmentCertificate.Paths, any Error> = Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mqtt-ws-bridge-test-certs-\(getpid())").path
        return try DevelopmentCertificate.ensure(in: directory)
    }

    static var tls: TestTLS {
        get throws { TestTLS(trustRootsPEMPath: try certificates.get().caCertificate, serverName: "localhost") }
    }

    /// Runs `body` against a fresh bridge and broker. `configure` adjusts the configuration (ports are
    /// set afterwards); `broker` reuses an existing broker (which is then not stopped).
    static func with<T>(
        configure: (inout BridgeConfiguration) -> Void = { _ in },
        broker existingBroker: MosquittoProcess? = nil,
        admin: Bool = false,
        eventInterval: Duration = .seconds(1),
        _ body: (BridgeHarness) async throws -> T
    ) async throws -> T {
        let broker: MosquittoProcess
        if let existingBroker {
            broker = existingBroker
        } else {
            broker = try await MosquittoProcess.start()
        }
        let harness: BridgeHarness
        do {
            harness = try await Self.start(broker: broker, admin: admin, eventInterval: eventInterval, configure: configure)
        } catch {
            if existingBroker == nil { await broker.stop() }
            throw error
        }
        do {
            let result = try await body(harness)
            await harness.stop(stopBroker: existingBroker == nil)
            return result
        } catch {
            await harness.stop(stopBroker: existingBroker == nil)
            throw error
        }
    }

    private static func start(
        broker: MosquittoProcess, admin withAdmin: Bool, eventInterval: Duration, configure: (inout BridgeConfiguration) -> Void
    ) async throws -> BridgeHarness {
        let certificates = try Self.certificates.get()
        var configuration = BridgeConfiguration()
        configuration.listeners = [
            ListenerConfiguration(name: "ws", address: "127.0.0.1", port: 0),
            ListenerConfiguration(
                name: "wss", address: "127.0.0.1", port: 0,
                tls: ListenerTLSConfiguration(certificatePath: certificates.certificate, keyPath: certificates.key)),
        ]
        configuration.upstream.host = broker.host
        configuration.upstream.port = broker.port
        configuration.shutdown.gracePeriod = .seconds(5)
        configuration.admin.address = "127.0.0.1"
        configuration.admin.port = 0
        configuration.admin.readiness.interval = .milliseconds(200)
        configuration.admin.readiness.timeout = .milliseconds(200)
        configure(&configuration)
        try configuration.validate()

        let logs = LogSink(collecting: true)
        let logger = Logger(label: "mqtt_ws_bridge") { StructuredLogHandler(label: $0, level: .debug, format: .text, sink: logs) }
        let accessLogger = Logger(label: "mqtt_ws_bridge.access") {
            StructuredLogHandler(label: $0, level: .info, format: .text, sink: logs)
        }
        let metricsExport = withAdmin ? MetricsExport() : nil
        let metrics = metricsExport.map { BridgeMetrics(routeNames: configuration.routes.map(\.name), factory: $0.factory) }
        let edgeAuthenticator = try await BridgeServer.makeEdgeAuthenticator(for: configuration, logger: logger)
        // As the executable wires it: with upstream.servers, the bridge health-checks each server with libmosquitto.
        let server = try BridgeServer(
            configuration: configuration, logger: logger, accessLogger: accessLogger, metrics: metrics,
            edgeAuthenticator: edgeAuthenticator, upstreamProbe: AdminService.upstreamHealthProbe(configuration))
        var admin: AdminService?
        if let metricsExport {
            let adminLogger = Logger(label: "mqtt_ws_bridge.admin") {
                StructuredLogHandler(label: $0, level: .debug, format: .text, sink: logs)
            }
            admin = try AdminService(
                settings: AdminSettings(configuration),
                bridgePhase: { BridgePhase(rawValue: server.phase.rawValue) ?? .stopped },
                metrics: metricsExport, sessions: server.sessions, refusals: metrics?.refusals, eventInterval: eventInterval,
                logger: adminLogger, upstreamPool: server.upstreamPool)
        }
        // The admin service first: the group stops services in reverse order, so it outlives the bridge's drain.
        let services: [any Service] = (admin.map { [$0] } ?? []) + [server]
        let group = ServiceGroup(services: services, logger: logger)
        let runTask = Task { try await group.run() }
        let listeners: [BridgeServer.BoundListener]
        var adminPort = 0
        do {
            listeners = try await server.listeners()
            if let admin {
                adminPort = try await admin.address().port ?? 0
            }
        } catch {
            runTask.cancel()
            throw error
        }
        return BridgeHarness(
            broker: broker, server: server, group: group, runTask: runTask,
            wssPort: listeners.first { $0.name == "wss" }?.port ?? 0,
            wsPort: listeners.first { $0.name == "ws" }?.port ?? 0,
            logs: logs, configuration: configuration,
            admin: admin, adminPort: adminPort, metricsExport: metricsExport)
    }

    /// Triggers the graceful shutdown (drain) and waits for the server to stop.
    func shutdown() async {
        await self.group.triggerGracefulShutdown()
        _ = try? await self.runTask.value
    }

    private func stop(stopBroker: Bool) async {
        await self.shutdown()
        if stopBroker { await self.broker.stop() }
    }

    /// Opens a WebSocket to the bridge: TLS unless `tls` is false; `subprotocols` nil sends no header (WeChat).
    func connect(
        path: String, subprotocols: [String]? = ["mqtt"], tls: Bool = true, extraHeaders: [(String, String)] = []
    ) async throws -> (response: HTTPHandshakeResponse, client: TestWebSocketClient?) {
        try await TestWebSocketClient.connect(
            host: "127.0.0.1", port: tls ? self.wssPort : self.wsPort, path: path, tls: tls ? try Self.tls : nil,
            subprotocols: subprotocols, extraHeaders: extraHeaders)
    }

    /// Opens a WebSocket that must upgrade, sends CONNECT and expects CONNACK accepted.
    func connectMQTT(
        path: String = "/wss", subprotocols: [String]? = nil, clientID: String, tls: Bool = true,
        version: MQTTTestVersion = .v3_1_1
    ) async throws -> TestWebSocketClient {
        let (response, client) = try await self.connect(path: path, subprotocols: subprotocols, tls: tls)
        guard response.status == 101, let client else {
            throw TestSupportError("expected 101, got \(response.status): \(response.body)")
        }
        try await client.sendBinary(MQTTTestPackets.connect(clientID: clientID, version: version.wire))
        let connack = try await client.receiveBinaryMessage()
        guard connack.first == 0x20, connack.count >= 4, connack[3] == 0 else {
            throw TestSupportError("expected CONNACK accepted, got \(connack)")
        }
        return client
    }

    /// A plain MQTT client talking to the broker directly (not through the bridge), CONNACK received.
    func directClient(clientID: String) async throws -> TestTCPClient {
        let client = try await TestTCPClient.connect(host: self.broker.host, port: self.broker.port)
        try await client.send(MQTTTestPackets.connect(clientID: clientID))
        let connack = try await client.receivePacket()
        guard connack == MQTTTestPackets.connackAccepted else { throw TestSupportError("direct CONNACK: \(connack)") }
        return client
    }

    /// Access-log lines (`session …`) written so far.
    var accessLines: [String] { self.logs.collected.filter { $0.contains("mqtt_ws_bridge.access: session") } }

    /// Waits until an access-log line containing all `fragments` appears.
    func waitForAccessLine(containing fragments: [String], timeout: Duration = .seconds(5)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = self.accessLines.first(where: { line in fragments.allSatisfy { line.contains($0) } }) { return line }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestSupportError("no access line with \(fragments); lines: \(self.accessLines)")
    }
}

/// MQTT versions for tests (mirrors MQTTWire's, so tests read naturally).
enum MQTTTestVersion {
    case v3_1_1, v5
}

extension MQTTTestVersion {
    var wire: MQTTProtocolVersion { self == .v5 ? .v5 : .v3_1_1 }
}
