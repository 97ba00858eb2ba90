/// Everything the configuration is made from, passed in explicitly so that tests need no files or process environment.
public struct ConfigurationSource: Sendable {
    /// The YAML text of the configuration file; `nil` when there is no file (built-in defaults, then overrides).
    package var fileText: String?
    /// The file's path as the user gave it. Used in messages (`Config/bridge.yaml:3:3: …`) and to resolve
    /// relative paths in the file against the file's directory.
    package var filePath: String?
    /// The process environment (or a test's stand-in). Only `MQTT_WS_BRIDGE_*` variables are looked at.
    package var environment: [String: String]
    /// The `--set key.path=value` arguments, in command-line order (a later one for the same key wins).
    package var overrides: [String]

    public init(fileText: String? = nil, filePath: String? = nil, environment: [String: String] = [:], overrides: [String] = []) {
        self.fileText = fileText
        self.filePath = filePath
        self.environment = environment
        self.overrides = overrides
    }
}
