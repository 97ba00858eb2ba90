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
