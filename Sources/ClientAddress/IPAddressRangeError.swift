/// Why a CIDR or address in the configuration was refused, with the offending text, for a start-up error message.
package struct IPAddressRangeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text as given (before trimming).
    package var input: String
    /// What is wrong with it, e.g. "host bits are set (did you mean 10.0.0.0/8?)".
    package var reason: String

    package init(input: String, reason: String) {
        self.input = input
        self.reason = reason
    }

    /// "'10.0.0.1/8' is not a valid IP address or CIDR range: host bits are set (did you mean 10.0.0.0/8?)"
    package var description: String {
        "'\(self.input)' is not a valid IP address or CIDR range: \(self.reason)"
    }
}
