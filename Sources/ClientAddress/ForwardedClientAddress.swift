import TextTrimming

/// The client address behind HTTP reverse proxies, from `X-Forwarded-For` and `X-Real-IP`.
///
/// ## The rule
/// 1. The headers count only when the TCP peer (`peer`) is a trusted proxy. Otherwise anyone could send them, and
///    the answer is `peer` itself.
/// 2. `X-Forwarded-For` is a list that every proxy extends on the **right** with the address it received the
///    request from. Only the entries added by our own proxies can be believed, so the list is walked from the right
///    (the last header line first, each line's last entry first): trusted addresses are our proxies and are
///    skipped; the first untrusted address is the client, and is the answer. Everything to its left was written
///    by the client or by proxies we do not run, and is ignored: a client that sends its own
///    `X-Forwarded-For: 1.2.3.4` gets `1.2.3.4, <its real address>` from our proxy, and the answer is its real
///    address. This is why the **left-most** entry is never taken on trust.
/// 3. When every entry is trusted (a request from inside our own network), the left-most one is the answer.
/// 4. An entry that is not an address (`unknown`, an RFC 7239 obfuscated identifier like `_hidden`, garbage) stops
///    the walk: the answer is the last address that was accepted (the right-most trusted entry so far, or `peer`).
///    Whatever stands to the left of an entry we cannot read cannot be attributed to anyone.
/// 5. `X-Real-IP` is used only when there is no `X-Forwarded-For` entry at all and the peer is trusted (a proxy
///    that sets only `X-Real-IP`, like a common nginx setup). A malformed value is ignored (answer: `peer`).
///
/// Entries are read leniently where that is unambiguous: surrounding spaces and tabs, a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:443`), brackets around IPv6, double quotes; empty list elements (`a,,b`) are skipped. Several
/// header lines count as one list, in the order received (RFC 9110 §5.3).
///
/// The answer is in canonical form, with IPv4-mapped IPv6 written as IPv4 (`::ffff:1.2.3.4` → `1.2.3.4`), so that
/// one client has one spelling in logs and per-IP limits.
///
/// - Parameters:
///   - peer: the TCP peer's IP address (after any PROXY protocol header), as text.
///   - xForwardedFor: the values of every `X-Forwarded-For` header line, in order.
///   - xRealIP: the value of `X-Real-IP`, if present.
///   - trusted: our proxies.
/// - Returns: the client address as text; `peer` unchanged when it is not a valid IP address.
package func resolveClientAddress(
    peer: String,
    xForwardedFor: [String],
    xRealIP: String?,
    trusted: TrustedProxies
) -> String {
    guard let peerAddress = IPAddress(forwardedFor: peer) else {
        return peer
    }
    return resolveClientAddress(peer: peerAddress, xForwardedFor: xForwardedFor, xRealIP: xRealIP, trusted: trusted)
        .description
}

/// `resolveClientAddress(peer:xForwardedFor:xRealIP:trusted:)` for a parsed peer address; same rule, typed answer
/// (IPv4-mapped addresses unmapped).
package func resolveClientAddress(
    peer: IPAddress,
    xForwardedFor: [String],
    xRealIP: String?,
    trusted: TrustedProxies
) -> IPAddress {
    let peer = peer.unmapped
    guard trusted.contains(peer) else {
        return peer
    }
    var lastAccepted = peer
    var sawEntry = false
    for line in xForwardedFor.reversed() {
        var rest = Substring(line)
        while true {
            let comma = rest.lastIndex(of: ",")
            let entry = (comma.map { rest[rest.index(after: $0)...] } ?? rest).trimmingASCIIWhitespace()
            if !entry.isEmpty {
                sawEntry = true
                guard let address = IPAddress(forwardedFor: entry)?.unmapped else {
                    return lastAccepted
                }
                guard trusted.contains(address) else {
                    return address
                }
                lastAccepted = address
            }
            guard let comma else {
                break
            }
            rest = rest[..<comma]
        }
    }
    if !sawEntry, let xRealIP, let address = IPAddress(forwardedFor: xRealIP) {
        return address.unmapped
    }
    return lastAccepted
}

extension IPAddress {
    /// Reads one `X-Forwarded-For` / `X-Real-IP` entry: an address with optional port, brackets, quotes and
    /// surrounding whitespace (`1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:443`,
    /// `"[2001:db8::1]:443"`). Nil for anything else: `unknown`, obfuscated identifiers (`_hidden`), host names,
    /// zones, a bad port, a bracketed IPv4 address.
    package init?(forwardedFor entry: some StringProtocol) {
        var text = entry.trimmingASCIIWhitespace().utf8[...]
        if text.count >= 2, text.first == UInt8(ascii: "\""), text.last == UInt8(ascii: "\"") {
            text = text.dropFirst().dropLast()
        }
        guard let first = text.first, text.count <= 64 else {
            return nil
        }
        let colon = UInt8(ascii: ":")
        if first == UInt8(ascii: "[") {
            guard let close = text.firstIndex(of: UInt8(ascii: "]")),
                let address = IPAddress(utf8: text[text.index(after: text.startIndex)..<close]),
                address.family == .v6,
                Self.isValidPortSuffix(text[text.index(after: close)...], allowEmpty: true)
            else {
                return nil
            }
            self = address
            return
        }
        let colons = text.lazy.filter { $0 == colon }.count
        if colons == 1, let index = text.firstIndex(of: colon) {
            // IPv4 with a port: an IPv6 address has at least two colons.
            guard let address = IPAddress(utf8: text[..<index]), address.family == .v4,
                Self.isValidPortSuffix(text[index...], allowEmpty: false)
            else {
                return nil
            }
            self = address
            return
        }
        guard let address = IPAddress(utf8: text) else {
            return nil
        }
        self = address
    }

    /// Empty (when allowed) or `:` followed by a decimal port 0…65535.
    private static func isValidPortSuffix(_ suffix: Substring.UTF8View.SubSequence, allowEmpty: Bool) -> Bool {
        guard let first = suffix.first else {
            return allowEmpty
        }
        let digits = suffix.dropFirst()
        guard first == UInt8(ascii: ":"), (1...5).contains(digits.count),
            digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else {
            return false
        }
        return digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } <= 65535
    }
}
