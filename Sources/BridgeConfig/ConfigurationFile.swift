import Configuration
import Yams

/// The configuration file, parsed once: its root section, which `SectionReader` walks for the file's structure
/// (unknown keys, named entries, which sections are present), and its values as the weakest layer.
///
/// swift-configuration's own YAML provider (`FileProvider<YAMLSnapshot>`, trait `YAML`) does not fit, so the file is
/// read with Yams here, as the library would, and handed to the library as an `InMemoryProvider`. That provider keeps
/// no positions (no message could say `Config/bridge.yaml:14:13`), stores `<<` merge keys as ordinary keys, reads
/// `chain: ~` and `chain: "~"` alike, refuses a file that is empty or only comments, and cannot list a section's keys.
struct ConfigurationFile {
    /// The path as the user gave it, for messages; `<config>` for text that came without a path.
    let name: String
    /// Relative paths in the file are resolved against this; `nil` (no path) leaves them relative.
    let directory: String?
    /// The top level; `nil` for no file, an empty one, or one that could not be parsed.
    private(set) var root: Node.Mapping?
    /// `false` after a syntax error: validating the defaults then would only add noise to it.
    private(set) var isParsed = true
    /// A syntax error, or a top level that is not sections.
    private(set) var problems: [ConfigurationProblem] = []
    /// Every key path the file sets, with its value as YAML text: the file's layer. A section is there as `{}`, its
    /// keys under their own paths, so that a section written where one value belongs is still seen as one.
    private(set) var layer = InMemoryProvider(values: [:])
    /// Where the file wrote each value, by key path (for a value a merge key brought in: where the anchor wrote it).
    private(set) var locations: [[String]: String] = [:]

    init(text: String?, path: String?) {
        name = path ?? "<config>"
        directory = path.map(PathResolution.directory(of:))
        guard let text else { return }
        do {
            switch try YAMLParsing.compose(text) {
            case .mapping(let mapping)?:
                root = mapping
                layer = InMemoryProvider(name: name, values: values(of: mapping))
            case nil:
                break  // empty, or only comments: all defaults
            case let node? where RawValue(node: node, baseDirectory: nil).isNull:
                break
            case let node?:
                problems.append(
                    ConfigurationProblem(
                        key: "", location: location(node.mark),
                        message: "expected sections such as listeners:, routes: and upstream: at the top level"))
            }
        } catch {
            problems.append(ConfigurationProblem(key: "", location: location(error.mark), message: error.message))
            isParsed = false
        }
    }

    /// `Config/bridge.yaml:14:13`.
    func location(_ mark: Mark?) -> String {
        guard let mark else { return name }
        return "\(name):\(mark.line):\(mark.column)"
    }

    /// The values under `mapping` by key path; fills in `locations` on the way.
    private mutating func values(of mapping: Node.Mapping, at path: [String] = []) -> [AbsoluteConfigKey: ConfigValue] {
        // The last entry of a key counts (written keys come after merged ones). A section is replaced, not merged
        // into: YAML's merge keys are shallow, so only that entry's own keys are added below it.
        var last: [String: YAMLParsing.Entry] = [:]
        for entry in YAMLParsing.entries(of: mapping) { last[entry.key] = entry }
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, entry) in last {
            let keyPath = path + [key]
            locations[keyPath] = location(entry.value.mark)
            if case .mapping(let section) = entry.value {
                values[AbsoluteConfigKey(keyPath)] = ConfigValue(.string("{}"), isSecret: true)
                values.merge(self.values(of: section, at: keyPath)) { _, nested in nested }
                continue
            }
            do {
                values[AbsoluteConfigKey(keyPath)] = ConfigValue(.string(try YAMLParsing.text(of: entry.value)), isSecret: true)
            } catch {
                problems.append(
                    ConfigurationProblem(key: keyPath.joined(separator: "."), location: location(error.mark), message: error.message))
            }
        }
        return values
    }
}
