import Yams

/// What the three sources say about one key path.
enum LookupResult {
    /// No source has the key: the built-in default applies.
    case absent
    /// The value with the highest precedence, and where it came from (for messages).
    case found(RawValue, location: String?)
}

/// The state of one load, shared by every `SectionReader`: the sources, the problems found so far, and which
/// environment variables and `--set` arguments matched a key (the rest are typos, reported at the end).
///
/// A class because readers for nested sections all add to it; it lives only for the duration of one `load`.
final class DecodingContext {
    /// `Config/bridge.yaml` in messages; `<config>` when the text came without a path.
    private let fileName: String
    /// Relative paths in the file are resolved against this; `nil` leaves them relative.
    let fileDirectory: String?
    private(set) var problems: [ConfigurationProblem] = []
    /// Where each key path's value (or section) came from, to give validation problems a location.
    private(set) var locations: [String: String] = [:]

    /// `MQTT_WS_BRIDGE_*` variables except the reserved config-file one.
    private let environment: [String: String]
    private var environmentNamesLookedUp: Set<String> = []
    private var sectionEnvironmentNames: [String: String] = [:]
    private var overrides: [ConfigurationOverride] = []
    private var overrideUsed: [Bool] = []
    private var leafKeyPaths: Set<String> = []
    private var sectionKeyPaths: Set<String> = []
    /// Counts values taken from the environment or `--set`; speculative decoding compares it before and after.
    private var overrideValuesUsed = 0

    init(_ source: ConfigurationSource) {
        fileName = source.filePath ?? "<config>"
        fileDirectory = source.filePath.map(PathResolution.directory(of:))
        environment = source.environment.filter {
            $0.key.hasPrefix(ConfigurationLoader.environmentPrefix) && $0.key != ConfigurationLoader.configFileVariable
        }
        for argument in source.overrides {
            do {
                overrides.append(try ConfigurationOverride.parse(argument))
            } catch {
                problems += error.problems
            }
        }
        overrideUsed = Array(repeating: false, count: overrides.count)
    }

    // MARK: Problems and locations

    func report(_ path: [String], location: String?, _ message: String) {
        problems.append(ConfigurationProblem(key: Self.keyPath(path), location: location, message: message))
    }

    func report(_ problem: ConfigurationProblem) {
        problems.append(problem)
    }

    /// `Config/bridge.yaml:14:13`.
    func fileLocation(_ mark: Mark?) -> String {
        guard let mark else { return fileName }
        return "\(fileName):\(mark.line):\(mark.column)"
    }

    func noteLocation(_ path: [String], _ location: String?) {
        if let location { locations[Self.keyPath(path)] = location }
    }

    // MARK: Lookup

    /// The value for one key, by precedence: `--set`, then the environment variable named for the key, then the file.
    ///
    /// The environment is consulted in this direction (key path → variable name) so that underscores inside key
    /// names never have to be parsed back out of variable names.
    func lookUp(_ path: [String], fileValue: Node?) -> LookupResult {
        let keyPath = Self.keyPath(path)
        leafKeyPaths.insert(keyPath)
        let variable = Self.environmentName(for: path)
        environmentNamesLookedUp.insert(variable)

        let matching = overrides.indices.filter { overrides[$0].path == path }
        if let last = matching.last {
            for index in matching { overrideUsed[index] = true }
            overrideValuesUsed += 1
            return found(overrides[last].value, at: ConfigurationProblem.overrideLocation, keyPath)
        }
        if let text = environment[variable] {
            overrideValuesUsed += 1
            return found(RawValue(overrideText: text), at: ConfigurationProblem.environmentLocationPrefix + variable, keyPath)
        }
        if let fileValue {
            return found(RawValue(node: fileValue, baseDirectory: fileDirectory), at: fileLocation(fileValue.mark), keyPath)
        }
        return .absent
    }

    private func found(_ raw: RawValue, at location: String, _ keyPath: String) -> LookupResult {
        locations[keyPath] = location
        return .found(raw, location: location)
    }

    /// Records that `path` is a section, for the "is a section" messages about overrides and variables naming one.
    func noteSection(_ path: [String]) {
        sectionKeyPaths.insert(Self.keyPath(path))
        sectionEnvironmentNames[Self.environmentName(for: path)] = Self.keyPath(path)
    }

    /// Entry names that `--set` mentions under a map section (`routes.extra.path=/x` → `extra`), in argument order.
    /// These create entries the file does not have.
    func overrideEntryNames(under section: [String]) -> [String] {
        var names: [String] = []
        for override in overrides where override.path.count > section.count + 1 && Array(override.path.prefix(section.count)) == section {
            let name = override.path[section.count]
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Runs `decode` for an optional section that no source mentions by name, and keeps the result only if the
    /// environment or `--set` supplied at least one of its keys (that is how an override switches a section on).
    /// Otherwise the problems it found (missing keys of a section nobody asked for) are dropped.
    func speculatively<T>(_ decode: () -> T) -> T? {
        let problemCount = problems.count
        let valuesUsed = overrideValuesUsed
        let value = decode()
        guard overrideValuesUsed > valuesUsed else {
            problems.removeSubrange(problemCount...)
            return nil
        }
        return value
    }

    // MARK: Leftovers

    /// Reports every `MQTT_WS_BRIDGE_*` variable and `--set` argument that matched no key. Call once, after decoding.
    func reportUnmatchedOverrides() {
        for variable in environment.keys.sorted() where !environmentNamesLookedUp.contains(variable) {
            report(ConfigurationProblem(
                key: variable,
                location: ConfigurationProblem.environmentLocationPrefix + variable,
                message: unmatchedVariableMessage(variable)
            ))
        }
        for (index, override) in overrides.enumerated() where !overrideUsed[index] {
            report(override.path, location: ConfigurationProblem.overrideLocation, unmatchedOverrideMessage(override.keyPath))
        }
    }

    private func unmatchedVariableMessage(_ variable: String) -> String {
        if let section = sectionEnvironmentNames[variable] {
            let example = firstKey(under: section).map { " such as \(Self.environmentName(for: $0.split(separator: ".").map(String.init)))" } ?? ""
            return "names the section \(section), not a single value; set its keys one by one\(example)"
        }
        if let suggestion = Suggestion.closest(to: variable, in: environmentNamesLookedUp) {
            return "matches no configuration key (did you mean \(suggestion)?)"
        }
        let mapPrefixes = ["LISTENERS_", "ROUTES_"].map { ConfigurationLoader.environmentPrefix + $0 }
        if mapPrefixes.contains(where: variable.hasPrefix) {
            return "matches no configuration key (environment variables can change listeners and routes that exist in the file or the defaults; add new ones in the file or with --set)"
        }
        return "matches no configuration key"
    }

    private func unmatchedOverrideMessage(_ keyPath: String) -> String {
        if sectionKeyPaths.contains(keyPath) {
            let example = firstKey(under: keyPath).map { ", e.g. --set \($0)=…" } ?? ""
            return "is a section, not a single value; set its keys one by one\(example)"
        }
        if let leaf = leafKeyPaths.first(where: { keyPath.hasPrefix($0 + ".") }) {
            return "\(leaf) is a single value and has no keys"
        }
        return "unknown key" + Suggestion.didYouMean(keyPath, in: leafKeyPaths.union(sectionKeyPaths))
    }

    private func firstKey(under section: String) -> String? {
        leafKeyPaths.filter { $0.hasPrefix(section + ".") }.sorted().first
    }

    // MARK: Names

    static func keyPath(_ path: [String]) -> String {
        path.joined(separator: ".")
    }

    /// `["listeners", "wss-2", "port"]` → `MQTT_WS_BRIDGE_LISTENERS_WSS_2_PORT`.
    static func environmentName(for path: [String]) -> String {
        ConfigurationLoader.environmentPrefix
            + path.map { String($0.uppercased().map { $0 == "-" ? "_" : $0 }) }.joined(separator: "_")
    }
}
