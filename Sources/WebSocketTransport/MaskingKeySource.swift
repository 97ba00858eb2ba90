import CSystemRandom

/// Masking keys for a client-role codec: unpredictable (RFC 6455 §5.3 wants them "derived from a strong
/// source of entropy", so an intermediary cannot be attacked with chosen masked bytes), drawn from the
/// operating system's CSPRNG 64 at a time. `SystemRandomNumberGenerator` makes one system call per 8 bytes:
/// under load that was an extra system call for every burst relayed to a WebSocket broker.
struct MaskingKeySource {
    private static let batch = 64
    /// Empty until the first key is needed: server-role codecs (one per client session) never mask and so never
    /// allocate it.
    private var keys: [UInt32] = []
    private var next = MaskingKeySource.batch

    mutating func nextKey() -> WebSocketMaskingKey {
        if self.next == Self.batch {
            if self.keys.isEmpty { self.keys = [UInt32](repeating: 0, count: Self.batch) }
            self.refill()
            self.next = 0
        }
        defer { self.next += 1 }
        return WebSocketMaskingKey(networkOrder: self.keys[self.next])
    }

    private mutating func refill() {
        let filled = self.keys.withUnsafeMutableBytes { c_system_random_fill($0.baseAddress!, $0.count) }
        if filled != 0 {
            // No kernel entropy interface (never seen on Linux ≥ 3.17): the standard library's generator.
            var generator = SystemRandomNumberGenerator()
            for index in self.keys.indices { self.keys[index] = generator.next() }
        }
    }
}
