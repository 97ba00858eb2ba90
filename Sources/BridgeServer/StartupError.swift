/// A start-up failure with a message for the operator (no stack trace, names the key).
public struct StartupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
