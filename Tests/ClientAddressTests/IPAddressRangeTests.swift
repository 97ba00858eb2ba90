import ClientAddress
import NIOCore
import Testing

@Suite("CIDR ranges and trusted proxies")
struct IPAddressRangeTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("192.168.1.7", "192.168.1.7/32"),
        ("::1", "::1/128"),
        ("2001:db8::/32", "2001:db8::/32"),
        ("::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("::/0", "::/0"),
        ("  172.16.0.0/12\t", "172.16.0.0/12"),
        ("10.0.0.0/08", "10.0.0.0/8"),
    ])
    func parses(input: String, canonical: String) throws {
        #expect(try IPAddressRange(input).description == canonical)
    }

    @Test(arguments: [
        ("", "missing"),
        ("/8", "missing"),
        ("10.0.0.0/", "not a decimal number"),
        ("10.0.0.0/33", "outside 0…32"),
        ("::/129", "outside 0…128"),
        ("10.0.0.0/-1", "not a decimal number"),
        ("10.0.0.0/8/8", "not a decimal number"),
        ("10.0.0.0/1000", "not a decimal number"),
        ("10.0.0.0/ 8", "not a decimal number"),
        ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
        ("2001:db8::1/32", "did you mean 2001:db8::/32"),
        ("10.0.0", "not an IPv4 or IPv6 address"),
        ("[::1]/128", "not an IPv4 or IPv6 address"),
        ("localhost", "not an IPv4 or IPv6 address"),
        ("010.0.0.0/8", "not an IPv4 or IPv6 address"),
    ])
    func refusesWithAReason(input: String, reason: String) {
        let error = #expect(throws: IPAddressRangeError.self) { try IPAddressRange(input) }
        #expect(error?.input == input)
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
        #expect(error?.description.contains("'\(input)'") == true, "the message names the input")
    }

    @Test func hostPrefixesMatchExactlyOneAddress() throws {
        let v4 = try IPAddressRange("192.168.1.7/32")
        #expect(v4.contains(ip("192.168.1.7")))
        #expect(!v4.contains(ip("192.168.1.6")))
        #expect(!v4.contains(ip("192.168.1.8")))
        #expect(v4.contains(ip("::ffff:192.168.1.7")))
        let v6 = try IPAddressRange("2001:db8::1/128")
        #expect(v6.contains(ip("2001:db8::1")))
        #expect(!v6.contains(ip("2001:db8::2")))
        #expect(!v6.contains(ip("2001:db8::")))
    }

    @Test func zeroPrefixes() throws {
        let allV4 = try IPAddressRange("0.0.0.0/0")
        #expect(allV4.contains(ip("0.0.0.0")))
        #expect(allV4.contains(ip("255.255.255.255")))
        #expect(allV4.contains(ip("::ffff:8.8.8.8")), "IPv4-mapped addresses are IPv4")
        #expect(!allV4.contains(ip("::1")), "0.0.0.0/0 is IPv4 only")
        #expect(!allV4.contains(ip("2001:db8::1")))
        let everything = try IPAddressRange("::/0")
        #expect(everything.contains(ip("::")))
        #expect(everything.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")))
        #expect(everything.contains(ip("8.8.8.8")), "::/0 covers IPv4 too (one 128-bit space)")
    }

    @Test func mappedAddressesMatchIPv4RangesAndBack() throws {
        let v4Range = try IPAddressRange("10.0.0.0/8")
        let mappedRange = try IPAddressRange("::ffff:10.0.0.0/104")
        for address in ["10.0.0.0", "10.255.255.255", "10.1.2.3", "::ffff:10.1.2.3", "::ffff:a00:0"] {
            #expect(v4Range.contains(ip(address)), "\(address) in 10.0.0.0/8")
            #expect(mappedRange.contains(ip(address)), "\(address) in ::ffff:10.0.0.0/104")
        }
        for address in ["11.0.0.0", "9.255.255.255", "::ffff:11.0.0.1", "::a00:1", "10::", "::10.0.0.1"] {
            #expect(!v4Range.contains(ip(address)), "\(address) not in 10.0.0.0/8")
            #expect(!mappedRange.contains(ip(address)), "\(address) not in ::ffff:10.0.0.0/104")
        }
    }

    @Test func prefixBoundaries() throws {
        let range = try IPAddressRange("172.16.0.0/12")
        #expect(range.contains(ip("172.16.0.0")))
        #expect(range.contains(ip("172.31.255.255")))
        #expect(!range.contains(ip("172.32.0.0")))
        #expect(!range.contains(ip("172.15.255.255")))
        let v6 = try IPAddressRange("2001:db8::/32")
        #expect(v6.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")))
        #expect(!v6.contains(ip("2001:db9::")))
        let odd = try IPAddressRange("2001:db8:0:0:8000::/65")
        #expect(odd.contains(ip("2001:db8::8000:0:0:1")))
        #expect(!odd.contains(ip("2001:db8::7fff:0:0:1")))
        let v6Slash64 = try IPAddressRange("fd00:1:2:3::/64")
        #expect(v6Slash64.contains(ip("fd00:1:2:3:ffff::1")))
        #expect(!v6Slash64.contains(ip("fd00:1:2:4::1")))
    }

    @Test func everyPrefixLengthIsConsistent() throws {
        // For each length, the first address of the block is in, the one just below is out, the last is in.
        for length in 1...32 {
            let size = UInt64(1) << (32 - length)
            let base = UInt32((UInt64(0xC0A8_0000) / size) * size)
            let range = try IPAddressRange(network: IPAddress(ipv4: base), prefixLength: length)
            #expect(range.contains(IPAddress(ipv4: base)))
            #expect(range.contains(IPAddress(ipv4: UInt32(UInt64(base) + size - 1))))
            if base > 0 {
                #expect(!range.contains(IPAddress(ipv4: base - 1)), "/\(length)")
            }
        }
        for length in 1...128 {
            let range = try IPAddressRange(network: ip("8000::"), prefixLength: length)
            #expect(range.contains(ip("8000::")))
            #expect(!range.contains(ip("7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), "/\(length)")
        }
    }

    @Test func trustedProxies() throws {
        let trusted = try TrustedProxies(["10.0.0.0/8", "192.168.1.7", "::1", "2001:db8::/32"])
        #expect(trusted.ranges.count == 4)
        #expect(trusted.contains(ip: "10.9.8.7"))
        #expect(trusted.contains(ip: "::ffff:10.9.8.7"))
        #expect(trusted.contains(ip: "192.168.1.7"))
        #expect(!trusted.contains(ip: "192.168.1.8"))
        #expect(trusted.contains(ip: "::1"))
        #expect(!trusted.contains(ip: "127.0.0.1"), "::1 and 127.0.0.1 are different addresses")
        #expect(trusted.contains(ip: "2001:db8:1::1"))
        #expect(!trusted.contains(ip: "not an address"))
        #expect(!trusted.contains(ip: "10.0.0.1:80"))

        #expect(trusted.contains(try SocketAddress(ipAddress: "10.1.1.1", port: 1234)))
        #expect(trusted.contains(try SocketAddress(ipAddress: "::ffff:10.1.1.1", port: 1234)))
        #expect(trusted.contains(try SocketAddress(ipAddress: "::1", port: 1)))
        #expect(!trusted.contains(try SocketAddress(ipAddress: "11.1.1.1", port: 1234)))
        #expect(!trusted.contains(try SocketAddress(unixDomainSocketPath: "/tmp/proxy.sock")))

        #expect(TrustedProxies.none.isEmpty)
        #expect(!TrustedProxies.none.contains(ip: "10.0.0.1"))
        #expect(try TrustedProxies([]).isEmpty)
    }

    @Test func trustedProxiesReportTheFirstBadEntry() {
        let error = #expect(throws: IPAddressRangeError.self) {
            try TrustedProxies(["10.0.0.0/8", "10.0.0.300", "nonsense"])
        }
        #expect(error?.input == "10.0.0.300")
    }
}
