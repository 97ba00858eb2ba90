import Foundation

/// The RFC 6455 §4.1 handshake nonce and the `Sec-WebSocket-Accept` value a server must answer with.
package enum WebSocketHandshakeKey {
    /// The GUID that RFC 6455 §1.3 appends to the key before hashing.
    package static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (24 characters).
    package static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        let nonce = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(nonce).base64EncodedString()
    }

    /// `base64(SHA-1(key + GUID))`: what a correct server puts in `Sec-WebSocket-Accept` for `key`.
    /// Public so bridge tests can check a 101 they read with `rawRequest`.
    package static func acceptValue(forKey key: String) -> String {
        Data(SHA1.digest(Array((key + guid).utf8))).base64EncodedString()
    }
}
