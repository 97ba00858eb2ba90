import BridgeConfig
import BridgeServer
import BridgeTLS
import BridgeTestSupport
import Foundation
import Testing

/// One listener, several domains: the certificate follows the SNI server name the client sends.
@Suite("Certificates by SNI server name", .timeLimit(.minutes(2)))
struct CertificateSNITests {
    @Test("exact names and wildcards pick their certificate; no SNI or an unknown name gets the default")
    func selection() async throws {
        let files = try CertificateFixture()
        let fallback = try files.issue("default")
        // The SNI certificates do not name 127.0.0.1, so a verifying client that accepts them proves by name.
        let alpha = try files.issue("alpha", names: ["alpha.test"])
        let beta = try files.issue("beta", names: ["*.beta.test"])
        try files.install(fallback)
        let sni = [
            SNICertificateConfiguration(name: "alpha", serverNames: ["alpha.test"], certificatePath: alpha.certificate, keyPath: alpha.key),
            SNICertificateConfiguration(name: "beta", serverNames: ["*.beta.test"], certificatePath: beta.certificate, keyPath: beta.key),
        ]

        try await BridgeHarness.with(configure: { files.useLiveFiles(in: &$0, sni: sni) }) { bridge in
            let port = bridge.wssPort
            // Verified handshakes: the client checks the name it sent against the certificate it got.
            let verified: [(serverName: String?, serial: String)] = [
                ("alpha.test", alpha.serial),
                ("ALPHA.test", alpha.serial),  // names are case-insensitive
                ("x.beta.test", beta.serial),
                ("localhost", fallback.serial),
                (nil, fallback.serial),  // no SNI: checked against 127.0.0.1
            ]
            for (serverName, serial) in verified {
                let served = try await CertificateProbe.servedSerial(port: port, tls: files.tls(serverName: serverName))
                #expect(served == serial, "SNI \(serverName ?? "none")")
            }

            // Names no entry lists get the default pair (seen without verification: it does not name them).
            let unlisted = ["unknown.test", "beta.test", "a.x.beta.test", "alpha.test.evil"]
            for serverName in unlisted {
                let served = try await CertificateProbe.servedSerial(port: port, tls: TestTLS(serverName: serverName))
                #expect(served == fallback.serial, "SNI \(serverName)")
            }

            #expect(bridge.server.certificates.map(\.name) == ["default", "alpha", "beta"])
            #expect(bridge.server.certificates.map(\.serverNames) == [[], ["alpha.test"], ["*.beta.test"]])

            // A whole session through an SNI certificate.
            let session = try await CertificateProbe.session(port: port, tls: files.tls(serverName: "mqtt.beta.test"), clientID: "sni")
            #expect(session.peerCertificateSerial == beta.serial)
            #expect(try await CertificateProbe.ping(session))
            try await session.close()
        }
    }

    @Test("each SNI pair reloads on its own: one refused pair does not hold back another")
    func reloadPerPair() async throws {
        let files = try CertificateFixture()
        let fallback = try files.issue("default")
        let alpha = try files.issue("alpha", names: ["alpha.test"])
        let alphaRenewed = try files.issue("alpha-renewed", names: ["alpha.test"])
        try files.install(fallback)
        let alphaLive = (certificate: files.directory + "/alpha-live.crt", key: files.directory + "/alpha-live.key")
        try FileManager.default.copyItem(atPath: alpha.certificate, toPath: alphaLive.certificate)
        try FileManager.default.copyItem(atPath: alpha.key, toPath: alphaLive.key)
        let sni = [
            SNICertificateConfiguration(
                name: "alpha", serverNames: ["alpha.test"], certificatePath: alphaLive.certificate, keyPath: alphaLive.key)
        ]

        try await BridgeHarness.with(configure: { files.useLiveFiles(in: &$0, sni: sni) }) { bridge in
            // alpha is renewed properly; the default pair gets a certificate without its key.
            try Data(contentsOf: URL(fileURLWithPath: alphaRenewed.certificate)).write(
                to: URL(fileURLWithPath: alphaLive.certificate), options: .atomic)
            try Data(contentsOf: URL(fileURLWithPath: alphaRenewed.key)).write(to: URL(fileURLWithPath: alphaLive.key), options: .atomic)
            try files.install(certificate: alpha.certificate)

            let report = await bridge.server.reloadCertificates()
            #expect(report.outcome(listener: "wss", name: "alpha") == .loaded(serial: alphaRenewed.serial, previousSerial: alpha.serial))
            guard case .refused(let reason, let kept) = report.outcome(listener: "wss", name: "default") else {
                Issue.record("expected the default pair to be refused: \(report)")
                return
            }
            #expect(kept == fallback.serial)
            #expect(reason.contains("does not match"))

            #expect(
                try await CertificateProbe.servedSerial(port: bridge.wssPort, tls: files.tls(serverName: "alpha.test"))
                    == alphaRenewed.serial)
            #expect(
                try await CertificateProbe.servedSerial(port: bridge.wssPort, tls: files.tls(serverName: "localhost")) == fallback.serial)
        }
    }

    @Test("a certificate that does not name its SNI server names is served but logged as a warning")
    func coverageWarning() async throws {
        let files = try CertificateFixture()
        let fallback = try files.issue("default")
        let other = try files.issue("other", names: ["other.test"])
        try files.install(fallback)
        let sni = [
            SNICertificateConfiguration(name: "api", serverNames: ["api.test"], certificatePath: other.certificate, keyPath: other.key)
        ]
        try await BridgeHarness.with(configure: { files.useLiveFiles(in: &$0, sni: sni) }) { bridge in
            let served = try await CertificateProbe.servedSerial(port: bridge.wssPort, tls: TestTLS(serverName: "api.test"))
            #expect(served == other.serial)
            let warning = bridge.logs.collected.first { $0.contains("does not name a server name") }
            #expect(warning?.contains("server_name=api.test") == true, "\(String(describing: warning))")
        }
    }
}
