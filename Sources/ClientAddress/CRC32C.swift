/// CRC-32C (Castagnoli, RFC 3720 §B.4 / RFC 4960 Appendix B), the checksum of PP2_TYPE_CRC32C.
///
/// Reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF; table-driven, one byte per step.
/// A header is a few hundred bytes once per connection, so a hardware-accelerated version would not be noticed.
package struct CRC32C: Sendable {
    private static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 {
            crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
        }
        return crc
    }

    private var state: UInt32 = 0xFFFF_FFFF

    package init() {}

    /// Feeds more bytes.
    package mutating func update(_ bytes: some Sequence<UInt8>) {
        var crc = self.state
        for byte in bytes {
            crc = Self.table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        self.state = crc
    }

    /// The checksum of everything fed so far.
    package var value: UInt32 { self.state ^ 0xFFFF_FFFF }

    /// The checksum of `bytes`. `CRC32C.checksum(Array("123456789".utf8)) == 0xE3069283`.
    package static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = CRC32C()
        crc.update(bytes)
        return crc.value
    }
}
