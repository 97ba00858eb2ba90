import WebSocketTransport

/// Masking keys for a connection's client frames: seeded once from `WebSocketMaskingKey.random()` (the system's
/// secure generator), then advanced with xorshift64*.
///
/// RFC 6455 §5.3 wants keys an attacker cannot predict, to protect intermediaries from cache poisoning by hostile
/// scripts. A load generator sends only its own bytes, so that threat does not apply — while a system call per
/// frame (what the secure generator costs on Linux) would make the generator, not the server, the bottleneck.
/// Keys still differ per frame, so servers cannot take shortcuts that a constant key would allow.
struct MaskingKeySequence {
    private var state: UInt64

    init() {
        let high = UInt64(WebSocketMaskingKey.random().networkOrder)
        let low = UInt64(WebSocketMaskingKey.random().networkOrder)
        self.state = (high << 32 | low) | 1  // xorshift state must not be zero
    }

    init(seed: UInt64) {
        self.state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    mutating func next() -> WebSocketMaskingKey {
        self.state ^= self.state >> 12
        self.state ^= self.state << 25
        self.state ^= self.state >> 27
        let value = self.state &* 0x2545_F491_4F6C_DD1D
        return WebSocketMaskingKey(networkOrder: UInt32(truncatingIfNeeded: value >> 32))
    }
}
