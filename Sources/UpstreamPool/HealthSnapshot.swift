/// The servers as the choice needs them, fixed for the pool's life: precomputed name hashes and weights.
///
/// Each `UpstreamPoolView` has its own copy (`copyForView()`), with its own array storage and host strings: reference
/// counts are atomic, and a choice on one loop must not write a cache line that every other loop's choices write too.
final class ServerTable: Sendable {
    let servers: [PooledServer]
    /// `XXH64(name)` per server: the server's half of every rendezvous score.
    let nameHashes: [UInt64]
    let weights: [Int]
    let doubleWeights: [Double]
    /// All weights equal: rendezvous compares pair hashes, no logarithm.
    let uniformWeights: Bool
    /// One bit per server.
    let allMask: UInt64

    convenience init(_ servers: [UpstreamServer]) {
        self.init(
            servers: servers.enumerated().map { PooledServer(index: $0.offset, server: $0.element) },
            nameHashes: servers.map { XXH64.hash($0.name) })
    }

    private init(servers: [PooledServer], nameHashes: [UInt64]) {
        self.servers = servers
        self.nameHashes = nameHashes
        self.weights = servers.map(\.server.weight)
        self.doubleWeights = servers.map { Double($0.server.weight) }
        self.uniformWeights = Set(servers.map(\.server.weight)).count <= 1
        self.allMask = servers.count >= 64 ? ~0 : (1 << UInt64(servers.count)) - 1
    }

    /// The same table in storage of its own: new arrays, and host strings copied byte by byte (a plain copy of a
    /// String shares its buffer and reference count).
    func copyForView() -> ServerTable {
        let servers = self.servers.map { pooled in
            let host = String(decoding: Array(pooled.server.host.utf8), as: UTF8.self)
            return PooledServer(index: pooled.index, server: UpstreamServer(host: host, port: pooled.server.port, weight: pooled.server.weight))
        }
        return ServerTable(servers: servers, nameHashes: nameHashes.map { $0 })
    }

    var count: Int { servers.count }
}

/// Which servers take sessions, as of one health change. Immutable: published whole, read without a lock.
final class HealthSnapshot: Sendable {
    let generation: UInt64
    /// Servers that are up.
    let upMask: UInt64
    /// Down servers with a rest that ends (`retryAt` set): available again once it has.
    let restingMask: UInt64
    /// Per server: when its rest ends (only meaningful for servers in `restingMask`).
    let retryAt: [ContinuousClock.Instant?]

    init(generation: UInt64, health: [ServerHealth]) {
        self.generation = generation
        var up: UInt64 = 0
        var resting: UInt64 = 0
        var retryAt: [ContinuousClock.Instant?] = []
        retryAt.reserveCapacity(health.count)
        for (index, server) in health.enumerated() {
            switch server.state {
            case .up:
                up |= 1 << UInt64(index)
                retryAt.append(nil)
            case .down(_, _, let until):
                if until != nil { resting |= 1 << UInt64(index) }
                retryAt.append(until)
            }
        }
        self.upMask = up
        self.restingMask = resting
        self.retryAt = retryAt
    }
}
