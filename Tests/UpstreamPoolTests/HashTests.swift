import Testing

@testable import UpstreamPool

@Suite("XXH64 and the rendezvous score")
struct HashTests {
    /// Reference values printed by `printf '%s' TEXT | xxhsum -H1` (xxHash 0.8.1): every code path of the hash
    /// (under 4 bytes, the 4-byte step, 8-byte words, 32-byte stripes).
    @Test(arguments: [
        ("", 0xEF46_DB37_51D8_E999 as UInt64),
        ("a", 0xD24E_C4F1_A98C_6E5B),
        ("abc", 0x44BC_2CF5_AD77_0999),
        ("abcd", 0xDE03_27B0_D25D_92CC),
        ("abcdefg", 0x1860_940E_2902_822D),
        ("client-42", 0xA616_7D63_1AC2_724E),
        ("mqtt-client-7f3a9c", 0xDC1E_5666_3234_587C),
        ("0123456789abcdef0123456789abcdef", 0x642A_9495_8E71_E6C5),
        ("0123456789abcdefghijklmnopqrstuvwxyz0123456789", 0x4AE5_684C_D402_FBB4),
        ("broker-a:1883", 0x6E0D_79CE_C2E6_8F33),
    ])
    func matchesTheReferenceImplementation(text: String, expected: UInt64) {
        #expect(XXH64.hash(text) == expected)
    }

    @Test("equal weights: comparing pair hashes ranks exactly as the weighted score does")
    func uniformFastPathAgreesWithTheFormula() throws {
        let addresses = brokerAddresses(7)
        let pool = try makePool(addresses)
        let view = pool.makeView()
        for clientID in sampleClientIDs.prefix(2_000) {
            let key = XXH64.hash(clientID)
            let byFormula = pool.servers.max { a, b in
                let (ha, hb) = (
                    Rendezvous.pairHash(key: key, server: XXH64.hash(a.server.name)),
                    Rendezvous.pairHash(key: key, server: XXH64.hash(b.server.name))
                )
                return Rendezvous.weightedScore(pairHash: ha, weight: 1) < Rendezvous.weightedScore(pairHash: hb, weight: 1)
            }
            #expect(view.firstChoice(clientID) == byFormula)
        }
    }

    /// The choices of the Python snippet in docs/scale-out.md (with PyPI's `xxhash`), which computes the documented
    /// formula independently of this code.
    @Test("the same choices as the documented formula, computed outside the bridge")
    func matchesTheDocumentedFormula() throws {
        let unweighted = try makePool(brokerAddresses(4)).makeView()
        #expect(
            (0..<8).map { unweighted.firstChoice("device-\($0)")!.description } == [
                "broker-0:1883", "broker-3:1883", "broker-3:1883", "broker-1:1883", "broker-3:1883", "broker-1:1883", "broker-0:1883",
                "broker-2:1883",
            ])
        let weighted = try makePool(brokerAddresses(4), weights: [1, 2, 3, 4]).makeView()
        #expect(
            (0..<8).map { weighted.firstChoice("device-\($0)")!.description } == [
                "broker-1:1883", "broker-3:1883", "broker-3:1883", "broker-1:1883", "broker-3:1883", "broker-3:1883", "broker-1:1883",
                "broker-2:1883",
            ])
        let recipe = try makePool(["mosquitto-a:1883", "mosquitto-b:1883"]).makeView()
        #expect(recipe.firstChoice("device-1")?.description == "mosquitto-b:1883")
    }

    @Test("a server's identity ignores the host's case and the weight")
    func serverName() throws {
        #expect(try UpstreamServer(parsing: "Broker-A:1883").name == "broker-a:1883")
        #expect(try UpstreamServer(parsing: "[2001:DB8::1]:1883", weight: 5).name == "[2001:db8::1]:1883")
    }
}
