import BridgeConfig
import BridgeServer
import BridgeTLS
import BridgeTestSupport
import CoreMetrics
import Foundation
import MQTTWire
import NIOConcurrencyHelpers
import NIOSSL

/// A private development CA in a temporary directory, leaf certificates issued from it on demand, and the "live"
/// files a bridge is configured with, which tests replace the way renewal tools do (write aside, rename over).
final class CertificateFixture: Sendable {
    struct Issued: Sendable {
        var certificate: String
        var key: String
        /// Upper-case hex, as the bridge and `TestWebSocketClient.peerCertificateSerial` report it.
        var serial: String
        /// Seconds since 1970, as BoringSSL reads it from the certificate.
        var notValidAfter: Double
    }

    let directory: String
    /// The CA to trust.
    let caCertificate: String
    /// The certificate and key paths the bridge is configured with (`install` replaces their contents).
    let liveCertificate: String
    let liveKey: String

    init() throws {
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("bridge-cert-tests-\(UUID().uuidString)").path
        self.caCertificate = try DevelopmentCertificate.ensure(in: self.directory).caCertificate
        self.liveCertificate = self.directory + "/live.crt"
        self.liveKey = self.directory + "/live.key"
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// A new leaf (new key, new serial) for `names`, by default for the loopback names tests connect with.
    func issue(
        _ fileName: String, names: [String] = ["localhost", "127.0.0.1"],
        notValidBefore: Date = Date().addingTimeInterval(-3_600), notValidAfter: Date = Date().addingTimeInterval(90 * 86_400)
    ) throws -> Issued {
        let paths = try DevelopmentCertificate.issueCertificate(
            in: self.directory, fileName: fileName, names: names, notValidBefore: notValidBefore, notValidAfter: notValidAfter)
        let certificate = try NIOSSLCertificate.fromPEMFile(paths.certificate)[0]
        return Issued(
            certificate: paths.certificate, key: paths.key, serial: Self.hex(certificate.serialNumber),
            notValidAfter: Double(certificate.notValidAfter))
    }

    /// Copies `certificate` and `key` over the live files, each replaced atomically.
    func install(certificate: String? = nil, key: String? = nil) throws {
        if let certificate { try Self.replace(self.liveCertificate, with: certificate) }
        if let key { try Self.replace(self.liveKey, with: key) }
    }

    func install(_ issued: Issued) throws {
        try self.install(certificate: issued.certificate, key: issued.key)
    }

    /// Trusts only this fixture's CA; `serverName` is sent as SNI and checked against the certificate.
    func tls(serverName: String? = "localhost") -> TestTLS {
        TestTLS(trustRootsPEMPath: self.caCertificate, serverName: serverName)
    }

    /// The bridge's `wss` listener pointed at the live files (plus `sni` entries).
    func useLiveFiles(
        in configuration: inout BridgeConfiguration, reloadInterval: Duration = .zero, sni: [SNICertificateConfiguration] = []
    ) {
        configuration.listeners = configuration.listeners.map { listener in
            var listener = listener
            if listener.name == "wss" {
                listener.tls = ListenerTLSConfiguration(
                    certificatePath: self.liveCertificate, keyPath: self.liveKey, reloadInterval: reloadInterval, sni: sni)
            }
            return listener
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 0x10 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined()
    }

    private static func replace(_ path: String, with source: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Connections for certificate tests: they care which certificate the server presented.
enum CertificateProbe {
    /// Opens a WebSocket on the mini-program route, sends CONNECT and expects CONNACK accepted.
    static func session(port: Int, tls: TestTLS, clientID: String) async throws -> TestWebSocketClient {
        let (response, client) = try await TestWebSocketClient.connect(
            host: "127.0.0.1", port: port, path: "/wss", tls: tls, subprotocols: nil)
        guard response.status == 101, let client else {
            throw TestSupportError("expected 101, got \(response.status): \(response.body)")
        }
        try await client.sendBinary(MQTTTestPackets.connect(clientID: clientID))
        let connack = try await client.receiveBinaryMessage()
        guard connack == MQTTTestPackets.connackAccepted else { throw TestSupportError("expected CONNACK accepted, got \(connack)") }
        return client
    }

    /// The serial of the certificate the server presents to a client with `tls` (a WebSocket upgrade, then closed).
    static func servedSerial(port: Int, tls: TestTLS) async throws -> String? {
        let (response, client) = try await TestWebSocketClient.connect(
            host: "127.0.0.1", port: port, path: "/wss", tls: tls, subprotocols: nil)
        guard response.status == 101, let client else {
            throw TestSupportError("expected 101, got \(response.status): \(response.body)")
        }
        let serial = client.peerCertificateSerial
        await client.closeTCP()
        return serial
    }

    /// PINGREQ → PINGRESP through the bridge: the session still relays both ways.
    static func ping(_ client: TestWebSocketClient) async throws -> Bool {
        try await client.sendBinary(MQTTTestPackets.pingreq)
        return try await client.receiveBinaryMessage() == MQTTTestPackets.pingresp
    }
}

/// A swift-metrics factory that keeps the last value of every recorder (gauges), by label and dimensions.
/// Everything else is dropped.
final class RecordingMetricsFactory: MetricsFactory {
    private let values = NIOLockedValueBox<[String: Double]>([:])

    /// `label{a=1,b=2}` with the dimensions in the order given.
    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        "\(label){\(dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ","))}"
    }

    func value(_ label: String, _ dimensions: [(String, String)]) -> Double? {
        self.values.withLockedValue { $0[Self.key(label, dimensions)] }
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Recorder(key: Self.key(label, dimensions), factory: self)
    }

    fileprivate func record(_ value: Double, key: String) {
        self.values.withLockedValue { $0[key] = value }
    }

    private final class Recorder: RecorderHandler {
        let key: String
        let factory: RecordingMetricsFactory
        init(key: String, factory: RecordingMetricsFactory) {
            self.key = key
            self.factory = factory
        }
        func record(_ value: Int64) { self.factory.record(Double(value), key: self.key) }
        func record(_ value: Double) { self.factory.record(value, key: self.key) }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { NOOPMetricsHandler.instance }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        NOOPMetricsHandler.instance
    }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { NOOPMetricsHandler.instance }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
