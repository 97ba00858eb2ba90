import BridgeTestSupport
import Testing
import WebSocketTransport

/// The handshake's pure functions (RFC 6455 §4).
@Suite struct WebSocketHandshakeTests {
    /// Standard base64, written independently of the module's encoder, to build keys of any length.
    private func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var bits: [Bool] = bytes.flatMap { byte in (0..<8).map { byte & (0x80 >> $0) != 0 } }
        while bits.count % 6 != 0 { bits.append(false) }
        var text = ""
        for group in stride(from: 0, to: bits.count, by: 6) {
            let value = bits[group..<group + 6].reduce(0) { $0 * 2 + ($1 ? 1 : 0) }
            text.append(alphabet[value])
        }
        while text.count % 4 != 0 { text.append("=") }
        return text
    }

    @Test func rfc6455AcceptExample() {
        // RFC 6455 §1.3 (also checked with Python's hashlib: base64(SHA-1(key + GUID))).
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test(arguments: [
        // Computed with Python's hashlib/base64 (an independent SHA-1 and base64).
        ("UvImZaYMEtKJGF2VDuiBNg==", "cHMn22GzZlGAa8CBaeJUk2re/LY="),
        ("CRZvaxE9F41sD9OQH/I5oQ==", "SBXRnzy4FffbfBy0Rz2FHk79YpM="),
        ("oJXyD5OVZQz5OAuO2yJKaw==", "WmmPiXql9ViPUW1zA9ZJ5jJJl4Y="),
        ("JIoekk6P0K4uGpSSozBfGA==", "S5KLlZI+/prUxI8f1tc53PA6fTs="),
    ])
    func acceptValueMatchesAnIndependentImplementation(key: String, accept: String) {
        #expect(WebSocketHandshake.acceptValue(forKey: key) == accept)
    }

    @Test func validKeys() {
        #expect(WebSocketHandshake.isValidKey("dGhlIHNhbXBsZSBub25jZQ=="))
        #expect(WebSocketHandshake.isValidKey(base64([UInt8](repeating: 0, count: 16))))
        #expect(WebSocketHandshake.isValidKey(base64([UInt8](repeating: 0xFF, count: 16))))
    }

    @Test func onlySixteenByteKeysAreValid() {
        var random = SeededRandom(seed: 0x5EED_0006)
        for count in 0...40 {
            for _ in 0..<5 {
                let key = base64(random.bytes(count))
                #expect(WebSocketHandshake.isValidKey(key) == (count == 16), "\(count) bytes: \(key)")
            }
        }
    }

    @Test(arguments: [
        "",
        "AAAAAAAAAAAAAAAAAAAA",  // 15 bytes
        "AAAAAAAAAAAAAAAAAAAAAAA=",  // 17 bytes
        "dGhlIHNhbXBsZSBub25jZQ=",  // padding cut short
        "dGhlIHNhbXBsZSBub25jZQ",  // padding missing
        "dGhlIHNhbXBsZSBub25jZ===",  // three padding characters
        "dGhlIHNhbXBsZSBub25j=Q==",  // padding in the middle
        "=GhlIHNhbXBsZSBub25jZQ==",
        "dGhlIHNhbXBsZSBub25jZQ=A",
        "dGhlIHNhbXBsZSBub25jZQ===",
        " dGhlIHNhbXBsZSBub25jZQ==",
        "dGhlIHNhbXBsZSBub25jZQ== ",
        "dGhlIHNhbX BsZSBub25jZQ=",
        "dGhlIHNhbXBsZSBub25jZQ!=",
        "dGhlIHNhbXBsZSBub25j-_==",  // URL-safe alphabet is not standard base64
        "dGhlIHNhbXBsZSBub25jZQ==\r\n",
        "dGhlIHNhbXBsZSBub25jZQé=",
    ])
    func invalidKeys(_ key: String) {
        #expect(!WebSocketHandshake.isValidKey(key))
    }

    @Test func randomKeysAreValidAndDiffer() {
        let keys = (0..<50).map { _ in WebSocketHandshake.randomKey() }
        for key in keys {
            #expect(key.utf8.count == 24)
            #expect(WebSocketHandshake.isValidKey(key))
        }
        #expect(Set(keys).count == keys.count)
    }

    @Test func tokensOfOneHeaderLine() {
        #expect(WebSocketHandshake.tokens(in: ["mqtt, mqttv3.1"]) == ["mqtt", "mqttv3.1"])
        #expect(WebSocketHandshake.tokens(in: ["mqtt"]) == ["mqtt"])
        #expect(WebSocketHandshake.tokens(in: ["mqtt,mqttv3.1"]) == ["mqtt", "mqttv3.1"])
    }

    @Test func tokensOfSeveralHeaderLinesAreOneList() {
        #expect(WebSocketHandshake.tokens(in: ["mqtt", "mqttv3.1"]) == ["mqtt", "mqttv3.1"])
        #expect(WebSocketHandshake.tokens(in: ["a, b", "c"]) == ["a", "b", "c"])
    }

    @Test func tokensTrimWhitespaceAndDropEmptyItems() {
        #expect(WebSocketHandshake.tokens(in: ["  mqtt ,\tmqttv3.1\t "]) == ["mqtt", "mqttv3.1"])
        #expect(WebSocketHandshake.tokens(in: ["mqtt,,mqttv3.1", ",", "", " , \t,"]) == ["mqtt", "mqttv3.1"])
        #expect(WebSocketHandshake.tokens(in: []) == [])
        #expect(WebSocketHandshake.tokens(in: [",mqtt,"]) == ["mqtt"])
    }

    @Test func tokensKeepCaseAndInnerCharacters() {
        // Subprotocol names are case-sensitive tokens (RFC 6455 §11.3.4); comparing them is the caller's job.
        #expect(WebSocketHandshake.tokens(in: ["MQTT, Mqtt"]) == ["MQTT", "Mqtt"])
    }
}
