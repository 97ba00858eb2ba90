import ClientAddress
import NIOCore
import Testing

/// v2 headers written out byte by byte from the spec (section 2.2), not produced by the encoder under test.
enum V2Vectors {
    /// haproxy's own output for TCP over IPv4, 172.19.0.1:42578 → 172.19.0.3:80 (from a packet capture).
    static let tcp4 = v2Signature + hexBytes("21 11 000C  AC130001 AC130003  A652 0050")
    /// TCP over IPv6, [2001:db8::1]:12345 → [2001:db8::2]:443.
    static let tcp6 =
        v2Signature
        + hexBytes(
            """
            21 21 0024
            20010DB8 00000000 00000000 00000001
            20010DB8 00000000 00000000 00000002
            3039 01BB
            """
        )
    /// UNIX stream, /tmp/client.sock → /tmp/server.sock (108-byte NUL-padded fields).
    static let unixStream =
        v2Signature + hexBytes("21 31 00D8") + unixField("/tmp/client.sock") + unixField("/tmp/server.sock")
    /// LOCAL (a health check), no addresses.
    static let local = v2Signature + hexBytes("20 00 0000")
    /// TCP4 192.0.2.1:40000 → 198.51.100.2:443, AUTHORITY "example.com", CRC32C 0x045242BC (computed with an
    /// independent bitwise CRC-32C).
    static let tcp4WithChecksum = hexBytes(
        """
        0d0a0d0a000d0a515549540a 21 11 0021
        c0000201 c6336402 9c40 01bb
        02 000b 6578616d706c652e636f6d
        03 0004 045242bc
        """
    )
    /// LOCAL with only a CRC32C TLV (0xA9B87E8F).
    static let localWithChecksum = hexBytes("0d0a0d0a000d0a515549540a 20 00 0007 03 0004 a9b87e8f")

    static func unixField(_ path: String) -> [UInt8] {
        ascii(path) + [UInt8](repeating: 0, count: 108 - path.utf8.count)
    }

    /// A header with the given command/family bytes and body; the length field is computed.
    static func header(_ versionCommand: UInt8, _ family: UInt8, _ body: [UInt8]) -> [UInt8] {
        v2Signature + [versionCommand, family, UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
    }

    static let ipv4Block = hexBytes("01020304 05060708 0001 0002")

    static func tlv(_ type: UInt8, _ value: [UInt8]) -> [UInt8] {
        [type, UInt8(value.count >> 8), UInt8(value.count & 0xFF)] + value
    }
}

@Suite("PROXY protocol v2")
struct ProxyProtocolV2Tests {
    @Test func tcp4FromHAProxy() throws {
        let payload = ascii("GET / HTTP/1.1\r\nHost: localhost:8080\r\n\r\n")
        let header = try expectHeader(V2Vectors.tcp4 + payload, remaining: payload)
        #expect(
            header
                == ProxyProtocolHeader(
                    version: .v2,
                    command: .proxy,
                    transport: .tcp4,
                    source: .ip(ip("172.19.0.1"), port: 42578),
                    destination: .ip(ip("172.19.0.3"), port: 80)
                )
        )
        #expect(header?.sourceAddress == (try SocketAddress(ipAddress: "172.19.0.1", port: 42578)))
    }

    @Test func tcp6() throws {
        let header = try expectHeader(V2Vectors.tcp6)
        #expect(header?.transport == .tcp6)
        #expect(header?.source == .ip(ip("2001:db8::1"), port: 12345))
        #expect(header?.destination == .ip(ip("2001:db8::2"), port: 443))
        #expect(header?.sourceAddress == (try SocketAddress(ipAddress: "2001:db8::1", port: 12345)))
    }

    @Test func udp() throws {
        let udp4 = try expectHeader(V2Vectors.header(0x21, 0x12, V2Vectors.ipv4Block))
        #expect(udp4?.transport == .udp4)
        #expect(udp4?.source == .ip(ip("1.2.3.4"), port: 1))
        let udp6 = try expectHeader(V2Vectors.header(0x21, 0x22, Array(V2Vectors.tcp6[16...])))
        #expect(udp6?.transport == .udp6)
        #expect(udp6?.destination == .ip(ip("2001:db8::2"), port: 443))
    }

    @Test func unix() throws {
        let header = try expectHeader(V2Vectors.unixStream)
        #expect(header?.transport == .unixStream)
        #expect(header?.source == .unix(path: ascii("/tmp/client.sock")))
        #expect(header?.destination == .unix(path: ascii("/tmp/server.sock")))
        #expect(header?.sourceAddress == nil, "no IP to use: the peer's address applies")
        #expect(header?.sourceIP == nil)
        // Datagram, a path filling all 108 bytes, and an abstract socket name (leading NUL, kept).
        let full = String(repeating: "p", count: 108)
        let abstract = [0] + ascii("abstract") + [UInt8](repeating: 0, count: 99)
        let other = try expectHeader(V2Vectors.header(0x21, 0x32, ascii(full) + abstract))
        #expect(other?.transport == .unixDatagram)
        #expect(other?.source == .unix(path: ascii(full)))
        #expect(other?.destination == .unix(path: [0] + ascii("abstract")))
        // Bytes after the first NUL of a regular path are padding, whatever they contain.
        let dirty = ascii("/a") + [0] + [UInt8](repeating: 0x41, count: 105)
        let cleaned = try expectHeader(V2Vectors.header(0x21, 0x31, dirty + dirty))
        #expect(cleaned?.source == .unix(path: ascii("/a")))
    }

    @Test func local() throws {
        let header = try expectHeader(V2Vectors.local + [0xAA], remaining: [0xAA])
        #expect(
            header
                == ProxyProtocolHeader(
                    version: .v2,
                    command: .local,
                    transport: .unspecified,
                    source: nil,
                    destination: nil
                )
        )
        #expect(header?.sourceAddress == nil)
        // The family is ignored for LOCAL: addresses are skipped, TLVs after them still read.
        let withAddresses = try expectHeader(
            V2Vectors.header(0x20, 0x11, V2Vectors.ipv4Block + V2Vectors.tlv(0x02, ascii("lb.local")))
        )
        #expect(withAddresses?.transport == .unspecified)
        #expect(withAddresses?.source == nil)
        #expect(withAddresses?.authority == "lb.local")
        // An undefined family with LOCAL is accepted; its block cannot be interpreted and is skipped whole.
        let odd = try expectHeader(V2Vectors.header(0x20, 0xFF, [1, 2, 3, 4, 5]))
        #expect(odd?.command == .local)
        #expect(odd?.tlvs == [])
        // A block too short for the family, with LOCAL: skipped too.
        let short = try expectHeader(V2Vectors.header(0x20, 0x21, [1, 2, 3]))
        #expect(short?.tlvs == [])
    }

    @Test func proxyWithUnspecifiedFamily() throws {
        let header = try expectHeader(V2Vectors.header(0x21, 0x00, V2Vectors.tlv(0x05, [1, 2, 3])))
        #expect(header?.command == .proxy)
        #expect(header?.transport == .unspecified)
        #expect(header?.sourceAddress == nil, "UNSPEC: use the real connection's address")
        #expect(header?.uniqueID == [1, 2, 3])
    }

    @Test func tlvs() throws {
        let ssl =
            hexBytes("07 00000000")  // SSL, certificate on connection and in session, verified
            + V2Vectors.tlv(0x21, ascii("TLSv1.3"))
            + V2Vectors.tlv(0x22, ascii("client.example"))
            + V2Vectors.tlv(0x23, ascii("TLS_AES_128_GCM_SHA256"))
            + V2Vectors.tlv(0x24, ascii("RSA-SHA256"))
            + V2Vectors.tlv(0x25, ascii("RSA2048"))
            + V2Vectors.tlv(0x99, [9])
        let body =
            V2Vectors.ipv4Block
            + V2Vectors.tlv(0x01, ascii("mqtt"))
            + V2Vectors.tlv(0x02, ascii("mqtt.example.com"))
            + V2Vectors.tlv(0x04, [0, 0, 0])
            + V2Vectors.tlv(0x05, [UInt8](repeating: 0x55, count: 128))
            + V2Vectors.tlv(0x20, ssl)
            + V2Vectors.tlv(0x30, ascii("blue"))
            + V2Vectors.tlv(0xE0, [])
            + V2Vectors.tlv(0x02, ascii("second.example"))
        let header = try #require(try expectHeader(V2Vectors.header(0x21, 0x11, body)))
        #expect(header.tlvs.map(\.kind.rawValue) == [0x01, 0x02, 0x04, 0x05, 0x20, 0x30, 0xE0, 0x02])
        #expect(header.alpn == ascii("mqtt"))
        #expect(header.authority == "mqtt.example.com", "the first AUTHORITY")
        #expect(header.uniqueID?.count == 128)
        #expect(header.networkNamespace == "blue")
        #expect(header.firstTLV(ProxyProtocolTLV.Kind(rawValue: 0xE0))?.value == [])
        let info = try #require(header.ssl)
        #expect(info.client == [.ssl, .certificateOnConnection, .certificateInSession])
        #expect(info.verify == 0)
        #expect(info.version == "TLSv1.3")
        #expect(info.commonName == "client.example")
        #expect(info.cipher == "TLS_AES_128_GCM_SHA256")
        #expect(info.signatureAlgorithm == "RSA-SHA256")
        #expect(info.keyAlgorithm == "RSA2048")
        #expect(info.subTLVs.last == ProxyProtocolTLV(kind: ProxyProtocolTLV.Kind(rawValue: 0x99), value: [9]))
    }

    @Test func nonUTF8AuthorityIsKeptAsBytes() throws {
        let header = try expectHeader(
            V2Vectors.header(0x21, 0x11, V2Vectors.ipv4Block + V2Vectors.tlv(0x02, [0xFF, 0xFE]))
        )
        #expect(header?.authority == nil)
        #expect(header?.firstTLV(.authority)?.value == [0xFF, 0xFE])
    }

    @Test func checksums() throws {
        let header = try expectHeader(V2Vectors.tcp4WithChecksum)
        #expect(header?.source == .ip(ip("192.0.2.1"), port: 40000))
        #expect(header?.authority == "example.com")
        #expect(header?.firstTLV(.crc32c)?.value == hexBytes("045242bc"))
        let local = try expectHeader(V2Vectors.localWithChecksum)
        #expect(local?.command == .local)

        // Any changed bit, in the header or in the checksum, is caught.
        // (The family, length and TLV type/length bytes are left out: changing them fails for structural reasons
        // first, or, for the CRC TLV's type, removes the checksum.)
        let structural: Set<Int> = [13, 14, 15, 28, 29, 30, 42, 43, 44]
        #expect(V2Vectors.tcp4WithChecksum.count == 49)
        for index in 12..<49 where !structural.contains(index) {
            var corrupted = V2Vectors.tcp4WithChecksum
            corrupted[index] ^= 0x01
            expectParseError(.checksumMismatch, corrupted, reason: "CRC32c")
        }
    }

    @Test func addressBlockTooShort() {
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(0x21, 0x11, [1, 2, 3, 4, 5, 6, 7, 8]),
            reason: "shorter than the 12 bytes TCP4 needs"
        )
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(0x21, 0x21, [UInt8](repeating: 0, count: 35)),
            reason: "36 bytes"
        )
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(0x21, 0x31, [UInt8](repeating: 0, count: 215)),
            reason: "216 bytes"
        )
    }

    @Test func truncatedTLVs() {
        let block = V2Vectors.ipv4Block
        expectParseError(.malformedV2Header, V2Vectors.header(0x21, 0x11, block + [0x02]), reason: "1 byte left")
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(0x21, 0x11, block + [0x02, 0x00]),
            reason: "2 bytes left"
        )
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(0x21, 0x11, block + [0x02, 0x00, 0x05] + ascii("abcd")),
            reason: "AUTHORITY TLV announces 5 bytes but only 4 follow"
        )
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(0x21, 0x11, block + V2Vectors.tlv(0x01, [1]) + [0x20, 0xFF, 0xFF]),
            reason: "SSL TLV announces 65535"
        )
        // SSL: shorter than its prefix, and a truncated sub-TLV.
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(0x21, 0x11, block + V2Vectors.tlv(0x20, [1, 0, 0, 0])),
            reason: "SSL TLV of 4 bytes"
        )
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(
                0x21,
                0x11,
                block + V2Vectors.tlv(0x20, [1, 0, 0, 0, 0, 0x21, 0x00, 0x09] + ascii("TLSv1.3"))
            ),
            reason: "SSL sub-TLVs"
        )
    }

    @Test func constrainedTLVs() {
        let block = V2Vectors.ipv4Block
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(0x21, 0x11, block + V2Vectors.tlv(0x05, [UInt8](repeating: 1, count: 129))),
            reason: "UNIQUE_ID"
        )
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(0x21, 0x11, block + V2Vectors.tlv(0x03, [0, 0, 0])),
            reason: "CRC32C TLV of 3 bytes"
        )
        expectParseError(
            .malformedV2Header,
            V2Vectors.header(
                0x21,
                0x11,
                block + V2Vectors.tlv(0x03, [0, 0, 0, 0]) + V2Vectors.tlv(0x03, [0, 0, 0, 0])
            ),
            reason: "more than one CRC32C"
        )
    }

    @Test func versionCommandAndFamilyAreCheckedAsSoonAsTheyArrive() {
        // Only the bytes up to the offending one are given: no waiting for the rest.
        for version: UInt8 in [0x0, 0x1, 0x3, 0xF] {
            expectParseError(
                .unsupportedVersion,
                v2Signature + [version << 4 | 0x1],
                reason: "version nibble is \(version)"
            )
        }
        for command: UInt8 in [0x2, 0x3, 0xF] {
            expectParseError(.unsupportedCommand, v2Signature + [0x20 | command], reason: "command \(command)")
        }
        for family: UInt8 in [0x01, 0x02, 0x10, 0x13, 0x20, 0x23, 0x30, 0x33, 0x41, 0xFF] {
            expectParseError(.unsupportedAddressFamily, v2Signature + [0x21, family], reason: "family/transport byte")
        }
    }

    @Test func lengthLimit() throws {
        let parser = ProxyProtocolParser(maximumHeaderSize: 512)
        // Refused from the 16 fixed bytes alone: an oversized header is never buffered.
        expectParseError(
            .headerTooLarge,
            v2Signature + hexBytes("21 11 01F1"),
            reason: "513 bytes exceeds the limit of 512",
            parser: parser
        )
        expectParseError(.headerTooLarge, v2Signature + hexBytes("21 11 FFFF"), parser: ProxyProtocolParser())
        // Exactly at the limit is fine.
        let exact = ProxyProtocolParser(maximumHeaderSize: 28)
        try expectHeader(V2Vectors.tcp4, parser: exact)
        expectParseError(.headerTooLarge, V2Vectors.tcp4, parser: ProxyProtocolParser(maximumHeaderSize: 27))
        // The limit is clamped to what the format can express.
        #expect(ProxyProtocolParser(maximumHeaderSize: 0).maximumHeaderSize == 16)
        #expect(ProxyProtocolParser(maximumHeaderSize: 1 << 30).maximumHeaderSize == 65551)
        var changed = ProxyProtocolParser()
        changed.maximumHeaderSize = -5
        #expect(changed.maximumHeaderSize == 16)
    }

    @Test func wrongSignature() {
        for index in 0..<12 {
            var corrupted = V2Vectors.tcp4
            corrupted[index] ^= 0x40
            // Byte 0 turned into 'M' (0x4D) or similar: not a signature at all. Later bytes: a broken signature.
            expectParseError(.notProxyProtocol, Array(corrupted.prefix(index + 1)))
            expectParseError(.notProxyProtocol, corrupted)
        }
    }

    @Test func incompleteHeadersWait() {
        for length in 0..<V2Vectors.tcp4.count {
            expectNeedsMore(Array(V2Vectors.tcp4.prefix(length)))
        }
    }

    @Test func versionNotAccepted() {
        expectParseError(
            .unsupportedVersion,
            V2Vectors.tcp4,
            reason: "only v1",
            parser: ProxyProtocolParser(acceptedVersions: [.v1])
        )
        expectParseError(.unsupportedVersion, V2Vectors.tcp4, parser: ProxyProtocolParser(acceptedVersions: []))
    }

    @Test func detection() {
        #expect(ProxyProtocolParser.detect(ByteBuffer()) == .needMoreBytes)
        for length in 1..<12 {
            #expect(ProxyProtocolParser.detect(buffer(Array(v2Signature.prefix(length)))) == .needMoreBytes)
        }
        #expect(ProxyProtocolParser.detect(buffer(v2Signature)) == .proxyV2)
        #expect(ProxyProtocolParser.detect(buffer(v2Signature + [0x11])) == .proxyV2, "the version is parse's business")
        for prefix in ["P", "PR", "PRO", "PROX"] {
            #expect(ProxyProtocolParser.detect(buffer(ascii(prefix))) == .needMoreBytes)
        }
        #expect(ProxyProtocolParser.detect(buffer(ascii("PROXY"))) == .proxyV1)
        #expect(ProxyProtocolParser.detect(buffer(ascii("PROXY TCP4"))) == .proxyV1)
        #expect(ProxyProtocolParser.detect(buffer([0x16, 0x03, 0x01])) == .notProxy, "TLS ClientHello")
        #expect(ProxyProtocolParser.detect(buffer(ascii("GET / HTTP/1.1"))) == .notProxy)
        #expect(ProxyProtocolParser.detect(buffer(ascii("POST /"))) == .notProxy)
        #expect(ProxyProtocolParser.detect(buffer(ascii("PRI * HTTP/2.0"))) == .notProxy)
        #expect(ProxyProtocolParser.detect(buffer([0x0D, 0x0A, 0x0D, 0x0A, 0x01])) == .notProxy)
        #expect(ProxyProtocolParser.detect(buffer([0x0D, 0x0A, 0x47])) == .notProxy)
        // A reader index past 0 is respected.
        var shifted = buffer([0x47, 0x45] + v2Signature)
        shifted.moveReaderIndex(forwardBy: 2)
        #expect(ProxyProtocolParser.detect(shifted) == .proxyV2)
    }
}
