import NIOCore

/// Turns the reader's data fragments into what the handler behind the codec receives, in one of two modes:
///
/// - `.byteStream`: the payloads of all messages as one byte stream (MQTT over WebSocket does not depend on frame
///   boundaries, MQTT 5.0 §6), collected per read burst and passed on at its end or past a threshold. Nothing is held
///   per frame, so a large frame costs no memory.
/// - `.messages`: each complete message, with its kind.
///
/// Either way payloads are unmasked while being copied into the outgoing buffer (the copy masking forces anyway),
/// compressed messages are inflated, and text is checked as UTF-8 while it arrives, failing fast.
struct WebSocketInboundAssembler {
    /// What the assembler has ready for the handler behind.
    enum Output {
        case bytes(ByteBuffer)
        case message(WebSocketMessage)
    }

    private let mode: WebSocketInboundMode
    private let decompressor: PerMessageDeflateDecompressor?
    /// Bytes not yet passed on: the burst's stream, or the message being assembled.
    private var buffered: ByteBuffer?
    private var kind = WebSocketMessageKind.binary
    /// Set while a text message is being received.
    private var utf8: UTF8Validator?

    init(mode: WebSocketInboundMode, decompressor: PerMessageDeflateDecompressor?) {
        self.mode = mode
        self.decompressor = decompressor
    }

    /// Adds one fragment; returns what is ready to be passed on: stream bytes past the threshold, or a whole message.
    mutating func append(
        _ fragment: consuming WebSocketFrameReader.Fragment, allocator: ByteBufferAllocator
    ) throws(WebSocketProtocolError) -> Output? {
        if fragment.startsMessage {
            self.kind = fragment.kind
            self.utf8 = fragment.kind == .text ? UTF8Validator() : nil
        }
        let start = self.buffered?.writerIndex
        do throws(WebSocketProtocolError) {
            if fragment.isCompressed {
                try self.inflate(fragment, allocator: allocator)
            } else {
                self.copy(fragment, allocator: allocator)
            }
            if self.utf8 != nil {
                try self.checkText(from: start ?? 0, endsMessage: fragment.endsMessage)
            }
        } catch {
            // What the refused fragment added is not passed on: a decompression bomb inflates up to the limit
            // before it is caught, and those bytes are no message. What came before it in the burst still counts.
            if let start { self.buffered?.moveWriterIndex(to: start) } else { self.buffered = nil }
            throw error
        }
        return self.output(endsMessage: fragment.endsMessage)
    }

    /// Adds a whole binary message that `WebSocketFrameReader.nextWholeBinaryMessage` found in `input` (the fast path
    /// for the relay's common case: no fragment, no text check, no inflating); the same result as `append` for it.
    mutating func append(
        _ message: WebSocketFrameReader.WholeBinaryMessage, of input: ByteBuffer, allocator: ByteBufferAllocator
    ) -> Output? {
        self.kind = .binary
        self.utf8 = nil
        if let key = message.maskingKey {
            if self.buffered == nil {
                let capacity: Int
                switch self.mode {
                case .byteStream(let threshold):
                    // The burst's stream gets at most the rest of this read besides this payload, and is passed on
                    // at `threshold`: allocated at that size once, it is not grown (and copied) two or three times
                    // per read of small messages.
                    capacity = message.payloadLength + min(input.readableBytes, threshold)
                case .messages:
                    capacity = message.payloadLength
                }
                self.buffered = allocator.buffer(capacity: max(capacity, 1024))
            }
            self.buffered!.writeMaskedBytes(of: input, at: message.payloadIndex, length: message.payloadLength, key: key, keyOffset: 0)
        } else {
            self.appendUnmasked(message.payload(of: input))
        }
        return self.output(endsMessage: true)
    }

    /// What is ready to pass on after a fragment: stream bytes past the threshold, or the message it ended.
    private mutating func output(endsMessage: Bool) -> Output? {
        switch self.mode {
        case .byteStream(let threshold):
            guard let buffered = self.buffered, buffered.readableBytes >= threshold else { return nil }
            self.buffered = nil
            return .bytes(buffered)
        case .messages:
            guard endsMessage else { return nil }
            let bytes = self.buffered ?? ByteBuffer()
            self.buffered = nil
            return .message(WebSocketMessage(kind: self.kind, data: bytes))
        }
    }

    /// The stream bytes of the burst so far (`.byteStream`); nil when there are none, and always in `.messages` mode,
    /// where a message is only passed on whole.
    mutating func takeBurst() -> ByteBuffer? {
        guard case .byteStream = self.mode, let buffered = self.buffered else { return nil }
        self.buffered = nil
        return buffered
    }

    /// Drops what is buffered (the connection is gone).
    mutating func reset() {
        self.buffered = nil
        self.utf8 = nil
    }

    private mutating func copy(_ fragment: WebSocketFrameReader.Fragment, allocator: ByteBufferAllocator) {
        guard let key = fragment.maskingKey else {
            self.appendUnmasked(fragment.payload)
            return
        }
        guard fragment.payload.readableBytes > 0 else { return }
        if self.buffered == nil {
            self.buffered = allocator.buffer(capacity: max(fragment.payload.readableBytes, 1024))
        }
        self.buffered!.writeMaskedBytes(of: fragment.payload, key: key, keyOffset: fragment.keyOffset)
    }

    /// An unmasked payload (client role): the first one of a burst passes on as a slice of the read, later ones are
    /// appended with a plain copy.
    private mutating func appendUnmasked(_ payload: ByteBuffer) {
        guard payload.readableBytes > 0 else { return }
        if self.buffered == nil {
            self.buffered = payload
        } else {
            self.buffered!.writeImmutableBuffer(payload)
        }
    }

    private mutating func inflate(_ fragment: WebSocketFrameReader.Fragment, allocator: ByteBufferAllocator) throws(WebSocketProtocolError)
    {
        guard self.decompressor != nil else { return }  // the reader refuses RSV1 without an agreement
        var input = fragment.payload
        if let key = fragment.maskingKey, input.readableBytes > 0 {
            var unmasked = allocator.buffer(capacity: input.readableBytes)
            unmasked.writeMaskedBytes(of: input, key: key, keyOffset: fragment.keyOffset)
            input = unmasked
        }
        if self.buffered == nil { self.buffered = allocator.buffer(capacity: max(4 * input.readableBytes, 1024)) }
        try self.decompressor!.inflate(input, into: &self.buffered!)
        if fragment.endsMessage {
            try self.decompressor!.finishMessage(into: &self.buffered!)
        }
    }

    /// Checks the text bytes appended since `start`; at the end of the message, also that no scalar is cut short.
    private mutating func checkText(from start: Int, endsMessage: Bool) throws(WebSocketProtocolError) {
        if let buffered = self.buffered {
            let valid = buffered.withUnsafeReadableBytes { bytes in
                self.utf8!.validate(UnsafeRawBufferPointer(rebasing: bytes[(start - buffered.readerIndex)...]))
            }
            guard valid else { throw WebSocketProtocolError(.invalidPayloadData, "text message is not valid UTF-8") }
        }
        if endsMessage {
            guard self.utf8!.isAtBoundary else {
                throw WebSocketProtocolError(.invalidPayloadData, "text message ends inside a UTF-8 sequence")
            }
            self.utf8 = nil
        }
    }
}

/// How the codec passes received data on.
public enum WebSocketInboundMode: Sendable, Hashable {
    /// The payloads of all messages as one byte stream of `ByteBuffer`s, collected per read burst and passed on at its
    /// end, or as soon as `flushThreshold` bytes are buffered. What the relay uses: MQTT does not depend on frames.
    case byteStream(flushThreshold: Int)
    /// Each complete message as one `WebSocketMessage` (its kind and payload), up to the configured message size.
    case messages
}

/// Whether a message carries text (UTF-8) or binary data.
public enum WebSocketMessageKind: Sendable, Hashable {
    case binary
    case text
}

/// One complete message, as passed on in `.messages` mode.
public struct WebSocketMessage: Sendable, Hashable {
    public var kind: WebSocketMessageKind
    public var data: ByteBuffer

    package init(kind: WebSocketMessageKind, data: ByteBuffer) {
        self.kind = kind
        self.data = data
    }
}
