import ClientAddress
import NIOCore
import Testing

@Suite("IPAddress text")
struct IPAddressTextTests {
    @Test(arguments: [
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("192.168.1.7", "192.168.1.7"),
        ("10.0.0.1", "10.0.0.1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // RFC 5952 §4.2.3: first of two equal runs
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // the longest run wins
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // a single zero group is not compressed
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("::ffff:10.0.0.1", "::ffff:10.0.0.1"),
        ("::FFFF:0a00:0001", "::ffff:10.0.0.1"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ("fe80::1:2", "fe80::1:2"),
    ])
    func parsesAndPrintsCanonically(input: String, canonical: String) throws {
        let address = try #require(IPAddress(input))
        #expect(address.description == canonical)
        #expect(IPAddress(canonical) == address, "the canonical form parses back to the same value")
    }

    @Test(arguments: [
        "", " ", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.-1", "01.2.3.4", "1.2.3.04", "010.0.0.1",
        "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", " 1.2.3.4", "0x1.2.3.4", "1.2.3.4/8", "1.2.3.4:80",
        ":", ":::", "1:::2", ":1::", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8", "12345::", "g::1", "::1%eth0", "[::1]", "::ffff:1.2.3", "::ffff:01.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:5", "1.2.3.4::", "unknown", "localhost", "1:2:3:4:5:6:7:",
        "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.2555",
    ])
    func refusesInvalidText(input: String) {
        #expect(IPAddress(input) == nil, "'\(input)' must not parse")
    }

    @Test func familiesAndMapping() throws {
        let v4 = try #require(IPAddress("10.1.2.3"))
        let mapped = try #require(IPAddress("::ffff:10.1.2.3"))
        #expect(v4.family == .v4)
        #expect(mapped.family == .v6)
        #expect(v4 != mapped, "equality includes the family")
        #expect(mapped.isIPv4Mapped)
        #expect(!v4.isIPv4Mapped)
        #expect(mapped.unmapped == v4)
        #expect(v4.mappedToIPv6 == mapped)
        #expect(v4.unmapped == v4)
        #expect(IPAddress("::1")?.unmapped == IPAddress("::1"))
        #expect(v4.ipv4Value == 0x0A01_0203)
        #expect(mapped.ipv4Value == nil)
        #expect(v4.bytes == [10, 1, 2, 3])
        #expect(v4.ipv6Bytes == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 1, 2, 3])
        #expect(mapped.bytes == v4.ipv6Bytes)
    }

    @Test func bytesRoundTrip() throws {
        let v6 = try #require(IPAddress("2001:db8::abcd:1"))
        #expect(v6.bytes == hexBytes("20010db8 00000000 00000000 abcd0001"))
        #expect(IPAddress(bytes: v6.bytes) == v6)
        #expect(IPAddress(bytes: [1, 2, 3, 4]) == IPAddress("1.2.3.4"))
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(IPAddress(bytes: [UInt8](repeating: 0, count: 15)) == nil)
    }

    @Test func socketAddressConversions() throws {
        let nio4 = try SocketAddress(ipAddress: "192.0.2.7", port: 4567)
        let nio6 = try SocketAddress(ipAddress: "2001:db8::7", port: 443)
        let nioMapped = try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)
        #expect(IPAddress(nio4) == IPAddress("192.0.2.7"))
        #expect(IPAddress(nio6) == IPAddress("2001:db8::7"))
        #expect(IPAddress(nioMapped) == IPAddress("::ffff:192.0.2.7"))
        #expect(IPAddress(try SocketAddress(unixDomainSocketPath: "/tmp/x.sock")) == nil)

        let back4 = ip("192.0.2.7").socketAddress(port: 4567)
        #expect(back4 == nio4)
        #expect(back4.port == 4567)
        #expect(back4.ipAddress == "192.0.2.7")
        let back6 = ip("2001:db8::7").socketAddress(port: 443)
        #expect(back6 == nio6)
        #expect(back6.ipAddress == "2001:db8::7")
        #expect(back6.port == 443)
    }
}
