/// A start-up failure with a message for the operator (no stack trace, names the key).
package struct StartupError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
