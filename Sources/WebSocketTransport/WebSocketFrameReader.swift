import NIOCore

/// Reads WebSocket frames (RFC 6455 §5) from a byte stream: bytes in, events out, no channel.
///
/// It enforces every rule a frame can break on its own or by its place in the stream: header encoding, masking per
/// role (§5.1), control frames (§5.5: unfragmented, at most 125 bytes, a valid close payload), fragmentation order
/// (§5.4), reserved bits (RSV1 only with permessage-deflate, on a message's first frame), text acceptance and size
/// limits. A violation is thrown as the `WebSocketProtocolError` carrying the close code to answer with; after it, and
/// after the peer's close frame, the reader consumes whatever follows without looking at it.
///
/// Data payloads are not copied: `Fragment.payload` is a slice of the input, still masked, so the caller unmasks it
/// once, straight into the buffer it delivers from. A frame split across reads yields one fragment per read; only a
/// header split across reads is copied (into a small buffer of its own, so the read buffer is not pinned).
struct WebSocketFrameReader {
    struct Configuration: Sendable {
        var role: WebSocketRole
        /// Largest payload of one frame; larger → 1009.
        var maximumFrameSize: Int
        /// Largest payload of one (fragmented) message on the wire; larger → 1009.
        var maximumMessageSize: Int
        /// Text frames are read (their payload is UTF-8-checked by the caller); otherwise refused with 1003.
        var acceptsText: Bool
        /// permessage-deflate was negotiated: RSV1 may mark a message as compressed.
        var compressionNegotiated: Bool
    }

    /// Part of a data message's payload, as it was on the wire.
    struct Fragment {
        var payload: ByteBuffer
        /// The frame's masking key (server role); nil for an unmasked frame (client role).
        var maskingKey: WebSocketMaskingKey?
        /// Payload bytes of this frame before `payload`: where in the key unmasking starts.
        var keyOffset: Int
        var kind: WebSocketMessageKind
        /// The message's first frame had RSV1 set (permessage-deflate).
        var isCompressed: Bool
        /// The first bytes of a message (possibly none, for an empty first frame).
        var startsMessage: Bool
        /// The last bytes of a message: the rest of a FIN frame.
        var endsMessage: Bool
    }

    enum Event {
        case data(Fragment)
        /// A ping with its (unmasked) payload, to be answered with a pong carrying the same bytes.
        case ping(ByteBuffer)
        case pong(ByteBuffer)
        /// The peer's close frame (code nil: it carried none). Nothing after it is read.
        case close(code: WebSocketCloseCode?, reason: String)
    }

    /// A trivial value on purpose (the control payload being collected lives beside it): the state changes at least
    /// once per frame, and an enum holding a buffer is copied and destroyed through outlined value witnesses.
    private enum State {
        /// Waiting for a frame header (bytes of a split one are in `partialHeader`).
        case header
        /// Inside a data frame's payload, split across reads.
        case dataPayload(remaining: Int, key: WebSocketMaskingKey?, keyOffset: Int, fin: Bool)
        /// Inside a control frame's payload (at most 125 bytes, collected unmasked in `controlPayload` before it is
        /// reported).
        case controlPayload(opcode: WebSocketOpcode, remaining: Int, key: WebSocketMaskingKey?)
        /// After a violation or the peer's close frame: input is consumed unread.
        case finished
    }

    /// The data message being received (fragments expected until its FIN frame).
    private struct MessageInProgress {
        var kind: WebSocketMessageKind
        var isCompressed: Bool
        /// Payload bytes received so far, for `maximumMessageSize`.
        var size: Int
        /// No byte of the message has been reported yet.
        var started: Bool
    }

    let configuration: Configuration
    private var state = State.header
    /// Bytes of a frame header split across reads (at most 13).
    private var partialHeader: ByteBuffer?
    /// The unmasked payload of the control frame being read (state `.controlPayload`).
    private var controlPayload: ByteBuffer?
    private var message: MessageInProgress?

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Nothing more will be read: the connection is ending.
    var isFinished: Bool {
        if case .finished = self.state { return true }
        return false
    }

    /// Stops reading (the connection is ending for another reason); later input is consumed unread.
    mutating func finish() {
        self.state = .finished
        self.partialHeader = nil
        self.controlPayload = nil
        self.message = nil
    }

    /// The next event from the front of `input`, consuming the bytes it used; nil when `input` holds no more
    /// (a partial header is kept for the next call). Throws on a violation, after which the reader is finished.
    mutating func nextEvent(from input: inout ByteBuffer) throws(WebSocketProtocolError) -> Event? {
        do {
            return try self.readEvent(from: &input)
        } catch {
            self.finish()
            throw error
        }
    }

    /// A frame that is a whole binary message, found by `nextWholeBinaryMessage`.
    struct WholeBinaryMessage {
        /// Where the payload starts in the input it was read from (behind the input's reader index now: the frame has
        /// been consumed), still masked.
        var payloadIndex: Int
        var payloadLength: Int
        /// The frame's masking key (server role); nil for an unmasked frame (client role).
        var maskingKey: WebSocketMaskingKey?

        /// The payload as a `ByteBuffer` sharing `input`'s storage (still masked when `maskingKey` is set). `input`
        /// is the buffer the frame was read from; its reader index is past the payload, so `getSlice` refuses it.
        func payload(of input: ByteBuffer) -> ByteBuffer {
            var payload = input
            payload.moveReaderIndex(to: self.payloadIndex)
            payload.moveWriterIndex(to: self.payloadIndex + self.payloadLength)
            return payload
        }
    }

    /// The relay's common case in one step: at a frame boundary and outside a fragmented message, a final,
    /// uncompressed, non-empty binary frame masked as the role requires, within the size limits, whose header and
    /// payload are both in `input`. It is consumed and reported as the payload's place in `input`.
    ///
    /// Why it exists: `nextEvent` reads such a frame through a general header parser, a slice of the input, a
    /// `Fragment` and the state kept for fragmented messages; the relay's client → broker direction cost 1,249
    /// instructions a message that way and 766 with this and the assembler unmasking straight from the read
    /// (Benchmarks/RelayCost, docs/PERFORMANCE.md).
    /// Every rule `nextEvent` checks holds for such a frame by construction. Anything else (a split frame, a control or
    /// text frame, RSV bits, a 64-bit length, a limit exceeded, a violation) returns nil with `input` untouched, and
    /// `nextEvent` reads it with every check.
    mutating func nextWholeBinaryMessage(from input: inout ByteBuffer) -> WholeBinaryMessage? {
        guard case .header = self.state, self.partialHeader == nil, self.message == nil else { return nil }
        let masked = self.configuration.role == .server
        // (header length, payload length, key) from the readable bytes, without a call per field.
        let frame: (Int, Int, UInt32)? = input.withUnsafeReadableBytes { bytes in
            guard bytes.count >= 2, bytes[0] == 0x82, (bytes[1] & 0x80 != 0) == masked else { return nil }  // FIN, binary
            var length = Int(bytes[1] & 0x7F)
            var headerLength = 2
            if length == 126 {
                guard bytes.count >= 4 else { return nil }
                length = Int(bytes[2]) << 8 | Int(bytes[3])
                headerLength = 4
                guard length > 125 else { return nil }  // non-minimal: refused by `nextEvent`
            } else if length == 127 || length == 0 {
                return nil
            }
            guard masked else { return (headerLength, length, 0) }
            guard bytes.count >= headerLength + 4 else { return nil }
            let key = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: headerLength, as: UInt32.self))
            return (headerLength + 4, length, key)
        }
        guard let (headerLength, length, key) = frame, headerLength + length <= input.readableBytes,
            length <= self.configuration.maximumFrameSize, length <= self.configuration.maximumMessageSize
        else { return nil }
        let payloadIndex = input.readerIndex + headerLength
        input.moveReaderIndex(to: payloadIndex + length)
        return WholeBinaryMessage(
            payloadIndex: payloadIndex, payloadLength: length, maskingKey: masked ? WebSocketMaskingKey(networkOrder: key) : nil)
    }

    private mutating func readEvent(from input: inout ByteBuffer) throws(WebSocketProtocolError) -> Event? {
        while true {
            switch self.state {
            case .finished:
                input.moveReaderIndex(to: input.writerIndex)
                return nil

            case .header:
                guard input.readableBytes > 0, let header = try self.readHeader(from: &input) else { return nil }
                switch try self.begin(header) {
                case .continueReading:
                    continue
                case .dataFrame(let length, let key, let fin):
                    // The whole payload is in this read (the usual case for small messages): no state to keep.
                    guard input.readableBytes >= length else {
                        self.state = .dataPayload(remaining: length, key: key, keyOffset: 0, fin: fin)
                        continue
                    }
                    let payload = input.readSlice(length: length)!
                    return .data(self.fragment(payload, key: key, keyOffset: 0, endsMessage: fin))
                case .emptyControlFrame(let opcode):
                    return try self.controlEvent(opcode, payload: ByteBuffer())
                case .emptyDataFrame(let key, let fin):
                    return .data(self.fragment(ByteBuffer(), key: key, keyOffset: 0, endsMessage: fin))
                }

            case .dataPayload(let remaining, let key, let keyOffset, let fin):
                guard input.readableBytes > 0 else { return nil }
                let count = min(remaining, input.readableBytes)
                // `count > 0`: there are readable bytes and `remaining > 0` in this state.
                let payload = input.readSlice(length: count)!
                let ends = remaining == count
                self.state = ends ? .header : .dataPayload(remaining: remaining - count, key: key, keyOffset: keyOffset + count, fin: fin)
                return .data(self.fragment(payload, key: key, keyOffset: keyOffset, endsMessage: ends && fin))

            case .controlPayload(let opcode, let remaining, let key):
                guard input.readableBytes > 0 else { return nil }
                let count = min(remaining, input.readableBytes)
                let chunk = input.readSlice(length: count)!
                // Set when the state was entered.
                var collected = self.controlPayload.take()!
                if let key {
                    collected.writeMaskedBytes(of: chunk, key: key, keyOffset: collected.readableBytes)
                } else {
                    collected.writeImmutableBuffer(chunk)
                }
                guard remaining == count else {
                    self.controlPayload = collected
                    self.state = .controlPayload(opcode: opcode, remaining: remaining - count, key: key)
                    return nil
                }
                self.state = .header
                return try self.controlEvent(opcode, payload: collected)
            }
        }
    }

    /// A data fragment of the current message; marks the message as started, and ended when `endsMessage`.
    private mutating func fragment(_ payload: ByteBuffer, key: WebSocketMaskingKey?, keyOffset: Int, endsMessage: Bool) -> Fragment {
        // A data state is only entered with a message in progress.
        let message = self.message!
        let fragment = Fragment(
            payload: payload, maskingKey: key, keyOffset: keyOffset, kind: message.kind, isCompressed: message.isCompressed,
            startsMessage: !message.started, endsMessage: endsMessage)
        if endsMessage {
            self.message = nil
        } else if !message.started {
            self.message!.started = true
        }
        return fragment
    }

    /// Reads a header, using and refilling `partialHeader` when a header is split across reads.
    private mutating func readHeader(from input: inout ByteBuffer) throws(WebSocketProtocolError) -> WebSocketFrameHeader? {
        guard var partial = self.partialHeader else {
            if let header = try WebSocketFrameHeader.read(from: &input) { return header }
            // Copy the few bytes into a buffer of our own: a slice would pin the whole read buffer for as
            // long as the peer leaves the header unfinished.
            var owned = ByteBufferAllocator().buffer(capacity: WebSocketFrameHeader.maximumLength)
            owned.writeBuffer(&input)
            self.partialHeader = owned
            return nil
        }
        // Take only as many bytes as a header can need, so the payload stays in `input` (no copy).
        let already = partial.readableBytes
        let take = min(WebSocketFrameHeader.maximumLength - already, input.readableBytes)
        var candidate = partial
        candidate.writeImmutableBuffer(input.getSlice(at: input.readerIndex, length: take)!)
        if let header = try WebSocketFrameHeader.read(from: &candidate) {
            input.moveReaderIndex(forwardBy: header.encodedLength - already)
            self.partialHeader = nil
            return header
        }
        partial.writeImmutableBuffer(input.readSlice(length: take)!)
        self.partialHeader = partial
        return nil
    }

    /// What a frame's header leaves to do. A trivial value on purpose: `begin` runs for every frame, and an `Event?`
    /// returned from it (almost always nil) is a non-trivial value to move and destroy on the hot path.
    private enum FrameStart {
        /// Nothing to report yet: a control frame's payload is read next, or it was an empty frame in the middle of a
        /// message.
        case continueReading
        /// A data frame with a payload of `length` bytes, read next.
        case dataFrame(length: Int, key: WebSocketMaskingKey?, fin: Bool)
        case emptyControlFrame(WebSocketOpcode)
        /// An empty data frame that starts or ends a message (the caller may need to know either).
        case emptyDataFrame(key: WebSocketMaskingKey?, fin: Bool)
    }

    /// Validates a frame header against RFC 6455 and the stream so far, and sets up its payload.
    private mutating func begin(_ header: WebSocketFrameHeader) throws(WebSocketProtocolError) -> FrameStart {
        guard header.opcode.isKnown else {
            throw WebSocketProtocolError(.protocolError, "reserved opcode \(header.opcode.rawValue)")
        }
        // RSV1 marks a compressed message: allowed only with permessage-deflate, and only on the first
        // frame of a data message (RFC 7692 §6).
        let compressedBit: UInt8 = 0b100
        let mayCompress = self.configuration.compressionNegotiated && (header.opcode == .binary || header.opcode == .text)
        guard header.reservedBits == 0 || (header.reservedBits == compressedBit && mayCompress) else {
            throw WebSocketProtocolError(.protocolError, "reserved bits set without a negotiated extension")
        }
        let key = header.maskingKey
        switch (self.configuration.role, key) {
        case (.server, nil):
            throw WebSocketProtocolError(.protocolError, "client frames must be masked")
        case (.client, .some):
            throw WebSocketProtocolError(.protocolError, "server frames must not be masked")
        case (.server, .some), (.client, nil):
            break
        }

        if header.opcode.isControl {
            guard header.fin else { throw WebSocketProtocolError(.protocolError, "fragmented control frame") }
            guard header.payloadLength <= 125 else {
                throw WebSocketProtocolError(.protocolError, "control frame payload over 125 bytes")
            }
            if header.payloadLength == 0 {
                return .emptyControlFrame(header.opcode)
            }
            self.controlPayload = ByteBufferAllocator().buffer(capacity: header.payloadLength)
            self.state = .controlPayload(opcode: header.opcode, remaining: header.payloadLength, key: key)
            return .continueReading
        }

        switch header.opcode {
        case .text where !self.configuration.acceptsText:
            throw WebSocketProtocolError(.unsupportedData, "text frames are not allowed: MQTT uses binary frames")
        case .text, .binary:
            guard self.message == nil else {
                throw WebSocketProtocolError(.protocolError, "new message before the previous one was finished")
            }
            self.message = MessageInProgress(
                kind: header.opcode == .text ? .text : .binary, isCompressed: header.reservedBits == compressedBit, size: 0, started: false)
        default:  // .continuation
            guard self.message != nil else {
                throw WebSocketProtocolError(.protocolError, "continuation frame without a message to continue")
            }
        }
        guard header.payloadLength <= self.configuration.maximumFrameSize else {
            throw WebSocketProtocolError(
                .messageTooBig, "frame of \(header.payloadLength) bytes exceeds the limit of \(self.configuration.maximumFrameSize)")
        }
        self.message!.size += header.payloadLength
        guard self.message!.size <= self.configuration.maximumMessageSize else {
            throw WebSocketProtocolError(.messageTooBig, "message exceeds the limit of \(self.configuration.maximumMessageSize) bytes")
        }
        if header.payloadLength > 0 {
            return .dataFrame(length: header.payloadLength, key: key, fin: header.fin)
        }
        // An empty frame: reported only when it starts or ends a message.
        guard header.fin || !self.message!.started else { return .continueReading }
        return .emptyDataFrame(key: key, fin: header.fin)
    }

    private mutating func controlEvent(_ opcode: WebSocketOpcode, payload: ByteBuffer) throws(WebSocketProtocolError) -> Event {
        switch opcode {
        case .ping:
            return .ping(payload)
        case .pong:
            return .pong(payload)
        default:  // .close
            let (code, reason) = try Self.parseClosePayload(payload)
            self.finish()
            return .close(code: code, reason: reason)
        }
    }

    /// A close frame's status code and reason (RFC 6455 §5.5.1, §7.4): no payload, or a valid code and UTF-8 text.
    static func parseClosePayload(_ payload: ByteBuffer) throws(WebSocketProtocolError) -> (WebSocketCloseCode?, String) {
        var payload = payload
        if payload.readableBytes == 1 {
            throw WebSocketProtocolError(.protocolError, "close frame with a 1-byte payload")
        }
        guard let raw = payload.readInteger(as: UInt16.self) else { return (nil, "") }
        let code = WebSocketCloseCode(rawValue: raw)
        guard code.isValidOnTheWire else {
            throw WebSocketProtocolError(.protocolError, "close code \(raw) may not be sent")
        }
        guard let reason = String(validating: payload.readableBytesView, as: UTF8.self) else {
            throw WebSocketProtocolError(.invalidPayloadData, "close reason is not valid UTF-8")
        }
        return (code, reason)
    }
}
