import CompressNIO
import FuzzSupport
import NIOCore
import NIOEmbedded
import WebSocketTransport

/// The WebSocket frame reader and message assembly as a server-role connection runs them: `WebSocketMessageCodec`
/// (its `WebSocketFrameReader`, `WebSocketInboundAssembler`, permessage-deflate decompressor and closing-handshake
/// state machine) in an `EmbeddedChannel`, fed what a client sends after the upgrade.
///
/// Input: 2 control bytes, then the bytes from the client.
/// - byte 0: bit 0 permessage-deflate (offered as Chromium does, with `client_max_window_bits`), bit 1 `.messages`
///   (else `.byteStream`, the relay's mode), bit 2 text accepted, bits 3-4 the frame size limit (125, 1,000, 16 KiB,
///   1 MiB: also the limit of a decompressed message), bits 5-6 the message size limit (the codec's default, 125,
///   4,000, 64 KiB), bit 7 `client_no_context_takeover` in the offer;
/// - byte 1: bits 3-7 choose how the bytes are cut into reads and read bursts (bits 0-2 are unused: the client
///   window is 15 bits, see `setup`).
///
/// Invariants beyond "does not crash":
/// - the bytes in one read and cut into arbitrary reads and bursts give the same messages (or the same byte stream;
///   after a refusal one run's stream may be a longer prefix of the valid bytes than the other's),
///   the same events, and the same frames written back (pongs, the close frame), up to the reason a refusal gives
///   (and 1007 or 1009 for a compressed message both corrupt and too large: `Outcome.matches` says why);
/// - a message handed out is no larger than the message size limit, nor (inflated) than the frame size limit, and a
///   text message is valid UTF-8; without compression the byte stream is never longer than the input;
/// - a refusal is a `protocolViolation` event with a close code RFC 6455 gives for it (1002, 1003, 1007, 1009),
///   reported once, after which nothing is delivered, and the last frame written is a close frame with that code;
/// - everything written is well-formed server frames (unmasked, FIN, control frames ≤ 125 bytes); a pong carries the
///   payload of a ping;
/// - no error reaches the end of the pipeline.
enum WebSocketFrameFuzz: FuzzTarget {
    struct Outcome {
        var messages: [WebSocketMessage] = []
        var stream: [UInt8] = []
        var events: [WebSocketEvent] = []
        var written: [UInt8] = []

        /// The same outcome up to how a refusal is worded, and — for a compressed message that is both corrupt and
        /// inflates past the limit — which of the two it is refused for. Text and the size limit are checked as the
        /// message is inflated, one read at a time, so the check that fails first can depend on the cuts: a corrupt
        /// compressed text message is "not valid UTF-8" when its good prefix arrives alone and "invalid
        /// permessage-deflate data" when it arrives whole (1007 both); a corrupt one that inflates past the limit is
        /// 1009 or 1007. Everything else, close codes included, must be the same.
        func matches(_ other: Outcome, compression: Bool) -> Bool {
            func code(_ raw: UInt16) -> UInt16 { compression && raw == 1009 ? 1007 : raw }
            func normalized(_ event: WebSocketEvent) -> WebSocketEvent {
                guard case .protocolViolation(let error) = event else { return event }
                return .protocolViolation(WebSocketProtocolError(WebSocketCloseCode(rawValue: code(error.closeCode.rawValue)), ""))
            }
            func frames(_ written: [UInt8]) -> [[UInt8]]? {
                serverFrames(written)?.map { frame in
                    guard frame.opcode == 0x8, frame.payload.count >= 2 else { return [frame.opcode] + frame.payload }
                    let raw = UInt16(frame.payload.first!) << 8 | UInt16(frame.payload.dropFirst().first!)
                    return [frame.opcode, UInt8(code(raw) >> 8), UInt8(code(raw) & 0xFF)]
                }
            }
            // The byte stream passes on a message while it arrives, and a refused piece is taken back whole: cut
            // finer, more of the valid prefix before a refusal may have gone on. Without a refusal it is all the same.
            let refused = events.contains { if case .protocolViolation = $0 { true } else { false } }
            let sameStream =
                stream == other.stream || (refused && (stream.starts(with: other.stream) || other.stream.starts(with: stream)))
            return messages == other.messages && sameStream && events.map(normalized) == other.events.map(normalized)
                && frames(written) == frames(other.written)
        }
    }

    static func test(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let (configuration, cutting) = setup(input.byte(), input.byte())
        let stream = input.rest()

        let whole = run(configuration, stream, cuts: [(stream.count, true)])
        let cut = run(configuration, stream, cuts: cuts(stream.count, cutting))
        fuzzCheck(
            whole.matches(cut, compression: configuration.compression != nil),
            "cutting the input into reads changed the outcome: \(describe(whole)) in one read, \(describe(cut)) cut")
        check(whole, configuration, inputSize: stream.count)
    }

    /// The codec's configuration from the control bytes, and the byte that chooses the cuts.
    static func setup(_ first: UInt8, _ second: UInt8) -> (WebSocketMessageCodec.Configuration, UInt8) {
        let frameLimits = [125, 1000, 16 << 10, 1 << 20]
        let messageLimits: [Int?] = [nil, 125, 4000, 64 << 10]
        let messages = first & 0b10 != 0
        var compression: WebSocketMessageCodec.Configuration.Compression?
        if first & 1 != 0 {
            // Only a 15-bit client window for now: zlib checks a back-reference against what it holds, so with a smaller
            // agreed window a client that compresses with a larger one is refused (1007) or decoded depending on how
            // its bytes were cut into reads (docs/RELIABILITY.md, Fuzzing: open). Offered as Chromium does.
            let offer = "permessage-deflate; client_max_window_bits" + (first & 0x80 != 0 ? "; client_no_context_takeover" : "")
            let settings = PerMessageDeflate.Settings(clientMaxWindowBits: 15)
            compression = PerMessageDeflate.negotiate(offers: [offer], settings: settings).map { .init(agreement: $0, settings: settings) }
        }
        let configuration = WebSocketMessageCodec.Configuration(
            role: .server,
            maximumFrameSize: frameLimits[Int(first >> 3 & 0b11)],
            maximumMessageSize: messageLimits[Int(first >> 5 & 0b11)],
            inbound: messages ? .messages : .byteStream(flushThreshold: 512),
            acceptsText: first & 0b100 != 0,
            compression: compression)
        return (configuration, second >> 3)
    }

    /// Read sizes (each followed by the end of a read burst or not) from a generator seeded by `cutting`.
    static func cuts(_ count: Int, _ cutting: UInt8) -> [(size: Int, endsBurst: Bool)] {
        var generator = SplitMix64(seed: UInt64(cutting))
        var cuts: [(size: Int, endsBurst: Bool)] = []
        var left = count
        let largest = [1, 2, 7, 64, 1000][Int(cutting % 5)]
        while left > 0 {
            let size = min(left, Int.random(in: 1...largest, using: &generator))
            left -= size
            cuts.append((size, left == 0 || Bool.random(using: &generator)))
        }
        return cuts.isEmpty ? [(0, true)] : cuts
    }

    /// Records what the codec reports.
    final class Recorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var events: [WebSocketEvent] = []

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let event = event as? WebSocketEvent { events.append(event) }
            context.fireUserInboundEventTriggered(event)
        }
    }

    static func run(
        _ configuration: WebSocketMessageCodec.Configuration, _ stream: [UInt8], cuts: [(size: Int, endsBurst: Bool)]
    ) -> Outcome {
        let channel = EmbeddedChannel()
        let recorder = Recorder()
        var outcome = Outcome()
        do {
            try channel.pipeline.syncOperations.addHandlers([WebSocketMessageCodec(configuration: configuration), recorder])
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            var offset = 0
            for cut in cuts where channel.isActive {
                channel.pipeline.syncOperations.fireChannelRead(NIOAny(ByteBuffer(bytes: stream[offset..<offset + cut.size])))
                offset += cut.size
                if cut.endsBurst { channel.pipeline.syncOperations.fireChannelReadComplete() }
                channel.embeddedEventLoop.run()
                try channel.throwIfErrorCaught()
            }
            if configuration.inbound == .messages {
                while let message = try channel.readInbound(as: WebSocketMessage.self) { outcome.messages.append(message) }
            } else {
                while let bytes = try channel.readInbound(as: ByteBuffer.self) { outcome.stream += bytes.readableBytesView }
            }
            while let bytes = try channel.readOutbound(as: ByteBuffer.self) {
                outcome.written += bytes.readableBytesView
            }
            _ = try? channel.finish(acceptAlreadyClosed: true)
        } catch {
            fuzzCheck(false, "error at the end of the pipeline: \(error)")
        }
        outcome.events = recorder.events
        return outcome
    }

    static func check(_ outcome: Outcome, _ configuration: WebSocketMessageCodec.Configuration, inputSize: Int) {
        for message in outcome.messages {
            let size = message.data.readableBytes
            fuzzCheck(
                size <= configuration.maximumMessageSize && size <= configuration.maximumFrameSize
                    || (configuration.compression == nil && size <= configuration.maximumMessageSize),
                "a message of \(size) bytes passed on (limits: frame \(configuration.maximumFrameSize), message \(configuration.maximumMessageSize), compression \(configuration.compression != nil))"
            )
            if message.kind == .text {
                fuzzCheck(configuration.acceptsText, "a text message passed on though text is not accepted")
                fuzzCheck(String(validating: message.data.readableBytesView, as: UTF8.self) != nil, "a text message that is not UTF-8")
            }
        }
        if configuration.compression == nil {
            fuzzCheck(
                outcome.stream.count <= inputSize, "the byte stream (\(outcome.stream.count)) is longer than the input (\(inputSize))")
        }

        var violation: WebSocketProtocolError?
        for (index, event) in outcome.events.enumerated() {
            switch event {
            case .protocolViolation(let error):
                fuzzCheck(violation == nil, "a second protocol violation reported: \(outcome.events)")
                fuzzCheck(
                    [WebSocketCloseCode.protocolError, .unsupportedData, .invalidPayloadData, .messageTooBig].contains(error.closeCode),
                    "refused with close code \(error.closeCode): \(error)")
                fuzzCheck(!error.reason.isEmpty, "a violation without a reason")
                violation = error
                fuzzCheck(index == outcome.events.count - 1, "events after a violation: \(outcome.events)")
            case .closeReceived:
                fuzzCheck(index == outcome.events.count - 1, "events after the peer's close: \(outcome.events)")
            case .pongReceived:
                break
            case .keepaliveTimeout:
                fuzzCheck(false, "a keepalive timeout without keepalive")
            }
        }

        let frames = serverFrames(outcome.written)
        guard let frames else {
            fuzzCheck(false, "the bytes written are not well-formed server frames: \(outcome.written)")
            return
        }
        if let violation {
            let last = frames.last
            fuzzCheck(
                last?.opcode == 0x8
                    && last.map { Array($0.payload.prefix(2)) } == [
                        UInt8(violation.closeCode.rawValue >> 8), UInt8(violation.closeCode.rawValue & 0xFF),
                    ],
                "refused with \(violation) but the last frame written is \(String(describing: last))")
        }
    }

    /// The server frames in `bytes` (opcode and payload), or nil when they are not well-formed: unmasked, FIN, no
    /// reserved bits on control frames, control payloads ≤ 125 bytes, nothing cut short.
    static func serverFrames(_ bytes: [UInt8]) -> [(opcode: UInt8, payload: ArraySlice<UInt8>)]? {
        var frames: [(opcode: UInt8, payload: ArraySlice<UInt8>)] = []
        var index = 0
        while index < bytes.count {
            guard bytes.count - index >= 2 else { return nil }
            let first = bytes[index]
            let second = bytes[index + 1]
            let opcode = first & 0x0F
            guard first & 0x80 != 0, second & 0x80 == 0 else { return nil }
            var length = Int(second & 0x7F)
            index += 2
            if length == 126 || length == 127 {
                let width = length == 126 ? 2 : 8
                guard bytes.count - index >= width else { return nil }
                length = bytes[index..<index + width].reduce(0) { $0 << 8 | Int($1) }
                index += width
            }
            guard opcode < 8 || (length <= 125 && first & 0x70 == 0), bytes.count - index >= length else { return nil }
            frames.append((opcode, bytes[index..<index + length]))
            index += length
        }
        return frames
    }

    static func describe(_ outcome: Outcome) -> String {
        "\(outcome.messages.count) message(s) \(outcome.messages.map { ($0.kind, $0.data.readableBytes) }), stream of \(outcome.stream.count) bytes, events \(outcome.events), \(outcome.written.count) bytes written"
    }

    // MARK: - Seeds

    /// A frame as a client sends it: masked with `key`, FIN unless told otherwise, RSV1 for a compressed message.
    static func frame(
        _ opcode: UInt8, _ payload: [UInt8], fin: Bool = true, compressed: Bool = false, key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
    )
        -> [UInt8]
    {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode]
        switch payload.count {
        case ..<126: bytes.append(0x80 | UInt8(payload.count))
        case ..<65536: bytes += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default: bytes += [0x80 | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        bytes += key
        bytes += payload.enumerated().map { $0.element ^ key[$0.offset % 4] }
        return bytes
    }

    /// Messages compressed as Chromium's permessage-deflate does: raw deflate with one window (context takeover),
    /// a sync flush per message, its final `00 00 ff ff` removed (RFC 7692 §7.2.1).
    static func deflate(_ messages: [[UInt8]], windowBits: Int32 = 15) throws -> [[UInt8]] {
        let compressor = try ZlibCompressor(
            algorithm: .deflate, configuration: ZlibConfiguration(windowSize: windowBits, compressionLevel: 6, memoryLevel: 8))
        return try messages.map { message in
            var input = ByteBuffer(bytes: message)
            var output = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: input) + 16)
            try compressor.deflate(from: &input, to: &output, flush: .sync)
            let bytes = Array(output.readableBytesView)
            return bytes.suffix(4) == [0, 0, 0xFF, 0xFF] ? Array(bytes.dropLast(4)) : bytes
        }
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        // What mqtt.js 5 sends first (MQTT 3.1.1 CONNECT), then a SUBSCRIBE, a PUBLISH and a PINGREQ.
        let connect: [UInt8] =
            [0x10, 0x1B, 0x00, 0x04] + Array("MQTT".utf8) + [0x04, 0x02, 0x00, 0x3C, 0x00, 0x0F] + Array("mqttjs_3f9a1c2e".utf8)
        let topic = Array("devices/7/telemetry".utf8)
        let subscribe: [UInt8] = [0x82, UInt8(5 + topic.count), 0x00, 0x01, 0x00, UInt8(topic.count)] + topic + [0x00]
        let body = Array(#"{"temperature":21.5,"humidity":40,"ts":1733500000}"#.utf8)
        let publish: [UInt8] = [0x30, UInt8(2 + topic.count + body.count), 0x00, UInt8(topic.count)] + topic + body
        let pingreq: [UInt8] = [0xC0, 0x00]
        let binary: UInt8 = 0x2
        let text: UInt8 = 0x1
        let continuation: UInt8 = 0x0
        let close: UInt8 = 0x8
        let ping: UInt8 = 0x9
        let pong: UInt8 = 0xA
        func closePayload(_ code: UInt16, _ reason: String) -> [UInt8] { [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8) }

        // Control bytes: the relay (byte stream, 1 MiB frames); messages with text; messages compressed as Chromium offers it.
        let relay: [UInt8] = [0b11000, 0x07]
        let messages: [UInt8] = [0b11110, 0x2F]
        let compressed: [UInt8] = [0b11011, 0x57]
        let compressedNoContext: [UInt8] = [0b1001_1011, 0x1F]
        let smallLimits: [UInt8] = [0b0010_0011, 0x0F]  // 125-byte frames and messages
        let bombLimits: [UInt8] = [0b0101_0011, 0x0F]  // 16 KiB frames (and inflated messages), 4,000-byte messages

        let session = [frame(binary, connect), frame(binary, subscribe), frame(binary, publish), frame(binary, pingreq)]
        let deflated = try deflate([connect, subscribe, publish])
        let alone = try deflate([publish]) + deflate([publish])
        let bomb = try deflate([[UInt8](repeating: 0, count: 2 << 20)])[0]
        let smallWindow = try deflate([publish + publish], windowBits: 9)[0]
        let deflatedText = try deflate([Array("héllo 中文 😀".utf8)])[0]
        let wide = [UInt8](repeating: 0x61, count: 300)
        func seed(_ control: [UInt8], _ frames: [[UInt8]]) -> [UInt8] { control + frames.joined() }

        let seeds: [(String, [UInt8])] = [
            ("mqttjs-session", seed(relay, session)),
            ("wechat-connect", seed(relay, [frame(binary, connect, key: [0x9C, 0x01, 0x5E, 0xE2])])),
            (
                "fragmented-with-pings",
                seed(
                    relay,
                    [
                        frame(binary, Array(publish[..<10]), fin: false), frame(ping, Array("keepalive".utf8)),
                        frame(continuation, Array(publish[10...]), fin: false), frame(pong, []), frame(continuation, []),
                    ])
            ),
            ("close-normal", seed(relay, session + [frame(close, closePayload(1000, "bye"))])),
            ("close-going-away", seed(relay, [frame(close, closePayload(1001, ""))])),
            ("close-empty", seed(relay, [frame(close, [])])),
            ("close-1005-on-wire", seed(relay, [frame(close, closePayload(1005, ""))])),
            ("close-bad-utf8", seed(relay, [frame(close, closePayload(1000, "") + [0xC3, 0x28])])),
            ("close-one-byte", seed(relay, [frame(close, [0x03])])),
            ("unmasked", seed(relay, [[0x82, 0x02] + pingreq])),
            ("reserved-opcode", seed(relay, [frame(0x3, [1, 2, 3])])),
            ("rsv1-without-deflate", seed(relay, [frame(binary, connect, compressed: true)])),
            ("long-ping", seed(relay, [frame(ping, wide)])),
            ("fragmented-ping", seed(relay, [frame(ping, [1], fin: false)])),
            ("continuation-first", seed(relay, [frame(continuation, connect)])),
            ("message-in-message", seed(relay, [frame(binary, [1], fin: false), frame(binary, [2])])),
            ("text-in-relay", seed(relay, [frame(text, Array("hello".utf8))])),
            (
                "text-utf8-split",
                seed(
                    messages,
                    [
                        frame(text, [0x68, 0xC3], fin: false), frame(continuation, [0xA9, 0xE4, 0xB8], fin: false),
                        frame(continuation, [0xAD]),
                    ])
            ),
            ("text-invalid", seed(messages, [frame(text, [0x68, 0xED, 0xA0, 0x80])])),
            ("text-cut-scalar", seed(messages, [frame(text, [0x68, 0xE4, 0xB8])])),
            ("length-16-bit", seed(messages, [frame(binary, wide)])),
            ("length-64-bit", seed(messages, [[0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4]])),
            ("over-limits", seed(smallLimits, [frame(binary, wide)])),
            (
                "fragments-over-message-limit",
                seed(smallLimits, [frame(binary, Array(wide[..<100]), fin: false), frame(continuation, Array(wide[..<100]))])
            ),
            ("chromium-deflate-session", seed(compressed, deflated.map { frame(binary, $0, compressed: true) } + [frame(binary, pingreq)])),
            (
                "deflate-fragmented-with-ping",
                seed(
                    compressed,
                    [
                        frame(binary, Array(deflated[2].prefix(8)), fin: false, compressed: true), frame(ping, []),
                        frame(continuation, Array(deflated[2].dropFirst(8))),
                    ])
            ),
            ("deflate-no-context-takeover", seed(compressedNoContext, alone.map { frame(binary, $0, compressed: true) })),
            ("deflate-window-9", seed([0b11011, 0x01], [frame(binary, smallWindow, compressed: true)])),
            ("deflate-bomb", seed(compressed, [frame(binary, bomb, compressed: true)])),
            ("deflate-bomb-small-limits", seed(bombLimits, [frame(binary, bomb, compressed: true)])),
            ("deflate-text", seed([0b11111, 0x07], [frame(text, deflatedText, compressed: true)])),
            ("deflate-garbage", seed(compressed, [frame(binary, [0xFF, 0xFF, 0xFF, 0x00], compressed: true)])),
            (
                "deflate-rsv1-on-continuation",
                seed(compressed, [frame(binary, [0x00], fin: false), frame(continuation, deflated[0], compressed: true)])
            ),
        ]
        return seeds
    }
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    FuzzEntry.initialize(WebSocketFrameFuzz.self)
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.test(WebSocketFrameFuzz.self, data, size)
}
