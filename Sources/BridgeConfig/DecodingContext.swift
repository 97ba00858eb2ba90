import SettingsSupport
import Yams

/// What the layers say about one key path.
enum KeyLookup {
    /// No layer has the key: the built-in default applies.
    case absent
    /// The value from the strongest layer that has it, and where it came from (for messages).
    case found(RawValue, location: String?)
}

/// The state of one load, shared by every `SectionReader`: the layers, the problems found so far, and which
/// environment variables and `--set` arguments matched a key (the rest are typos, reported at the end).
///
/// A class because readers for nested sections all add to it; it lives only for the duration of one `load`.
final class DecodingContext {
    let file: ConfigurationFile
    private let layers: ConfigurationLayers
    private(set) var problems: [ConfigurationProblem] = []
    /// Where each key path's value (or section) came from, to give validation problems a location.
    private(set) var locations: [String: String] = [:]

    /// `MQTT_WS_BRIDGE_*` variables except the reserved config-file one: all the environment layer sees.
    private let environment: [String: String]
    private var environmentNamesLookedUp: Set<String> = []
    private var sectionEnvironmentNames: [String: String] = [:]
    private let overrides: [ConfigurationOverride]
    private var leafKeyPaths: Set<String> = []
    private var sectionKeyPaths: Set<String> = []
    /// Counts values taken from the environment or `--set`; speculative decoding compares it before and after.
    private var overrideValuesUsed = 0

    init(_ source: ConfigurationSource, file: ConfigurationFile) {
        self.file = file
        environment = source.environment.filter {
            $0.key.hasPrefix(ConfigurationLoader.environmentPrefix) && $0.key != ConfigurationLoader.configFileVariable
        }
        var overrides: [ConfigurationOverride] = []
        for argument in source.overrides {
            do {
                overrides.append(try ConfigurationOverride.parse(argument))
            } catch {
                problems += error.problems
            }
        }
        self.overrides = overrides
        problems += file.problems
        layers = ConfigurationLayers(overrides: overrides, environment: environment, file: file.layer)
    }

    // MARK: Problems and locations

    func report(_ path: [String], location: String?, _ message: String) {
        problems.append(ConfigurationProblem(key: Self.keyPath(path), location: location, message: message))
    }

    /// `Config/bridge.yaml:14:13`.
    func fileLocation(_ mark: Mark?) -> String {
        file.location(mark)
    }

    func noteLocation(_ path: [String], _ location: String?) {
        if let location { locations[Self.keyPath(path)] = location }
    }

    // MARK: Lookup

    /// The value for one key from the strongest layer that has it: `--set`, the environment variable named for the
    /// key, the file.
    func lookUp(_ path: [String]) -> KeyLookup {
        let keyPath = Self.keyPath(path)
        leafKeyPaths.insert(keyPath)
        let (answer, variable) = layers.lookUp(path)
        environmentNamesLookedUp.insert(variable)
        guard let answer else { return .absent }

        let raw: RawValue
        let location: String
        switch answer.layer {
        case .commandLine:
            raw = RawValue(overrideText: answer.text)
            location = ConfigurationProblem.overrideLocation
        case .environment:
            raw = RawValue(overrideText: answer.text)
            location = ConfigurationProblem.environmentLocationPrefix + answer.spelledKey
        case .file:
            raw = RawValue(fileText: answer.text, baseDirectory: file.directory)
            location = file.locations[path] ?? file.name
        }
        if answer.layer != .file { overrideValuesUsed += 1 }
        locations[keyPath] = location
        return .found(raw, location: location)
    }

    /// Records that `path` is a section, for the "is a section" messages about overrides and variables naming one.
    func noteSection(_ path: [String]) {
        sectionKeyPaths.insert(Self.keyPath(path))
        sectionEnvironmentNames[layers.environmentVariable(for: path)] = Self.keyPath(path)
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
            problems.append(
                ConfigurationProblem(
                    key: variable,
                    location: ConfigurationProblem.environmentLocationPrefix + variable,
                    message: unmatchedVariableMessage(variable)
                ))
        }
        for override in overrides where !leafKeyPaths.contains(override.keyPath) {
            report(override.path, location: ConfigurationProblem.overrideLocation, unmatchedOverrideMessage(override.keyPath))
        }
    }

    private func unmatchedVariableMessage(_ variable: String) -> String {
        if let section = sectionEnvironmentNames[variable] {
            let example =
                firstKey(under: section).map { " such as \(layers.environmentVariable(for: $0.split(separator: ".").map(String.init)))" }
                ?? ""
            return "names the section \(section), not a single value; set its keys one by one\(example)"
        }
        if let suggestion = Suggestion.closest(to: variable, in: environmentNamesLookedUp) {
            return "matches no configuration key (did you mean \(suggestion)?)"
        }
        let mapPrefixes = ["listeners", "routes"].map { layers.environmentVariable(for: [$0]) + "_" }
        if mapPrefixes.contains(where: variable.hasPrefix) {
            return
                "matches no configuration key (environment variables can change listeners and routes that exist in the file or the defaults; add new ones in the file or with --set)"
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

    static func keyPath(_ path: [String]) -> String {
        path.joined(separator: ".")
    }
}
