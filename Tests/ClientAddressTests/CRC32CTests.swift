import BridgeTestSupport
import ClientAddress
import Testing

@Suite("CRC32c")
struct CRC32CTests {
    @Test func knownVectors() {
        // The usual check value, and RFC 3720 §B.4's test vectors.
        #expect(CRC32C.checksum(ascii("123456789")) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
        #expect(CRC32C.checksum([UInt8]()) == 0)
    }

    @Test func incrementalEqualsOneShot() {
        var random = SeededRandom(seed: 7)
        let data = random.bytes(1000)
        for split in [0, 1, 13, 500, 999, 1000] {
            var crc = CRC32C()
            crc.update(data[..<split])
            crc.update(data[split...])
            #expect(crc.value == CRC32C.checksum(data), "split at \(split)")
        }
    }
}
