/// One thing wrong with the configuration, phrased for the person who has to fix it.
///
/// `description` is what the executable prints, one line per problem:
/// `Config/bridge.yaml:14:13: routes.browser.policy: 'pasthrough' is not one of: miniprogram, passthrough (did you mean 'passthrough'?)`.
public struct ConfigurationProblem: Sendable, Equatable, CustomStringConvertible {
    /// The dotted key path as written in the YAML file (`routes.browser.policy`); for an unknown environment
    /// variable, the variable's name; empty for problems with the file as a whole (YAML syntax).
    public var key: String
    /// Where the offending value came from: `file:line:column`, `environment MQTT_WS_BRIDGE_X` or `--set`;
    /// `nil` for built-in defaults and configurations built in code.
    public var location: String?
    /// What is wrong and, where we can tell, how to fix it. Never a Swift type name.
    public var message: String

    package init(key: String, location: String? = nil, message: String) {
        self.key = key
        self.location = location
        self.message = message
    }

    /// `location: key: message`. The key is left out when the location is an environment variable, because
    /// the variable's name already spells the key path (`MQTT_WS_BRIDGE_UPSTREAM_PORT` is `upstream.port`).
    public var description: String {
        var parts: [String] = []
        if let location {
            parts.append(location)
        }
        let locationNamesKey = location?.hasPrefix(ConfigurationProblem.environmentLocationPrefix) ?? false
        if !key.isEmpty && !locationNamesKey {
            parts.append(key)
        }
        parts.append(message)
        return parts.joined(separator: ": ")
    }

    static let environmentLocationPrefix = "environment "
    static let overrideLocation = "--set"
}

/// Every problem found while loading or validating a configuration.
///
/// Loading does not stop at the first mistake: a user fixing a file wants the whole list in one go.
public struct ConfigurationErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [ConfigurationProblem]

    package init(problems: [ConfigurationProblem]) {
        self.problems = problems
    }

    /// One line per problem, in the order they were found (file order, then environment, then `--set`).
    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
