import BridgeConfig
import Foundation
import Testing

/// `Config/bridge.yaml` is what users read first: it must load, and it must show the real defaults.
@Suite("The shipped Config/bridge.yaml")
struct ShippedConfigurationTests {
    /// The repository root, found from this file's path (Tests/BridgeConfigTests/<file>).
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var shippedPath: String { repositoryRoot + "/Config/bridge.yaml" }

    @Test("loads with zero problems and equals the built-in defaults (TLS files and static_files.directory pointed at stand-ins)")
    func loadsAsDefaults() throws {
        let fixture = try Fixture()
        let loaded = try ConfigurationLoader.load(
            path: Self.shippedPath, environment: [:],
            overrides: [
                "listeners.wss.tls.certificate=\(fixture.defaultCertificatePath)",
                "listeners.wss.tls.key=\(fixture.defaultKeyPath)",
                "static_files.directory=\(fixture.defaultStaticFilesDirectory)",
            ])
        #expect(loaded == fixture.defaults)
    }

    @Test("its TLS paths name the development certificate at the repository root")
    func developmentCertificatePaths() throws {
        let certificate = Self.repositoryRoot + "/Config/../.dev/certs/server.crt"
        let key = Self.repositoryRoot + "/Config/../.dev/certs/server.key"
        do {
            let loaded = try ConfigurationLoader.load(path: Self.shippedPath, environment: [:], overrides: [])
            #expect(loaded.listener(named: "wss")?.tls?.certificatePath == certificate)
            #expect(loaded.listener(named: "wss")?.tls?.keyPath == key)
        } catch {
            // No development certificate yet (`make run` creates it): then these are the only problems, and they
            // say how to create it.
            #expect(error.problems.map(\.key).sorted() == ["listeners.wss.tls.certificate", "listeners.wss.tls.key"])
            for problem in error.problems {
                #expect(problem.message.contains("'\(certificate)'") || problem.message.contains("'\(key)'"))
                #expect(problem.message.contains("make run"))
            }
        }
    }

    @Test("every environment variable it mentions matches a key")
    func environmentVariablesExist() throws {
        let text = try String(contentsOfFile: Self.shippedPath, encoding: .utf8)
        let names = Set(text.matches(of: /MQTT_WS_BRIDGE_[A-Z0-9_]*[A-Z0-9]/).map { String($0.output) })
        // Names in examples: the config file variable, a listener that does not exist, and the keys of the commented
        // `sni.api` entry (variables change entries that exist; the default configuration has no SNI entries).
        let sniExample = ["SERVER_NAMES", "CERTIFICATE", "KEY", "CHAIN"].map { "MQTT_WS_BRIDGE_LISTENERS_WSS_TLS_SNI_API_" + $0 }
        let examples = Set([ConfigurationLoader.configFileVariable, "MQTT_WS_BRIDGE_LISTENERS_WSS_2_PORT"] + sniExample)
        let variables = names.subtracting(examples)
        #expect(variables.count >= 30)
        let fixture = try Fixture()
        let environment = Dictionary(uniqueKeysWithValues: variables.map { ($0, "x") })
        do {
            _ = try ConfigurationLoader.load(fixture.source("", environment: environment))
        } catch {
            // Every value is "x", so most are invalid; none may be unknown.
            #expect(
                error.problems.filter { $0.message.contains("matches no configuration key") || $0.message.contains("names the section") }
                    == [])
        }
    }
}
