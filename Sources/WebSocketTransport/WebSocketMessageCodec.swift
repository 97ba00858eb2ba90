import NIOCore

/// Server-side WebSocket codec for a relay of binary messages (MQTT over WebSocket).
///
/// Inbound, it turns the raw byte stream into the **byte stream of binary message payloads**: frame
/// boundaries are not preserved, because MQTT over WebSocket does not depend on them (MQTT 5.0 §6: a
/// packet may span frames and a frame may hold several packets). Payloads are unmasked while being
/// copied into one buffer per read burst, which is fired at `channelReadComplete` (or earlier past
/// `inboundFlushThreshold`). Nothing is held per frame, so a large frame costs no memory.
///
/// Outbound, each `ByteBuffer` written is **one binary message in one frame**. Small messages are
/// appended, header and payload, into one buffer that is written on `flush`: NIOSSLHandler turns every
/// write into its own TLS record, so coalescing a burst into one write saves a record per packet.
///
/// It answers pings, refuses what RFC 6455 forbids (and text frames, which MQTT does not use) with
/// the matching close code, and runs the closing handshake. It tells the handler behind it what
/// happened through `WebSocketEvent`s and accepts `WebSocketCloseRequest` as an outbound user event.
public final class WebSocketMessageCodec: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Which end of the connection this codec is (RFC 6455 §5.1: clients mask, servers do not).
    public enum Role: Sendable {
        /// Facing a client: inbound frames must be masked, outbound frames are not.
        case server
        /// Facing a server (the bridge's WebSocket upstream): outbound frames are masked with a fresh
        /// key each, inbound frames must not be masked.
        case client
    }

    public struct Configuration: Sendable {
        /// `.server` for clients of the bridge, `.client` towards a broker's WebSocket listener.
        public var role: Role
        /// Largest payload of a single frame; larger → close 1009. Frames are streamed, so this is a
        /// policy limit, not a memory bound.
        public var maximumFrameSize: Int
        /// How long to wait for the peer's close frame after sending ours before closing the socket.
        public var closeTimeout: TimeAmount
        /// Messages up to this size are copied into the coalescing buffer; larger ones are written as
        /// their own slice after a separate header (the copy would cost more than the record saved).
        public var coalescingLimit: Int
        /// Inbound payload bytes buffered before they are passed on even mid-burst.
        public var inboundFlushThreshold: Int
        /// Send a ping after this long without any frame from the peer; nil: never.
        public var pingInterval: TimeAmount?
        /// Close the connection when the peer sends nothing for this long after a ping.
        public var pingTimeout: TimeAmount
        /// permessage-deflate, when the handshake agreed on it.
        public var compression: Compression?

        /// The negotiated permessage-deflate parameters and the bridge's own settings for it.
        public struct Compression: Sendable {
            public var agreement: PerMessageDeflate.Agreement
            public var settings: PerMessageDeflate.Settings

            public init(agreement: PerMessageDeflate.Agreement, settings: PerMessageDeflate.Settings) {
                self.agreement = agreement
                self.settings = settings
            }
        }

        public init(
            role: Role = .server,
            maximumFrameSize: Int = 16 << 20,
            closeTimeout: TimeAmount = .seconds(3),
            coalescingLimit: Int = 16 << 10,
            inboundFlushThreshold: Int = 64 << 10,
            pingInterval: TimeAmount? = nil,
            pingTimeout: TimeAmount = .seconds(10),
            compression: Compression? = nil
        ) {
            self.role = role
            self.maximumFrameSize = maximumFrameSize
            self.closeTimeout = closeTimeout
            self.coalescingLimit = coalescingLimit
            self.inboundFlushThreshold = inboundFlushThreshold
            self.pingInterval = pingInterval
            self.pingTimeout = pingTimeout
            self.compression = compression
        }
    }

    private enum ReadState {
        /// Waiting for a frame header (bytes of a partial one are in `partialHeader`).
        case header
        /// Inside a data frame's payload; `fin`: the frame ends its message.
        case dataPayload(remaining: Int, key: WebSocketMaskingKey, keyOffset: Int, fin: Bool)
        /// Inside a control frame's payload (at most 125 bytes, collected before acting).
        case controlPayload(opcode: WebSocketOpcode, remaining: Int, key: WebSocketMaskingKey, collected: ByteBuffer)
        /// Input is ignored: the connection is closing and no close frame is awaited any more.
        case ignoring
    }

    private enum CloseState {
        case open
        /// We sent a close frame and wait for the peer's; data frames are discarded meanwhile unless the close
        /// request asked to keep receiving them.
        case closeSent(timeout: Scheduled<Void>?, keepsReceiving: Bool)
        /// Both sides are done (or the codec gave up): the channel is being closed.
        case closed
    }

    private let configuration: Configuration
    /// Set while in a pipeline, for `enqueueBinaryMessage`.
    private var context: ChannelHandlerContext?
    private var readState = ReadState.header
    private var closeState = CloseState.open
    /// Bytes of a frame header split across reads (at most 13).
    private var partialHeader: ByteBuffer?
    /// A fragmented binary message is in progress (continuation frames expected).
    private var inFragmentedMessage = false
    /// Unmasked payload bytes not yet passed on.
    private var pendingInbound: ByteBuffer?
    /// Encoded frames not yet written.
    private var pendingOutbound: ByteBuffer?
    private var pendingOutboundPromise: EventLoopPromise<Void>?
    /// The message being received is compressed (its first frame had RSV1).
    private var messageIsCompressed = false
    /// Payload bytes still owed to a message started with `beginBinaryMessage` (0: none in progress). While
    /// it is non-zero no other frame may be written: a close can then only end the connection abruptly.
    private var outboundStreamRemaining = 0
    private var outboundStreamKey: WebSocketMaskingKey?
    private var outboundStreamOffset = 0
    /// Keys for outbound frames in the client role.
    private var maskingKeys = MaskingKeySource()
    /// permessage-deflate state, created when the first compressed message goes either way.
    private var deflate: PerMessageDeflateEngine?
    /// The payload of the latest ping that arrived while the channel was not writable.
    private var deferredPong: ByteBuffer?
    /// When the peer last sent a frame (any frame proves it is alive); updated once per read burst, and
    /// only when keepalive pings are on, so the hot path reads no clock.
    private var lastHeardFrom = NIODeadline.now()
    /// A frame header arrived in the current read burst.
    private var heardFromPeer = false
    /// The keepalive timer: waiting either for the silence interval to end or for the answer to a ping.
    private var keepaliveTimer: Scheduled<Void>?
    /// When the unanswered keepalive ping was sent; nil when none is outstanding.
    private var pingSentAt: NIODeadline?

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.lastHeardFrom = .now()
        self.scheduleKeepalive(context: context)
    }

    // MARK: Keepalive

    /// Arms the timer for the next check: the end of the silence interval, or the answer deadline of a ping.
    private func scheduleKeepalive(context: ChannelHandlerContext) {
        guard let interval = self.configuration.pingInterval, interval > .zero, case .open = self.closeState else { return }
        let deadline = self.pingSentAt.map { $0 + self.configuration.pingTimeout } ?? self.lastHeardFrom + interval
        self.keepaliveTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.keepaliveTimerFired(context: context)
        }
    }

    private func keepaliveTimerFired(context: ChannelHandlerContext) {
        self.keepaliveTimer = nil
        guard let interval = self.configuration.pingInterval, case .open = self.closeState else { return }
        // Anything heard since the ping (a pong, any frame) answers it.
        if let sent = self.pingSentAt, self.lastHeardFrom >= sent {
            self.pingSentAt = nil
        }
        let now = NIODeadline.now()
        if self.pingSentAt == nil {
            if now - self.lastHeardFrom >= interval && self.outboundStreamRemaining == 0 {
                self.pingSentAt = now
                self.appendFrame(opcode: .ping, payload: ByteBuffer(), context: context)
                self.writePendingOutbound(context: context)
                context.flush()
            }
        } else {
            // No answer to the ping: the peer (or the path to it) is gone. Say so and close without
            // waiting for a close handshake it will not complete.
            self.readState = .ignoring
            self.closeState = .closed
            let reason = "no answer to ping within \(self.configuration.pingTimeout.humanDescription)"
            context.fireUserInboundEventTriggered(WebSocketEvent.keepaliveTimeout(reason: reason))
            _ = self.sendCloseFrame(code: .goingAway, reason: reason, context: context)
            context.close(promise: nil)
            return
        }
        self.scheduleKeepalive(context: context)
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = self.unwrapInboundIn(data)
        do {
            try self.process(&input, context: context)
        } catch {
            self.refuse(error, context: context)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if self.heardFromPeer {
            self.heardFromPeer = false
            if self.configuration.pingInterval != nil { self.lastHeardFrom = .now() }
        }
        self.deliverInbound(context: context)
        // Pongs queued while reading go out with this burst.
        if self.pendingOutbound != nil {
            self.writePendingOutbound(context: context)
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, self.outboundStreamRemaining == 0, let pong = self.deferredPong {
            self.deferredPong = nil
            if case .open = self.closeState {
                self.appendFrame(opcode: .pong, payload: pong, context: context)
                self.writePendingOutbound(context: context)
                context.flush()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.keepaliveTimer?.cancel()
        self.keepaliveTimer = nil
        self.deferredPong = nil
        if case .closeSent(let timeout, _) = self.closeState { timeout?.cancel() }
        self.closeState = .closed
        self.readState = .ignoring
        self.partialHeader = nil
        self.pendingInbound = nil
        self.pendingOutbound = nil
        self.pendingOutboundPromise?.fail(ChannelError.ioOnClosedChannel)
        self.pendingOutboundPromise = nil
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.keepaliveTimer?.cancel()
        self.keepaliveTimer = nil
        if case .closeSent(let timeout, _) = self.closeState { timeout?.cancel() }
        // The pipeline is being torn down: nothing buffered can be written any more, but nobody may wait forever.
        self.pendingOutbound = nil
        self.pendingOutboundPromise?.fail(ChannelError.ioOnClosedChannel)
        self.pendingOutboundPromise = nil
    }

    private func process(_ input: inout ByteBuffer, context: ChannelHandlerContext) throws(WebSocketProtocolError) {
        while input.readableBytes > 0 {
            switch self.readState {
            case .ignoring:
                input.moveReaderIndex(to: input.writerIndex)
                return

            case .header:
                guard let header = try self.readHeader(from: &input) else { return }
                self.heardFromPeer = true
                try self.begin(header, context: context)

            case .dataPayload(let remaining, let key, let keyOffset, let fin):
                let count = min(remaining, input.readableBytes)
                // `count > 0` because the loop only runs with readable bytes and `remaining > 0` here.
                let payload = input.readSlice(length: count)!
                if self.deliversData {
                    if self.messageIsCompressed {
                        try self.inflate(payload, key: key, keyOffset: keyOffset, context: context)
                    } else {
                        self.appendInbound(payload, key: key, keyOffset: keyOffset, context: context)
                    }
                }
                if remaining == count {
                    self.readState = .header
                    if fin { try self.endOfMessage(context: context) }
                } else {
                    self.readState = .dataPayload(remaining: remaining - count, key: key, keyOffset: keyOffset + count, fin: fin)
                }
                if self.pendingInbound?.readableBytes ?? 0 >= self.configuration.inboundFlushThreshold {
                    self.deliverInbound(context: context)
                }

            case .controlPayload(let opcode, let remaining, let key, var collected):
                let count = min(remaining, input.readableBytes)
                let chunk = input.readSlice(length: count)!
                collected.writeMaskedBytes(of: chunk, key: key, keyOffset: collected.readableBytes)
                if remaining == count {
                    self.readState = .header
                    try self.handleControlFrame(opcode, payload: collected, context: context)
                } else {
                    self.readState = .controlPayload(opcode: opcode, remaining: remaining - count, key: key, collected: collected)
                }
            }
        }
    }

    /// Reads a header, using and refilling `partialHeader` when a header is split across reads.
    private func readHeader(from input: inout ByteBuffer) throws(WebSocketProtocolError) -> WebSocketFrameHeader? {
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

    /// Validates a frame header against RFC 6455 and the connection state, and sets up its payload.
    private func begin(_ header: WebSocketFrameHeader, context: ChannelHandlerContext) throws(WebSocketProtocolError) {
        guard header.opcode.isKnown else {
            throw WebSocketProtocolError(.protocolError, "reserved opcode \(header.opcode.rawValue)")
        }
        // RSV1 marks a compressed message: allowed only with permessage-deflate, and only on the first
        // frame of a data message (RFC 7692 §6).
        let compressedBit: UInt8 = 0b100
        let mayCompress = self.configuration.compression != nil && header.opcode == .binary
        guard header.reservedBits == 0 || (header.reservedBits == compressedBit && mayCompress) else {
            throw WebSocketProtocolError(.protocolError, "reserved bits set without a negotiated extension")
        }
        let key: WebSocketMaskingKey
        switch (self.configuration.role, header.maskingKey) {
        case (.server, let masked?):
            key = masked
        case (.server, nil):
            throw WebSocketProtocolError(.protocolError, "client frames must be masked")
        case (.client, nil):
            // No masking: `appendInbound` passes the bytes on; `inflate` unmasks with this all-zero key, a copy.
            key = WebSocketMaskingKey(networkOrder: 0)
        case (.client, .some):
            throw WebSocketProtocolError(.protocolError, "server frames must not be masked")
        }

        if header.opcode.isControl {
            guard header.fin else { throw WebSocketProtocolError(.protocolError, "fragmented control frame") }
            guard header.payloadLength <= 125 else {
                throw WebSocketProtocolError(.protocolError, "control frame payload over 125 bytes")
            }
            if header.payloadLength == 0 {
                try self.handleControlFrame(header.opcode, payload: ByteBuffer(), context: context)
            } else {
                let collected = context.channel.allocator.buffer(capacity: header.payloadLength)
                self.readState = .controlPayload(opcode: header.opcode, remaining: header.payloadLength, key: key, collected: collected)
            }
            return
        }

        switch header.opcode {
        case .text:
            throw WebSocketProtocolError(.unsupportedData, "text frames are not allowed: MQTT uses binary frames")
        case .binary:
            guard !self.inFragmentedMessage else {
                throw WebSocketProtocolError(.protocolError, "new message before the previous one was finished")
            }
        default:  // .continuation
            guard self.inFragmentedMessage else {
                throw WebSocketProtocolError(.protocolError, "continuation frame without a message to continue")
            }
        }
        guard header.payloadLength <= self.configuration.maximumFrameSize else {
            throw WebSocketProtocolError(.messageTooBig, "frame of \(header.payloadLength) bytes exceeds the limit of \(self.configuration.maximumFrameSize)")
        }
        self.inFragmentedMessage = !header.fin
        if header.opcode == .binary {
            self.messageIsCompressed = header.reservedBits == compressedBit
        }
        if header.payloadLength > 0 {
            self.readState = .dataPayload(remaining: header.payloadLength, key: key, keyOffset: 0, fin: header.fin)
        } else if header.fin {
            try self.endOfMessage(context: context)
        }
    }

    /// A message's last frame has been read: finish inflating if it was compressed.
    private func endOfMessage(context: ChannelHandlerContext) throws(WebSocketProtocolError) {
        guard self.messageIsCompressed else { return }
        self.messageIsCompressed = false
        guard self.deliversData, let deflate = self.deflateEngine() else { return }
        if self.pendingInbound == nil { self.pendingInbound = context.channel.allocator.buffer(capacity: 1024) }
        try deflate.finishMessage(into: &self.pendingInbound!)
    }

    private func inflate(_ payload: ByteBuffer, key: WebSocketMaskingKey, keyOffset: Int, context: ChannelHandlerContext) throws(WebSocketProtocolError) {
        guard let deflate = self.deflateEngine() else { return }
        var unmasked = context.channel.allocator.buffer(capacity: payload.readableBytes)
        unmasked.writeMaskedBytes(of: payload, key: key, keyOffset: keyOffset)
        if self.pendingInbound == nil { self.pendingInbound = context.channel.allocator.buffer(capacity: 4 * payload.readableBytes) }
        try deflate.inflate(unmasked, into: &self.pendingInbound!)
    }

    private func deflateEngine() -> PerMessageDeflateEngine? {
        if let deflate = self.deflate { return deflate }
        guard let compression = self.configuration.compression else { return nil }
        let engine = PerMessageDeflateEngine(
            agreement: compression.agreement, settings: compression.settings, maximumMessageSize: self.configuration.maximumFrameSize)
        self.deflate = engine
        return engine
    }

    private func handleControlFrame(_ opcode: WebSocketOpcode, payload: ByteBuffer, context: ChannelHandlerContext) throws(WebSocketProtocolError) {
        switch opcode {
        case .ping:
            guard case .open = self.closeState else { return }
            guard context.channel.isWritable, self.outboundStreamRemaining == 0 else {
                // A peer that pings but does not read must not grow our buffers: keep only the latest
                // ping's payload and answer it once the channel drains (RFC 6455 §5.5.3 allows answering
                // only the most recent ping). Likewise while a streamed message is half written: a control
                // frame cannot go inside a frame.
                self.deferredPong = payload
                return
            }
            self.appendFrame(opcode: .pong, payload: payload, context: context)
        case .pong:
            context.fireUserInboundEventTriggered(WebSocketEvent.pongReceived)
        default:  // .close
            try self.handleCloseFrame(payload, context: context)
        }
    }

    private func handleCloseFrame(_ payload: ByteBuffer, context: ChannelHandlerContext) throws(WebSocketProtocolError) {
        var payload = payload
        var code: WebSocketCloseCode?
        var reason = ""
        if payload.readableBytes == 1 {
            throw WebSocketProtocolError(.protocolError, "close frame with a 1-byte payload")
        }
        if let raw = payload.readInteger(as: UInt16.self) {
            let received = WebSocketCloseCode(rawValue: raw)
            guard received.isValidOnTheWire else {
                throw WebSocketProtocolError(.protocolError, "close code \(raw) may not be sent")
            }
            code = received
            guard let text = String(validating: payload.readableBytesView, as: UTF8.self) else {
                throw WebSocketProtocolError(.invalidPayloadData, "close reason is not valid UTF-8")
            }
            reason = text
        }

        // Everything the peer sent before its close frame goes on first.
        self.deliverInbound(context: context)
        self.readState = .ignoring

        switch self.closeState {
        case .open:
            // Peer-initiated: answer with the same code (RFC 6455 §5.5.1), then close the socket —
            // the server closes TCP first (§7.1.1). The answer is written before the event, so a handler
            // that closes the channel on the event cannot lose it.
            self.closeState = .closed
            let written = self.sendCloseFrame(code: code, reason: "", context: context)
            context.fireUserInboundEventTriggered(WebSocketEvent.closeReceived(code: code, reason: reason))
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .closeSent(let timeout, _):
            // The peer answered our close: the handshake is complete.
            timeout?.cancel()
            self.closeState = .closed
            context.fireUserInboundEventTriggered(WebSocketEvent.closeReceived(code: code, reason: reason))
            context.close(promise: nil)
        case .closed:
            break
        }
    }

    /// Gives up on the peer: passes on the valid bytes received before the violation, reports it,
    /// sends the close frame with its code and closes the socket once that is written.
    private func refuse(_ error: WebSocketProtocolError, context: ChannelHandlerContext) {
        self.deliverInbound(context: context)
        self.readState = .ignoring
        self.partialHeader = nil
        guard case .open = self.closeState else {
            // Already closing; a second error changes nothing for the peer.
            if case .closeSent(let timeout, _) = self.closeState { timeout?.cancel() }
            self.closeState = .closed
            context.close(promise: nil)
            return
        }
        self.closeState = .closed
        let written = self.sendCloseFrame(code: error.closeCode, reason: error.reason, context: context)
        context.fireUserInboundEventTriggered(WebSocketEvent.protocolViolation(error))
        written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    /// Whether data frame payloads are passed on: while open, and after our close frame if the close request asked.
    private var deliversData: Bool {
        switch self.closeState {
        case .open: true
        case .closeSent(_, let keepsReceiving): keepsReceiving
        case .closed: false
        }
    }

    private func appendInbound(_ payload: ByteBuffer, key: WebSocketMaskingKey, keyOffset: Int, context: ChannelHandlerContext) {
        if self.configuration.role == .client {
            // Server frames are not masked: the first payload of a burst passes on as a slice of the read, later
            // ones are appended with a plain copy instead of an unmasking pass.
            if self.pendingInbound == nil {
                self.pendingInbound = payload
            } else {
                self.pendingInbound!.writeImmutableBuffer(payload)
            }
            return
        }
        if self.pendingInbound == nil {
            self.pendingInbound = context.channel.allocator.buffer(capacity: max(payload.readableBytes, 1024))
        }
        self.pendingInbound!.writeMaskedBytes(of: payload, key: key, keyOffset: keyOffset)
    }

    private func deliverInbound(context: ChannelHandlerContext) {
        guard let bytes = self.pendingInbound else { return }
        self.pendingInbound = nil
        context.fireChannelRead(self.wrapInboundOut(bytes))
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        self.writeMessage(self.unwrapOutboundIn(data), promise: promise, context: context)
    }

    /// Whether messages can be sent in parts (`beginBinaryMessage`): not with permessage-deflate, which
    /// compresses a whole message at once.
    public var canStreamMessages: Bool { self.configuration.compression == nil }

    /// Starts one binary message (one frame) of `totalLength` payload bytes, of which `firstPart` are the first;
    /// the rest follows with `continueBinaryMessage`. Nothing else may be written before the whole length has
    /// been given. The relay uses it to forward a large MQTT packet while it arrives from the broker.
    public func beginBinaryMessage(totalLength: Int, firstPart: ByteBuffer) {
        guard let context = self.context, case .open = self.closeState, self.canStreamMessages else { return }
        precondition(self.outboundStreamRemaining == 0, "a streamed message is already in progress")
        let key = self.configuration.role == .client ? self.maskingKeys.nextKey() : nil
        if self.pendingOutbound == nil {
            self.pendingOutbound = context.channel.allocator.buffer(capacity: WebSocketFrameHeader.maximumLength)
        }
        WebSocketFrameHeader(opcode: .binary, maskingKey: key, payloadLength: totalLength).write(to: &self.pendingOutbound!)
        self.outboundStreamKey = key
        self.outboundStreamOffset = 0
        self.outboundStreamRemaining = totalLength
        self.continueBinaryMessage(firstPart)
    }

    /// More payload of the message started with `beginBinaryMessage`.
    public func continueBinaryMessage(_ part: ByteBuffer) {
        guard let context = self.context, case .open = self.closeState, part.readableBytes > 0 else { return }
        precondition(part.readableBytes <= self.outboundStreamRemaining, "more bytes than the message announced")
        self.queuePayload(part, key: self.outboundStreamKey, keyOffset: self.outboundStreamOffset, promise: nil, context: context)
        self.outboundStreamOffset += part.readableBytes
        self.outboundStreamRemaining -= part.readableBytes
        if self.outboundStreamRemaining == 0, let pong = self.deferredPong, context.channel.isWritable {
            self.deferredPong = nil
            self.appendFrame(opcode: .pong, payload: pong, context: context)
        }
    }

    /// Queues one binary message without a trip through the pipeline: for the handler right behind this
    /// codec on the same event loop (the relay writes one message per MQTT packet, and a pipeline hop per
    /// packet was its largest per-message cost). Followed by a `flush` on the pipeline as usual.
    /// Messages written while no channel is attached are dropped.
    public func enqueueBinaryMessage(_ message: ByteBuffer) {
        guard let context = self.context else { return }
        self.writeMessage(message, promise: nil, context: context)
    }

    private func writeMessage(_ message: ByteBuffer, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        guard case .open = self.closeState else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        var message = message
        var reservedBits: UInt8 = 0
        if self.configuration.compression != nil, let compressed = self.deflateEngine()?.compress(message, allocator: context.channel.allocator) {
            message = compressed
            reservedBits = 0b100
        }
        if message.readableBytes <= self.configuration.coalescingLimit {
            self.appendFrame(opcode: .binary, payload: message, reservedBits: reservedBits, context: context)
            self.attachToPendingOutbound(promise)
        } else {
            let key = self.configuration.role == .client ? self.maskingKeys.nextKey() : nil
            let header = WebSocketFrameHeader(reservedBits: reservedBits, opcode: .binary, maskingKey: key, payloadLength: message.readableBytes)
            if self.pendingOutbound == nil {
                self.pendingOutbound = context.channel.allocator.buffer(capacity: WebSocketFrameHeader.maximumLength)
            }
            header.write(to: &self.pendingOutbound!)
            self.queuePayload(message, key: key, keyOffset: 0, promise: promise, context: context)
        }
    }

    /// Queues frame payload whose header is already pending. Masked payload is masked into the pending buffer (the
    /// caller's buffer may be shared, so masking copies anyway); unmasked payload up to `coalescingLimit` is copied
    /// there too, and larger payload goes out as it is, right after the pending bytes: one write, no copy.
    private func queuePayload(
        _ payload: ByteBuffer, key: WebSocketMaskingKey?, keyOffset: Int, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext
    ) {
        if key == nil, payload.readableBytes > self.configuration.coalescingLimit {
            self.writePendingOutbound(context: context)
            context.write(self.wrapOutboundOut(payload), promise: promise)
            return
        }
        if self.pendingOutbound == nil {
            self.pendingOutbound = context.channel.allocator.buffer(capacity: payload.readableBytes)
        }
        if let key {
            self.pendingOutbound!.writeMaskedBytes(of: payload, key: key, keyOffset: keyOffset)
        } else {
            self.pendingOutbound!.writeImmutableBuffer(payload)
        }
        self.attachToPendingOutbound(promise)
    }

    /// Completes `promise` with the write of the pending bytes.
    private func attachToPendingOutbound(_ promise: EventLoopPromise<Void>?) {
        guard let promise else { return }
        if let pending = self.pendingOutboundPromise {
            pending.futureResult.cascade(to: promise)
        } else {
            self.pendingOutboundPromise = promise
        }
    }

    public func flush(context: ChannelHandlerContext) {
        self.writePendingOutbound(context: context)
        context.flush()
    }

    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let request = event as? WebSocketCloseRequest else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed()
        guard case .open = self.closeState else { return }
        if self.outboundStreamRemaining > 0 {
            // A streamed message is incomplete: no close frame can follow it. End the connection.
            self.closeState = .closed
            self.writePendingOutbound(context: context)
            context.flush()
            context.close(promise: nil)
            return
        }
        // Data already written goes out before the close frame.
        self.appendCloseFrame(code: request.code, reason: request.reason, context: context)
        self.writePendingOutbound(context: context)
        context.flush()
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: self.configuration.closeTimeout) {
            guard case .closeSent = self.closeState else { return }
            self.closeState = .closed
            context.close(promise: nil)
        }
        self.closeState = .closeSent(timeout: timeout, keepsReceiving: request.keepsReceiving)
    }

    private func appendFrame(opcode: WebSocketOpcode, payload: ByteBuffer, reservedBits: UInt8 = 0, context: ChannelHandlerContext) {
        let key = self.configuration.role == .client ? self.maskingKeys.nextKey() : nil
        let header = WebSocketFrameHeader(reservedBits: reservedBits, opcode: opcode, maskingKey: key, payloadLength: payload.readableBytes)
        let needed = header.encodedLength + payload.readableBytes
        if self.pendingOutbound == nil {
            self.pendingOutbound = context.channel.allocator.buffer(capacity: max(needed, 256))
        }
        header.write(to: &self.pendingOutbound!)
        if let key {
            self.pendingOutbound!.writeMaskedBytes(of: payload, key: key, keyOffset: 0)
        } else {
            self.pendingOutbound!.writeImmutableBuffer(payload)
        }
    }

    private func appendCloseFrame(code: WebSocketCloseCode?, reason: String, context: ChannelHandlerContext) {
        var payload = context.channel.allocator.buffer(capacity: 2 + 123)
        if let code {
            payload.writeInteger(code.rawValue)
            // A control frame carries at most 125 bytes: cut the reason on a UTF-8 boundary.
            var utf8 = Array(reason.utf8.prefix(123))
            while !utf8.isEmpty, String(validating: utf8, as: UTF8.self) == nil { utf8.removeLast() }
            payload.writeBytes(utf8)
        }
        self.appendFrame(opcode: .close, payload: payload, context: context)
    }

    /// Writes and flushes everything pending plus a close frame; the future completes when it is written.
    /// In the middle of a streamed message there is no place for a close frame: what was queued is written
    /// and the connection then ends without one (the peer sees 1006).
    private func sendCloseFrame(code: WebSocketCloseCode?, reason: String, context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        if self.outboundStreamRemaining == 0 {
            self.appendCloseFrame(code: code, reason: reason, context: context)
        }
        let written = context.eventLoop.makePromise(of: Void.self)
        self.pendingOutboundPromise.map { written.futureResult.cascade(to: $0) }
        self.pendingOutboundPromise = written
        self.writePendingOutbound(context: context)
        context.flush()
        return written.futureResult
    }

    private func writePendingOutbound(context: ChannelHandlerContext) {
        guard let bytes = self.pendingOutbound else { return }
        self.pendingOutbound = nil
        let promise = self.pendingOutboundPromise
        self.pendingOutboundPromise = nil
        context.write(self.wrapOutboundOut(bytes), promise: promise)
    }
}

/// What `WebSocketMessageCodec` reports to the handler behind it.
public enum WebSocketEvent: Sendable, Hashable {
    /// The peer sent a close frame (`code` nil when it carried none). If the peer started the closing
    /// handshake, the codec has answered it and is closing the connection.
    case closeReceived(code: WebSocketCloseCode?, reason: String)
    /// The codec refused the peer's input, sent a close frame with `error.closeCode` and is closing.
    case protocolViolation(WebSocketProtocolError)
    /// A pong arrived.
    case pongReceived
    /// The peer answered nothing to a keepalive ping in time: the codec sent close 1001 and closed the socket.
    case keepaliveTimeout(reason: String)
}

/// Outbound user event: start the closing handshake. Bytes written before it are sent first; bytes
/// written after it are dropped. The socket closes when the peer answers or after `closeTimeout`.
public struct WebSocketCloseRequest: Sendable, Hashable {
    public var code: WebSocketCloseCode
    public var reason: String
    /// Data frames the peer sends until its answering close frame are still passed on. The peer may have sent
    /// them before it saw our close frame (RFC 6455 §5.5.1 only forbids *sending* data after a close): the relay
    /// asks for it on a drain, so that acknowledgements already on their way still reach the broker.
    public var keepsReceiving: Bool

    public init(code: WebSocketCloseCode, reason: String = "", keepsReceiving: Bool = false) {
        self.code = code
        self.reason = reason
        self.keepsReceiving = keepsReceiving
    }
}
