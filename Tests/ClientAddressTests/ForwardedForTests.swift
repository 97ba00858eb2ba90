import ClientAddress
import Testing

@Suite("X-Forwarded-For / X-Real-IP resolution")
struct ForwardedForTests {
    /// Our load balancers: 10.0.0.0/8 and 2001:db8:ffff::/48.
    let trusted: TrustedProxies = {
        do {
            return try TrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48"])
        } catch {
            preconditionFailure("\(error)")
        }
    }()

    func resolve(peer: String = "10.0.0.2", _ xff: [String], realIP: String? = nil) -> String {
        resolveClientAddress(peer: peer, xForwardedFor: xff, xRealIP: realIP, trusted: self.trusted)
    }

    @Test func untrustedPeerHeadersAreIgnored() {
        #expect(self.resolve(peer: "203.0.113.50", ["1.2.3.4"]) == "203.0.113.50")
        #expect(self.resolve(peer: "203.0.113.50", [], realIP: "1.2.3.4") == "203.0.113.50")
        #expect(self.resolve(peer: "203.0.113.50", ["10.0.0.3"]) == "203.0.113.50", "not even a trusted-looking value")
        #expect(self.resolve(peer: "::ffff:203.0.113.50", ["1.2.3.4"]) == "203.0.113.50", "mapped peer unmapped")
        #expect(
            resolveClientAddress(peer: "203.0.113.50", xForwardedFor: ["1.2.3.4"], xRealIP: nil, trusted: .none)
                == "203.0.113.50"
        )
    }

    @Test func singleProxy() {
        #expect(self.resolve(["198.51.100.7"]) == "198.51.100.7")
        #expect(self.resolve(["2001:db8:1::7"]) == "2001:db8:1::7")
    }

    @Test func spoofedEntriesToTheLeftAreIgnored() {
        // The client sent "X-Forwarded-For: 1.2.3.4"; our proxy appended the real address.
        #expect(self.resolve(["1.2.3.4, 198.51.100.7"]) == "198.51.100.7")
        // Many fake entries, even ones that look like our proxies.
        #expect(self.resolve(["10.0.0.1, 1.2.3.4, 10.9.9.9, 198.51.100.7"]) == "198.51.100.7")
        // As separate header lines: the client's line first, the proxy's appended line last.
        #expect(self.resolve(["1.2.3.4", "198.51.100.7"]) == "198.51.100.7")
        // The client pretends to be behind our proxy: its own address is still the right-most untrusted one.
        #expect(self.resolve(["203.0.113.1, 10.0.0.7", "198.51.100.7"]) == "198.51.100.7")
    }

    @Test func trustedHopsFromTheRightAreSkipped() {
        // client → 10.0.0.8 (our edge) → 10.0.0.2 (our internal proxy, the peer)
        #expect(self.resolve(["198.51.100.7, 10.0.0.8"]) == "198.51.100.7")
        #expect(self.resolve(["1.2.3.4, 198.51.100.7, 10.0.0.8, 2001:db8:ffff::1"]) == "198.51.100.7")
        #expect(self.resolve(["1.2.3.4, 198.51.100.7", "10.0.0.8", "10.0.0.9"]) == "198.51.100.7")
    }

    @Test func allTrustedGivesTheLeftMost() {
        #expect(self.resolve(["10.0.0.5, 10.0.0.6"]) == "10.0.0.5")
        #expect(self.resolve(["10.0.0.5", "10.0.0.6"]) == "10.0.0.5")
        #expect(self.resolve(["2001:db8:ffff::9"]) == "2001:db8:ffff::9")
    }

    @Test func whitespaceAndEmptyElements() {
        #expect(self.resolve(["  1.2.3.4 ,\t198.51.100.7\t "]) == "198.51.100.7")
        #expect(self.resolve(["198.51.100.7,"]) == "198.51.100.7")
        #expect(self.resolve([",,198.51.100.7,, ,"]) == "198.51.100.7")
        #expect(self.resolve(["198.51.100.7", "", " "]) == "198.51.100.7")
        #expect(self.resolve(["1.2.3.4,198.51.100.7"]) == "198.51.100.7")
    }

    @Test func portsBracketsAndQuotes() {
        #expect(self.resolve(["198.51.100.7:5678"]) == "198.51.100.7")
        #expect(self.resolve(["[2001:db8::1]:443"]) == "2001:db8::1")
        #expect(self.resolve(["[2001:db8::1]"]) == "2001:db8::1")
        #expect(self.resolve(["\"[2001:db8::1]:443\""]) == "2001:db8::1")
        #expect(self.resolve(["198.51.100.7, 10.0.0.3:1234"]) == "198.51.100.7", "a trusted hop with a port")
        #expect(self.resolve(["2001:DB8:0:0::1"]) == "2001:db8::1", "canonical output")
        #expect(self.resolve(["::ffff:198.51.100.7"]) == "198.51.100.7", "mapped output as IPv4")
        #expect(self.resolve(["::ffff:10.0.0.3, 10.0.0.4"]) == "10.0.0.3", "mapped trusted hop is trusted")
    }

    @Test func garbageStopsTheWalk() {
        // Right-most entry unreadable: the last accepted address is the peer itself.
        #expect(self.resolve(["198.51.100.7, unknown"]) == "10.0.0.2")
        #expect(self.resolve(["198.51.100.7, _hidden"]) == "10.0.0.2")
        // Garbage behind trusted hops: the last trusted hop that could be read.
        #expect(self.resolve(["198.51.100.7, unknown, 10.0.0.8"]) == "10.0.0.8")
        #expect(self.resolve(["evil, 10.0.0.8, 10.0.0.9"]) == "10.0.0.8")
        // Garbage to the left of the client does not matter.
        #expect(self.resolve(["garbage, 198.51.100.7"]) == "198.51.100.7")
        for bad in [
            "1.2.3.4:", "1.2.3.4:99999", "1.2.3.4:port", "[1.2.3.4]", "[2001:db8::1]:", "[2001:db8::1",
            "2001:db8::1]:443",
            "fe80::1%eth0", "host.example", "1.2.3", "01.2.3.4", "1.2.3.4 5.6.7.8", "[::1]x", "\"", "\"1.2.3.4",
        ] {
            #expect(self.resolve(["198.51.100.7, \(bad)"]) == "10.0.0.2", "'\(bad)' is not an address")
        }
    }

    @Test func xRealIP() {
        #expect(self.resolve([], realIP: "198.51.100.7") == "198.51.100.7")
        #expect(self.resolve([], realIP: " 198.51.100.7:80 ") == "198.51.100.7")
        #expect(self.resolve([""], realIP: "198.51.100.7") == "198.51.100.7", "an empty XFF counts as none")
        #expect(self.resolve(["198.51.100.8"], realIP: "198.51.100.7") == "198.51.100.8", "XFF wins when present")
        #expect(self.resolve(["10.0.0.5"], realIP: "198.51.100.7") == "10.0.0.5", "even an all-trusted XFF")
        #expect(self.resolve([], realIP: "unknown") == "10.0.0.2")
        #expect(self.resolve([], realIP: nil) == "10.0.0.2")
    }

    @Test func peerForms() {
        #expect(self.resolve(peer: "::ffff:10.0.0.2", ["198.51.100.7"]) == "198.51.100.7", "mapped trusted peer")
        #expect(self.resolve(peer: "2001:db8:ffff::2", ["198.51.100.7"]) == "198.51.100.7")
        #expect(self.resolve(peer: "not-an-ip", ["198.51.100.7"]) == "not-an-ip", "unparseable peer returned as is")
        #expect(self.resolve(peer: "10.0.0.2", []) == "10.0.0.2")
    }

    @Test func typedVariant() {
        let answer = resolveClientAddress(
            peer: ip("10.0.0.2"),
            xForwardedFor: ["1.2.3.4, 198.51.100.7"],
            xRealIP: nil,
            trusted: self.trusted
        )
        #expect(answer == ip("198.51.100.7"))
    }

    @Test func entryParsing() {
        #expect(IPAddress(forwardedFor: "1.2.3.4") == ip("1.2.3.4"))
        #expect(IPAddress(forwardedFor: " 1.2.3.4:0 ") == ip("1.2.3.4"))
        #expect(IPAddress(forwardedFor: "1.2.3.4:65535") == ip("1.2.3.4"))
        #expect(IPAddress(forwardedFor: "[::1]:65535") == ip("::1"))
        #expect(IPAddress(forwardedFor: "::1") == ip("::1"))
        #expect(IPAddress(forwardedFor: "1.2.3.4:65536") == nil)
        #expect(IPAddress(forwardedFor: "") == nil)
        #expect(IPAddress(forwardedFor: "unknown") == nil)
        #expect(IPAddress(forwardedFor: String(repeating: "1", count: 200)) == nil)
    }

    @Test func longChainsAreWalkedOnlyAsFarAsNeeded() {
        // 10 000 spoofed entries to the left cost nothing: the walk stops at the real client.
        let spoofed = Array(repeating: "1.2.3.4", count: 10000).joined(separator: ", ")
        #expect(self.resolve([spoofed + ", 198.51.100.7, 10.0.0.8"]) == "198.51.100.7")
    }
}
