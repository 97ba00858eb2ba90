import BridgeTestSupport
import ClientAddress
import NIOCore
import Testing

@Suite("PROXY protocol v2 encoding")
struct ProxyProtocolEncoderTests {
    private func encoded(_ body: (inout ByteBuffer) throws -> Void) rethrows -> [UInt8] {
        var out = ByteBuffer()
        try body(&out)
        return bytes(of: out)
    }

    @Test func tcp4MatchesTheHandWrittenVector() throws {
        let bytes = try self.encoded {
            try ProxyProtocolV2.encode(
                source: try SocketAddress(ipAddress: "172.19.0.1", port: 42578),
                destination: try SocketAddress(ipAddress: "172.19.0.3", port: 80),
                into: &$0
            )
        }
        #expect(bytes == V2Vectors.tcp4)
    }

    @Test func tcp6MatchesTheHandWrittenVector() throws {
        let bytes = try self.encoded {
            try ProxyProtocolV2.encode(
                source: try SocketAddress(ipAddress: "2001:db8::1", port: 12345),
                destination: try SocketAddress(ipAddress: "2001:db8::2", port: 443),
                into: &$0
            )
        }
        #expect(bytes == V2Vectors.tcp6)
    }

    @Test func unixMatchesTheHandWrittenVector() throws {
        let bytes = try self.encoded {
            try ProxyProtocolV2.encode(
                source: try SocketAddress(unixDomainSocketPath: "/tmp/client.sock"),
                destination: try SocketAddress(unixDomainSocketPath: "/tmp/server.sock"),
                into: &$0
            )
        }
        #expect(bytes == V2Vectors.unixStream)
    }

    @Test func localMatchesTheHandWrittenVectors() throws {
        #expect(try self.encoded { try ProxyProtocolV2.encodeLocal(into: &$0) } == V2Vectors.local)
        #expect(
            try self.encoded { try ProxyProtocolV2.encodeLocal(checksum: true, into: &$0) }
                == V2Vectors.localWithChecksum
        )
    }

    @Test func authorityAndChecksumMatchTheHandWrittenVector() throws {
        let bytes = try self.encoded {
            try ProxyProtocolV2.encode(
                source: try SocketAddress(ipAddress: "192.0.2.1", port: 40000),
                destination: try SocketAddress(ipAddress: "198.51.100.2", port: 443),
                tlvs: [.authority("example.com"), ProxyProtocolTLV(kind: .crc32c, value: [9, 9, 9, 9])],
                checksum: true,
                into: &$0
            )
        }
        #expect(bytes == V2Vectors.tcp4WithChecksum, "a CRC32C TLV passed in is dropped; the computed one is last")
    }

    @Test func sslTLVMatchesTheHandWrittenBytes() throws {
        let info = ProxyProtocolSSLInfo(version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256")
        let bytes = try self.encoded {
            try ProxyProtocolV2.encode(
                source: try SocketAddress(ipAddress: "1.2.3.4", port: 1),
                destination: try SocketAddress(ipAddress: "5.6.7.8", port: 2),
                tlvs: [.ssl(info)],
                into: &$0
            )
        }
        let expectedTLV =
            hexBytes("20 0028  01 00000001") + hexBytes("21 0007") + ascii("TLSv1.3") + hexBytes("23 0016")
            + ascii("TLS_AES_128_GCM_SHA256")
        #expect(bytes == V2Vectors.header(0x21, 0x11, V2Vectors.ipv4Block + expectedTLV))
        var parsed = buffer(bytes)
        let header = try ProxyProtocolParser().parse(&parsed)
        #expect(header?.ssl == info)
        #expect(header?.ssl?.client == .ssl)
        #expect(header?.ssl?.verify == 1, "no client certificate: nothing verified")
    }

    @Test func mixedFamiliesUseIPv6() throws {
        let bytes = try self.encoded {
            try ProxyProtocolV2.encode(
                source: try SocketAddress(ipAddress: "203.0.113.9", port: 5000),
                destination: try SocketAddress(ipAddress: "2001:db8::2", port: 443),
                into: &$0
            )
        }
        let expected = V2Vectors.header(
            0x21,
            0x21,
            hexBytes("00000000 00000000 0000FFFF CB007109  20010DB8 00000000 00000000 00000002  1388 01BB")
        )
        #expect(bytes == expected)
        var parsed = buffer(bytes)
        #expect(try ProxyProtocolParser().parse(&parsed)?.sourceIP?.unmapped == ip("203.0.113.9"))
    }

    @Test func mappedPairsUseIPv4() throws {
        let bytes = try self.encoded {
            try ProxyProtocolV2.encode(
                source: try SocketAddress(ipAddress: "::ffff:172.19.0.1", port: 42578),
                destination: try SocketAddress(ipAddress: "::ffff:172.19.0.3", port: 80),
                into: &$0
            )
        }
        #expect(bytes == V2Vectors.tcp4)
    }

    @Test func refusesWhatTheFormatCannotCarryAndWritesNothing() throws {
        var out = ByteBuffer(bytes: [0xEE])
        let ipAndPath = #expect(throws: ProxyProtocolError.self) {
            try ProxyProtocolV2.encode(
                source: try SocketAddress(ipAddress: "1.2.3.4", port: 1),
                destination: try SocketAddress(unixDomainSocketPath: "/tmp/x"),
                into: &out
            )
        }
        #expect(ipAndPath?.code == .notEncodable)
        let tooLong = ProxyProtocolHeader(
            version: .v2,
            command: .proxy,
            transport: .unixStream,
            source: .unix(path: [UInt8](repeating: 0x61, count: 109)),
            destination: .unix(path: ascii("/x"))
        )
        #expect(throws: ProxyProtocolError.self) { try ProxyProtocolV2.encode(tooLong, into: &out) }
        let v6InTCP4 = ProxyProtocolHeader(
            version: .v2,
            command: .proxy,
            transport: .tcp4,
            source: .ip(ip("2001:db8::1"), port: 1),
            destination: .ip(ip("1.2.3.4"), port: 2)
        )
        #expect(throws: ProxyProtocolError.self) { try ProxyProtocolV2.encode(v6InTCP4, into: &out) }
        let missingEndpoint = ProxyProtocolHeader(
            version: .v2,
            command: .proxy,
            transport: .tcp6,
            source: nil,
            destination: nil
        )
        #expect(throws: ProxyProtocolError.self) { try ProxyProtocolV2.encode(missingEndpoint, into: &out) }
        let huge = ProxyProtocolHeader(
            version: .v2,
            command: .local,
            transport: .unspecified,
            source: nil,
            destination: nil,
            tlvs: [.noop(count: 40000), .noop(count: 40000)]
        )
        let overflow = #expect(throws: ProxyProtocolError.self) { try ProxyProtocolV2.encode(huge, into: &out) }
        #expect(overflow?.description.contains("65535") == true)
        #expect(bytes(of: out) == [0xEE], "nothing written on error")
    }

    @Test func localIgnoresAddresses() throws {
        let header = ProxyProtocolHeader(
            version: .v1,
            command: .local,
            transport: .tcp4,
            source: .ip(ip("1.2.3.4"), port: 1),
            destination: .ip(ip("5.6.7.8"), port: 2)
        )
        #expect(try self.encoded { try ProxyProtocolV2.encode(header, into: &$0) } == V2Vectors.local)
    }

    @Test func roundTripsRandomHeaders() throws {
        var random = SeededRandom(seed: 0x5052_4F58_5932)
        for iteration in 0..<2000 {
            let header = randomHeader(using: &random)
            let checksum = Bool.random(using: &random)
            var out = ByteBuffer()
            try ProxyProtocolV2.encode(header, checksum: checksum, into: &out)
            let payload = random.bytes(Int.random(in: 0...8, using: &random))
            out.writeBytes(payload)
            var parsed = try #require(
                try ProxyProtocolParser(maximumHeaderSize: 65551).parse(&out),
                "iteration \(iteration)"
            )
            #expect(bytes(of: out) == payload, "iteration \(iteration)")
            if checksum {
                #expect(parsed.tlvs.last?.kind == .crc32c, "iteration \(iteration)")
                parsed.tlvs.removeLast()
            }
            #expect(parsed == header, "iteration \(iteration)")
        }
    }
}

/// A random header in the form the parser returns (v2; IPv4 transports with IPv4 addresses; LOCAL without
/// addresses; Unix paths without NUL bytes; valid SSL and unique-id TLVs).
func randomHeader(using random: inout SeededRandom) -> ProxyProtocolHeader {
    let transports: [ProxyProtocolHeader.TransportProtocol] = [
        .unspecified, .tcp4, .udp4, .tcp6, .udp6, .unixStream, .unixDatagram,
    ]
    let command: ProxyProtocolHeader.Command = Int.random(in: 0..<6, using: &random) == 0 ? .local : .proxy
    let transport = command == .local ? .unspecified : transports.randomElement(using: &random) ?? .tcp4
    func endpoint() -> ProxyProtocolHeader.Endpoint? {
        let port = UInt16.random(in: 0 ... .max, using: &random)
        switch transport {
        case .unspecified:
            return nil
        case .tcp4, .udp4:
            return .ip(IPAddress(ipv4: UInt32.random(in: 0 ... .max, using: &random)), port: port)
        case .tcp6, .udp6:
            return .ip(IPAddress(ipv6High: random.next(), low: random.next()), port: port)
        case .unixStream, .unixDatagram:
            let length = Int.random(in: 1...108, using: &random)
            return .unix(path: (0..<length).map { _ in UInt8.random(in: 1...255, using: &random) })
        }
    }
    let source = endpoint()
    let destination = endpoint()
    var tlvs: [ProxyProtocolTLV] = []
    for _ in 0..<Int.random(in: 0...5, using: &random) {
        switch Int.random(in: 0..<6, using: &random) {
        case 0:
            tlvs.append(.authority("host\(Int.random(in: 0...999, using: &random)).example"))
        case 1:
            tlvs.append(.uniqueID(random.bytes(Int.random(in: 0...128, using: &random))))
        case 2:
            var info = ProxyProtocolSSLInfo(version: "TLSv1.2", cipher: "ECDHE-RSA-AES128-GCM-SHA256", commonName: "cn")
            info.verify = UInt32.random(in: 0 ... .max, using: &random)
            tlvs.append(.ssl(info))
        case 3:
            tlvs.append(.noop(count: Int.random(in: 0...10, using: &random)))
        case 4:
            tlvs.append(.alpn(ascii("mqtt")))
        default:
            let kind = UInt8.random(in: 0xE0...0xFF, using: &random)
            tlvs.append(
                ProxyProtocolTLV(
                    kind: ProxyProtocolTLV.Kind(rawValue: kind),
                    value: random.bytes(Int.random(in: 0...300, using: &random))
                )
            )
        }
    }
    return ProxyProtocolHeader(
        version: .v2,
        command: command,
        transport: transport,
        source: source,
        destination: destination,
        tlvs: tlvs
    )
}
