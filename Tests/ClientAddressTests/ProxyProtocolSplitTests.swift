import ClientAddress
import NIOCore
import Testing

/// Valid headers of every kind, for tests that cut them up.
let validHeaders: [(name: String, bytes: [UInt8])] = [
    ("v1 TCP4", ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n")),
    ("v1 TCP6", ascii("PROXY TCP6 2001:db8::1 ::ffff:10.0.0.1 1 65535\r\n")),
    ("v1 UNKNOWN", ascii("PROXY UNKNOWN\r\n")),
    ("v1 UNKNOWN long", ascii("PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n")),
    ("v2 TCP4", V2Vectors.tcp4),
    ("v2 TCP6", V2Vectors.tcp6),
    ("v2 UNIX", V2Vectors.unixStream),
    ("v2 LOCAL", V2Vectors.local),
    ("v2 LOCAL CRC", V2Vectors.localWithChecksum),
    ("v2 TCP4 AUTHORITY CRC", V2Vectors.tcp4WithChecksum),
]

/// Payloads that follow a header in the same stream, including ones that look like headers themselves.
let payloads: [[UInt8]] = [
    [],
    [0x16, 0x03, 0x01, 0x02, 0x00, 0x01],
    ascii("GET /mqtt HTTP/1.1\r\nHost: a\r\n\r\n"),
    ascii("PROXY TCP4 6.6.6.6 6.6.6.6 1 1\r\n"),
    V2Vectors.tcp4,
]

@Suite("PROXY protocol headers split across reads")
struct ProxyProtocolSplitTests {
    @Test(arguments: validHeaders.indices)
    func splitAtEveryPosition(index: Int) throws {
        let (name, header) = validHeaders[index]
        var whole = buffer(header)
        let expected = try #require(try ProxyProtocolParser().parse(&whole), "\(name)")
        #expect(whole.readableBytes == 0)
        for payload in payloads {
            let stream = header + payload
            for cut in 0...stream.count {
                // First read: everything up to `cut`.
                var first = buffer(Array(stream[..<cut]))
                let early = try ProxyProtocolParser().parse(&first)
                if cut < header.count {
                    #expect(early == nil, "\(name): \(cut) bytes are not enough")
                    #expect(first.readableBytes == cut, "\(name): untouched at \(cut)")
                } else {
                    #expect(early == expected, "\(name): complete at \(cut)")
                    #expect(bytes(of: first) == Array(payload[..<(cut - header.count)]), "\(name): tail at \(cut)")
                }
                // Second read appended, as a handler accumulates: the header, then exactly the payload.
                var accumulated = buffer(Array(stream[..<cut]))
                accumulated.writeBytes(stream[cut...])
                let parsed = try ProxyProtocolParser().parse(&accumulated)
                #expect(parsed == expected, "\(name): cut at \(cut)")
                #expect(bytes(of: accumulated) == payload, "\(name): payload after cut at \(cut)")
            }
        }
    }

    @Test(arguments: validHeaders.indices)
    func oneByteAtATime(index: Int) throws {
        let (name, header) = validHeaders[index]
        let payload = ascii("after")
        var accumulated = ByteBuffer()
        var result: ProxyProtocolHeader?
        for (offset, byte) in (header + payload).enumerated() {
            accumulated.writeInteger(byte)
            if result == nil {
                result = try ProxyProtocolParser().parse(&accumulated)
                #expect((result != nil) == (offset == header.count - 1), "\(name): completes exactly at its last byte")
            }
        }
        #expect(result != nil)
        #expect(bytes(of: accumulated) == payload)
    }

    @Test func readerIndexPastZero() throws {
        var shifted = buffer(ascii("xx") + V2Vectors.tcp4 + ascii("rest"))
        shifted.moveReaderIndex(forwardBy: 2)
        let header = try ProxyProtocolParser().parse(&shifted)
        #expect(header?.transport == .tcp4)
        #expect(bytes(of: shifted) == ascii("rest"))
        var v1 = buffer(ascii("xxPROXY UNKNOWN\r\nrest"))
        v1.moveReaderIndex(forwardBy: 2)
        #expect(try ProxyProtocolParser().parse(&v1)?.version == .v1)
        #expect(bytes(of: v1) == ascii("rest"))
    }
}
