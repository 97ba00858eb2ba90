import ClientAddress
import NIOCore
import Testing

@Suite("PROXY protocol v1")
struct ProxyProtocolV1Tests {
    @Test func tcp4() throws {
        let header = try expectHeader(ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"))
        #expect(header?.version == .v1)
        #expect(header?.command == .proxy)
        #expect(header?.transport == .tcp4)
        #expect(header?.source == .ip(ip("192.168.0.1"), port: 56324))
        #expect(header?.destination == .ip(ip("192.168.0.11"), port: 443))
        #expect(header?.tlvs == [])
        #expect(header?.sourceIP == ip("192.168.0.1"))
        #expect(header?.sourceAddress == (try SocketAddress(ipAddress: "192.168.0.1", port: 56324)))
        #expect(header?.destinationAddress == (try SocketAddress(ipAddress: "192.168.0.11", port: 443)))
    }

    @Test func tcp6() throws {
        let header = try expectHeader(ascii("PROXY TCP6 2001:db8::1 2001:DB8:0:0:0:0:0:2 65535 0\r\n"))
        #expect(header?.transport == .tcp6)
        #expect(header?.source == .ip(ip("2001:db8::1"), port: 65535))
        #expect(header?.destination == .ip(ip("2001:db8::2"), port: 0))
        let mapped = try expectHeader(ascii("PROXY TCP6 ::ffff:203.0.113.9 ::1 1 2\r\n"))
        #expect(mapped?.sourceIP == ip("::ffff:203.0.113.9"))
    }

    @Test func longestLinesAreAccepted() throws {
        let full = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
        let tcp6 = "PROXY TCP6 \(full) \(full) 65535 65535\r\n"
        #expect(tcp6.utf8.count == 104)
        try expectHeader(ascii(tcp6))
        let unknown = "PROXY UNKNOWN \(full) \(full) 65535 65535\r\n"
        #expect(unknown.utf8.count == 107)
        let header = try expectHeader(ascii(unknown))
        #expect(header?.transport == .unspecified)
    }

    @Test func unknown() throws {
        let short = try expectHeader(ascii("PROXY UNKNOWN\r\n"))
        #expect(
            short
                == ProxyProtocolHeader(
                    version: .v1,
                    command: .proxy,
                    transport: .unspecified,
                    source: nil,
                    destination: nil
                )
        )
        #expect(short?.sourceAddress == nil, "UNKNOWN: use the real connection's address")
        #expect(short?.sourceIP == nil)
        // "the receiver must ignore anything presented before the CRLF"
        try expectHeader(ascii("PROXY UNKNOWN whatever  is\there\r\n"))
    }

    @Test func bytesAfterTheLineStay() throws {
        let payload = ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try expectHeader(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n") + payload, remaining: payload)
        let binary: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x0D, 0x0A]
        try expectHeader(ascii("PROXY UNKNOWN\r\n") + binary, remaining: binary)
    }

    @Test func incompleteLinesWait() {
        for prefix in [
            "", "P", "PROX", "PROXY", "PROXY TCP4 1.2.3.4", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2",
            "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r",
        ] {
            expectNeedsMore(ascii(prefix))
        }
        // 104 bytes without CRLF: a CRLF can still end the line within 107 bytes.
        expectNeedsMore(ascii("PROXY UNKNOWN ") + [UInt8](repeating: 0x41, count: 90))
    }

    @Test func lineLengthLimit() throws {
        // 105 bytes of line + CRLF = 107: fine. 106 + CRLF = 108: refused, as soon as that is certain.
        let ok = ascii("PROXY UNKNOWN ") + [UInt8](repeating: 0x41, count: 91)
        #expect(ok.count == 105)
        try expectHeader(ok + ascii("\r\n"))
        let long = ok + [0x41]
        expectParseError(.headerTooLarge, long + ascii("\r\n"), reason: "107")
        expectParseError(.headerTooLarge, long + ascii("\r"))
        expectParseError(.headerTooLarge, long + [0x41])
        expectParseError(.headerTooLarge, ascii("PROXY ") + [UInt8](repeating: 0x20, count: 200))
    }

    @Test(arguments: [
        // Line endings.
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "bare LF"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "CR not followed by LF"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", "CR not followed by LF"),
        ("PROXY\n", "bare LF"),
        // Tokens and spacing.
        ("PROXY\r\n", "expected 'PROXY'"),
        ("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "expected 'PROXY'"),
        ("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "unsupported protocol ''"),
        ("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", "got 7 fields"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "got 7 fields"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "got 5 fields"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "got 7 fields"),
        ("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "unsupported protocol 'TCP5'"),
        ("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "unsupported protocol 'tcp4'"),
        ("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "unsupported protocol"),
        ("PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "expected 'PROXY'"),
        // Addresses.
        ("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "source address '1.2.3'"),
        ("PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n", "destination address"),
        ("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n", "source address '01.2.3.4'"),
        ("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "does not match TCP4"),
        ("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", "does not match TCP6"),
        ("PROXY TCP6 ::1 ::1%lo 1 2\r\n", "destination address"),
        ("PROXY TCP4 host.example 5.6.7.8 1 2\r\n", "not a valid IPv4"),
        // Ports.
        ("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "above 65535"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", "above 65535"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "leading zero"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n", "leading zero"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "not a decimal number"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", "not a decimal number"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 1 123456\r\n", "not a decimal number"),
        ("PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n", "not a decimal number"),
    ])
    func invalidLines(line: String, reason: String) {
        expectParseError(.invalidV1Header, ascii(line), reason: reason)
    }

    @Test func nonPrintableBytesAreEscapedInMessages() {
        expectParseError(
            .invalidV1Header,
            ascii("PROXY TCP4 1.2.3.4") + [0x00, 0xFF] + ascii(" 5.6.7.8 1 2\r\n"),
            reason: "\\x00\\xff"
        )
    }

    @Test func wrongSignature() {
        for input in [
            "GET / HTTP/1.1\r\n", "PRI * HTTP/2.0\r\n", "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "PROXz", " PROXY",
        ] {
            expectParseError(.notProxyProtocol, ascii(input))
        }
        expectParseError(.notProxyProtocol, [0x16, 0x03, 0x01, 0x02, 0x00], reason: "16 03 01 02 00")
        expectParseError(.notProxyProtocol, [0x50, 0x00])
    }

    @Test func versionNotAccepted() {
        let parser = ProxyProtocolParser(acceptedVersions: [.v2])
        expectParseError(.unsupportedVersion, ascii("PROXY UNKNOWN\r\n"), reason: "only v2", parser: parser)
    }
}
