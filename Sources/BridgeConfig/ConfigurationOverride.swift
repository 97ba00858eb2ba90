/// One `--set key.path=value` argument, split into key path and value.
struct ConfigurationOverride {
    /// The key path's segments: `routes.browser.path` → `["routes", "browser", "path"]`.
    let path: [String]
    /// The text after `=`, read as YAML where that makes sense (`RawValue.init(overrideText:)`).
    let text: String

    var keyPath: String { path.joined(separator: ".") }

    /// Parses `key.path=value`; the problem, if any, is phrased for the user.
    static func parse(_ argument: String) throws(ConfigurationErrors) -> ConfigurationOverride {
        guard let equals = argument.firstIndex(of: "=") else {
            throw problem(key: argument, "expected key.path=value, e.g. --set upstream.port=1883")
        }
        let keyPath = String(argument[..<equals])
        let path = keyPath.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !keyPath.isEmpty, !path.contains(where: \.isEmpty) else {
            throw problem(key: keyPath, "'\(keyPath)' is not a key path (expected names joined by dots, e.g. routes.browser.path)")
        }
        return ConfigurationOverride(path: path, text: String(argument[argument.index(after: equals)...]))
    }

    private static func problem(key: String, _ message: String) -> ConfigurationErrors {
        ConfigurationErrors(problems: [ConfigurationProblem(key: key, location: ConfigurationProblem.overrideLocation, message: message)])
    }
}
