import BridgeTestSupport
import MQTTWire
import NIOCore
import Testing

@Suite struct StreamScannerTests {
    static func scan(
        _ chunks: [ByteBuffer],
        maximumPacketSize: Int = 1 << 20
    ) throws -> (headers: [MQTTFixedHeader], scanner: MQTTStreamScanner) {
        var scanner = MQTTStreamScanner(maximumPacketSize: maximumPacketSize)
        var headers: [MQTTFixedHeader] = []
        for chunk in chunks {
            try scanner.scan(chunk) { headers.append($0) }
        }
        return (headers, scanner)
    }

    static func expectedHeaders(_ packets: [[UInt8]]) throws -> [MQTTFixedHeader] {
        try packets.map { packet in
            try #require(try MQTTFixedHeader.peek(in: ByteBuffer(bytes: packet), maximumPacketSize: .max))
        }
    }

    @Test func batchedPackets() throws {
        let (stream, packets) = sampleStream()
        let (headers, scanner) = try Self.scan([ByteBuffer(bytes: stream)])
        #expect(headers == (try Self.expectedHeaders(packets)))
        #expect(scanner.isAtPacketBoundary)
    }

    @Test func splitAtEveryPositionMatchesTheAccumulator() throws {
        let (stream, packets) = sampleStream()
        let expected = try Self.expectedHeaders(packets)
        for split in 0...stream.count {
            let pieces = chunks(of: stream, splitAt: [split])
            let (headers, scanner) = try Self.scan(pieces)
            #expect(headers == expected, "split at \(split)")
            #expect(scanner.isAtPacketBoundary)

            var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
            var accumulated: [MQTTFixedHeader] = []
            for piece in pieces {
                accumulator.append(piece)
                while let (header, _) = try accumulator.nextPacketWithHeader() {
                    accumulated.append(header)
                }
            }
            #expect(accumulated == headers)
        }
    }

    @Test func oneByteAtATime() throws {
        let (stream, packets) = sampleStream()
        let (headers, scanner) = try Self.scan(chunks(of: stream, splitAt: Array(1..<stream.count)))
        #expect(headers == (try Self.expectedHeaders(packets)))
        #expect(scanner.isAtPacketBoundary)
        #expect(scanner.packetsStarted == UInt(packets.count), "each packet counted once, however its header is split")
    }

    @Test func randomChunkings() throws {
        let (stream, packets) = sampleStream()
        let expected = try Self.expectedHeaders(packets)
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<300 {
            let cuts = (0..<Int.random(in: 1...20, using: &generator)).map { _ in
                Int.random(in: 0...stream.count, using: &generator)
            }
            let (headers, scanner) = try Self.scan(chunks(of: stream, splitAt: cuts))
            #expect(headers == expected)
            #expect(scanner.packetsStarted == UInt(packets.count))
        }
    }

    @Test func reportsTheHeaderBeforeTheBody() throws {
        var scanner = MQTTStreamScanner(maximumPacketSize: 1_000)
        var headers: [MQTTFixedHeader] = []
        // A PUBLISH header with a 3-byte remaining length of 300, the header split across chunks.
        try scanner.scan(hex("30 AC")) { headers.append($0) }
        #expect(headers.isEmpty)
        #expect(!scanner.isAtPacketBoundary)
        #expect(scanner.packetsStarted == 1, "a packet starts at its first byte, before its header is complete")
        try scanner.scan(hex("02 00")) { headers.append($0) }
        #expect(headers == [MQTTFixedHeader(firstByte: 0x30, remainingLength: 300, headerLength: 3)])
        #expect(!scanner.isAtPacketBoundary)
        try scanner.scan(ByteBuffer(repeating: 0, count: 298)) { headers.append($0) }
        #expect(headers.count == 1)
        #expect(!scanner.isAtPacketBoundary)
        try scanner.scan(hex("00 C0")) { headers.append($0) }
        #expect(headers.count == 1)
        #expect(!scanner.isAtPacketBoundary)
        #expect(scanner.packetsStarted == 2)
        try scanner.scan(hex("00")) { headers.append($0) }
        #expect(headers.last?.type == .pingreq)
        #expect(scanner.isAtPacketBoundary)
    }

    @Test func emptyChunksChangeNothing() throws {
        var scanner = MQTTStreamScanner(maximumPacketSize: 100)
        var count = 0
        try scanner.scan(ByteBuffer()) { _ in count += 1 }
        #expect(count == 0)
        #expect(scanner.isAtPacketBoundary)
    }

    @Test func honoursTheReaderIndex() throws {
        var chunk = hex("FF FF C0 00")
        chunk.moveReaderIndex(forwardBy: 2)
        let (headers, _) = try Self.scan([chunk])
        #expect(headers.map(\.type) == [.pingreq])
    }

    @Test func maximumSize() throws {
        #expect(try Self.scan([hex("30 62")], maximumPacketSize: 100).headers.count == 1)
        expectWireError(.packetTooLarge, "packet of 101 bytes exceeds the limit of 100") {
            _ = try Self.scan([hex("30 63")], maximumPacketSize: 100)
        }
        // Split header: the limit is still checked when the last length byte arrives.
        expectWireError(.packetTooLarge, "packet of 2097157 bytes exceeds the limit of 1048576") {
            _ = try Self.scan([hex("30 80"), hex("80"), hex("80 01")], maximumPacketSize: 1 << 20)
        }
    }

    @Test(arguments: [
        ["30 FF FF FF FF"], ["30 FF", "FF FF", "FF 7F"], ["30", "80", "80", "80", "80"],
    ])
    func rejectsFiveByteLengths(pieces: [String]) {
        expectWireError(.variableByteIntegerTooLong) {
            _ = try Self.scan(pieces.map(hex), maximumPacketSize: .max)
        }
    }

    @Test(arguments: [["C0 80 00"], ["C0 80", "00"], ["C0", "FF", "80", "00"], ["C0 00 D0 80", "80 00"]])
    func rejectsOverlongLengths(pieces: [String]) {
        expectWireError(.overlongVariableByteInteger) {
            _ = try Self.scan(pieces.map(hex), maximumPacketSize: .max)
        }
    }

    @Test func headersBeforeTheErrorAreReportedAndTheErrorSticks() throws {
        var scanner = MQTTStreamScanner(maximumPacketSize: 100)
        var headers: [MQTTFixedHeader] = []
        expectWireError(.overlongVariableByteInteger) {
            try scanner.scan(hex("C0 00 D0 00 E0 80 00")) { headers.append($0) }
        }
        #expect(headers.map(\.type) == [.pingreq, .pingresp])
        expectWireError(.overlongVariableByteInteger) {
            try scanner.scan(hex("C0 00")) { headers.append($0) }
        }
        #expect(headers.count == 2)
        scanner.reset()
        try scanner.scan(hex("C0 00")) { headers.append($0) }
        #expect(headers.count == 3)
    }
}
