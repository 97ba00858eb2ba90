import BridgeConfig
import BridgeTestSupport
import Foundation
import Testing

/// The bridge as the broker's TLS client: `upstream.tls.profile` and `upstream.tls.ciphers` against a real Mosquitto
/// TLS listener that allows one TLS 1.2 suite.
@Suite(.serialized) struct UpstreamTLSPolicyTests {
    /// A broker whose TLS listener (the development certificate, ECDSA) speaks only TLS 1.2 with `ciphers` (OpenSSL
    /// syntax). Mosquitto's `tls_version` only sets a minimum, so the TLS 1.3 cap comes from an OpenSSL configuration
    /// file for the broker process; otherwise TLS 1.3 would be negotiated and the TLS 1.2 list never consulted.
    private func withBroker(ciphers: String, _ body: (MosquittoProcess, Int) async throws -> Void) async throws {
        let certificates = try BridgeHarness.certificates.get()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("upstream-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let opensslConfig = directory.appendingPathComponent("tls12-only.cnf").path
        try """
        openssl_conf = openssl_init
        [openssl_init]
        ssl_conf = ssl_section
        [ssl_section]
        system_default = system_default_section
        [system_default_section]
        MaxProtocol = TLSv1.2
        """.write(toFile: opensslConfig, atomically: true, encoding: .utf8)
        let tlsPort = try FreePort.allocate()
        let broker = try await MosquittoProcess.start(
            extraConfig: """
                listener \(tlsPort) 127.0.0.1
                certfile \(certificates.certificate)
                keyfile \(certificates.key)
                ciphers \(ciphers)
                """,
            environment: ["OPENSSL_CONF": opensslConfig])
        do {
            try await body(broker, tlsPort)
        } catch {
            await broker.stop()
            throw error
        }
        await broker.stop()
    }

    /// Connects a client through the bridge with `upstream` pointed at the broker's TLS listener; returns the CONNACK
    /// and the bridge's log.
    private func connack(
        broker: MosquittoProcess, tlsPort: Int, _ adjust: (inout UpstreamTLSConfiguration) -> Void = { _ in }
    ) async throws -> (connack: [UInt8], log: [String]) {
        let ca = try BridgeHarness.certificates.get().caCertificate
        return try await BridgeHarness.with(
            configure: {
                $0.upstream.port = tlsPort
                var tls = UpstreamTLSConfiguration(caFilePath: ca, serverName: "localhost")
                adjust(&tls)
                $0.upstream.tls = tls
            },
            broker: broker
        ) { bridge in
            let (response, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
            guard response.status == 101, let client else { throw TestSupportError("expected 101, got \(response.status)") }
            try await client.sendBinary(MQTTTestPackets.connect(clientID: "upstream-tls"))
            let connack = try await client.receiveBinaryMessage()
            await client.closeTCP()
            return (connack, bridge.logs.collected)
        }
    }

    private static let serverUnavailable: [UInt8] = [0x20, 0x02, 0x00, 0x03]

    @Test("A broker that allows only a suite intermediate forbids (CBC): refused with a clear log; profile old connects")
    func brokerAllowsOnlyForbiddenSuite() async throws {
        try await self.withBroker(ciphers: "ECDHE-ECDSA-AES128-SHA") { broker, tlsPort in
            let refused = try await self.connack(broker: broker, tlsPort: tlsPort)
            #expect(refused.connack == Self.serverUnavailable)
            let policyLine = refused.log.first { $0.contains("upstream TLS policy") }
            #expect(policyLine?.contains("profile=intermediate") == true, "\(refused.log)")
            #expect(policyLine?.contains("tls12_ciphers=ECDHE-ECDSA-AES128-GCM-SHA256:") == true, "\(refused.log)")
            let failure = refused.log.first { $0.contains("broker unavailable") }
            #expect(failure?.contains("TLS") == true && failure?.contains("HANDSHAKE_FAILURE") == true, "\(refused.log)")
            #expect(broker.log().contains("no shared cipher"))

            let old = try await self.connack(broker: broker, tlsPort: tlsPort) { $0.profile = .old }
            #expect(old.connack == MQTTTestPackets.connackAccepted, "\(old.log)")
        }
    }

    @Test("A broker that allows an intermediate suite: the default connects; ciphers without it and modern do not")
    func brokerAllowsIntermediateSuite() async throws {
        try await self.withBroker(ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256") { broker, tlsPort in
            let accepted = try await self.connack(broker: broker, tlsPort: tlsPort)
            #expect(accepted.connack == MQTTTestPackets.connackAccepted, "\(accepted.log)")

            let narrowed = try await self.connack(broker: broker, tlsPort: tlsPort) { $0.cipherSuites = ["ECDHE-ECDSA-CHACHA20-POLY1305"] }
            #expect(narrowed.connack == Self.serverUnavailable)
            #expect(narrowed.log.contains { $0.contains("broker unavailable") && $0.contains("HANDSHAKE_FAILURE") }, "\(narrowed.log)")

            // modern is TLS 1.3 only and this broker stops at 1.2.
            let modern = try await self.connack(broker: broker, tlsPort: tlsPort) { $0.profile = .modern }
            #expect(modern.connack == Self.serverUnavailable)
            #expect(modern.log.contains { $0.contains("broker unavailable") && $0.contains("PROTOCOL_VERSION") }, "\(modern.log)")
        }
    }
}
