import BridgeTestSupport
import NIOCore
import Testing
import WebSocketTransport

/// Inbound data: binary frames become one unmasked byte stream, delivered per read burst.
@Suite struct CodecInboundDataTests {
    @Test(arguments: [0, 1, 7, 8, 9, 125, 126, 127, 1000, 65535, 65536, 70_000])
    func oneBinaryFrameIsDeliveredUnmaskedAndByteExact(length: Int) throws {
        var random = SeededRandom(seed: UInt64(length) &+ 0x5EED_0100)
        let payload = random.bytes(length)
        let harness = try CodecHarness()
        defer { harness.finish() }

        harness.feed(TestFrame.binary(payload, mask: random.key()))

        expectSameBytes(harness.recorder.delivered, payload)
        #expect(harness.recorder.events == [])
        #expect(try harness.outboundBuffers().isEmpty)
        #expect(!harness.isClosed)
    }

    @Test func bytesAreDeliveredOnReadCompleteNotPerFrame() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let frames = (0..<10).map { TestFrame.binary([UInt8](repeating: UInt8($0), count: 20)) }

        // Two channelReads in one burst: nothing is passed on before channelReadComplete…
        harness.read(frames[0..<5].flatMap { $0 })
        harness.read(frames[5...].flatMap { $0 })
        #expect(harness.recorder.log == [])

        // …and then everything as one buffer, before the readComplete is passed on.
        harness.readComplete()
        let expected = (0..<10).flatMap { [UInt8](repeating: UInt8($0), count: 20) }
        #expect(harness.recorder.log == [.read(expected), .readComplete])
    }

    @Test func burstsAreDeliveredSeparately() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([1, 2, 3]))
        harness.feed(TestFrame.binary([4, 5]))
        #expect(harness.recorder.log == [.read([1, 2, 3]), .readComplete, .read([4, 5]), .readComplete])
    }

    @Test func emptyBinaryFramesDeliverNothingAndAreAccepted() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(TestFrame.binary([]) + TestFrame.binary([]) + TestFrame.binary([9]))
        #expect(harness.recorder.delivered == [9])
        #expect(harness.recorder.events == [])
        #expect(!harness.isClosed)
    }

    @Test func thresholdPassesBytesOnMidBurst() throws {
        let harness = try CodecHarness(.init(inbound: .byteStream(flushThreshold: 100)))
        defer { harness.finish() }
        let payloads = (0..<3).map { [UInt8](repeating: UInt8($0 + 1), count: 60) }

        harness.read(payloads.flatMap { TestFrame.binary($0) })
        // 120 bytes are past the threshold after the second frame: they must not wait for readComplete.
        let midBurst = harness.recorder.delivered
        #expect(midBurst.count >= 100)
        #expect(midBurst == Array(payloads.joined().prefix(midBurst.count)))
        #expect(!harness.recorder.log.contains(.readComplete))

        harness.readComplete()
        expectSameBytes(harness.recorder.delivered, Array(payloads.joined()))
        #expect(harness.recorder.log.last == .readComplete)
    }

    @Test func largeFrameInOneReadIsPassedOnBeforeReadComplete() throws {
        // The threshold is checked after each read's slice of payload is unmasked: what is buffered is
        // bounded by the threshold plus one read, which the channel's read size bounds.
        var random = SeededRandom(seed: 0x5EED_0101)
        let payload = random.bytes(300_000)
        let harness = try CodecHarness()  // default threshold 64 KiB
        defer { harness.finish() }

        harness.read(TestFrame.binary(payload, mask: random.key()))
        expectSameBytes(harness.recorder.delivered, payload)
        harness.readComplete()
        expectSameBytes(harness.recorder.delivered, payload)
        #expect(harness.recorder.log.last == .readComplete)
    }

    @Test func bufferedBytesStayBelowThresholdPlusOneRead() throws {
        var random = SeededRandom(seed: 0x5EED_0107)
        let payload = random.bytes(100_000)
        let harness = try CodecHarness(.init(inbound: .byteStream(flushThreshold: 1000)))
        defer { harness.finish() }
        for chunk in random.chunks(of: TestFrame.binary(payload, mask: random.key()), maxChunk: 700) {
            harness.read(chunk)
        }
        let pieces = harness.recorder.log.compactMap { entry -> Int? in
            if case .read(let bytes) = entry { return bytes.count }
            return nil
        }
        #expect(pieces.count >= 50)
        #expect(pieces.allSatisfy { $0 < 1000 + 700 })
        harness.readComplete()
        expectSameBytes(harness.recorder.delivered, payload)
    }

    @Test func largeFrameSplitAcrossManyReadsIsStreamed() throws {
        var random = SeededRandom(seed: 0x5EED_0102)
        let payload = random.bytes(200_000)
        let harness = try CodecHarness()
        defer { harness.finish() }

        for chunk in random.chunks(of: TestFrame.binary(payload, mask: random.key()), maxChunk: 9000) {
            harness.feed(chunk)
        }
        expectSameBytes(harness.recorder.delivered, payload)
    }

    /// A stream that exercises every header form, masks, control frames in between and a fragmented message.
    static func mixedStream(random: inout SeededRandom) -> (bytes: [UInt8], payload: [UInt8], pongs: [[UInt8]]) {
        var bytes: [UInt8] = []
        var payload: [UInt8] = []
        var pongs: [[UInt8]] = []
        func data(_ count: Int, opcode: UInt8 = 0x2, fin: Bool = true) {
            let part = random.bytes(count)
            payload += part
            bytes += TestFrame.frame(fin: fin, opcode: opcode, mask: random.key(), payload: part)
        }
        data(0)
        data(1)
        data(5)
        data(125)
        data(126)
        data(127)
        let ping = random.bytes(17)
        pongs.append(ping)
        bytes += TestFrame.ping(ping, mask: random.key())
        data(200)
        data(3, fin: false)
        data(0, opcode: 0x0, fin: false)
        pongs.append([])
        bytes += TestFrame.ping([], mask: random.key())
        data(40, opcode: 0x0, fin: false)
        bytes += TestFrame.frame(opcode: 0xA, mask: random.key(), payload: random.bytes(4))  // unsolicited pong
        data(9, opcode: 0x0, fin: true)
        data(64)
        return (bytes, payload, pongs)
    }

    @Test func everySplitPointGivesTheSameOutput() throws {
        var random = SeededRandom(seed: 0x5EED_0103)
        let stream = Self.mixedStream(random: &random)
        for split in 0...stream.bytes.count {
            for sameBurst in [true, false] {
                let harness = try CodecHarness()
                defer { harness.finish() }
                harness.read(Array(stream.bytes[..<split]))
                if !sameBurst { harness.readComplete() }
                harness.read(Array(stream.bytes[split...]))
                harness.readComplete()

                let pongs = try harness.outboundFrames()
                let context = "split at \(split), same burst: \(sameBurst)"
                guard harness.recorder.delivered == stream.payload,
                    pongs.map(\.payload) == stream.pongs,
                    pongs.allSatisfy({ $0.opcode == 0xA && $0.fin && !$0.masked }),
                    harness.recorder.events == [.pongReceived],
                    !harness.isClosed
                else {
                    Issue.record(
                        "\(context): delivered \(harness.recorder.delivered.count) of \(stream.payload.count) bytes, outbound \(pongs), events \(harness.recorder.events)"
                    )
                    return
                }
            }
        }
    }

    @Test func byteByByteGivesTheSameOutput() throws {
        var random = SeededRandom(seed: 0x5EED_0104)
        let stream = Self.mixedStream(random: &random)
        for sameBurst in [true, false] {
            let harness = try CodecHarness()
            defer { harness.finish() }
            for byte in stream.bytes {
                harness.read([byte])
                if !sameBurst { harness.readComplete() }
            }
            harness.readComplete()
            expectSameBytes(harness.recorder.delivered, stream.payload)
            #expect(try harness.outboundFrames().map(\.payload) == stream.pongs)
            #expect(harness.recorder.events == [.pongReceived])
        }
    }

    @Test func randomChunkingsGiveTheSameOutput() throws {
        var random = SeededRandom(seed: 0x5EED_0105)
        for iteration in 0..<300 {
            let stream = Self.mixedStream(random: &random)
            let harness = try CodecHarness(.init(inbound: .byteStream(flushThreshold: Int.random(in: 1...2000, using: &random))))
            defer { harness.finish() }
            for chunk in random.chunks(of: stream.bytes, maxChunk: 64) {
                harness.read(chunk)
                if Bool.random(using: &random) { harness.readComplete() }
            }
            harness.readComplete()
            guard harness.recorder.delivered == stream.payload,
                try harness.outboundFrames().map(\.payload) == stream.pongs
            else {
                Issue.record("iteration \(iteration)")
                return
            }
        }
    }

    @Test func sixtyFourBitLengthFrameSplitInsideTheHeaderAndPayload() throws {
        var random = SeededRandom(seed: 0x5EED_0106)
        let payload = random.bytes(65_536 + 3)
        let frame = TestFrame.binary(payload, mask: random.key())  // 14-byte header
        let splits = Array(0...20) + [frame.count / 2, frame.count - 5, frame.count - 1, frame.count]
        for split in splits {
            let harness = try CodecHarness()
            defer { harness.finish() }
            harness.feed(Array(frame[..<split]))
            harness.feed(Array(frame[split...]) + TestFrame.binary([0xAB]))
            expectSameBytes(harness.recorder.delivered, payload + [0xAB], "split at \(split)")
        }
    }

    @Test func fragmentedMessageIsConcatenated() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(
            TestFrame.binary([1, 2], fin: false),
            TestFrame.continuation([3], fin: false),
            TestFrame.continuation([], fin: false),
            TestFrame.continuation([4, 5, 6], fin: true),
            // A new message may start once the previous one is finished.
            TestFrame.binary([7], fin: false),
            TestFrame.continuation([8]),
            TestFrame.binary([9])
        )
        #expect(harness.recorder.delivered == [1, 2, 3, 4, 5, 6, 7, 8, 9])
        #expect(harness.recorder.events == [])
        #expect(!harness.isClosed)
    }

    @Test func controlFramesMayInterleaveWithFragments() throws {
        // Autobahn 5.6–5.8: ping in the middle of a fragmented message.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.feed(
            TestFrame.binary([1, 2], fin: false),
            TestFrame.ping([0x50]),
            TestFrame.continuation([3], fin: false),
            TestFrame.frame(opcode: 0xA, payload: []),
            TestFrame.continuation([4])
        )
        #expect(harness.recorder.delivered == [1, 2, 3, 4])
        let frames = try harness.outboundFrames()
        #expect(frames == [ServerFrame(fin: true, rsv: 0, opcode: 0xA, masked: false, payload: [0x50])])
        #expect(harness.recorder.events == [.pongReceived])
    }
}
