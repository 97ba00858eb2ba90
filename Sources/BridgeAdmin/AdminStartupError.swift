/// Why the admin listener cannot start; `description` names the configuration key where there is one.
package struct AdminStartupError: Error, Sendable, CustomStringConvertible {
    package let description: String

    package init(_ description: String) {
        self.description = description
    }
}
