@testable import UpstreamPool

/// A pool of `addresses` (`host:port`), each with weight 1 unless `weights` says otherwise.
func makePool(
    _ addresses: [String], weights: [Int]? = nil, balance: UpstreamBalance = .clientID, minHealthy: Int = 1,
    backoff: UpstreamBackoff = .init(), unitRandom: @escaping @Sendable () -> Double = { 0.5 }
) throws -> UpstreamPool {
    let servers = try addresses.enumerated().map { index, address in
        try UpstreamServer(parsing: address, weight: weights?[index] ?? 1)
    }
    return try UpstreamPool(
        settings: UpstreamPoolSettings(servers: servers, balance: balance, minHealthy: minHealthy, backoff: backoff),
        unitRandom: unitRandom)
}

/// `broker-0:1883` … `broker-(n-1):1883`.
func brokerAddresses(_ count: Int, from start: Int = 0) -> [String] {
    (start..<(start + count)).map { "broker-\($0):1883" }
}

/// Client ids as real clients make them: a prefix and a number.
let sampleClientIDs: [String] = (0..<10_000).map { "device-\($0)" }

extension UpstreamPoolView {
    /// The first server a new session with this client id dials.
    func firstChoice(_ clientID: String) -> PooledServer? {
        var plan = plan(clientID: clientID)
        return plan.next()
    }

    /// The whole dial order for a client id, from the health as it is now.
    func dialOrder(_ clientID: String, now: ContinuousClock.Instant = .now) -> [String] {
        var plan = plan(clientID: clientID)
        var order: [String] = []
        while let server = plan.next(now: { now }) { order.append(server.description) }
        return order
    }
}

extension UpstreamPool {
    func server(_ description: String) -> PooledServer {
        servers.first { $0.description == description }!
    }
}
