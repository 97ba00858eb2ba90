import ClientAddress
import FuzzSupport
import NIOCore

/// The PROXY protocol v1/v2 parser, as a listener behind a load balancer runs it on a connection's first bytes.
///
/// Input: 1 control byte choosing the v2 size limit (4096, the default; 16; 232; 65551), then the connection's bytes.
///
/// Invariants:
/// - `detect` and `parse` agree: no signature is exactly the `.notProxyProtocol` error;
/// - a header leaves the bytes after it readable and untouched; nil or an error leave the buffer untouched;
/// - nil ("wait for more") is only said while fewer bytes than the limit are in: a caller can buffer safely;
/// - every proper prefix of a valid header is "wait for more", and an error stays an error with more bytes;
/// - a header re-encoded (v2 by `ProxyProtocolV2`, v1 as its text line) parses to the same header, and the addresses'
///   text forms parse back to the same addresses.
enum ProxyProtocolFuzz: FuzzTarget {
    static let limits = [4096, 16, 232, 65551]

    static func test(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let parser = ProxyProtocolParser(maximumHeaderSize: limits[Int(input.byte() & 3)])
        let connection = input.rest()

        let (result, consumed) = parse(connection, with: parser)
        switch result {
        case .failure(let error):
            fuzzCheck(!error.description.isEmpty, "a ProxyProtocolError (\(error.code)) without a description")
            fuzzCheck(
                (error.code == .notProxyProtocol) == (ProxyProtocolParser.detect(ByteBuffer(bytes: connection)) == .notProxy),
                "detect says \(ProxyProtocolParser.detect(ByteBuffer(bytes: connection))), parse threw \(error.code)"
            )
        case .success(nil):
            let limit = max(ProxyProtocolParser.v1MaximumLength, parser.maximumHeaderSize)
            fuzzCheck(connection.count < limit, "still waiting after \(connection.count) bytes (limit \(limit))")
        case .success(let header?):
            checkPrefixes(of: connection, headerLength: consumed, with: parser)
            checkReencoding(header, with: parser)
        }
    }

    /// The parser's answer for `bytes` and how many bytes it consumed; checks that nothing else moved.
    static func parse(
        _ bytes: some Collection<UInt8>, with parser: ProxyProtocolParser
    ) -> (Result<ProxyProtocolHeader?, ProxyProtocolError>, Int) {
        var buffer = ByteBuffer(bytes: bytes)
        let before = buffer
        do {
            let header = try parser.parse(&buffer)
            let consumed = buffer.readerIndex - before.readerIndex
            if header == nil {
                fuzzCheck(buffer == before, "nil but the buffer moved")
            } else {
                fuzzCheck(
                    consumed > 0 && buffer.readableBytesView.elementsEqual(bytes.dropFirst(consumed)), "the bytes after the header changed")
            }
            return (.success(header), consumed)
        } catch {
            fuzzCheck(buffer == before, "an error but the buffer moved")
            return (.failure(error), 0)
        }
    }

    /// Shorter inputs ending inside the header must all be "wait for more"; cut after it, the same header.
    static func checkPrefixes(of bytes: [UInt8], headerLength: Int, with parser: ProxyProtocolParser) {
        // Every prefix of a short header, and a sample of a long one's (each parse copies at most the header).
        let step = max(1, headerLength / 64)
        for length in stride(from: 0, to: headerLength, by: step) {
            let (result, _) = parse(bytes[0..<length], with: parser)
            guard case .success(nil) = result else {
                fuzzCheck(false, "the first \(length) bytes of a \(headerLength)-byte header gave \(result)")
                return
            }
        }
        let (whole, consumed) = parse(bytes[0..<headerLength], with: parser)
        fuzzCheck(consumed == headerLength, "the header alone gave \(whole)")
    }

    static func checkReencoding(_ header: ProxyProtocolHeader, with parser: ProxyProtocolParser) {
        for endpoint in [header.source, header.destination] {
            if case .ip(let address, _)? = endpoint {
                fuzzCheck(IPAddress(address.description) == address, "\(address) does not parse back from its text")
            }
        }
        switch header.version {
        case .v1:
            var line = "PROXY \(header.transport == .unspecified ? "UNKNOWN" : header.transport.description)"
            if case .ip(let source, let sourcePort)? = header.source, case .ip(let destination, let destinationPort)? = header.destination {
                line += " \(source) \(destination) \(sourcePort) \(destinationPort)"
            }
            let (again, _) = parse(Array((line + "\r\n").utf8), with: parser)
            fuzzCheck((try? again.get()) == header, "v1 \(header) re-encoded as '\(line)' parses as \(again)")
        case .v2:
            // The encoder writes a CRC32C TLV only when asked, and then last: compare without it.
            var expected = header
            expected.tlvs.removeAll { $0.kind == .crc32c }
            for checksum in [false, true] {
                var encoded = ByteBuffer()
                do {
                    try ProxyProtocolV2.encode(header, checksum: checksum, into: &encoded)
                } catch {
                    fuzzCheck(false, "a parsed v2 header does not encode: \(error)")
                }
                let (again, _) = parse(encoded.readableBytesView, with: ProxyProtocolParser(maximumHeaderSize: 65551))
                var parsed = try? again.get()
                parsed?.tlvs.removeAll { $0.kind == .crc32c }
                fuzzCheck(parsed == expected, "v2 \(header) re-encoded parses as \(again)")
            }
        }
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        func v2(_ header: ProxyProtocolHeader, checksum: Bool = false) throws -> [UInt8] {
            var buffer = ByteBuffer()
            try ProxyProtocolV2.encode(header, checksum: checksum, into: &buffer)
            return Array(buffer.readableBytesView)
        }
        func ip(_ text: String, _ port: UInt16) throws -> ProxyProtocolHeader.Endpoint {
            guard let address = IPAddress(text) else {
                throw ProxyProtocolError(code: .notEncodable, description: "seed address \(text) does not parse")
            }
            return .ip(address, port: port)
        }
        let tls = ProxyProtocolSSLInfo(
            version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", signatureAlgorithm: "RSA-SHA256", keyAlgorithm: "RSA2048")
        let (client, listener) = (try ip("203.0.113.7", 56324), try ip("10.0.0.5", 443))
        let (client6, listener6) = (try ip("2001:db8::7", 40000), try ip("::ffff:10.0.0.5", 443))
        let haproxy = ProxyProtocolHeader(
            version: .v2, command: .proxy, transport: .tcp4, source: client, destination: listener,
            tlvs: [.alpn(Array("http/1.1".utf8)), .authority("mqtt.example.com"), .ssl(tls), .uniqueID([1, 2, 3, 4])]
        )
        let ipv6 = ProxyProtocolHeader(
            version: .v2, command: .proxy, transport: .tcp6, source: client6, destination: listener6
        )
        let unix = ProxyProtocolHeader(
            version: .v2, command: .proxy, transport: .unixStream, source: .unix(path: Array("/run/lb.sock".utf8)),
            destination: .unix(path: [0] + Array("abstract".utf8))
        )
        let local = ProxyProtocolHeader(
            version: .v2, command: .local, transport: .unspecified, source: nil, destination: nil, tlvs: [.noop(count: 3)])
        let request = Array("GET /mqtt HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        return [
            ("v1-tcp4", [0] + Array("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n".utf8) + request),
            ("v1-tcp6", [0] + Array("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 65535 0\r\n".utf8)),
            ("v1-unknown", [0] + Array("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n".utf8)),
            ("v2-haproxy-ssl-crc", try [0] + v2(haproxy, checksum: true) + [0x16, 0x03, 0x01]),
            ("v2-haproxy-ssl-limit-232", try [2] + v2(haproxy)),
            ("v2-tcp6-mapped", try [0] + v2(ipv6)),
            ("v2-unix-abstract", try [3] + v2(unix)),
            ("v2-local-noop", try [0] + v2(local, checksum: true)),
            ("tls-client-hello", [0, 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
        ]
    }
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    FuzzEntry.initialize(ProxyProtocolFuzz.self)
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.test(ProxyProtocolFuzz.self, data, size)
}
