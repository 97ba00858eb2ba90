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

    package var description: String { self.rawValue }

}
