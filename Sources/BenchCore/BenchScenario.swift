/// What a run measures.
package enum BenchScenario: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// P publishers → broker → S subscribers as fast as writability allows (or at a target rate):
    /// delivered messages per second.
    case throughput
    /// The same traffic at a fixed moderate rate (default 5,000 msg/s in total): end-to-end latency percentiles.
    case latency
    /// C connections, K at a time, each through TCP (+TLS) + upgrade + CONNECT/CONNACK, then DISCONNECT:
    /// new connections per second and handshake latency.
    case connect
    /// N idle connections held for a while: what each costs the server (watch its RSS) and whether all survive.
    case hold
    /// N idle sessions, then every connection cut at once (a reset, as when a NAT box or a network drops them) and
    /// every client reconnecting at once (or spread over a jitter window), retrying refusals: how long until the
    /// sessions are back, the handshake times under the storm, and the refusals by kind.
    case storm

    package var description: String { self.rawValue }

}
