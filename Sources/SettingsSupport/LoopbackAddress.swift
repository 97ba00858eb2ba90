#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a listen address keeps a listener on this machine, for the rule that an unauthenticated publish API must not
/// be reachable from elsewhere.
///
/// Decided from the text alone, without name resolution: `localhost`, `127.0.0.0/8`, `::1` and `::ffff:127.x.y.z` are
/// loopback; every other name (it might resolve to anything) and every wildcard (`0.0.0.0`, `::`) is not.
package enum LoopbackAddress {
    package static func isLoopback(_ address: String) -> Bool {
        var text = address.lowercased()
        if text.hasPrefix("[") && text.hasSuffix("]") {
            text = String(text.dropFirst().dropLast())
        }
        if text == "localhost" || text == "localhost." {
            return true
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 {
            return true  // ::1
        }
        // An IPv4-mapped address (::ffff:127.0.0.1) reaches the IPv4 loopback.
        return bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }
}
