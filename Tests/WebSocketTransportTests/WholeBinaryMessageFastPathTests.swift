import BridgeTestSupport
import NIOCore
import Testing

@testable import WebSocketTransport

/// `WebSocketFrameReader.nextWholeBinaryMessage`, the relay's fast path: which frames take it, and that taking it
/// changes nothing — the same bytes, events and errors as reading everything with `nextEvent`.
@Suite struct WholeBinaryMessageFastPathTests {
    typealias Reader = WebSocketFrameReader
    typealias Seen = FrameReaderTests.Seen

    /// What the fast path makes of `bytes` (one read) after `before` was read with `nextEvent`: the payload, unmasked,
    /// or nil when it leaves the frame to `nextEvent` (and then `input` must be untouched).
    static func fastPath(_ bytes: [UInt8], after before: [UInt8] = [], reader: Reader = FrameReaderTests.reader()) throws -> [UInt8]? {
        var reader = reader
        _ = try FrameReaderTests.events(&reader, before)
        var input = ByteBuffer(bytes: bytes)
        let untouched = input
        guard let message = reader.nextWholeBinaryMessage(from: &input) else {
            #expect(input == untouched && input.readerIndex == untouched.readerIndex, "a skipped frame leaves the input untouched")
            return nil
        }
        var payload = message.payload(of: input)
        if let key = message.maskingKey { payload.maskReadableBytes(key: key) }
        #expect(input.readerIndex == message.payloadIndex + message.payloadLength, "the frame is consumed, nothing more")
        return Array(payload.readableBytesView)
    }

    @Test func aWholeMaskedFinalBinaryFrameTakesIt() throws {
        #expect(try Self.fastPath(TestFrame.binary([1, 2, 3])) == [1, 2, 3])
        // 16-bit length, and a frame followed by part of the next one.
        let long = (0..<300).map { UInt8($0 & 0xFF) }
        #expect(try Self.fastPath(TestFrame.binary(long) + TestFrame.binary([9, 9])[..<3]) == long)
    }

    @Test func aMaskedFrameAtTheEndOfAReadTakesIt() throws {
        // The header's last byte and the payload's last byte are the read's last bytes.
        let frame = TestFrame.binary(Array(1...11))
        #expect(try Self.fastPath(frame) == Array(1...11))
        var reader = FrameReaderTests.reader()
        var input = ByteBuffer(bytes: TestFrame.binary([5]) + frame)
        #expect(reader.nextWholeBinaryMessage(from: &input)?.payloadLength == 1)
        #expect(reader.nextWholeBinaryMessage(from: &input)?.payloadLength == 11)
        #expect(input.readableBytes == 0)
        #expect(reader.nextWholeBinaryMessage(from: &input) == nil)
    }

    @Test func aFrameSplitAcrossReadsSkipsIt() throws {
        let frame = TestFrame.binary(Array(1...10))
        #expect(try Self.fastPath(Array(frame[..<9])) == nil)  // payload cut short
        #expect(try Self.fastPath(Array(frame[..<4])) == nil)  // masking key cut short
        #expect(try Self.fastPath(Array(frame[..<1])) == nil)
        // The rest of a frame whose header came in the previous read.
        #expect(try Self.fastPath(Array(frame[9...]), after: Array(frame[..<9])) == nil)
        // A header split across reads is finished by `nextEvent`, with its bytes kept in the reader.
        #expect(try Self.fastPath(Array(frame[3...]), after: Array(frame[..<3])) == nil)
    }

    @Test func fragmentsAndControlFramesSkipIt() throws {
        #expect(try Self.fastPath(TestFrame.binary([1], fin: false)) == nil)
        // A control frame between fragments, and the fragments after it.
        let first = TestFrame.binary([1], fin: false)
        #expect(try Self.fastPath(TestFrame.ping([7]), after: first) == nil)
        #expect(try Self.fastPath(TestFrame.continuation([2]), after: first + TestFrame.ping([7])) == nil)
        // A whole binary frame where a continuation is due is a violation: `nextEvent` must see it.
        #expect(try Self.fastPath(TestFrame.binary([2]), after: first) == nil)
        // After the message is finished the fast path is open again.
        #expect(try Self.fastPath(TestFrame.binary([3]), after: first + TestFrame.continuation([2])) == [3])
        #expect(try Self.fastPath(TestFrame.ping([7])) == nil)
        #expect(try Self.fastPath(TestFrame.close(code: 1000)) == nil)
    }

    @Test func textCompressedEmptyAndUnusualFramesSkipIt() throws {
        #expect(try Self.fastPath(TestFrame.text([0x41]), reader: FrameReaderTests.reader(acceptsText: true)) == nil)
        // RSV1 (permessage-deflate): inflated by the general path.
        let deflated = TestFrame.frame(rsv: 0b100, opcode: 0x2, payload: [0x4A, 0x04, 0x00])
        #expect(try Self.fastPath(deflated, reader: FrameReaderTests.reader(compression: true)) == nil)
        #expect(try Self.fastPath(TestFrame.binary([])) == nil)
        #expect(try Self.fastPath(TestFrame.frame(opcode: 0x2, payload: [1], lengthForm: .forced16)) == nil)  // non-minimal
        #expect(try Self.fastPath(TestFrame.frame(opcode: 0x2, payload: [1], lengthForm: .forced64)) == nil)
        #expect(try Self.fastPath(TestFrame.frame(rsv: 0b010, opcode: 0x2, payload: [1])) == nil)
        #expect(try Self.fastPath(TestFrame.frame(opcode: 0x3, payload: [1])) == nil)  // reserved opcode
    }

    @Test func framesAgainstTheRoleOrTheLimitsSkipIt() throws {
        #expect(try Self.fastPath(TestFrame.frame(opcode: 0x2, mask: nil, payload: [1])) == nil)  // server role: must be masked
        #expect(try Self.fastPath(TestFrame.binary([1]), reader: FrameReaderTests.reader(role: .client)) == nil)
        #expect(
            try Self.fastPath(TestFrame.frame(opcode: 0x2, mask: nil, payload: [1, 2]), reader: FrameReaderTests.reader(role: .client)) == [
                1, 2,
            ])
        #expect(try Self.fastPath(TestFrame.binary([1, 2, 3]), reader: FrameReaderTests.reader(maximumFrameSize: 2)) == nil)
        #expect(try Self.fastPath(TestFrame.binary([1, 2, 3]), reader: FrameReaderTests.reader(maximumMessageSize: 2)) == nil)
        #expect(
            try Self.fastPath(TestFrame.binary([1, 2]), reader: FrameReaderTests.reader(maximumFrameSize: 2, maximumMessageSize: 2)) == [
                1, 2,
            ])
    }

    @Test func afterTheReaderFinishedItSkipsIt() throws {
        #expect(try Self.fastPath(TestFrame.binary([1]), after: TestFrame.close(code: 1000)) == nil)
        var reader = FrameReaderTests.reader()
        reader.finish()
        var input = ByteBuffer(bytes: TestFrame.binary([1]))
        #expect(reader.nextWholeBinaryMessage(from: &input) == nil)
    }

    // MARK: Both paths over random streams

    /// A random stream of frames a client may send, sometimes ending in a violation: whole binary messages of the
    /// three length forms, fragmented ones (with empty fragments and control frames between them), text and
    /// compressed messages, pings and pongs.
    static func randomStream(_ random: inout SeededRandom) -> [UInt8] {
        var bytes: [UInt8] = []
        func key() -> [UInt8] { random.bytes(4) }
        func payload(_ random: inout SeededRandom) -> [UInt8] {
            let sizes = [0, 1, 7, 8, 9, 64, 83, 125, 126, 127, 300, 70_000]
            return random.bytes(sizes[Int.random(in: 0..<sizes.count, using: &random)])
        }
        for _ in 0..<Int.random(in: 1...30, using: &random) {
            switch Int.random(in: 0..<10, using: &random) {
            case 0...4:
                bytes += TestFrame.binary(payload(&random), mask: key())
            case 5, 6:
                let pieces = Int.random(in: 2...4, using: &random)
                for piece in 0..<pieces {
                    let last = piece == pieces - 1
                    let data = payload(&random)
                    bytes +=
                        piece == 0 ? TestFrame.binary(data, fin: last, mask: key()) : TestFrame.continuation(data, fin: last, mask: key())
                    if !last, Bool.random(using: &random) { bytes += TestFrame.ping(random.bytes(3), mask: key()) }
                }
            case 7:
                bytes += TestFrame.frame(opcode: 0x1, mask: key(), payload: Array("héllo".utf8))
            case 8:
                bytes += TestFrame.frame(rsv: 0b100, opcode: 0x2, mask: key(), payload: random.bytes(5))
            default:
                bytes += TestFrame.ping(random.bytes(Int.random(in: 0...125, using: &random)), mask: key())
            }
        }
        if Int.random(in: 0..<4, using: &random) == 0 {
            bytes += TestFrame.frame(opcode: 0x2, mask: nil, payload: [1])  // unmasked: 1002
        }
        return bytes
    }

    /// Every event and the error `chunks` produce, with or without the fast path first. A fast-path message is
    /// reported as the one-fragment message `nextEvent` makes of it.
    static func read(_ chunks: [[UInt8]], reader: Reader, fastPath: Bool) -> (events: [Seen], error: UInt16?) {
        var reader = reader
        var seen: [Seen] = []
        do throws(WebSocketProtocolError) {
            for chunk in chunks {
                var input = ByteBuffer(bytes: chunk)
                while true {
                    if fastPath, let message = reader.nextWholeBinaryMessage(from: &input) {
                        var payload = message.payload(of: input)
                        if let key = message.maskingKey { payload.maskReadableBytes(key: key) }
                        seen.append(.data(Array(payload.readableBytesView), kind: .binary, starts: true, ends: true, compressed: false))
                        continue
                    }
                    guard let event = try reader.nextEvent(from: &input) else { break }
                    seen.append(FrameReaderTests.seen(event))
                }
            }
        } catch {
            return (seen, error.closeCode.rawValue)
        }
        return (seen, nil)
    }

    @Test(arguments: 1...40)
    func bothPathsReadTheSameFromRandomStreams(seed: Int) {
        var random = SeededRandom(seed: UInt64(seed))
        let stream = Self.randomStream(&random)
        let chunks = random.chunks(of: stream, maxChunk: [16, 200, 100_000][seed % 3])
        let reader = FrameReaderTests.reader(maximumFrameSize: 1 << 16, acceptsText: true, compression: true)
        let general = Self.read(chunks, reader: reader, fastPath: false)
        let fast = Self.read(chunks, reader: reader, fastPath: true)
        #expect(fast.events == general.events, "seed \(seed)")
        #expect(fast.error == general.error, "seed \(seed)")
    }

    /// The codec (which takes the fast path) against what the stream carries, in both inbound modes.
    @Test(arguments: 1...20)
    func theCodecDeliversEveryBinaryPayloadOfRandomStreams(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(1000 + seed))
        var stream: [UInt8] = []
        var messages: [[UInt8]] = []
        for _ in 0..<Int.random(in: 1...40, using: &random) {
            let data = random.bytes([1, 8, 83, 126, 1000][Int.random(in: 0..<5, using: &random)])
            messages.append(data)
            if Bool.random(using: &random) {
                stream += TestFrame.binary(data, mask: random.bytes(4))
            } else {
                // The same bytes in two fragments with a ping between them: the general path.
                let cut = Int.random(in: 0...data.count, using: &random)
                stream +=
                    TestFrame.binary(Array(data[..<cut]), fin: false, mask: random.bytes(4)) + TestFrame.ping([1], mask: random.bytes(4))
                stream += TestFrame.continuation(Array(data[cut...]), mask: random.bytes(4))
            }
        }
        let chunks = random.chunks(of: stream, maxChunk: [32, 500, 100_000][seed % 3])

        // No control frame budget: the pings between fragments are not what is tested.
        var configuration = WebSocketMessageCodec.Configuration()
        configuration.controlFrameLimits = nil
        let byteStream = try CodecHarness(configuration)
        defer { byteStream.finish() }
        byteStream.feed(chunks: chunks)
        #expect(byteStream.recorder.delivered == messages.flatMap { $0 }, "seed \(seed)")
        #expect(byteStream.recorder.events.isEmpty, "seed \(seed)")

        configuration.inbound = .messages
        configuration.maximumMessageSize = configuration.maximumFrameSize
        let messageMode = try CodecHarness(configuration)
        defer { messageMode.finish() }
        messageMode.feed(chunks: chunks)
        #expect(
            messageMode.recorder.messages == messages.map { WebSocketMessage(kind: .binary, data: ByteBuffer(bytes: $0)) }, "seed \(seed)")
    }
}
