import BridgeConfig
import Foundation
import Testing

/// A throw-away directory laid out like the repository: `Config/` for the config file and `.dev/certs/` with
/// stand-ins for the development certificate, so the built-in default TLS paths (`../.dev/certs/server.crt`,
/// relative to the config file) resolve to files that exist. Removed when the fixture goes away.
final class Fixture {
    let root: String

    init() throws {
        root = FileManager.default.temporaryDirectory.path + "/bridge-config-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/Config", withIntermediateDirectories: true)
        try file(".dev/certs/server.crt", "certificate")
        try file(".dev/certs/server.key", "key")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Where the config file of `source(...)` claims to live.
    var configPath: String { root + "/Config/bridge.yaml" }

    /// The default certificate and key paths as the loader resolves them for a file in `Config/`.
    var defaultCertificatePath: String { root + "/Config/../.dev/certs/server.crt" }
    var defaultKeyPath: String { root + "/Config/../.dev/certs/server.key" }
    /// The default `static_files.directory` as the loader resolves it for a file in `Config/`.
    var defaultStaticFilesDirectory: String { root + "/Config/../Dashboard" }

    /// Creates a file (and its directories) under the fixture root; returns its absolute path.
    @discardableResult
    func file(_ relativePath: String, _ contents: String = "x") throws -> String {
        let path = root + "/" + relativePath
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func source(_ yaml: String?, environment: [String: String] = [:], set overrides: [String] = []) -> ConfigurationSource {
        ConfigurationSource(fileText: yaml, filePath: yaml == nil ? nil : configPath, environment: environment, overrides: overrides)
    }

    /// The built-in defaults as the loader produces them for a file in `Config/` (TLS and static file paths resolved).
    var defaults: BridgeConfiguration {
        var configuration = BridgeConfiguration()
        configuration.listeners = configuration.listeners.map { listener in
            var listener = listener
            listener.tls?.certificatePath = defaultCertificatePath
            listener.tls?.keyPath = defaultKeyPath
            return listener
        }
        configuration.staticFiles.directory = defaultStaticFilesDirectory
        return configuration
    }

    /// Loads `yaml` as `Config/bridge.yaml`; fails the test (with the problems) if loading fails.
    func load(
        _ yaml: String?, environment: [String: String] = [:], set overrides: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> BridgeConfiguration? {
        do {
            return try ConfigurationLoader.load(source(yaml, environment: environment, set: overrides))
        } catch {
            Issue.record("unexpected problems:\n\(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Loads `yaml` expecting failure; returns each problem's `description`. Also checks that no message leaks
    /// Swift type names or debug output.
    func problems(
        _ yaml: String?, environment: [String: String] = [:], set overrides: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> [String] {
        do {
            _ = try ConfigurationLoader.load(source(yaml, environment: environment, set: overrides))
            Issue.record("expected problems, but the configuration loaded", sourceLocation: sourceLocation)
            return []
        } catch {
            let lines = error.problems.map(\.description)
            expectUserFacing(lines, sourceLocation: sourceLocation)
            #expect(error.description == lines.joined(separator: "\n"), sourceLocation: sourceLocation)
            return lines
        }
    }
}

/// Problems are read by people: no Swift type names, optionals or stack traces.
func expectUserFacing(_ lines: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    let forbidden = ["Optional(", "Configuration", "Swift.", "Yams", "Node", "Error(", "\n"]
    for line in lines {
        for word in forbidden where line.contains(word) {
            Issue.record("message contains '\(word)': \(line)", sourceLocation: sourceLocation)
        }
    }
}

/// The problems `validate()` finds in a configuration built in code, as descriptions.
func validationProblems(_ configuration: BridgeConfiguration) -> [String] {
    do {
        try configuration.validate()
        return []
    } catch {
        let lines = error.problems.map(\.description)
        expectUserFacing(lines)
        return lines
    }
}
