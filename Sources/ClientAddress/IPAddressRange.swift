import TextTrimming

/// A CIDR block such as `10.0.0.0/8`, `2001:db8::/32` or a single address (`192.168.1.7` = `/32`, `::1` = `/128`).
///
/// Matching happens in one 128-bit space where IPv4 is IPv4-mapped IPv6 (see `IPAddress`), so:
/// - `10.0.0.0/8` contains `10.1.2.3` and `::ffff:10.1.2.3`;
/// - `::ffff:10.0.0.0/104` is the same block as `10.0.0.0/8`;
/// - `0.0.0.0/0` contains every IPv4 address (mapped or not) and no other IPv6 address;
/// - `::/0` contains every address, IPv4 included.
///
/// A range is parsed once; `contains` is two masked 64-bit comparisons.
package struct IPAddressRange: Hashable, Sendable, CustomStringConvertible {
    /// The first address of the block, in the family it was written in.
    package let network: IPAddress
    /// The prefix length in the network's own family: 0…32 for IPv4, 0…128 for IPv6.
    package let prefixLength: Int

    @usableFromInline
    internal let maskHigh: UInt64
    @usableFromInline
    internal let maskLow: UInt64

    /// A block from its first address and prefix length.
    ///
    /// - Throws: when the prefix is out of range for the family, or when `network` has bits set after the prefix
    ///   (`10.0.0.1/8`): that is usually a typo for a single address or for a different block, so it is refused
    ///   rather than silently widened.
    package init(network: IPAddress, prefixLength: Int) throws(IPAddressRangeError) {
        let input = "\(network)/\(prefixLength)"
        let maximum = network.family == .v4 ? 32 : 128
        guard (0...maximum).contains(prefixLength) else {
            throw IPAddressRangeError(
                input: input,
                reason:
                    "prefix length \(prefixLength) is outside 0…\(maximum) for an \(network.family == .v4 ? "IPv4" : "IPv6") address"
            )
        }
        let bits = network.family == .v4 ? 96 + prefixLength : prefixLength
        let maskHigh: UInt64 = bits >= 64 ? .max : (bits == 0 ? 0 : .max << (64 - bits))
        let maskLow: UInt64 = bits <= 64 ? 0 : (bits >= 128 ? .max : .max << (128 - bits))
        guard network.high & ~maskHigh == 0, network.low & ~maskLow == 0 else {
            let first = IPAddress(masking: network, high: maskHigh, low: maskLow)
            throw IPAddressRangeError(
                input: input,
                reason:
                    "host bits are set after the /\(prefixLength) prefix (did you mean \(first)/\(prefixLength), or \(network) alone?)"
            )
        }
        self.network = network
        self.prefixLength = prefixLength
        self.maskHigh = maskHigh
        self.maskLow = maskLow
    }

    /// Parses `address/prefix` or a bare address; surrounding whitespace is ignored.
    ///
    /// - Throws: `IPAddressRangeError` naming the input and the reason: not an address, a bad prefix length, or host
    ///   bits set after the prefix.
    package init(_ text: String) throws(IPAddressRangeError) {
        let trimmed = text.trimmingASCIIWhitespace()
        let parts = trimmed.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addressText = parts[0]
        guard let address = IPAddress(utf8: addressText.utf8) else {
            throw IPAddressRangeError(
                input: text,
                reason: addressText.isEmpty
                    ? "the address is missing"
                    : "'\(addressText)' is not an IPv4 or IPv6 address (no brackets, ports, zones or leading zeros)"
            )
        }
        var prefixLength = address.family == .v4 ? 32 : 128
        if parts.count == 2 {
            let prefixText = parts[1]
            guard !prefixText.isEmpty, prefixText.count <= 3, prefixText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
                let value = Int(prefixText)
            else {
                throw IPAddressRangeError(
                    input: text,
                    reason: "the prefix length '\(prefixText)' is not a decimal number"
                )
            }
            prefixLength = value
        }
        do {
            try self.init(network: address, prefixLength: prefixLength)
        } catch {
            throw IPAddressRangeError(input: text, reason: error.reason)
        }
    }

    /// Whether `address` is inside this block (IPv4 and IPv4-mapped IPv6 are interchangeable).
    @inlinable
    package func contains(_ address: IPAddress) -> Bool {
        address.high & self.maskHigh == self.network.high && address.low & self.maskLow == self.network.low
    }

    /// `10.0.0.0/8`, `2001:db8::/32`: always with the prefix length.
    package var description: String {
        "\(self.network)/\(self.prefixLength)"
    }
}

extension IPAddress {
    /// `address` with the bits outside the masks cleared, in the same family.
    fileprivate init(masking address: IPAddress, high: UInt64, low: UInt64) {
        if address.family == .v4 {
            self.init(ipv4: UInt32(truncatingIfNeeded: address.low & low))
        } else {
            self.init(ipv6High: address.high & high, low: address.low & low)
        }
    }
}
