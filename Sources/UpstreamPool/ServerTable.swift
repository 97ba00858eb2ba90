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
            return PooledServer(
                index: pooled.index, server: UpstreamServer(host: host, port: pooled.server.port, weight: pooled.server.weight))
        }
        return ServerTable(servers: servers, nameHashes: nameHashes.map { $0 })
    }

    var count: Int { servers.count }
}
