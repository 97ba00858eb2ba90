import Configuration
import NIOConcurrencyHelpers

/// The three places a configuration value can come from, as swift-configuration providers composed by one
/// `ConfigReader` in precedence order: `--set`, then the environment, then the file. Built-in defaults are not a
/// layer: each decode line names its own.
///
/// Every layer answers with text that is read as YAML (`RawValue`, then `ValueType`), so one parser serves all three
/// and a value's problems read the same wherever it came from. The library's typed getters are not used: they fall
/// back to the default when a value does not convert, where a user needs to hear what is wrong and where.
struct ConfigurationLayers {
    /// The providers' order, strongest first.
    enum Layer: Int {
        case commandLine, environment, file
    }

    /// What the strongest layer that has a key says about it.
    struct Answer {
        let text: String
        let layer: Layer
        /// The key as that layer spells it, e.g. `MQTT_WS_BRIDGE_UPSTREAM_PORT` in the environment.
        let spelledKey: String
    }

    private let reader: ConfigReader
    private let environment: KeyMappingProvider<EnvironmentVariablesProvider>
    private let lookups = LastLookup()

    /// - Parameters:
    ///   - overrides: the `--set` arguments in command-line order (a later one for the same key wins), the library's
    ///     recommended way in for options that swift-argument-parser has already parsed.
    ///   - variables: the environment variables the layer may read, names already filtered to the bridge's prefix.
    ///   - file: the configuration file's values (`ConfigurationFile.layer`).
    init(overrides: [ConfigurationOverride], environment variables: [String: String], file: InMemoryProvider) {
        var arguments: [AbsoluteConfigKey: ConfigValue] = [:]
        for override in overrides {
            arguments[AbsoluteConfigKey(override.path)] = ConfigValue(.string(override.text), isSecret: true)
        }
        // Variable names are derived from key paths by the library's encoder (components in capitals joined with "_",
        // "-" becomes "_"), never parsed back. Lowercasing first keeps it from splitting camelCase entry names
        // into words, so a name is always the key path in capitals.
        let prefix = String(ConfigurationLoader.environmentPrefix.dropLast()).lowercased()
        let environment = EnvironmentVariablesProvider(environmentVariables: variables).mapKeys { key in
            AbsoluteConfigKey([prefix] + key.components.map { $0.lowercased() })
        }
        self.environment = environment
        reader = ConfigReader(
            providers: [InMemoryProvider(name: ConfigurationProblem.overrideLocation, values: arguments), environment, file],
            accessReporter: lookups
        )
    }

    /// The value for `path` from the strongest layer that has it (`nil` when none has: the default applies), and the
    /// environment variable named for `path`, which is reported as known whichever layer answered.
    func lookUp(_ path: [String]) -> (answer: Answer?, variable: String) {
        // Marked secret so that the library's access log (switched on with CONFIG_ACCESS_LOG_FILE) says which layer
        // answered but never shows a value: passwords and tokens are configuration values too.
        let text = reader.string(forKey: ConfigKey(path), isSecret: true)
        // The reader reports every lookup synchronously, with one result per layer it asked, strongest first: the
        // last one answered. The environment's result names the variable; it was not asked if `--set` answered.
        guard let results = lookups.takeLast()?.providerResults, !results.isEmpty else {
            preconditionFailure("swift-configuration reports each lookup to its access reporter before returning")
        }
        let variable =
            results.count > Layer.environment.rawValue
            ? results[Layer.environment.rawValue].encodedKey : environmentVariable(for: path)
        guard let text, let layer = Layer(rawValue: results.count - 1), let spelledKey = results.last?.encodedKey else {
            return (nil, variable)
        }
        return (Answer(text: text, layer: layer, spelledKey: spelledKey), variable)
    }

    /// The variable the environment layer reads for `path`: `["listeners", "wss-2", "port"]` →
    /// `MQTT_WS_BRIDGE_LISTENERS_WSS_2_PORT`. Spelled by the provider itself, so reports name what it really reads.
    func environmentVariable(for path: [String]) -> String {
        // A text lookup in the environment cannot fail; the name is known before the value is even looked at.
        (try? environment.value(forKey: AbsoluteConfigKey(path), type: .string).encodedKey) ?? ""
    }
}

extension AccessEvent.ProviderResult {
    /// The key as this provider spells it; empty if the provider failed (none of the bridge's layers can).
    fileprivate var encodedKey: String {
        (try? result.get().encodedKey) ?? ""
    }
}

/// Keeps the last lookup's access event: swift-configuration tells only its access reporter which provider answered.
private final class LastLookup: AccessReporter {
    private let event = NIOLockedValueBox<AccessEvent?>(nil)

    func report(_ event: AccessEvent) {
        self.event.withLockedValue { $0 = event }
    }

    func takeLast() -> AccessEvent? {
        event.withLockedValue { event in
            defer { event = nil }
            return event
        }
    }
}
