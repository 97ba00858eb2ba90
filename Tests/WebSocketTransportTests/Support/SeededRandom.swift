import BridgeTestSupport

extension SeededRandom {
    /// A random 4-byte masking key.
    mutating func key() -> [UInt8] {
        bytes(4)
    }
}
