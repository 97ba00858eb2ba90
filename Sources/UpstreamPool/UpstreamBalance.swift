/// How a new session's broker is chosen among the servers that are up.
public enum UpstreamBalance: String, Sendable, Hashable, CaseIterable {
    /// Rendezvous hashing of the MQTT client id (`Rendezvous`): the same id lands on the same broker from every bridge
    /// instance, which persistent sessions on brokers that do not share sessions need. A CONNECT with an empty client
    /// id (the broker assigns one) has nothing to be sticky to and goes by `leastSessions`.
    case clientID = "client_id"
    /// The server with the fewest open sessions relative to its weight.
    case leastSessions = "least_sessions"
    /// Each server in turn, as often as its weight says (smooth weighted round robin, as nginx does it).
    case roundRobin = "round_robin"
}
