/// A small deterministic generator (SplitMix64) so that random tests are reproducible: a failure
/// message names the seed and iteration, and rerunning gives the same input.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &self) }
    }

    mutating func key() -> [UInt8] {
        bytes(4)
    }

    /// Cuts `bytes` into consecutive chunks of random sizes in `1...maxChunk`.
    mutating func chunks(of bytes: [UInt8], maxChunk: Int) -> [[UInt8]] {
        var result: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            let size = min(Int.random(in: 1...maxChunk, using: &self), bytes.count - index)
            result.append(Array(bytes[index..<index + size]))
            index += size
        }
        return result
    }
}
