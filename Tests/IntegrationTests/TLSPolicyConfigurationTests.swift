import BridgeConfig
import BridgeServer
import BridgeTLS
import BridgeTestSupport
import Foundation
import Testing

/// `tls.profile` and `tls.ciphers` from the file, the environment and `--set` to the start-up check: every mistake is
/// an error naming the key, as `--check-config` and the start of the bridge report it.
@Suite struct TLSPolicyConfigurationTests {
    /// A `wss` listener on the development certificate (ECDSA) plus `yaml`.
    private func load(
        _ yaml: String = "", environment: [String: String] = [:], set overrides: [String] = []
    ) throws -> BridgeConfiguration {
        let certificates = try BridgeHarness.certificates.get()
        let base = """
            listeners:
              wss:
                address: 127.0.0.1
                port: 8443
                tls:
                  certificate: \(certificates.certificate)
                  key: \(certificates.key)

            """
        return try ConfigurationLoader.load(
            ConfigurationSource(fileText: base + yaml, filePath: nil, environment: environment, overrides: overrides))
    }

    private func problems(_ yaml: String = "", environment: [String: String] = [:]) -> [String] {
        do {
            _ = try self.load(yaml, environment: environment)
            Issue.record("expected configuration problems")
            return []
        } catch let error as ConfigurationErrors {
            return error.problems.map(\.description)
        } catch {
            Issue.record("unexpected \(error)")
            return []
        }
    }

    private func startupError(_ configuration: BridgeConfiguration) -> String? {
        #expect(throws: StartupError.self) { try BridgeServer.validate(configuration) }?.description
    }

    @Test("Defaults: intermediate everywhere, no cipher list")
    func defaults() throws {
        let configuration = try self.load("upstream:\n  tls:\n    verify: true\n")
        #expect(configuration.listener(named: "wss")?.tls?.profile == .intermediate)
        #expect(configuration.listener(named: "wss")?.tls?.cipherSuites == nil)
        #expect(configuration.upstream.tls?.profile == .intermediate)
        #expect(configuration.upstream.tls?.cipherSuites == nil)
        try BridgeServer.validate(configuration)
    }

    @Test("An unknown profile is a configuration error with its location and a suggestion, from the file or the environment")
    func unknownProfile() {
        #expect(
            self.problems("      profile: intermedate\n") == [
                "<config>:8:16: listeners.wss.tls.profile: 'intermedate' is not one of: modern, intermediate, old "
                    + "(did you mean 'intermediate'?)"
            ])
        #expect(
            self.problems(environment: ["MQTT_WS_BRIDGE_UPSTREAM_TLS_PROFILE": "olde"]) == [
                "environment MQTT_WS_BRIDGE_UPSTREAM_TLS_PROFILE: 'olde' is not one of: modern, intermediate, old (did you mean 'old'?)"
            ])
    }

    @Test("Cipher lists from the file, the environment (OpenSSL's A:B form too) and --set are checked at start")
    func cipherNames() throws {
        let weak = try self.load("      ciphers: [ECDHE-ECDSA-AES128-GCM-SHA256, ECDHE-ECDSA-AES128-SHA]\n")
        #expect(weak.listener(named: "wss")?.tls?.cipherSuites == ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA"])
        #expect(
            self.startupError(weak)
                == "listeners.wss.tls.ciphers[1]: 'ECDHE-ECDSA-AES128-SHA' is a CBC suite (not AEAD): "
                + "allowed only with listeners.wss.tls.profile old (now intermediate)")

        let fromEnvironment = try self.load(environment: [
            "MQTT_WS_BRIDGE_LISTENERS_WSS_TLS_CIPHERS": "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384",
            "MQTT_WS_BRIDGE_UPSTREAM_TLS_PROFILE": "old",
            "MQTT_WS_BRIDGE_UPSTREAM_TLS_CIPHERS": "[AES128-SHA, ECDHE-RSA-AES128-GCM-SHA256]",
        ])
        #expect(
            fromEnvironment.listener(named: "wss")?.tls?.cipherSuites == ["ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384"])
        #expect(fromEnvironment.upstream.tls?.profile == .old)
        #expect(fromEnvironment.upstream.tls?.cipherSuites == ["AES128-SHA", "ECDHE-RSA-AES128-GCM-SHA256"])
        try BridgeServer.validate(fromEnvironment)

        let misspelt = try self.load(set: ["upstream.tls.ciphers=[ECDHE-RSA-AES128-GCM-SHA256, ECDHE-RSA-AES128-GCM-SHA265]"])
        #expect(
            self.startupError(misspelt)
                == "upstream.tls.ciphers[1]: 'ECDHE-RSA-AES128-GCM-SHA265' is not a TLS 1.2 cipher suite the bridge offers "
                + "(did you mean 'ECDHE-RSA-AES128-GCM-SHA256'?)")

        let modern = try self.load("      profile: modern\n      ciphers: ECDHE-ECDSA-AES128-GCM-SHA256\n")
        #expect(self.startupError(modern)?.hasPrefix("listeners.wss.tls.ciphers: profile modern is TLS 1.3 only") == true)
    }

    @Test("A certificate no allowed suite can use is refused: at start with its key, on reload keeping the pair in use")
    func certificateKeyTypeMismatch() async throws {
        let rsa = try RSATestCertificate.files.get()
        var configuration = try self.load("      ciphers: [ECDHE-ECDSA-AES128-GCM-SHA256]\n")
        configuration.listeners[0].tls?.certificatePath = rsa.certificate
        configuration.listeners[0].tls?.keyPath = rsa.key
        #expect(
            self.startupError(configuration)
                == "listeners.wss.tls.certificate: the certificate in '\(rsa.certificate)' has an RSA key, "
                + "but listeners.wss.tls.ciphers has no RSA suite: TLS 1.2 clients could not connect")
        configuration.listeners[0].tls?.minimumVersion = .v1_3
        configuration.listeners[0].tls?.cipherSuites = nil
        try BridgeServer.validate(configuration)  // TLS 1.3 has no such restriction

        let files = try CertificateFixture()
        let ecdsa = try files.issue("ecdsa")
        try files.install(ecdsa)
        try await BridgeHarness.with(configure: {
            files.useLiveFiles(in: &$0)
            $0.listeners = $0.listeners.map { listener in
                var listener = listener
                listener.tls?.cipherSuites = listener.name == "wss" ? ["ECDHE-ECDSA-CHACHA20-POLY1305"] : nil
                return listener
            }
        }) { bridge in
            try files.install(certificate: rsa.certificate, key: rsa.key)
            let report = await bridge.server.reloadCertificates()
            guard case .refused(let reason, let kept) = report.outcome(listener: "wss") else {
                Issue.record("expected a refusal: \(report)")
                return
            }
            #expect(kept == ecdsa.serial)
            #expect(
                reason == "listeners.wss.tls.certificate: the certificate in '\(files.liveCertificate)' has an RSA key, "
                    + "but listeners.wss.tls.ciphers has no RSA suite: TLS 1.2 clients could not connect")
            #expect(try await CertificateProbe.servedSerial(port: bridge.wssPort, tls: files.tls()) == ecdsa.serial)
        }
    }
}
