import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as 128 bits, parsed once so that comparisons and CIDR checks are integer operations.
///
/// An IPv4 address is stored as its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) together with its
/// family. That is what makes `10.0.0.0/8` match `::ffff:10.1.2.3` (how a dual-stack socket reports an IPv4 peer)
/// and `::ffff:10.0.0.0/104` match `10.1.2.3`: both live at the same place in one 128-bit space.
///
/// Equality and hashing include the family: `1.2.3.4` and `::ffff:1.2.3.4` are different values. Use `unmapped`
/// first when they must count as one client (per-IP limits, logs).
///
/// Text parsing is strict on purpose, because the text comes from the network (PROXY v1 lines, `X-Forwarded-For`):
/// IPv4 is exactly four decimal numbers 0–255 without leading zeros (`010.0.0.1` could be read as octal by other
/// software, so it is refused rather than guessed), IPv6 is RFC 4291 §2.2 text (optionally ending in a dotted IPv4
/// address) without brackets, ports or zone identifiers.
public struct IPAddress: Hashable, Sendable {
    /// The address family, as written or as received.
    package enum Family: Hashable, Sendable {
        case v4
        case v6
    }

    /// Bits 127…64 of the 128-bit form, in host integer order (the first byte on the wire is the top byte).
    @usableFromInline
    internal let high: UInt64
    /// Bits 63…0 of the 128-bit form.
    @usableFromInline
    internal let low: UInt64
    /// Whether this is an IPv4 address (stored in its mapped form) or an IPv6 address.
    package let family: Family

    /// The `::ffff:0:0/96` prefix in the low word: IPv4-mapped addresses have `high == 0` and this in bits 63…32.
    @usableFromInline
    internal static let mappedMarker: UInt64 = 0x0000_FFFF_0000_0000

    /// An IPv4 address from its 32-bit value (`0x7F00_0001` is 127.0.0.1).
    package init(ipv4 value: UInt32) {
        self.high = 0
        self.low = Self.mappedMarker | UInt64(value)
        self.family = .v4
    }

    /// An IPv6 address from its two 64-bit halves (`high` holds the first 8 bytes on the wire).
    package init(ipv6High high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
        self.family = .v6
    }

    /// An address from its bytes in network order: 4 bytes for IPv4, 16 for IPv6; nil for any other count.
    package init?(bytes: some Collection<UInt8>) {
        switch bytes.count {
        case 4:
            self.init(ipv4: bytes.reduce(0) { $0 << 8 | UInt32($1) })
        case 16:
            var high: UInt64 = 0
            var low: UInt64 = 0
            for (index, byte) in bytes.enumerated() {
                if index < 8 {
                    high = high << 8 | UInt64(byte)
                } else {
                    low = low << 8 | UInt64(byte)
                }
            }
            self.init(ipv6High: high, low: low)
        default:
            return nil
        }
    }

    /// The address of an IPv4 or IPv6 socket address; nil for a Unix domain socket. The scope id is ignored.
    package init?(_ socketAddress: SocketAddress) {
        switch socketAddress {
        case .v4(let address):
            self.init(ipv4: UInt32(bigEndian: address.address.sin_addr.s_addr))
        case .v6(let address):
            let found = withUnsafeBytes(of: address.address.sin6_addr) { IPAddress(bytes: $0) }
            guard let found else {
                return nil
            }
            self = found
        case .unixDomainSocket:
            return nil
        }
    }

    /// The 32-bit value of an IPv4 address (nil for IPv6, even IPv4-mapped: see `unmapped`).
    package var ipv4Value: UInt32? {
        self.family == .v4 ? UInt32(truncatingIfNeeded: self.low) : nil
    }

    /// The bytes in network order: 4 for IPv4, 16 for IPv6.
    package var bytes: [UInt8] {
        switch self.family {
        case .v4:
            let value = UInt32(truncatingIfNeeded: self.low)
            return [
                UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
                UInt8(truncatingIfNeeded: value),
            ]
        case .v6:
            return Self.bytes16(high: self.high, low: self.low)
        }
    }

    /// The 16 bytes of the 128-bit form, IPv4 addresses included (as `::ffff:a.b.c.d`).
    package var ipv6Bytes: [UInt8] {
        Self.bytes16(high: self.high, low: self.low)
    }

    /// True for an IPv6 address in `::ffff:0:0/96`, the form a dual-stack socket gives an IPv4 peer.
    package var isIPv4Mapped: Bool {
        self.family == .v6 && self.high == 0 && self.low & 0xFFFF_FFFF_0000_0000 == Self.mappedMarker
    }

    /// The IPv4 address for an IPv4-mapped IPv6 address, `self` otherwise: one spelling per client.
    package var unmapped: IPAddress {
        self.isIPv4Mapped ? IPAddress(ipv4: UInt32(truncatingIfNeeded: self.low)) : self
    }

    /// The same address as IPv6 (`::ffff:a.b.c.d` for IPv4), `self` for IPv6.
    package var mappedToIPv6: IPAddress {
        IPAddress(ipv6High: self.high, low: self.low)
    }

    /// A socket address for this IP and `port` (0…65535), e.g. to hand to code that expects NIO addresses.
    package func socketAddress(port: Int) -> SocketAddress {
        let networkPort = UInt16(truncatingIfNeeded: port).bigEndian
        switch self.family {
        case .v4:
            var address = sockaddr_in()
            #if canImport(Darwin)
            address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
            #endif
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(networkPort)
            address.sin_addr = in_addr(s_addr: UInt32(truncatingIfNeeded: self.low).bigEndian)
            return SocketAddress(address, host: self.description)
        case .v6:
            var address = sockaddr_in6()
            #if canImport(Darwin)
            address.sin6_len = UInt8(MemoryLayout<sockaddr_in6>.size)
            #endif
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(networkPort)
            let bytes = self.ipv6Bytes
            withUnsafeMutableBytes(of: &address.sin6_addr) { raw in
                for index in 0..<16 {
                    raw[index] = bytes[index]
                }
            }
            return SocketAddress(address, host: self.description)
        }
    }

    private static func bytes16(high: UInt64, low: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
            bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
        }
        return bytes
    }
}
