import NIOCore

/// The peers whose claims about the client address are believed: load balancers and reverse proxies we run.
///
/// Used twice on the inbound path: a PROXY protocol header is accepted only from a trusted peer, and
/// `X-Forwarded-For` / `X-Real-IP` are honoured only when the TCP peer is trusted (see `resolveClientAddress`).
///
/// The CIDRs are parsed once into 128-bit masks; `contains` does no string work and no allocation, a linear scan
/// of the configured blocks (a handful in practice). An empty list trusts nobody.
package struct TrustedProxies: Hashable, Sendable {
    /// The configured blocks, in configuration order.
    package let ranges: [IPAddressRange]

    /// Nobody is trusted: headers and PROXY lines are ignored or refused.
    package static let none = TrustedProxies(ranges: [])

    /// Parses each entry as in `IPAddressRange.init(_:)`: `10.0.0.0/8`, `192.168.1.7`, `::1`, `2001:db8::/32`,
    /// `::ffff:10.0.0.0/104`.
    ///
    /// - Throws: the first entry's `IPAddressRangeError` (it names the entry and the reason).
    package init(_ cidrs: [String]) throws(IPAddressRangeError) {
        var ranges: [IPAddressRange] = []
        ranges.reserveCapacity(cidrs.count)
        for cidr in cidrs {
            ranges.append(try IPAddressRange(cidr))
        }
        self.ranges = ranges
    }

    package init(ranges: [IPAddressRange]) {
        self.ranges = ranges
    }

    /// True when nobody is trusted.
    package var isEmpty: Bool { self.ranges.isEmpty }

    /// Whether `address` lies in one of the blocks.
    @inlinable
    package func contains(_ address: IPAddress) -> Bool {
        for range in self.ranges where range.contains(address) {
            return true
        }
        return false
    }

    /// Whether the IP of `address` lies in one of the blocks. Unix domain sockets are never trusted: they carry no
    /// IP, and a local proxy that should be trusted connects over loopback TCP.
    package func contains(_ address: SocketAddress) -> Bool {
        guard let ip = IPAddress(address) else {
            return false
        }
        return self.contains(ip)
    }

    /// Whether the textual address `ip` lies in one of the blocks; false when it is not a valid address.
    package func contains(ip: String) -> Bool {
        guard let address = IPAddress(ip) else {
            return false
        }
        return self.contains(address)
    }
}
