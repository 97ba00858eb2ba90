/// Why edge authentication cannot start: every problem found, each naming the setting or file and the reason.
///
/// Key names follow the configuration file (`auth.jwt.keys`, `routes.<name>.auth.client_id_pattern`), since the
/// settings mirror it; file problems name the file.
public struct EdgeAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    package struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// The setting, e.g. `auth.jwt.keys`.
        package var key: String
        package var message: String

        package var description: String { "\(self.key): \(self.message)" }
    }

    package var problems: [Problem]

    init(_ problems: [Problem]) {
        self.problems = problems
    }

    init(key: String, _ message: String) {
        self.problems = [Problem(key: key, message: message)]
    }

    public var description: String { self.problems.map(\.description).joined(separator: "\n") }
}
