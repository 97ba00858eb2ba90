import SettingsSupport
import Yams

/// One value as a layer gave it (the file, an environment variable or a `--set`), before it is given a type.
struct RawValue {
    /// Every layer's text is read as YAML, so every source yields a node.
    let node: Node
    /// Directory that relative paths in this value are resolved against: the config file's directory for values
    /// from the file, `nil` (left relative, i.e. the working directory) for environment variables and `--set`.
    let baseDirectory: String?
    /// For environment and `--set` values: the text as given. Where a single value is expected and the text is
    /// not a YAML scalar (`::` reads as a mapping, `*.example.com` as an alias), the text itself is the value,
    /// so nobody has to quote an IPv6 address in a shell.
    var originalText: String? = nil

    /// A value from an environment variable or `--set`: YAML where that makes sense, the plain text otherwise.
    init(overrideText text: String) {
        do {
            node = try YAMLParsing.compose(text) ?? Node("")
        } catch {
            node = Node(text, .implicit, .doubleQuoted)
        }
        baseDirectory = nil
        originalText = text
    }

    /// A value from the configuration file, which its layer hands over as YAML text (`YAMLParsing.text(of:)`); a plain
    /// null comes as no text at all.
    init(fileText text: String, baseDirectory: String?) {
        node = (try? YAMLParsing.compose(text)) ?? Node("")
        self.baseDirectory = baseDirectory
    }

    init(node: Node, baseDirectory: String?) {
        self.node = node
        self.baseDirectory = baseDirectory
    }

    /// YAML's null: an empty value, `~` or `null`, unquoted.
    var isNull: Bool {
        guard case .scalar(let scalar) = node else { return false }
        switch scalar.style {
        case .any, .plain: return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
        case .singleQuoted, .doubleQuoted, .literal, .folded: return false
        }
    }

    /// The text of a single value; a section or a list where one value belongs is a mistake (in the file).
    func text() throws(ValueError) -> String {
        switch node {
        case .scalar(let scalar): return scalar.string
        case .mapping, .sequence, .alias:
            if let originalText { return originalText }
        }
        switch node {
        case .sequence: throw ValueError("expected a single value, found a list")
        default: throw ValueError("expected a single value, found a section (key: value pairs)")
        }
    }
}

/// Why a value could not be read. The message describes the value; the reader adds key and location.
struct ValueError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A value syntax: how text in the configuration becomes a typed value (`10s` → `Duration`).
///
/// New sections reuse these; a new syntax is one more static member here.
struct ValueType<Value> {
    let parse: (RawValue) throws(ValueError) -> Value
}

extension ValueType where Value == String {
    /// Any single value, taken as text (`port: 8443` read as a string is `"8443"`).
    static var string: ValueType<String> {
        ValueType { raw throws(ValueError) in try raw.text() }
    }

    /// A file path. Relative paths from the file are resolved against the file's directory; absolute paths are kept.
    static var path: ValueType<String> {
        ValueType { raw throws(ValueError) in
            let text = try raw.text()
            guard let base = raw.baseDirectory else { return text }
            return PathResolution.resolve(text, against: base)
        }
    }
}

extension ValueType where Value == Bool {
    /// `true` or `false`. YAML 1.1's `yes`/`no`/`on`/`off` are refused rather than guessed.
    static var boolean: ValueType<Bool> {
        ValueType { raw throws(ValueError) in
            let text = try raw.text()
            switch text {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: throw ValueError("'\(text)' is not a boolean (use true or false)")
            }
        }
    }
}

extension ValueType where Value == Int {
    /// A TCP port number, 0–65535 (whether 0 is acceptable is up to validation).
    static var port: ValueType<Int> {
        ValueType { raw throws(ValueError) in
            let text = try raw.text()
            guard let port = Int(text), (0...65535).contains(port) else {
                throw ValueError("'\(text)' is not a port number (0-65535)")
            }
            return port
        }
    }

    /// A whole number ≥ 0 (`0` usually means "no limit").
    static var count: ValueType<Int> {
        ValueType { raw throws(ValueError) in
            let text = try raw.text().replacingOccurrences(of: "_", with: "")
            guard let value = Int(text), value >= 0 else {
                throw ValueError("'\(text)' is not a whole number ≥ 0")
            }
            return value
        }
    }

    /// A size in bytes: `1048576`, `512KiB`, `1MiB`, `1GiB` (1024-based) or `500KB`, `1MB`, `1GB` (1000-based).
    static var byteSize: ValueType<Int> {
        ValueType { raw throws(ValueError) in
            let text = try raw.text()
            guard let bytes = Quantity.bytes(text) else {
                throw ValueError("'\(text)' is not a size (use e.g. 1048576, 512KiB, 1MiB or 1GiB; KB, MB and GB are 1000-based)")
            }
            guard bytes == bytes.rounded() else { throw ValueError("'\(text)' is not a whole number of bytes") }
            guard bytes < 9.0e18 else { throw ValueError("'\(text)' is too large") }
            return Int(bytes)
        }
    }
}

extension ValueType where Value == Double {
    /// A number ≥ 0, fractions allowed (`0.5`, `20`).
    static var rate: ValueType<Double> {
        ValueType { raw throws(ValueError) in
            let text = try raw.text()
            guard let value = Double(text), value.isFinite, value >= 0 else {
                throw ValueError("'\(text)' is not a number ≥ 0")
            }
            return value
        }
    }
}

extension ValueType where Value == Duration {
    /// `10s`, `500ms`, `2m`, `1h`, `1.5s`, or a bare number of seconds.
    static var duration: ValueType<Duration> {
        ValueType { raw throws(ValueError) in
            let text = try raw.text()
            guard let nanoseconds = Quantity.nanoseconds(text) else {
                throw ValueError("'\(text)' is not a duration (use e.g. 10s, 500ms, 2m, 1h, or a number of seconds)")
            }
            guard nanoseconds < 9.0e18 else { throw ValueError("'\(text)' is too long") }
            return .nanoseconds(Int64(nanoseconds))
        }
    }
}

extension ValueType where Value: CaseIterable & RawRepresentable, Value.RawValue == String {
    /// One of an enumeration's raw values, with a suggestion for near misses.
    static var enumeration: ValueType<Value> {
        ValueType { raw throws(ValueError) in
            let text = try raw.text()
            if let value = Value(rawValue: text) { return value }
            let choices = Value.allCases.map(\.rawValue)
            throw ValueError("'\(text)' is not one of: \(choices.joined(separator: ", "))\(Suggestion.didYouMean(text, in: choices))")
        }
    }
}

extension ValueType {
    /// A YAML list of values; a single value is taken as a list of one (handy in environment variables).
    static func list<Element>(of element: ValueType<Element>) -> ValueType<[Element]> where Value == [Element] {
        ValueType<[Element]> { raw throws(ValueError) in
            switch raw.node {
            case .sequence(let sequence):
                var values: [Element] = []
                for item in sequence {
                    values.append(try element.parse(RawValue(node: item, baseDirectory: raw.baseDirectory)))
                }
                return values
            case .mapping where raw.originalText == nil:
                throw ValueError("expected a list such as [a, b], found a section (key: value pairs)")
            default:
                return [try element.parse(raw)]
            }
        }
    }
}

extension ValueType where Value == TLSMinimumVersion {
    /// `1.2` or `1.3`; older versions are refused with the reason, since they are what people try first.
    static var tlsMinimumVersion: ValueType<TLSMinimumVersion> {
        ValueType { raw throws(ValueError) in
            let text = try raw.text()
            if ["1", "1.0", "1.1"].contains(text) {
                throw ValueError("TLS \(text) is not allowed: WeChat and browsers need TLS 1.2 or newer (use 1.2 or 1.3)")
            }
            return try ValueType.enumeration.parse(raw)
        }
    }
}
