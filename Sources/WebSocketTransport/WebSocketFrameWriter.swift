import NIOCore

/// Encodes outgoing messages and control frames (RFC 6455 §5.2), no channel: the caller takes the encoded bytes
/// with `nextWrite()` when it flushes (and writes them with no access to the writer in progress, so a write that
/// closes the channel from inside cannot re-enter it).
///
/// - **Coalescing.** Frames are appended, header and payload, to one pending buffer that `flush` writes: NIOSSLHandler
///   turns every write into its own TLS record, so a burst of messages written as one buffer saves a record (and its
///   overhead) per message. A payload over `coalescingLimit` is not copied: the pending bytes (with its header) are
///   written, then the payload as it is.
/// - **Streaming.** A message can be sent as one frame whose header announces the whole length while the payload is
///   given in parts (`beginStream`, `continueStream`). Until the last part, no other frame may be written: messages
///   written meanwhile are held, in order, and queued as soon as the streamed message is complete. Control frames are
///   the caller's to hold back (`isStreaming`). With permessage-deflate, which compresses whole messages, the parts
///   are collected and the message is compressed once complete.
/// - **Masking** in the client role: every frame with a fresh key (RFC 6455 §5.3).
struct WebSocketFrameWriter {
    private enum Stream {
        /// The header is written; the payload goes out as it is given.
        case direct(remaining: Int, key: WebSocketMaskingKey?, offset: Int)
        /// permessage-deflate: the payload is collected and compressed as one message when complete.
        case collecting(remaining: Int, collected: ByteBuffer, promise: EventLoopPromise<Void>?)
    }

    /// A write accepted while a streamed message was incomplete.
    private enum Held {
        case message(ByteBuffer, WebSocketMessageKind, EventLoopPromise<Void>?)
        case stream(totalLength: Int, firstPart: ByteBuffer, EventLoopPromise<Void>?)
    }

    private let masks: Bool
    let coalescingLimit: Int
    private let compressor: PerMessageDeflateCompressor?
    private var maskingKeys = MaskingKeySource()
    /// Encoded frames not yet written, and the promise completed when they are.
    private var pending: ByteBuffer?
    private var pendingPromise: EventLoopPromise<Void>?
    /// Buffers complete before `pending`: earlier pending bytes and a large payload that follows them uncopied.
    /// Empty unless a payload over `coalescingLimit` was queued (an empty array costs no allocation).
    private var ready: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var stream: Stream?
    /// Writes waiting for the streamed message to end (rare: an empty array costs no allocation).
    private var held: [Held] = []

    init(role: WebSocketRole, coalescingLimit: Int, compressor: PerMessageDeflateCompressor?) {
        self.masks = role == .client
        self.coalescingLimit = coalescingLimit
        self.compressor = compressor
    }

    /// A streamed message is incomplete: no frame may be appended until it is.
    var isStreaming: Bool { self.stream != nil }

    /// Bytes are waiting for `nextWrite()`.
    var hasOutput: Bool { self.pending != nil || !self.ready.isEmpty }

    // MARK: Messages

    /// One message in one frame; held while a streamed message is incomplete.
    mutating func writeMessage(
        _ payload: ByteBuffer, kind: WebSocketMessageKind, promise: EventLoopPromise<Void>?, allocator: ByteBufferAllocator
    ) {
        guard self.stream == nil else {
            self.held.append(.message(payload, kind, promise))
            return
        }
        self.appendMessage(payload, kind: kind, promise: promise, allocator: allocator)
    }

    /// Several messages, one frame each, in order, as `writeMessage` would write them one by one; `promise` completes
    /// with the last. The pending buffer is sized for all of them at once (one allocation instead of a growth per
    /// doubling).
    mutating func writeMessages(
        _ payloads: [ByteBuffer], kind: WebSocketMessageKind, promise: EventLoopPromise<Void>?, allocator: ByteBufferAllocator
    ) {
        guard self.stream == nil else {
            for (index, payload) in payloads.enumerated() {
                self.held.append(.message(payload, kind, index == payloads.count - 1 ? promise : nil))
            }
            if payloads.isEmpty { self.attach(promise) }
            return
        }
        if self.compressor == nil {
            var coalesced = 0
            for payload in payloads where payload.readableBytes <= self.coalescingLimit {
                coalesced += WebSocketFrameHeader.maximumLength + payload.readableBytes
            }
            if coalesced > 0 {
                if self.pending == nil {
                    self.pending = allocator.buffer(capacity: max(coalesced, 256))
                } else {
                    self.pending!.reserveCapacity(minimumWritableBytes: coalesced)
                }
            }
        }
        for payload in payloads {
            self.appendMessage(payload, kind: kind, promise: nil, allocator: allocator)
        }
        self.attach(promise)
    }

    /// Starts a binary message of `totalLength` bytes sent as one frame, `firstPart` being its first bytes; held while
    /// another streamed message is incomplete.
    mutating func beginStream(
        totalLength: Int, firstPart: ByteBuffer, promise: EventLoopPromise<Void>?, allocator: ByteBufferAllocator
    ) throws(WebSocketOutboundError) {
        guard totalLength > 0, firstPart.readableBytes <= totalLength else {
            promise?.fail(WebSocketOutboundError.streamOverrun)
            throw .streamOverrun
        }
        guard self.stream == nil else {
            self.held.append(.stream(totalLength: totalLength, firstPart: firstPart, promise))
            return
        }
        self.startStream(totalLength: totalLength, firstPart: firstPart, promise: promise, allocator: allocator)
    }

    /// More of the streamed message. Returns true when it completed it (writes held behind it are then queued).
    @discardableResult
    mutating func continueStream(
        _ part: ByteBuffer, promise: EventLoopPromise<Void>?, allocator: ByteBufferAllocator
    ) throws(WebSocketOutboundError) -> Bool {
        guard let stream = self.stream else {
            promise?.fail(WebSocketOutboundError.noStreamInProgress)
            throw .noStreamInProgress
        }
        let remaining: Int
        switch stream {
        case .direct(let left, _, _), .collecting(let left, _, _): remaining = left
        }
        guard part.readableBytes <= remaining else {
            promise?.fail(WebSocketOutboundError.streamOverrun)
            throw .streamOverrun
        }
        return self.feedStream(part, promise: promise, allocator: allocator)
    }

    private mutating func startStream(
        totalLength: Int, firstPart: ByteBuffer, promise: EventLoopPromise<Void>?, allocator: ByteBufferAllocator
    ) {
        if self.compressor != nil {
            self.stream = .collecting(remaining: totalLength, collected: allocator.buffer(capacity: totalLength), promise: nil)
        } else {
            let key = self.nextKey()
            self.appendHeader(WebSocketFrameHeader(opcode: .binary, maskingKey: key, payloadLength: totalLength), allocator: allocator)
            self.stream = .direct(remaining: totalLength, key: key, offset: 0)
        }
        self.feedStream(firstPart, promise: promise, allocator: allocator)
    }

    @discardableResult
    private mutating func feedStream(_ part: ByteBuffer, promise: EventLoopPromise<Void>?, allocator: ByteBufferAllocator) -> Bool {
        switch self.stream! {
        case .direct(let remaining, let key, let offset):
            if part.readableBytes > 0 {
                self.queuePayload(part, key: key, keyOffset: offset, promise: promise, allocator: allocator)
            } else {
                self.attach(promise)
            }
            let left = remaining - part.readableBytes
            self.stream = left > 0 ? .direct(remaining: left, key: key, offset: offset + part.readableBytes) : nil
        case .collecting(let remaining, var collected, var combined):
            self.stream = nil  // so `collected` is uniquely referenced while it is appended to
            collected.writeImmutableBuffer(part)
            if let promise {
                if let combined { combined.futureResult.cascade(to: promise) } else { combined = promise }
            }
            let left = remaining - part.readableBytes
            if left > 0 {
                self.stream = .collecting(remaining: left, collected: collected, promise: combined)
            } else {
                self.appendMessage(collected, kind: .binary, promise: combined, allocator: allocator)
            }
        }
        guard self.stream == nil else { return false }
        // Complete: what was written meanwhile follows, in order, until one of those starts a stream of its own.
        while self.stream == nil, !self.held.isEmpty {
            switch self.held.removeFirst() {
            case .message(let payload, let kind, let promise):
                self.appendMessage(payload, kind: kind, promise: promise, allocator: allocator)
            case .stream(let totalLength, let firstPart, let promise):
                self.startStream(totalLength: totalLength, firstPart: firstPart, promise: promise, allocator: allocator)
            }
        }
        return true
    }

    private mutating func appendMessage(
        _ payload: ByteBuffer, kind: WebSocketMessageKind, promise: EventLoopPromise<Void>?, allocator: ByteBufferAllocator
    ) {
        var payload = payload
        var reservedBits: UInt8 = 0
        if self.compressor != nil, let compressed = self.compressor!.compress(payload, allocator: allocator) {
            payload = compressed
            reservedBits = 0b100
        }
        let opcode: WebSocketOpcode = kind == .text ? .text : .binary
        if payload.readableBytes <= self.coalescingLimit {
            self.appendFrame(opcode: opcode, payload: payload, reservedBits: reservedBits, allocator: allocator)
            self.attach(promise)
        } else {
            let key = self.nextKey()
            let header = WebSocketFrameHeader(
                reservedBits: reservedBits, opcode: opcode, maskingKey: key, payloadLength: payload.readableBytes)
            self.appendHeader(header, allocator: allocator)
            self.queuePayload(payload, key: key, keyOffset: 0, promise: promise, allocator: allocator)
        }
    }

    // MARK: Control frames

    /// A ping, pong or close frame. Not while a streamed message is incomplete: it would land inside that frame.
    mutating func appendControlFrame(_ opcode: WebSocketOpcode, payload: ByteBuffer, allocator: ByteBufferAllocator) {
        assert(opcode.isControl && self.stream == nil, "a control frame cannot go inside a streamed message")
        self.appendFrame(opcode: opcode, payload: payload, reservedBits: 0, allocator: allocator)
    }

    /// A close frame with `code` and as much of `reason` as fits (no payload at all when `code` is nil).
    mutating func appendCloseFrame(code: WebSocketCloseCode?, reason: String, allocator: ByteBufferAllocator) {
        var payload = ByteBuffer()
        if let code {
            payload = allocator.buffer(capacity: 2 + 123)
            payload.writeInteger(code.rawValue)
            // A control frame carries at most 125 bytes: cut the reason on a UTF-8 boundary.
            var utf8 = Array(reason.utf8.prefix(123))
            while !utf8.isEmpty, String(validating: utf8, as: UTF8.self) == nil { utf8.removeLast() }
            payload.writeBytes(utf8)
        }
        self.appendControlFrame(.close, payload: payload, allocator: allocator)
    }

    // MARK: Output

    /// The next buffer to write, in order, with the promise that completes with its write; nil when all was taken.
    mutating func nextWrite() -> (ByteBuffer, EventLoopPromise<Void>?)? {
        if !self.ready.isEmpty { return self.ready.removeFirst() }
        guard let bytes = self.pending else { return nil }
        self.pending = nil
        let promise = self.pendingPromise
        self.pendingPromise = nil
        return (bytes, promise)
    }

    /// Completes `promise` with the write of what is queued so far (nothing queued: at once).
    mutating func attach(_ promise: EventLoopPromise<Void>?) {
        guard let promise else { return }
        if self.pending != nil {
            if let earlier = self.pendingPromise {
                earlier.futureResult.cascade(to: promise)
            } else {
                self.pendingPromise = promise
            }
        } else if let last = self.ready.last {
            if let earlier = last.1 {
                earlier.futureResult.cascade(to: promise)
            } else {
                self.ready[self.ready.count - 1].1 = promise
            }
        } else {
            promise.succeed()
        }
    }

    /// The connection is gone: drops everything not yet written and fails its promises.
    mutating func fail(_ error: any Error) {
        let ready = self.ready
        self.ready = []
        for (_, promise) in ready { promise?.fail(error) }
        self.pending = nil
        self.pendingPromise?.fail(error)
        self.pendingPromise = nil
        if case .collecting(_, _, let promise) = self.stream { promise?.fail(error) }
        self.stream = nil
        let held = self.held
        self.held = []
        for write in held {
            switch write {
            case .message(_, _, let promise), .stream(_, _, let promise): promise?.fail(error)
            }
        }
    }

    // MARK: Encoding

    private mutating func nextKey() -> WebSocketMaskingKey? {
        self.masks ? self.maskingKeys.nextKey() : nil
    }

    private mutating func appendFrame(opcode: WebSocketOpcode, payload: ByteBuffer, reservedBits: UInt8, allocator: ByteBufferAllocator) {
        let key = self.nextKey()
        let header = WebSocketFrameHeader(reservedBits: reservedBits, opcode: opcode, maskingKey: key, payloadLength: payload.readableBytes)
        if self.pending == nil {
            self.pending = allocator.buffer(capacity: max(header.encodedLength + payload.readableBytes, 256))
        }
        header.write(to: &self.pending!)
        if let key {
            self.pending!.writeMaskedBytes(of: payload, key: key, keyOffset: 0)
        } else {
            self.pending!.writeImmutableBuffer(payload)
        }
    }

    private mutating func appendHeader(_ header: WebSocketFrameHeader, allocator: ByteBufferAllocator) {
        if self.pending == nil {
            self.pending = allocator.buffer(capacity: WebSocketFrameHeader.maximumLength)
        }
        header.write(to: &self.pending!)
    }

    /// Queues frame payload whose header is already pending. Masked payload is masked into the pending buffer (the
    /// caller's buffer may be shared, so masking copies anyway); unmasked payload up to `coalescingLimit` is copied
    /// there too, and larger payload goes out as it is, right after the pending bytes: one write, no copy.
    private mutating func queuePayload(
        _ payload: ByteBuffer, key: WebSocketMaskingKey?, keyOffset: Int, promise: EventLoopPromise<Void>?, allocator: ByteBufferAllocator
    ) {
        if key == nil, payload.readableBytes > self.coalescingLimit {
            if let bytes = self.pending {
                self.ready.append((bytes, self.pendingPromise))
                self.pending = nil
                self.pendingPromise = nil
            }
            self.ready.append((payload, promise))
            return
        }
        if self.pending == nil {
            self.pending = allocator.buffer(capacity: payload.readableBytes)
        }
        if let key {
            self.pending!.writeMaskedBytes(of: payload, key: key, keyOffset: keyOffset)
        } else {
            self.pending!.writeImmutableBuffer(payload)
        }
        self.attach(promise)
    }
}

/// A write the codec cannot carry out: the caller broke the streaming contract.
package struct WebSocketOutboundError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case noStreamInProgress, streamOverrun
    }

    private let kind: Kind

    /// `continueBinary` without a streamed message in progress.
    package static let noStreamInProgress = WebSocketOutboundError(kind: .noStreamInProgress)
    /// More payload than the streamed message announced (or a first part longer than the total).
    package static let streamOverrun = WebSocketOutboundError(kind: .streamOverrun)

    package var description: String {
        switch self.kind {
        case .noStreamInProgress: "more of a streamed message, but none is in progress"
        case .streamOverrun: "more bytes than the streamed message announced"
        }
    }
}
