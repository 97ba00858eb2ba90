import SettingsSupport
import Yams

/// Reads one section of the configuration (a YAML mapping such as `upstream` or `routes.browser`), key by key.
///
/// Each `value`/`section`/`entries` call names a key the section understands; the reader looks it up in the layers
/// (`--set`, the environment, the file, in that order of precedence), parses it, and reports problems with the key
/// path and the value's location. The file's structure is walked here: keys in the file that no call asked for are
/// reported by `finish()` as unknown, with a suggestion. The decode functions in `BridgeConfiguration+Decoding.swift`
/// are built from these calls.
final class SectionReader {
    let path: [String]
    private let context: DecodingContext
    /// The file's keys for this section, in file order, merge keys expanded; empty when the file does not have it.
    private let fileEntries: [YAMLParsing.Entry]
    /// Where the section itself was written (its key in the file, or `--set`), for "missing key" problems.
    private let location: String?
    private var keysRead: Set<String> = []

    init(path: [String], mapping: Node.Mapping?, location: String?, context: DecodingContext) {
        self.path = path
        self.location = location
        self.context = context
        self.fileEntries =
            mapping.map { mapping in
                YAMLParsing.entries(of: mapping) { omitted in
                    switch omitted {
                    case .complexKey(let key):
                        context.report(path, location: context.fileLocation(key.mark), "keys must be plain names")
                    case .mergeValue(let value):
                        context.report(
                            path + ["<<"], location: context.fileLocation(value.mark),
                            "a merge key needs a section or a list of sections, e.g. <<: *defaults")
                    }
                }
            } ?? []
    }

    // MARK: Single values

    /// A key with a default: absent → `defaultValue`.
    func value<T>(_ key: String, _ type: ValueType<T>, default defaultValue: T) -> T {
        requiredValue(key, type, default: defaultValue) ?? defaultValue
    }

    /// A key that must be given when `defaultValue` is `nil` (e.g. a new route's `path`); `nil` after a problem.
    func requiredValue<T>(_ key: String, _ type: ValueType<T>, default defaultValue: T?) -> T? {
        switch lookUp(key) {
        case .absent:
            if defaultValue == nil {
                let owner = path.count >= 2 ? "every entry in \(DecodingContext.keyPath(Array(path.dropLast())))" : "this section"
                context.report(path + [key], location: location, "missing; \(owner) needs one")
            }
            return defaultValue
        case .found(let raw, let location):
            if raw.isNull {
                context.report(path + [key], location: location, "has no value (remove the key to use the default)")
                return defaultValue
            }
            return parse(raw, as: type, key: key, location: location) ?? defaultValue
        }
    }

    /// A key that may be absent or null (`chain`, `ca_file`): both mean `nil` unless `defaultValue` says otherwise.
    func optionalValue<T>(_ key: String, _ type: ValueType<T>, default defaultValue: T? = nil) -> T? {
        switch lookUp(key) {
        case .absent:
            return defaultValue
        case .found(let raw, let location):
            if raw.isNull { return nil }
            return parse(raw, as: type, key: key, location: location) ?? defaultValue
        }
    }

    /// An old key name kept for `keys`, which replaced it: its value (`nil` when absent or null), to be the default of
    /// each of `keys`. Problems about one of `keys` that is not given by its own name point at the old key.
    func alias<T>(_ key: String, of keys: [String], _ type: ValueType<T>) -> T? {
        let value = optionalValue(key, type)
        if let location = context.locations[DecodingContext.keyPath(path + [key])] {
            for replacement in keys { context.noteLocation(path + [replacement], location) }
        }
        return value
    }

    /// A built-in default path, resolved like a path written in the file (default paths are relative to `Config/`).
    func defaultPath(_ path: String) -> String {
        guard let directory = context.file.directory else { return path }
        return PathResolution.resolve(path, against: directory)
    }

    // MARK: Sections

    /// A nested section that always exists (`upstream`, `timeouts`); absent from the file → `base`, still overridable.
    func section<T>(_ key: String, default base: T, _ decode: (SectionReader, T) -> T) -> T {
        guard let child = childReader(key) else { return base }
        let value = decode(child, base)
        child.finish()
        return value
    }

    /// A nested section whose presence means something (`tls`): present in the file → decoded over `blank`;
    /// absent → `base`; absent with no base (or `null` in the file) → `nil`, unless the environment or `--set`
    /// supplies one of its keys, which switches it on.
    func optionalSection<T>(_ key: String, default base: T?, blank: T, _ decode: (SectionReader, T) -> T) -> T? {
        let fileValue = fileEntry(key)?.value
        if let fileValue, !Self.isNull(fileValue) {
            return section(key, default: blank, decode)
        }
        if fileValue == nil, let base {
            return section(key, default: base, decode)
        }
        keysRead.insert(key)
        return context.speculatively { section(key, default: blank, decode) }
    }

    /// A map of named entries (`listeners`, `routes`). If the file has the section, its entries replace `defaults`;
    /// otherwise the defaults are the entries (and can still be overridden key by key). `--set` may add entries.
    /// `decode` gets the built-in entry of that name as `base`, or `nil` for entries the user wrote.
    func entries<T>(_ key: String, defaults: [T], name: (T) -> String, _ decode: (SectionReader, String, T?) -> T?) -> [T] {
        keysRead.insert(key)
        let sectionPath = path + [key]
        context.noteSection(sectionPath)
        var readers: [(name: String, reader: SectionReader, base: T?)] = []

        if let entry = fileEntry(key), !Self.isNull(entry.value) {
            context.noteLocation(sectionPath, context.fileLocation(entry.keyNode.mark))
            guard case .mapping(let mapping) = entry.value else {
                context.report(
                    sectionPath, location: context.fileLocation(entry.value.mark),
                    "expected named entries (name: settings), found \(Self.describe(entry.value))")
                return []
            }
            for (nameNode, settings) in mapping {
                guard case .scalar(let nameScalar) = nameNode else {
                    context.report(sectionPath, location: context.fileLocation(nameNode.mark), "entry names must be plain names")
                    continue
                }
                let entryPath = sectionPath + [nameScalar.string]
                let entryLocation = context.fileLocation(nameNode.mark)
                context.noteSection(entryPath)
                context.noteLocation(entryPath, entryLocation)
                switch settings {
                case .mapping(let settingsMapping):
                    readers.append(
                        (
                            nameScalar.string,
                            SectionReader(path: entryPath, mapping: settingsMapping, location: entryLocation, context: context), nil
                        ))
                case _ where Self.isNull(settings):
                    readers.append(
                        (nameScalar.string, SectionReader(path: entryPath, mapping: nil, location: entryLocation, context: context), nil))
                default:
                    context.report(
                        entryPath, location: context.fileLocation(settings.mark),
                        "expected settings (key: value pairs), found \(Self.describe(settings))")
                }
            }
        } else {
            for entry in defaults {
                let entryPath = sectionPath + [name(entry)]
                context.noteSection(entryPath)
                readers.append((name(entry), SectionReader(path: entryPath, mapping: nil, location: nil, context: context), entry))
            }
        }

        for newName in context.overrideEntryNames(under: sectionPath) where !readers.contains(where: { $0.name == newName }) {
            let entryPath = sectionPath + [newName]
            context.noteSection(entryPath)
            readers.append(
                (
                    newName,
                    SectionReader(path: entryPath, mapping: nil, location: ConfigurationProblem.overrideLocation, context: context), nil
                ))
        }

        var values: [T] = []
        for (entryName, reader, base) in readers {
            if let value = decode(reader, entryName, base) { values.append(value) }
            reader.finish()
        }
        return values.sorted { name($0) < name($1) }
    }

    /// Reports the file's keys in this section that no decode call asked for.
    func finish() {
        for entry in fileEntries where !keysRead.contains(entry.key) {
            let hint =
                Suggestion.closest(to: entry.key, in: keysRead).map { "did you mean '\($0)'?" }
                ?? "known keys: \(keysRead.sorted().joined(separator: ", "))"
            context.report(path + [entry.key], location: context.fileLocation(entry.keyNode.mark), "unknown key (\(hint))")
        }
    }

    // MARK: Helpers

    private func fileEntry(_ key: String) -> YAMLParsing.Entry? {
        fileEntries.last { $0.key == key }
    }

    private func lookUp(_ key: String) -> KeyLookup {
        keysRead.insert(key)
        return context.lookUp(path + [key])
    }

    private func parse<T>(_ raw: RawValue, as type: ValueType<T>, key: String, location: String?) -> T? {
        do {
            return try type.parse(raw)
        } catch {
            context.report(path + [key], location: location, error.message)
            return nil
        }
    }

    /// The reader for a nested section, or `nil` (problem reported) when the file has something else at that key.
    private func childReader(_ key: String) -> SectionReader? {
        keysRead.insert(key)
        let childPath = path + [key]
        context.noteSection(childPath)
        guard let entry = fileEntry(key) else {
            return SectionReader(path: childPath, mapping: nil, location: location, context: context)
        }
        let childLocation = context.fileLocation(entry.keyNode.mark)
        context.noteLocation(childPath, childLocation)
        switch entry.value {
        case .mapping(let mapping):
            return SectionReader(path: childPath, mapping: mapping, location: childLocation, context: context)
        case let value where Self.isNull(value):
            return SectionReader(path: childPath, mapping: nil, location: childLocation, context: context)
        default:
            context.report(
                childPath, location: context.fileLocation(entry.value.mark),
                "expected a section (key: value pairs), found \(Self.describe(entry.value))")
            return nil
        }
    }

    private static func isNull(_ node: Node) -> Bool {
        RawValue(node: node, baseDirectory: nil).isNull
    }

    private static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let scalar): "the value '\(scalar.string)'"
        case .sequence: "a list"
        case .mapping: "a section"
        case .alias: "an alias"
        }
    }
}
