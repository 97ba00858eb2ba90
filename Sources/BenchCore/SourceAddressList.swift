import Foundation

/// The local IPv4 addresses connections are bound to, in round-robin order.
///
/// One source address gives at most ~28,000 connections to one destination (the ephemeral port range); holding
/// more idle connections on loopback needs several source addresses, and all of 127.0.0.0/8 is loopback on Linux.
/// Accepted syntax: `127.0.0.1`, `127.0.0.1-127.0.0.20` (inclusive range), or a comma-separated list of both.
package struct SourceAddressList: Sendable, Hashable, CustomStringConvertible {
    /// The addresses in dotted-quad form, in the order connections use them.
    package private(set) var addresses: [String]

    /// The largest range accepted: more addresses than this is almost certainly a typo.
    package static let maximumCount = 65_536

    package init(addresses: [String]) {
        self.addresses = addresses
    }

    /// Parses the `--source-ips` syntax.
    package init(parsing text: String) throws(BenchUsageError) {
        var addresses: [String] = []
        for part in text.split(separator: ",") {
            let item = Substring(part.trimmingCharacters(in: .whitespaces))
            if item.isEmpty { continue }
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            switch bounds.count {
            case 1:
                addresses.append(Self.format(try Self.parseIPv4(item, in: text)))
            case 2:
                let low = try Self.parseIPv4(Substring(bounds[0].trimmingCharacters(in: .whitespaces)), in: text)
                let high = try Self.parseIPv4(Substring(bounds[1].trimmingCharacters(in: .whitespaces)), in: text)
                guard low <= high else {
                    throw BenchUsageError("--source-ips \"\(text)\": range \(item) runs backwards")
                }
                guard Int(high - low) + 1 + addresses.count <= Self.maximumCount else {
                    throw BenchUsageError("--source-ips \"\(text)\": more than \(Self.maximumCount) addresses")
                }
                for value in low...high {
                    addresses.append(Self.format(value))
                }
            default:
                throw BenchUsageError("--source-ips \"\(text)\": \"\(item)\" is not an address or a range A-B")
            }
        }
        guard !addresses.isEmpty else {
            throw BenchUsageError("--source-ips \"\(text)\": no address given")
        }
        self.addresses = addresses
    }

    /// The address for the `index`-th connection.
    package func address(for index: Int) -> String {
        self.addresses[index % self.addresses.count]
    }

    package var description: String {
        self.addresses.count == 1
            ? self.addresses[0] : "\(self.addresses[0])…\(self.addresses[self.addresses.count - 1]) (\(self.addresses.count) addresses)"
    }

    static func parseIPv4(_ text: Substring, in whole: String) throws(BenchUsageError) -> UInt32 {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else {
            throw BenchUsageError("--source-ips \"\(whole)\": \"\(text)\" is not an IPv4 address")
        }
        var value: UInt32 = 0
        for octet in octets {
            guard octet.count <= 3, let byte = UInt8(octet) else {
                throw BenchUsageError("--source-ips \"\(whole)\": \"\(text)\" is not an IPv4 address")
            }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    static func format(_ value: UInt32) -> String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }
}
