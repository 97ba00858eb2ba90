/// A TLS setting that cannot be used, found at start-up (or by `--check-config`): the configuration key and what is
/// wrong with it, in words an operator can act on. `BridgeServer` turns it into its start-up error unchanged.
package struct TLSConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration key the problem is about, e.g. `listeners.wss.tls.ciphers[1]`.
    package let key: String
    /// What is wrong, without the key.
    package let reason: String

    package init(key: String, _ reason: String) {
        self.key = key
        self.reason = reason
    }

    /// `listeners.wss.tls.ciphers[1]: 'ECDHE-RSA-AES128-SHA' is a CBC suite …`.
    package var description: String { "\(self.key): \(self.reason)" }
}
