import BridgeTestSupport
import Foundation
import Testing

/// TLS session resumption on the real binary's wss listener. WeChat clients reconnect constantly (every network
/// change, every time the mini-program comes back to the foreground), and a resumed handshake skips the certificate
/// signature, the most expensive step of a reconnect storm (docs/deploy.md). The listener gets resumption from
/// BoringSSL's defaults, with nothing in swift-nio-ssl's API to turn it on or off, so this pins the property
/// itself: a client that kept its session from one connection resumes it on the next, with TLS 1.3 tickets and
/// with TLS 1.2, on a listener with one socket per event loop (the reconnects land on either) and across a SIGHUP
/// certificate reload (the listener's TLS context, and so its ticket keys, stay).
@Suite(
    "TLS session resumption on the wss listener (executable)", .serialized, .timeLimit(.minutes(2)),
    .enabled(if: ResumingClient.available, "openssl is not installed (Scripts/install-deps installs it)"))
struct TLSResumptionTests {
    @Test("A client resumes the session it kept from its previous connection", arguments: ["-tls1_3", "-tls1_2"])
    func resumes(version: String) async throws {
        let broker = try await MosquittoProcess.start()
        let arguments = ["--config", try ExecutableTests.writeConfig(brokerPort: broker.port)]
        try await BridgeProcess.with(arguments: arguments, broker: broker) { bridge in
            let ca = try BridgeHarness.certificates.get().caCertificate
            let client = ResumingClient(port: bridge.port, version: version, caCertificate: ca)
            let first = try client.connect()
            #expect(first.handshake == "New", "\(first)")
            for attempt in 1...4 {
                let again = try client.connect()
                #expect(again.handshake == "Reused", "reconnect \(attempt): \(again)")
            }

            // Without the kept session the same client makes a full handshake: what the bridge does for it.
            let fresh = ResumingClient(port: bridge.port, version: version, caCertificate: ca)
            #expect(try fresh.connect().handshake == "New")
        }
    }

    @Test("A session survives a renewal: a new certificate loaded on SIGHUP")
    func survivesRenewal() async throws {
        let files = try CertificateFixture()
        try files.install(try files.issue("before"))
        let renewed = try files.issue("renewed")
        let broker = try await MosquittoProcess.start()
        let arguments = [
            "--config", try ExecutableTests.writeConfig(brokerPort: broker.port),
            "--set", "listeners.wss.tls.certificate=\(files.liveCertificate)", "--set", "listeners.wss.tls.key=\(files.liveKey)",
        ]
        try await BridgeProcess.with(arguments: arguments, broker: broker) { bridge in
            let client = ResumingClient(port: bridge.port, version: "-tls1_3", caCertificate: files.caCertificate)
            #expect(try client.connect().handshake == "New")
            try files.install(renewed)
            bridge.process.send(SIGHUP)
            try await CertificateReloadTests.waitUntil("the renewed certificate is loaded") { bridge.log.contains("loaded=1") }
            let again = try client.connect()
            #expect(again.handshake == "Reused", "\(again)")
            // A client without a session makes a full handshake and gets the renewed certificate (s_client prints it).
            let fresh = try ResumingClient(port: bridge.port, version: "-tls1_3", caCertificate: files.caCertificate).connect()
            let renewedPEM = try String(contentsOfFile: renewed.certificate, encoding: .utf8)
            #expect(fresh.handshake == "New")
            #expect(renewedPEM.contains(try #require(fresh.serverCertificate)), "\(fresh)")
        }
    }

    /// Benchmarks/storm-resumption.mjs (Node's OpenSSL client) end to end, briefly: whole wss sessions (upgrade with no
    /// subprotocol, CONNECT, CONNACK from the real Mosquitto) cut with a reset and resumed, or not. This keeps the
    /// benchmark's resumption pair honest: `resumed` counts what the server resumed, not what the client offered.
    @Test(
        "The storm generator's sessions come back resumed with --resume and with full handshakes with --no-resume",
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/bin/node"), "Node.js is not installed (Scripts/install-deps: node-mqtt)")
    )
    func stormGenerator() async throws {
        let broker = try await MosquittoProcess.start()
        let arguments = ["--config", try ExecutableTests.writeConfig(brokerPort: broker.port)]
        try await BridgeProcess.with(arguments: arguments, broker: broker) { bridge in
            for (mode, resumed) in [("--resume", 12), ("--no-resume", 0)] {
                let result = try CommandLineTool.run(
                    "/usr/bin/node",
                    [
                        Self.stormScript, mode, "-C", "12", "-K", "4", "--reconnect-timeout", "30s", "--ca",
                        try BridgeHarness.certificates.get().caCertificate, "--sni", "localhost", "--json", "--quiet",
                        "wss://127.0.0.1:\(bridge.port)/wss",
                    ],
                    timeout: .seconds(60))
                #expect(result.status == 0, "\(mode): \(result.output)")
                let line = try #require(result.output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(mode): \(result.output)")
                let report = try JSONDecoder().decode(StormReport.self, from: Data(line.utf8))
                #expect(report.storm.sessions == 12 && report.storm.reconnected == 12, "\(mode): \(line)")
                #expect(report.storm.resumed == resumed, "\(mode): \(line)")
            }
        }
    }

    /// The members of the generator's report this test reads.
    private struct StormReport: Decodable {
        struct Storm: Decodable {
            var sessions: Int
            var reconnected: Int
            var resumed: Int
        }
        var storm: Storm
    }

    /// Benchmarks/storm-resumption.mjs, found from this file's path (Tests/IntegrationTests/<file>).
    private static let stormScript: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.appendingPathComponent("Benchmarks/storm-resumption.mjs").path
    }()
}

/// `openssl s_client` as a reconnecting client: each `connect` offers the session the previous one saved (none the
/// first time) and saves the one it gets. It sends a plain HTTP request so that the bridge writes (a TLS 1.3 server
/// sends its session tickets with its first write; BoringSSL holds them until then) and then closes (404,
/// `Connection: close`), so that every call ends on its own. The saved session's file goes with the client.
final class ResumingClient {
    static var available: Bool { (try? CommandLineTool.path("openssl")) != nil }

    struct Handshake: CustomStringConvertible {
        /// `New` or `Reused`: s_client's words for a full and a resumed handshake; nil when none completed.
        var handshake: String?
        var output: String
        var description: String { self.output }

        /// The server's certificate as s_client prints it (PEM), when it printed one.
        var serverCertificate: String? {
            guard let start = self.output.range(of: "-----BEGIN CERTIFICATE-----"),
                let end = self.output.range(of: "-----END CERTIFICATE-----", range: start.upperBound..<self.output.endIndex)
            else { return nil }
            return String(self.output[start.lowerBound..<end.upperBound])
        }
    }

    let port: Int
    /// `-tls1_3` or `-tls1_2`.
    let version: String
    /// The CA the server's certificate must chain to.
    let caCertificate: String
    let sessionFile = FileManager.default.temporaryDirectory.appendingPathComponent("tls-session-\(UUID().uuidString).pem").path

    init(port: Int, version: String, caCertificate: String) {
        self.port = port
        self.version = version
        self.caCertificate = caCertificate
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.sessionFile)
    }

    func connect() throws -> Handshake {
        let offered = FileManager.default.fileExists(atPath: self.sessionFile) ? ["-sess_in", self.sessionFile] : []
        let request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        let result = try CommandLineTool.run(
            "openssl",
            [
                "s_client", "-connect", "127.0.0.1:\(self.port)", "-servername", "localhost", "-CAfile",
                self.caCertificate, "-verify_return_error", self.version, "-ign_eof",
                "-sess_out", self.sessionFile,
            ] + offered,
            input: Array(request.utf8), timeout: .seconds(20))
        // "New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" or "Reused, TLSv1.3, …"
        let line = result.output.split(separator: "\n").first { $0.hasPrefix("New, ") || $0.hasPrefix("Reused, ") }
        guard result.status == 0, let line, result.output.contains("HTTP/1.1 404") else {
            return Handshake(handshake: nil, output: result.output)
        }
        return Handshake(handshake: String(line.prefix { $0 != "," }), output: result.output)
    }
}
