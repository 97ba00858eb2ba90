/// Why one connection of the generator failed. Counted per kind in the report; the first messages are kept.
package struct BenchClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Where in a connection's life the failure happened.
    package enum Kind: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
        /// TCP connect refused, unreachable, or no file descriptors left.
        case connect
        /// TLS handshake or certificate verification.
        case tls
        /// The HTTP upgrade: not 101, wrong accept key, unexpected subprotocol or extension.
        case upgrade
        /// MQTT refused: CONNACK or SUBACK with a failure code.
        case refused
        /// Malformed or unexpected bytes (WebSocket or MQTT).
        case protocolViolation = "protocol"
        /// Connect, upgrade, CONNACK or SUBACK did not arrive in time.
        case timeout
        /// The server closed an established connection before the run ended.
        case closed

        package static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    package var kind: Kind
    package var message: String

    package init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    package var description: String { "\(self.kind.rawValue): \(self.message)" }
}
