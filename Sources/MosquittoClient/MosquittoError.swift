/// Everything that can go wrong in this module: a category (`kind`) to branch on, and a human-readable `reason`
/// that is libmosquitto's own text wherever it has one (`mosquitto_strerror`, `mosquitto_connack_string`,
/// `mosquitto_reason_string`, the OS's `strerror`).
///
/// A struct rather than an enum so that kinds can be added without breaking callers' `switch`es;
/// compare with `error.kind == .notAuthorized`.
package struct MosquittoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The category of a failure.
    package struct Kind: Sendable, Hashable, CustomStringConvertible {
        private enum Value: Hashable {
            case unreachable, tls, notAuthorized, refused, timeout, connectionLost, unavailable
            case invalidTopic, invalidMessage, invalidConfiguration, rejected, cancelled, protocolError
        }

        private let value: Value

        /// No connection could be opened: TCP refused, host unreachable, DNS lookup failed.
        package static let unreachable = Kind(value: .unreachable)
        /// The TLS handshake or certificate verification failed.
        package static let tls = Kind(value: .tls)
        /// The broker refused the credentials or the action: CONNACK 4/5 (MQTT 3.1.1), reason codes 0x86/0x87/0x8C
        /// (MQTT 5) on CONNACK, or 0x87 on a PUBACK/PUBREC (the broker's ACL denied the publish).
        package static let notAuthorized = Kind(value: .notAuthorized)
        /// The broker answered CONNACK with another refusal (protocol version, client identifier, server unavailable…).
        package static let refused = Kind(value: .refused)
        /// No CONNACK, or no PUBACK/PUBCOMP, within the configured time.
        package static let timeout = Kind(value: .timeout)
        /// The connection closed while an answer was awaited; a QoS 1/2 message may or may not have reached the broker.
        package static let connectionLost = Kind(value: .connectionLost)
        /// Nothing was sent: not connected (yet, or any more), disconnecting, no pool member connected, or the library
        /// was shut down. Safe to retry.
        package static let unavailable = Kind(value: .unavailable)
        /// A topic or subscription filter breaks the MQTT rules.
        package static let invalidTopic = Kind(value: .invalidTopic)
        /// A message libmosquitto or the broker's announced limits reject: payload or packet too large, QoS or retain not
        /// supported by the broker, invalid property, MQTT 5 properties on an MQTT 3.1.1 connection.
        package static let invalidMessage = Kind(value: .invalidMessage)
        /// `MosquittoConnectionOptions` that libmosquitto refuses (port, keep-alive, TLS files…).
        package static let invalidConfiguration = Kind(value: .invalidConfiguration)
        /// The broker refused a publish with an MQTT 5 reason code ≥ 0x80 other than "not authorized"
        /// (quota exceeded, payload format invalid, …).
        package static let rejected = Kind(value: .rejected)
        /// The waiting task was cancelled (the message may still be delivered).
        package static let cancelled = Kind(value: .cancelled)
        /// Anything else libmosquitto reports (protocol error, malformed packet, out of memory, …).
        package static let protocolError = Kind(value: .protocolError)

        /// Short lower-case text, suitable for `/readyz`: "unreachable", "not authorised", "timeout", …
        package var description: String {
            switch value {
            case .unreachable: "unreachable"
            case .tls: "TLS error"
            case .notAuthorized: "not authorised"
            case .refused: "refused"
            case .timeout: "timeout"
            case .connectionLost: "connection lost"
            case .unavailable: "unavailable"
            case .invalidTopic: "invalid topic"
            case .invalidMessage: "invalid message"
            case .invalidConfiguration: "invalid configuration"
            case .rejected: "rejected"
            case .cancelled: "cancelled"
            case .protocolError: "protocol error"
            }
        }
    }

    package var kind: Kind
    /// What happened, in libmosquitto's or the OS's words where they exist, e.g. `Connection Refused: not authorised.`,
    /// `Connection refused`, `no CONNACK within 2s`.
    package var reason: String
    /// The libmosquitto error number (`MOSQ_ERR_*`) behind this error, if any.
    package var mosquittoCode: Int32?
    /// The MQTT return/reason code behind this error, if any: a CONNACK return code (MQTT 3.1.1), or an MQTT 5
    /// reason code from CONNACK, PUBACK, PUBREC or DISCONNECT.
    package var reasonCode: Int32?

    package init(kind: Kind, reason: String, mosquittoCode: Int32? = nil, reasonCode: Int32? = nil) {
        self.kind = kind
        self.reason = reason
        self.mosquittoCode = mosquittoCode
        self.reasonCode = reasonCode
    }

    /// `kind: reason`, e.g. `not authorised: Connection Refused: not authorised.`
    package var description: String { "\(kind): \(reason)" }
}
