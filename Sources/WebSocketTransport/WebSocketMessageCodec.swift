import NIOCore

/// A WebSocket connection (RFC 6455, RFC 7692) as one channel handler, for the handler behind it.
///
/// It only performs: `WebSocketFrameReader` parses and checks frames, `WebSocketInboundAssembler` unmasks, inflates
/// and delivers their data, `WebSocketFrameWriter` encodes, coalesces and streams what is written, and
/// `WebSocketConnectionStateMachine` decides the closing handshake and the keepalive.
///
/// Inbound, in `.byteStream` mode (the relay) it passes on the payloads of binary messages as one byte stream of
/// `ByteBuffer`s, one per read burst; in `.messages` mode each complete message as a `WebSocketMessage`. It answers
/// pings, refuses what RFC 6455 forbids with the matching close code, and reports what happened as `WebSocketEvent`s.
///
/// Outbound, every write is one `WebSocketOutbound` value: a message (one frame), the start or the rest of a streamed
/// message, or the request to close. Messages are coalesced into one socket write per flush.
public final class WebSocketMessageCodec: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    /// `.byteStream` mode; in `.messages` mode the codec passes `WebSocketMessage` values instead.
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = WebSocketOutbound
    public typealias OutboundOut = ByteBuffer

    public typealias Role = WebSocketRole

    public struct Configuration: Sendable {
        /// `.server` for clients of the bridge, `.client` towards a WebSocket server.
        package var role: Role
        /// Largest payload of a single frame; larger → close 1009. Frames are streamed in `.byteStream` mode, so this
        /// is a policy limit, not a memory bound. Also the limit of a decompressed message (with `maximumMessageSize`,
        /// whichever is smaller).
        public var maximumFrameSize: Int
        /// Largest message (all its frames, or inflated), the memory bound of `.messages` mode; larger → close 1009.
        public var maximumMessageSize: Int
        /// How long to wait for the peer's close frame after sending ours before closing the socket (and how long a
        /// close waits for the end of a half-written streamed message).
        package var closeTimeout: TimeAmount
        /// Messages up to this size are copied into the coalescing buffer; larger ones are written as
        /// their own slice after a separate header (the copy would cost more than the record saved).
        package var coalescingLimit: Int
        /// How received data is passed on.
        public var inbound: WebSocketInboundMode
        /// Accept text messages (checked as UTF-8 as they arrive, 1007 when invalid); otherwise they are refused with
        /// 1003 — MQTT uses binary frames only.
        public var acceptsText: Bool
        /// Send a ping after this long without any frame from the peer; nil: never.
        package var pingInterval: TimeAmount?
        /// Close the connection when the peer sends nothing for this long after a ping.
        package var pingTimeout: TimeAmount
        /// permessage-deflate, when the handshake agreed on it (server role).
        public var compression: Compression?
        /// Pings and pongs the peer may send before it is closed with 1008 (`WebSocketControlFrameBudget`); nil: any
        /// number, bounded only by TCP backpressure.
        package var controlFrameLimits: WebSocketControlFrameLimits? = .standard

        /// The negotiated permessage-deflate parameters and the bridge's own settings for it.
        public struct Compression: Sendable {
            package var agreement: PerMessageDeflate.Agreement
            package var settings: PerMessageDeflate.Settings

            public init(agreement: PerMessageDeflate.Agreement, settings: PerMessageDeflate.Settings) {
                self.agreement = agreement
                self.settings = settings
            }
        }

        public init(
            role: Role = .server,
            maximumFrameSize: Int = 16 << 20,
            maximumMessageSize: Int? = nil,
            closeTimeout: TimeAmount = .seconds(3),
            coalescingLimit: Int = 16 << 10,
            inbound: WebSocketInboundMode = .byteStream(flushThreshold: 64 << 10),
            acceptsText: Bool = false,
            pingInterval: TimeAmount? = nil,
            pingTimeout: TimeAmount = .seconds(10),
            compression: Compression? = nil
        ) {
            self.role = role
            self.maximumFrameSize = maximumFrameSize
            self.maximumMessageSize = maximumMessageSize ?? (inbound == .messages ? maximumFrameSize : .max)
            self.closeTimeout = closeTimeout
            self.coalescingLimit = coalescingLimit
            self.inbound = inbound
            self.acceptsText = acceptsText
            self.pingInterval = pingInterval
            self.pingTimeout = pingTimeout
            self.compression = compression
        }
    }

    /// The one setting still needed after `init` (each part keeps its own): the whole `Configuration`, kept for it,
    /// was ≈ 150 bytes of every idle connection (docs/PERFORMANCE.md "RSS per idle session").
    private let controlFrameLimits: WebSocketControlFrameLimits?
    private var reader: WebSocketFrameReader
    private var assembler: WebSocketInboundAssembler
    private var writer: WebSocketFrameWriter
    private var machine: WebSocketConnectionStateMachine
    /// The one timer: keepalive check, close timeout or the deadline of a close waiting for a streamed message.
    private var timer: Scheduled<Void>?
    /// The payload of the latest ping that could not be answered yet (channel not writable, streamed message).
    private var deferredPong: ByteBuffer?
    /// A frame arrived in the current read burst (keepalive bookkeeping, once per burst).
    private var heardFromPeer = false
    /// Nil without limits, and until the handler is added (the budget starts on the loop's clock).
    private var controlFrameBudget: WebSocketControlFrameBudget?

    public init(configuration: Configuration = Configuration()) {
        self.controlFrameLimits = configuration.controlFrameLimits
        self.reader = WebSocketFrameReader(
            configuration: .init(
                role: configuration.role, maximumFrameSize: configuration.maximumFrameSize,
                maximumMessageSize: configuration.maximumMessageSize, acceptsText: configuration.acceptsText,
                compressionNegotiated: configuration.compression != nil))
        self.assembler = WebSocketInboundAssembler(
            mode: configuration.inbound,
            decompressor: configuration.compression.map {
                // The smaller limit: in `.messages` mode an inflated message is held whole like any other.
                PerMessageDeflateDecompressor(
                    agreement: $0.agreement, maximumMessageSize: min(configuration.maximumFrameSize, configuration.maximumMessageSize))
            })
        self.writer = WebSocketFrameWriter(
            role: configuration.role, coalescingLimit: configuration.coalescingLimit,
            compressor: configuration.compression.map { PerMessageDeflateCompressor(agreement: $0.agreement, settings: $0.settings) })
        self.machine = WebSocketConnectionStateMachine(
            configuration: .init(
                closeTimeout: configuration.closeTimeout, pingInterval: configuration.pingInterval, pingTimeout: configuration.pingTimeout),
            now: .uptimeNanoseconds(0))
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.machine.peerHeard(at: context.eventLoop.now)
        self.controlFrameBudget = self.controlFrameLimits.map {
            WebSocketControlFrameBudget(limits: $0, now: context.eventLoop.now)
        }
        self.perform(self.machine.start(), context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        // The pipeline is being torn down: nothing buffered can be written any more, but nobody may wait forever.
        self.writer.fail(ChannelError.ioOnClosedChannel)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = nil
        self.machine.channelClosed()
        self.reader.finish()
        self.assembler.reset()
        self.deferredPong = nil
        self.writer.fail(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = self.unwrapInboundIn(data)
        // Once per read, not per frame: `Channel.allocator` is an existential property access.
        let allocator = context.channel.allocator
        do {
            while true {
                // The common case first (see `nextWholeBinaryMessage`); everything else through `nextEvent`.
                if let message = self.reader.nextWholeBinaryMessage(from: &input) {
                    self.heardFromPeer = true
                    guard self.machine.deliversData else { continue }
                    if let output = self.assembler.append(message, of: input, allocator: allocator) {
                        self.deliver(output, context: context)
                    }
                    continue
                }
                guard let event = try self.reader.nextEvent(from: &input) else { break }
                self.heardFromPeer = true
                // `consume` here and below: the fragment moves from the event into the assembler, and no `Event?`
                // is left to destroy (its outlined destroy goes through value witnesses: ~200 instructions a message).
                switch consume event {
                case .data(let fragment):
                    // After our close frame the peer's data is discarded (it may still answer the close), unless the
                    // close asked to keep receiving it.
                    guard self.machine.deliversData else { continue }
                    if let output = try self.assembler.append(consume fragment, allocator: allocator) {
                        self.deliver(output, context: context)
                    }
                case .ping(let payload):
                    try self.spendControlFrame(context: context)
                    self.pingReceived(payload, context: context)
                case .pong:
                    try self.spendControlFrame(context: context)
                    context.fireUserInboundEventTriggered(WebSocketEvent.pongReceived)
                case .close(let code, let reason):
                    self.closeReceived(code: code, reason: reason, context: context)
                }
            }
        } catch {
            self.refuse(error, context: context)
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if self.heardFromPeer {
            self.heardFromPeer = false
            // Only with keepalive on: the hot path reads no clock otherwise.
            if self.machine.usesKeepalive { self.machine.peerHeard(at: context.eventLoop.now) }
        }
        self.deliverBurst(context: context)
        // Pongs queued while reading go out with this burst.
        if self.writer.hasOutput {
            self.writeOutput(context: context)
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, !self.writer.isStreaming, let pong = self.deferredPong {
            self.deferredPong = nil
            if self.machine.isOpen {
                self.writer.appendControlFrame(.pong, payload: pong, allocator: context.channel.allocator)
                self.writeOutput(context: context)
                context.flush()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    private func deliver(_ output: WebSocketInboundAssembler.Output, context: ChannelHandlerContext) {
        switch output {
        case .bytes(let bytes): context.fireChannelRead(self.wrapInboundOut(bytes))
        case .message(let message): context.fireChannelRead(NIOAny(message))
        }
    }

    private func deliverBurst(context: ChannelHandlerContext) {
        guard let bytes = self.assembler.takeBurst() else { return }
        context.fireChannelRead(self.wrapInboundOut(bytes))
    }

    /// Counts a ping or pong against the peer's budget: beyond it, the peer is refused (1008) like any violation.
    private func spendControlFrame(context: ChannelHandlerContext) throws(WebSocketProtocolError) {
        guard var budget = self.controlFrameBudget else { return }
        defer { self.controlFrameBudget = budget }
        guard budget.spend(now: context.eventLoop.now) else { throw budget.refusal }
    }

    private func pingReceived(_ payload: ByteBuffer, context: ChannelHandlerContext) {
        guard self.machine.isOpen else { return }
        guard context.channel.isWritable, !self.writer.isStreaming else {
            // A peer that pings but does not read must not grow our buffers: keep only the latest ping's payload and
            // answer it once the channel drains (RFC 6455 §5.5.3 allows answering only the most recent ping). Likewise
            // while a streamed message is half written: a control frame cannot go inside a frame.
            self.deferredPong = payload
            return
        }
        self.writer.appendControlFrame(.pong, payload: payload, allocator: context.channel.allocator)
    }

    private func closeReceived(code: WebSocketCloseCode?, reason: String, context: ChannelHandlerContext) {
        // Everything the peer sent before its close frame goes on first.
        self.deliverBurst(context: context)
        let action = self.machine.closeReceived(code: code, streaming: self.writer.isStreaming, now: context.eventLoop.now)
        guard action != .none else { return }
        // The answer is written before the event, so a handler that closes the channel on the event cannot lose it.
        self.perform(action, context: context) {
            context.fireUserInboundEventTriggered(WebSocketEvent.closeReceived(code: code, reason: reason))
        }
    }

    /// Gives up on the peer: passes on the valid bytes received before the violation, reports it, sends the close
    /// frame with its code and closes the socket once that is written.
    private func refuse(_ error: WebSocketProtocolError, context: ChannelHandlerContext) {
        self.deliverBurst(context: context)
        self.reader.finish()
        let wasOpen = self.machine.isOpen
        let action = self.machine.protocolViolation(error, streaming: self.writer.isStreaming, now: context.eventLoop.now)
        // Already closing: a second error changes nothing for the peer, and the handler behind knows the connection ends.
        self.perform(
            action, context: context,
            report: wasOpen ? { context.fireUserInboundEventTriggered(WebSocketEvent.protocolViolation(error)) } : nil)
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let allocator = context.channel.allocator
        switch self.unwrapOutboundIn(data) {
        case .binary(let payload):
            guard self.machine.isOpen else { return Self.refuseWrite(promise) }
            self.writer.writeMessage(payload, kind: .binary, promise: promise, allocator: allocator)
        case .binaries(let payloads):
            guard self.machine.isOpen else { return Self.refuseWrite(promise) }
            self.writer.writeMessages(payloads, kind: .binary, promise: promise, allocator: allocator)
        case .text(let payload):
            guard self.machine.isOpen else { return Self.refuseWrite(promise) }
            self.writer.writeMessage(payload, kind: .text, promise: promise, allocator: allocator)
        case .beginBinary(let totalLength, let firstPart):
            guard self.machine.isOpen else { return Self.refuseWrite(promise) }
            do {
                let wasStreaming = self.writer.isStreaming
                try self.writer.beginStream(totalLength: totalLength, firstPart: firstPart, promise: promise, allocator: allocator)
                if !wasStreaming, !self.writer.isStreaming { self.streamCompleted(context: context) }
            } catch {
                context.fireErrorCaught(error)
            }
        case .continueBinary(let part):
            // Accepted while a close waits for this very message to end.
            guard !self.machine.isClosed else { return Self.refuseWrite(promise) }
            do {
                if try self.writer.continueStream(part, promise: promise, allocator: allocator), !self.writer.isStreaming {
                    self.streamCompleted(context: context)
                }
            } catch {
                context.fireErrorCaught(error)
            }
        case .close(let code, let reason, let keepsReceiving):
            promise?.succeed()
            let action = self.machine.closeRequested(
                code, reason: reason, keepsReceiving: keepsReceiving, streaming: self.writer.isStreaming, now: context.eventLoop.now)
            self.perform(action, context: context)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        self.writeOutput(context: context)
        context.flush()
    }

    private static func refuseWrite(_ promise: EventLoopPromise<Void>?) {
        promise?.fail(ChannelError.outputClosed)
    }

    /// The streamed message is complete (and what waited for it is queued): a ping it held back is answered, and a
    /// close or keepalive ping that waited for it goes out.
    private func streamCompleted(context: ChannelHandlerContext) {
        if let pong = self.deferredPong, context.channel.isWritable, self.machine.isOpen {
            self.deferredPong = nil
            self.writer.appendControlFrame(.pong, payload: pong, allocator: context.channel.allocator)
        }
        self.perform(self.machine.streamCompleted(now: context.eventLoop.now), context: context)
    }

    /// Passes everything encoded on to the socket, in order (without flushing).
    private func writeOutput(context: ChannelHandlerContext) {
        while let (bytes, promise) = self.writer.nextWrite() {
            context.write(self.wrapOutboundOut(bytes), promise: promise)
        }
    }

    // MARK: Actions

    /// Performs what the state machine decided. `report` tells the handler behind why the connection ends: it runs
    /// once the close frame (if any) is on its way and before the socket is closed.
    private func perform(_ action: WebSocketConnectionStateMachine.Action, context: ChannelHandlerContext, report: (() -> Void)? = nil) {
        let allocator = context.channel.allocator
        switch action {
        case .none:
            report?()
        case .sendClose(let frame, .awaitAnswer(let deadline)):
            // Data already written goes out before the close frame.
            self.writer.appendCloseFrame(code: frame.code, reason: frame.reason, allocator: allocator)
            self.writeOutput(context: context)
            context.flush()
            self.arm(deadline, context: context)
            report?()
        case .sendClose(let frame, .closeSocket):
            self.writer.appendCloseFrame(code: frame.code, reason: frame.reason, allocator: allocator)
            let written = context.eventLoop.makePromise(of: Void.self)
            self.writer.attach(written)
            self.writeOutput(context: context)
            context.flush()
            report?()
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        case .waitForStream(let deadline):
            // The part of the streamed message queued so far goes out; the rest, and the close frame, follow.
            self.writeOutput(context: context)
            context.flush()
            self.arm(deadline, context: context)
            report?()
        case .sendPing(let deadline):
            self.writer.appendControlFrame(.ping, payload: ByteBuffer(), allocator: allocator)
            self.writeOutput(context: context)
            context.flush()
            self.arm(deadline, context: context)
        case .arm(let deadline):
            self.arm(deadline, context: context)
        case .keepaliveExpired(let reason, let sendsCloseFrame):
            self.reader.finish()
            context.fireUserInboundEventTriggered(WebSocketEvent.keepaliveTimeout(reason: reason))
            if sendsCloseFrame {
                self.writer.appendCloseFrame(code: .goingAway, reason: reason, allocator: allocator)
            }
            self.writeOutput(context: context)
            context.flush()
            context.close(promise: nil)
        case .closeSocket:
            self.timer?.cancel()
            self.timer = nil
            report?()
            context.close(promise: nil)
        }
    }

    private func arm(_ deadline: NIODeadline, context: ChannelHandlerContext) {
        self.timer?.cancel()
        self.timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            self.perform(self.machine.timerFired(now: context.eventLoop.now, streaming: self.writer.isStreaming), context: context)
        }
    }
}
