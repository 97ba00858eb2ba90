import BridgeConfig
import Foundation
import Testing

/// `listeners.<name>.tls.reload_interval` and `listeners.<name>.tls.sni.<name>`: how they are read from every
/// source, and the rules `validate()` applies to them.
@Suite("Certificate configuration (reload, SNI)")
struct CertificateConfigurationTests {
    @Test("SNI entries and reload_interval are read from the file, relative paths resolved")
    func fromFile() throws {
        let fixture = try Fixture()
        let apiCertificate = try fixture.file("Config/tls/api.crt")
        let apiKey = try fixture.file("Config/tls/api.key")
        let apiChain = try fixture.file("Config/tls/api-chain.pem")
        let yaml = """
            listeners:
              wss:
                address: "::"
                port: 8443
                tls:
                  reload_interval: 5m
                  sni:
                    api:
                      server_names: [api.example.com, "*.api.example.com"]
                      certificate: tls/api.crt
                      key: tls/api.key
                      chain: tls/api-chain.pem
                    web:
                      server_names: web.example.com
                      certificate: tls/api.crt
                      key: tls/api.key
            """
        let tls = try #require(fixture.load(yaml)?.listener(named: "wss")?.tls)
        #expect(tls.reloadInterval == .seconds(300))
        #expect(tls.certificatePath == fixture.defaultCertificatePath)
        #expect(
            tls.sni == [
                SNICertificateConfiguration(
                    name: "api", serverNames: ["api.example.com", "*.api.example.com"],
                    certificatePath: fixture.root + "/Config/tls/api.crt", keyPath: fixture.root + "/Config/tls/api.key",
                    chainPath: fixture.root + "/Config/tls/api-chain.pem"),
                SNICertificateConfiguration(
                    name: "web", serverNames: ["web.example.com"],
                    certificatePath: fixture.root + "/Config/tls/api.crt", keyPath: fixture.root + "/Config/tls/api.key"),
            ])
        #expect([apiCertificate, apiKey, apiChain].allSatisfy { FileManager.default.fileExists(atPath: $0) })
    }

    @Test("the defaults: reload on SIGHUP only, no SNI entries")
    func defaults() throws {
        let fixture = try Fixture()
        let tls = try #require(fixture.load("# only defaults\n")?.listener(named: "wss")?.tls)
        #expect(tls.reloadInterval == .zero)
        #expect(tls.sni == [])
    }

    @Test("environment variables change an SNI entry in the file; --set can add one")
    func overrides() throws {
        let fixture = try Fixture()
        let other = try fixture.file("other.crt")
        let key = try fixture.file("other.key")
        let yaml = """
            listeners:
              wss:
                address: "::"
                port: 8443
                tls:
                  sni:
                    api: { server_names: [api.example.com], certificate: tls/a.crt, key: tls/a.key }
            """
        try fixture.file("Config/tls/a.crt")
        try fixture.file("Config/tls/a.key")
        let loaded = fixture.load(
            yaml,
            environment: [
                "MQTT_WS_BRIDGE_LISTENERS_WSS_TLS_SNI_API_CERTIFICATE": other,
                "MQTT_WS_BRIDGE_LISTENERS_WSS_TLS_RELOAD_INTERVAL": "1h",
            ],
            set: [
                "listeners.wss.tls.sni.extra.server_names=[\"*.extra.example.com\"]",
                "listeners.wss.tls.sni.extra.certificate=\(other)",
                "listeners.wss.tls.sni.extra.key=\(key)",
            ])
        let tls = try #require(loaded?.listener(named: "wss")?.tls)
        #expect(tls.reloadInterval == .seconds(3600))
        #expect(tls.sni.map(\.name) == ["api", "extra"])
        #expect(tls.sni.first?.certificatePath == other)
        #expect(tls.sni.last?.serverNames == ["*.extra.example.com"])
    }

    @Test("an SNI entry needs server_names, certificate and key; unknown keys are named")
    func requiredKeys() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(
            """
            listeners:
              wss:
                address: "::"
                port: 8443
                tls:
                  sni:
                    api: { certificate: ../.dev/certs/server.crt, servername: api.example.com }
            """)
        #expect(problems.contains { $0.contains("listeners.wss.tls.sni.api.server_names: missing") }, "\(problems)")
        #expect(problems.contains { $0.contains("listeners.wss.tls.sni.api.key: missing") }, "\(problems)")
        #expect(
            problems.contains { $0.contains("listeners.wss.tls.sni.api.servername: unknown key (did you mean 'server_names'?)") },
            "\(problems)")
    }

    @Test("server names: DNS names and one-label wildcards, no IP addresses, no duplicates, 'default' reserved")
    func serverNameRules() throws {
        let fixture = try Fixture()
        var configuration = fixture.defaults
        func entry(_ name: String, _ serverNames: [String]) -> SNICertificateConfiguration {
            SNICertificateConfiguration(
                name: name, serverNames: serverNames, certificatePath: fixture.defaultCertificatePath, keyPath: fixture.defaultKeyPath)
        }
        configuration.listeners[1].tls?.sni = [
            entry("good", ["api.example.com", "*.api.example.com", "Mixed.Case.example.com."])
        ]
        #expect(validationProblems(configuration) == [])

        configuration.listeners[1].tls?.sni = [
            entry("a", ["api.example.com", "10.0.0.1", "::1", "*.com", "a.*.example.com", "bad name", ""]),
            entry("b", ["API.example.com", "*.api.example.com"]),
            entry("c", ["*.api.example.com"]),
            entry("d", []),
            entry("default", ["x.example.com"]),
        ]
        let key = "listeners.wss.tls.sni"
        #expect(
            validationProblems(configuration) == [
                "\(key).a.server_names: '10.0.0.1' is an IP address; clients never send an IP address as SNI (they get the default certificate)",
                "\(key).a.server_names: '::1' is an IP address; clients never send an IP address as SNI (they get the default certificate)",
                "\(key).a.server_names: '*.com' is too broad: a wildcard needs at least two labels after '*.' (e.g. *.example.com)",
                "\(key).a.server_names: 'a.*.example.com': a wildcard must be the whole first label, as in *.example.com",
                "\(key).a.server_names: 'bad name' is not a DNS name (labels of letters, digits, '-' and '_', up to 63 characters each, separated by dots)",
                "\(key).a.server_names: a server name must not be empty",
                "\(key).b.server_names: 'api.example.com' is already listed by \(key).a",
                "\(key).c.server_names: '*.api.example.com' is already listed by \(key).b",
                "\(key).d.server_names: must list at least one server name, e.g. [api.example.com, \"*.api.example.com\"]",
                "\(key).default: the name 'default' is reserved for the listener's own certificate (tls.certificate and tls.key); choose another",
            ])
    }

    @Test("SNI files must be readable; reload_interval is 0 or at least 1s")
    func filesAndInterval() throws {
        let fixture = try Fixture()
        var configuration = fixture.defaults
        configuration.listeners[1].tls?.reloadInterval = .milliseconds(500)
        configuration.listeners[1].tls?.sni = [
            SNICertificateConfiguration(
                name: "api", serverNames: ["api.example.com"], certificatePath: fixture.root + "/missing.crt",
                keyPath: fixture.defaultKeyPath, chainPath: fixture.root + "/missing-chain.pem")
        ]
        #expect(
            validationProblems(configuration) == [
                "listeners.wss.tls.reload_interval: must be 0 (reload on SIGHUP only) or at least 1s",
                "listeners.wss.tls.sni.api.certificate: file '\(fixture.root)/missing.crt' does not exist",
                "listeners.wss.tls.sni.api.chain: file '\(fixture.root)/missing-chain.pem' does not exist",
            ])
        configuration.listeners[1].tls?.reloadInterval = .seconds(1)
        configuration.listeners[1].tls?.sni = []
        #expect(validationProblems(configuration) == [])
    }
}
