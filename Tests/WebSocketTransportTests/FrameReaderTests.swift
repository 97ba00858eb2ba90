import NIOCore
import Testing

@testable import WebSocketTransport

/// The frame reader on its own: bytes in, events out (no channel).
@Suite struct FrameReaderTests {
    typealias Reader = WebSocketFrameReader

    static func reader(
        role: WebSocketRole = .server, maximumFrameSize: Int = 1 << 20, maximumMessageSize: Int = .max, acceptsText: Bool = false,
        compression: Bool = false
    ) -> Reader {
        Reader(
            configuration: .init(
                role: role, maximumFrameSize: maximumFrameSize, maximumMessageSize: maximumMessageSize, acceptsText: acceptsText,
                compressionNegotiated: compression))
    }

    /// A summary of an event that is easy to compare; data is unmasked.
    enum Seen: Equatable {
        case data([UInt8], kind: WebSocketMessageKind, starts: Bool, ends: Bool, compressed: Bool)
        case ping([UInt8])
        case pong([UInt8])
        case close(UInt16?, String)
    }

    static func seen(_ event: Reader.Event) -> Seen {
        switch event {
        case .data(let fragment):
            var bytes = fragment.payload
            if let key = fragment.maskingKey { bytes.maskReadableBytes(key: key, keyOffset: fragment.keyOffset) }
            return .data(
                Array(bytes.readableBytesView), kind: fragment.kind, starts: fragment.startsMessage, ends: fragment.endsMessage,
                compressed: fragment.isCompressed)
        case .ping(let payload): return .ping(Array(payload.readableBytesView))
        case .pong(let payload): return .pong(Array(payload.readableBytesView))
        case .close(let code, let reason): return .close(code?.rawValue, reason)
        }
    }

    /// Every event from `chunks`, read one after the other.
    static func events(_ reader: inout Reader, _ chunks: [UInt8]...) throws(WebSocketProtocolError) -> [Seen] {
        var seen: [Seen] = []
        for chunk in chunks {
            var input = ByteBuffer(bytes: chunk)
            while let event = try reader.nextEvent(from: &input) { seen.append(Self.seen(event)) }
            #expect(input.readableBytes == 0, "the reader consumes every byte it is given")
        }
        return seen
    }

    @Test func aFrameSplitAcrossReadsIsOneFragmentPerRead() throws {
        var reader = Self.reader()
        let frame = TestFrame.binary(Array(1...10))
        let events = try Self.events(&reader, Array(frame[..<9]), Array(frame[9...]))
        #expect(
            events == [
                .data([1, 2, 3], kind: .binary, starts: true, ends: false, compressed: false),
                .data(Array(4...10), kind: .binary, starts: false, ends: true, compressed: false),
            ])
    }

    @Test func fragmentsOfAMessageCarryWhereItStartsAndEnds() throws {
        var reader = Self.reader()
        let events = try Self.events(
            &reader,
            TestFrame.binary([], fin: false) + TestFrame.continuation([1], fin: false) + TestFrame.continuation([], fin: false)
                + TestFrame.continuation([2], fin: false) + TestFrame.continuation([], fin: true) + TestFrame.binary([]))
        #expect(
            events == [
                .data([], kind: .binary, starts: true, ends: false, compressed: false),
                .data([1], kind: .binary, starts: false, ends: false, compressed: false),
                .data([2], kind: .binary, starts: false, ends: false, compressed: false),
                .data([], kind: .binary, starts: false, ends: true, compressed: false),
                .data([], kind: .binary, starts: true, ends: true, compressed: false),
            ])
    }

    @Test func controlFramesArriveUnmaskedAndWhole() throws {
        var reader = Self.reader()
        let ping = TestFrame.ping(Array("hello".utf8))
        let events = try Self.events(&reader, Array(ping[..<3]), Array(ping[3...]) + TestFrame.frame(opcode: 0xA, payload: [9]))
        #expect(events == [.ping(Array("hello".utf8)), .pong([9])])
    }

    @Test func afterTheCloseFrameNothingIsRead() throws {
        var reader = Self.reader()
        let events = try Self.events(
            &reader, TestFrame.close(code: 1001, reason: Array("bye".utf8)) + TestFrame.text([0x41]) + [0xFF, 0xFF])
        #expect(events == [.close(1001, "bye")])
        #expect(reader.isFinished)
    }

    @Test func textIsRefusedUnlessAccepted() throws {
        var refusing = Self.reader()
        #expect(throws: WebSocketProtocolError(.unsupportedData, "text frames are not allowed: MQTT uses binary frames")) {
            try Self.events(&refusing, TestFrame.text([0x41]))
        }
        #expect(refusing.isFinished)
        var accepting = Self.reader(acceptsText: true)
        #expect(
            try Self.events(&accepting, TestFrame.text([0x41])) == [.data([0x41], kind: .text, starts: true, ends: true, compressed: false)]
        )
    }

    @Test func rsv1MarksACompressedMessageOnlyOnItsFirstFrameAndOnlyWithTheExtension() throws {
        var reader = Self.reader(compression: true)
        let events = try Self.events(
            &reader, TestFrame.frame(fin: false, rsv: 4, opcode: 0x2, payload: [1]) + TestFrame.frame(opcode: 0x0, payload: [2]))
        #expect(
            events == [
                .data([1], kind: .binary, starts: true, ends: false, compressed: true),
                .data([2], kind: .binary, starts: false, ends: true, compressed: true),
            ])
        var continuation = Self.reader(compression: true)
        #expect(throws: WebSocketProtocolError.self) {
            try Self.events(&continuation, TestFrame.binary([1], fin: false) + TestFrame.frame(rsv: 4, opcode: 0x0, payload: [2]))
        }
        var control = Self.reader(compression: true)
        #expect(throws: WebSocketProtocolError.self) { try Self.events(&control, TestFrame.frame(rsv: 4, opcode: 0x9, payload: [])) }
        var without = Self.reader()
        #expect(throws: WebSocketProtocolError.self) { try Self.events(&without, TestFrame.frame(rsv: 4, opcode: 0x2, payload: [1])) }
    }

    @Test func theMessageLimitCountsEveryFrameOfTheMessage() throws {
        var reader = Self.reader(maximumFrameSize: 100, maximumMessageSize: 150)
        let ok = try Self.events(
            &reader,
            TestFrame.binary([UInt8](repeating: 1, count: 100), fin: false) + TestFrame.continuation([UInt8](repeating: 2, count: 50)))
        #expect(ok.count == 2)
        #expect {
            try Self.events(
                &reader,
                TestFrame.binary([UInt8](repeating: 1, count: 100), fin: false) + TestFrame.continuation([UInt8](repeating: 2, count: 51)))
        } throws: { error in
            (error as? WebSocketProtocolError)?.closeCode == .messageTooBig
        }
    }

    @Test func masksFollowTheRole() throws {
        var client = Self.reader(role: .client)
        #expect(
            try Self.events(&client, TestFrame.frame(opcode: 0x2, mask: nil, payload: [7])) == [
                .data([7], kind: .binary, starts: true, ends: true, compressed: false)
            ])
        var clientSeesMask = Self.reader(role: .client)
        #expect(throws: WebSocketProtocolError(.protocolError, "server frames must not be masked")) {
            try Self.events(&clientSeesMask, TestFrame.binary([7]))
        }
        var server = Self.reader()
        #expect(throws: WebSocketProtocolError(.protocolError, "client frames must be masked")) {
            try Self.events(&server, TestFrame.frame(opcode: 0x2, mask: nil, payload: [7]))
        }
    }

    @Test(arguments: [1, 5, 13])
    func aPartialHeaderIsKeptAcrossReads(split: Int) throws {
        var reader = Self.reader()
        let payload = [UInt8](repeating: 3, count: 70_000)
        let frame = TestFrame.binary(payload)  // 14-byte header
        #expect(try Self.events(&reader, Array(frame[..<split])).isEmpty, "no event before the header is whole")
        #expect(
            try Self.events(&reader, Array(frame[split...])) == [.data(payload, kind: .binary, starts: true, ends: true, compressed: false)]
        )
    }

    @Test(arguments: [
        ([UInt8](), nil as UInt16?, ""),
        ([0x03, 0xE8], 1000, ""),
        ([0x0F, 0xA0] + Array("κόσμε".utf8), 4000, "κόσμε"),
    ])
    func closePayloads(payload: [UInt8], code: UInt16?, reason: String) throws {
        let (parsed, text) = try Reader.parseClosePayload(ByteBuffer(bytes: payload))
        #expect(parsed?.rawValue == code)
        #expect(text == reason)
    }

    @Test(arguments: [[UInt8(0x03)], [0x03, 0xED], [0x03, 0xE8, 0xFF]])
    func invalidClosePayloadsAreRefused(payload: [UInt8]) {
        #expect(throws: WebSocketProtocolError.self) { try Reader.parseClosePayload(ByteBuffer(bytes: payload)) }
    }
}
