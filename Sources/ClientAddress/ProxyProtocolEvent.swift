/// What `ProxyProtocolHandler` decided, fired as a user inbound event to the handlers after it (exactly once per
/// connection), and also recorded in its `ProxyProtocolOutcome`.
package enum ProxyProtocolEvent: Hashable, Sendable {
    /// A header was accepted. Fired before the first bytes that followed it.
    case received(ProxyProtocolHeader)
    /// No header, and the configuration allows that for this peer: the connection's own addresses apply. Fired
    /// before the first bytes of the connection.
    case absent
    /// The connection is refused and being closed: untrusted peer, missing or invalid header, or the peer left
    /// first (`.connectionClosedBeforeHeader`). No bytes are passed on.
    case rejected(ProxyProtocolError)
}
