/// Why the admin listener cannot start; `description` names the configuration key where there is one.
public struct AdminStartupError: Error, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
