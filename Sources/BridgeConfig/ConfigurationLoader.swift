/// Builds a `BridgeConfiguration` from the YAML file, `MQTT_WS_BRIDGE_*` environment variables and `--set`
/// arguments (precedence, per key: `--set` > environment > file > built-in defaults), then validates it.
///
/// The three layers are swift-configuration providers composed by one `ConfigReader` (`ConfigurationLayers`).
/// On top of them, this module keeps what the library does not do: positions (`file:line:column`), a typed value
/// syntax with messages that say what is wrong, unknown keys and variables reported with a suggestion, entries added
/// by `--set`, and every problem collected and thrown together, each naming the key and where its value came from.
///
/// The rules (users read them in `Config/bridge.yaml`'s header):
/// - Environment variables are found from the key path (`listeners.wss-2.port` → `MQTT_WS_BRIDGE_LISTENERS_WSS_2_PORT`),
///   never parsed back, so underscores in key names are not ambiguous. A consequence: a variable can only change
///   listeners and routes that exist (in the file, or the defaults when the file has no such section). Any
///   `MQTT_WS_BRIDGE_*` variable that no key looked up is reported, except `MQTT_WS_BRIDGE_CONFIG`.
/// - `--set` names keys by dotted path; it may add a listener or route (it then must give the required keys).
///   Both set single values or lists only, not whole sections.
/// - An optional section that the file leaves out (`tls`) is switched on when an override sets any of its keys.
/// - Relative paths from the file, and the built-in default paths, are resolved against the file's directory;
///   relative paths from the environment or `--set` are left relative to the working directory, as a shell user
///   expects. Without a file nothing is resolved.
public enum ConfigurationLoader {
    /// Every environment variable the loader reads starts with this.
    package static let environmentPrefix = "MQTT_WS_BRIDGE_"
    /// Reserved for the executable (the config file's path); the loader neither reads it nor reports it as unknown.
    package static let configFileVariable = "MQTT_WS_BRIDGE_CONFIG"

    /// Reads the file at `path` (none: built-in defaults), applies the overrides and validates.
    package static func load(
        path: String?, environment: [String: String], overrides: [String]
    ) throws(ConfigurationErrors) -> BridgeConfiguration {
        var text: String?
        if let path {
            do {
                text = try FileAccess.readText(atPath: path)
            } catch {
                throw ConfigurationErrors(problems: [
                    ConfigurationProblem(key: "", location: path, message: "cannot read the configuration file: \(error)")
                ])
            }
        }
        return try load(ConfigurationSource(fileText: text, filePath: path, environment: environment, overrides: overrides))
    }

    /// Decodes and validates `source`. Validation problems carry the location of the value they are about.
    public static func load(_ source: ConfigurationSource) throws(ConfigurationErrors) -> BridgeConfiguration {
        let file = ConfigurationFile(text: source.fileText, path: source.filePath)
        let context = DecodingContext(source, file: file)
        let reader = SectionReader(path: [], mapping: file.root, location: nil, context: context)
        let configuration = BridgeConfiguration.decode(reader)
        reader.finish()
        context.reportUnmatchedOverrides()

        var problems = context.problems
        // Without the file, validating the defaults would only add noise to the syntax error.
        if file.isParsed {
            problems += validationProblems(of: configuration, besides: problems, locations: context.locations)
        }
        guard problems.isEmpty else {
            throw ConfigurationErrors(problems: inReadingOrder(problems))
        }
        return configuration
    }

    /// `validate()`'s problems, each given the location of its key (or of the nearest enclosing section), minus
    /// those about keys that already have a decoding problem: a value that failed to parse was replaced by its
    /// default, and a complaint about the default would only confuse.
    private static func validationProblems(
        of configuration: BridgeConfiguration,
        besides decodingProblems: [ConfigurationProblem],
        locations: [String: String]
    ) -> [ConfigurationProblem] {
        do {
            try configuration.validate()
            return []
        } catch {
            let decodingKeys = decodingProblems.map(\.key)
            return error.problems
                .filter { problem in !decodingKeys.contains { related($0, problem.key) } }
                .map { problem in
                    var located = problem
                    located.location = location(of: problem.key, in: locations)
                    return located
                }
        }
    }

    /// `a` and `b` are the same key or one contains the other.
    private static func related(_ a: String, _ b: String) -> Bool {
        a == b || a.hasPrefix(b + ".") || b.hasPrefix(a + ".")
    }

    private static func location(of key: String, in locations: [String: String]) -> String? {
        var path = key.split(separator: ".").map(String.init)
        while !path.isEmpty {
            if let location = locations[DecodingContext.keyPath(path)] { return location }
            path.removeLast()
        }
        return nil
    }

    /// File problems in line order (as the user reads the file), then the rest in the order they were found.
    private static func inReadingOrder(_ problems: [ConfigurationProblem]) -> [ConfigurationProblem] {
        func position(_ problem: ConfigurationProblem) -> (Int, Int, Int) {
            guard let location = problem.location else { return (2, 0, 0) }
            let parts = location.split(separator: ":")
            if parts.count >= 3, let line = Int(parts[parts.count - 2]), let column = Int(parts[parts.count - 1]) {
                return (0, line, column)
            }
            return (1, 0, 0)
        }
        return problems.enumerated()
            .sorted { lhs, rhs in
                let (a, b) = (position(lhs.element), position(rhs.element))
                return a != b ? a < b : lhs.offset < rhs.offset
            }
            .map(\.element)
    }
}
