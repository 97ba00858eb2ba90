import Logging
import MQTTWire
import NIOCore
import WebSocketTransport

/// What the front end knows about a session when it hands the connection over.
public struct SessionDescriptor: Sendable {
    /// The client's address as the access log shows it.
    public var clientAddress: String
    public var listener: String
    public var route: String
    /// The `Sec-WebSocket-Protocol` value answered in the 101, or nil when none was.
    public var subprotocol: String?
    /// Bytes the broker connection must start with (a PROXY protocol v2 header), if any.
    public var upstreamPrelude: ByteBuffer?

    public init(clientAddress: String, listener: String, route: String, subprotocol: String?, upstreamPrelude: ByteBuffer? = nil) {
        self.clientAddress = clientAddress
        self.listener = listener
        self.route = route
        self.subprotocol = subprotocol
        self.upstreamPrelude = upstreamPrelude
    }
}

/// Per-route relay settings.
public struct SessionSettings: Sendable {
    /// Largest MQTT packet accepted from the client and relayed from the broker.
    public var maximumPacketSize: Int
    /// From the 101 until the client's whole CONNECT has arrived.
    public var connectPacketTimeout: TimeAmount
    /// From dialling until the broker connection is ready (TCP + TLS).
    public var upstreamReadyTimeout: TimeAmount
    /// After the client is gone, how long the broker gets to close its side before the bridge closes it.
    public var upstreamLingerTimeout: TimeAmount
    /// The route's topic policy, if it has one.
    public var topicAuthorizer: (any TopicAuthorizer)?

    public init(
        maximumPacketSize: Int,
        connectPacketTimeout: TimeAmount = .seconds(10),
        upstreamReadyTimeout: TimeAmount = .seconds(5),
        upstreamLingerTimeout: TimeAmount = .seconds(3),
        topicAuthorizer: (any TopicAuthorizer)? = nil
    ) {
        self.maximumPacketSize = maximumPacketSize
        self.connectPacketTimeout = connectPacketTimeout
        self.upstreamReadyTimeout = upstreamReadyTimeout
        self.upstreamLingerTimeout = upstreamLingerTimeout
        self.topicAuthorizer = topicAuthorizer
    }
}

/// The client side of the glue: the last handler of the client channel, behind `WebSocketMessageCodec`.
///
/// Client → broker: the codec delivers unmasked MQTT bytes per read burst; `MQTTStreamScanner`
/// checks packet boundaries and limits without holding bytes, and the bytes go to the broker as they
/// are, one write and one flush per burst. Only the first packet is held: the CONNECT is inspected
/// (for logs) and the broker is dialled after it, on this channel's event loop.
///
/// Broker → client: `MQTTPacketAccumulator` cuts the stream into whole packets, each written to the
/// codec as one binary message (a packet over `streamingThreshold` as one message streamed while it arrives); one
/// flush per broker read burst. Everything goes to the codec through the pipeline as `WebSocketOutbound` values.
///
/// Decisions are made by `SessionStateMachine`; this class performs them.
public final class ClientSessionHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = WebSocketOutbound

    private var machine = SessionStateMachine()
    private let descriptor: SessionDescriptor
    private let settings: SessionSettings
    private let connector: any UpstreamConnector
    private let metrics: BridgeMetrics.Route
    private let connectMetrics: BridgeMetrics
    private var logger: Logger
    private let accessLogger: Logger?

    private var context: ChannelHandlerContext?
    private var upstream: UpstreamHandler?

    private var scanner: MQTTStreamScanner
    private var accumulator: MQTTPacketAccumulator
    /// Client bytes from the CONNECT on, held until the broker connection is ready.
    private var held: ByteBuffer?
    /// Length of the first packet (the CONNECT), known once its fixed header has arrived.
    private var connectPacketLength: Int?
    private var sawFirstPacket = false
    private var firstPacketProblem: String?
    /// Only with a topic policy: client packets after the CONNECT are assembled whole and checked
    /// before they are forwarded.
    private var policy: TopicPolicyFilter?

    /// Bytes of a large broker packet still to forward after its start (see `streamingThreshold`).
    private var streamRemaining = 0
    /// The session is ending while a broker packet is half forwarded: the broker connection stays open until the rest
    /// of that packet is through, so the codec can finish the frame and send what waits behind it (a DISCONNECT, the
    /// close frame). The codec's close timeout bounds the wait.
    private var upstreamCloseAwaitsStream = false
    /// Broker packets larger than this are forwarded while they arrive instead of being assembled first.
    static let streamingThreshold = 64 * 1024

    private var pendingRead = false
    private var upstreamNeedsFlush = false
    private var clientNeedsFlush = false
    private var clientCounts = PacketCounts()
    private var brokerCounts = PacketCounts()
    private var burstBytesFromClient = 0
    private var burstBytesToClient = 0
    private var totalBytesFromClient = 0
    private var totalBytesToClient = 0

    private let startedAt = NIODeadline.now()
    private var dialStartedAt: NIODeadline?
    private var connectPacketTimer: Scheduled<Void>?
    private var upstreamTimer: Scheduled<Void>?
    private var transportError: String?

    public init(
        descriptor: SessionDescriptor,
        settings: SessionSettings,
        connector: any UpstreamConnector,
        metrics: BridgeMetrics,
        logger: Logger,
        accessLogger: Logger?
    ) {
        self.descriptor = descriptor
        self.settings = settings
        self.connector = connector
        self.connectMetrics = metrics
        self.metrics = metrics.route(descriptor.route)
        self.logger = logger
        self.logger[metadataKey: "client"] = "\(descriptor.clientAddress)"
        self.logger[metadataKey: "route"] = "\(descriptor.route)"
        self.accessLogger = accessLogger
        self.scanner = MQTTStreamScanner(maximumPacketSize: settings.maximumPacketSize)
        self.accumulator = MQTTPacketAccumulator(maximumPacketSize: settings.maximumPacketSize)
        self.policy = settings.topicAuthorizer.map {
            TopicPolicyFilter(authorizer: $0, maximumPacketSize: settings.maximumPacketSize)
        }
    }

    // MARK: Channel events

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.metrics.sessions.increment()
        self.metrics.openSessions.increment()
        let timeout = self.settings.connectPacketTimeout
        self.connectPacketTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.perform(self.machine.connectTimedOut(after: timeout.humanDescription))
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = self.unwrapInboundIn(data)
        switch self.machine.state {
        case .awaitingConnect, .connectingUpstream, .relaying:
            break
        case .closing, .closed:
            return  // the session is ending; nothing more goes to the broker
        }
        self.burstBytesFromClient += bytes.readableBytes

        do {
            try self.scanner.scan(bytes) { header in
                self.clientCounts.add(header.type)
                if header.type == .disconnect { self.machine.disconnectReceived() }
                if !self.sawFirstPacket {
                    self.sawFirstPacket = true
                    if header.type == .connect {
                        self.connectPacketLength = header.packetLength
                    } else {
                        self.firstPacketProblem = "first packet must be CONNECT, got \(header.type)"
                    }
                }
            }
        } catch {
            let code: WebSocketCloseCode = error.code == .packetTooLarge ? .messageTooBig : .protocolError
            self.perform(self.machine.clientViolatedMQTT(code, error.description))
            return
        }
        if let problem = self.firstPacketProblem {
            self.perform(self.machine.clientViolatedMQTT(.protocolError, problem))
            return
        }

        switch self.machine.state {
        case .awaitingConnect:
            self.hold(bytes)
            self.inspectConnectIfComplete()
        case .connectingUpstream:
            guard let admitted = self.admit(bytes) else { return }
            self.hold(admitted)
        case .relaying:
            guard let admitted = self.admit(bytes) else { return }
            self.upstream?.partnerWrite(admitted)
            self.upstreamNeedsFlush = true
        case .closing, .closed:
            break
        }
    }

    /// The bytes that may go to the broker: all of them without a topic policy; with one, the whole
    /// packets that passed it (nil while a packet is incomplete, or when the client was disconnected).
    private func admit(_ bytes: ByteBuffer) -> ByteBuffer? {
        guard self.policy != nil else { return bytes }
        switch self.policy!.admit(bytes, version: self.machine.connect?.version ?? .v3_1_1) {
        case .forward(let admitted):
            return admitted
        case .denied(let reason, let allowed):
            self.metrics.topicPolicyDenied()
            // Packets before the offending one were fine: they still reach the broker.
            if let allowed {
                if self.machine.state == .relaying {
                    self.upstream?.partnerWrite(allowed)
                    self.upstreamNeedsFlush = true
                } else {
                    self.hold(allowed)
                }
            }
            if let context, self.machine.connect?.version == .v5 {
                // MQTT 5 can say why: DISCONNECT with reason 0x87 "Not authorized" before the close frame.
                // While a large broker packet is half forwarded, the codec holds it (and the close frame) until that
                // packet's frame is complete.
                let disconnect = MQTTPacket.disconnect(reasonCode: 0x87, version: .v5, allocator: context.channel.allocator)
                context.write(self.wrapOutboundOut(.binary(disconnect)), promise: nil)
            }
            self.perform(self.machine.clientViolatedMQTT(.policyViolation, "topic policy: \(reason)"))
            return nil
        case .malformed(let error):
            self.perform(self.machine.clientViolatedMQTT(.protocolError, error.description))
            return nil
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if self.upstreamNeedsFlush {
            self.upstreamNeedsFlush = false
            self.upstream?.partnerFlush()
        }
        self.metrics.record(&self.clientCounts, direction: .clientToBroker)
        self.metrics.recordBytes(self.burstBytesFromClient, direction: .clientToBroker)
        self.totalBytesFromClient += self.burstBytesFromClient
        self.burstBytesFromClient = 0
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { self.upstream?.partnerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    public func read(context: ChannelHandlerContext) {
        switch self.machine.state {
        case .connectingUpstream:
            // Nothing can be forwarded yet: leave the bytes in the kernel.
            self.pendingRead = true
        case .relaying where !(self.upstream?.isWritable ?? true):
            self.pendingRead = true
        default:
            context.read()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let event as WebSocketEvent:
            switch event {
            case .closeReceived(let code, let reason):
                self.perform(self.machine.clientSentClose(code: code, reason: reason))
            case .protocolViolation(let error):
                self.perform(self.machine.clientViolatedWebSocket(error))
            case .pongReceived:
                break
            case .keepaliveTimeout(let reason):
                self.perform(self.machine.clientViolatedWebSocket(WebSocketProtocolError(.goingAway, reason)))
            }
        case is ChannelShouldQuiesceEvent:
            self.perform(self.machine.drain())
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Transport errors (TLS alerts, resets): the client is gone.
        if self.transportError == nil { self.transportError = UpstreamErrorDescription.describe(error) }
        context.close(promise: nil)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.connectPacketTimer?.cancel()
        self.upstreamTimer?.cancel()
        self.perform(self.machine.clientInactive(transportError: self.transportError))
        self.finish()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.connectPacketTimer?.cancel()
        self.upstreamTimer?.cancel()
        self.context = nil
    }

    // MARK: CONNECT

    private func hold(_ bytes: ByteBuffer) {
        if self.held == nil {
            self.held = bytes
        } else {
            var bytes = bytes
            self.held!.writeBuffer(&bytes)
        }
    }

    private func inspectConnectIfComplete() {
        guard let length = self.connectPacketLength, let held = self.held, held.readableBytes >= length,
            let packet = held.getSlice(at: held.readerIndex, length: length)
        else { return }
        do {
            let info = try MQTTConnectInfo(parsing: packet)
            self.connectPacketTimer?.cancel()
            self.connectPacketTimer = nil
            self.logger.debug(
                "CONNECT",
                metadata: [
                    "client_id": "\(info.clientID)", "mqtt_version": "\(info.version?.description ?? "level \(info.protocolLevelByte)")",
                    "username": "\(info.username ?? "-")", "keepalive": "\(info.keepAlive)", "clean_start": "\(info.cleanStart)",
                ]
            )
            self.perform(self.machine.connectReceived(info))
            if self.policy != nil, held.readableBytes > length {
                // Packets sent right behind the CONNECT are subject to the policy too.
                self.held = packet
                if let admitted = self.admit(held.getSlice(at: held.readerIndex + length, length: held.readableBytes - length)!) {
                    self.hold(admitted)
                }
            }
        } catch {
            self.perform(self.machine.clientViolatedMQTT(.protocolError, "malformed CONNECT: \(error)"))
        }
    }

    // MARK: Actions

    private func perform(_ action: SessionStateMachine.Action) {
        guard let context = self.context else { return }
        switch action {
        case .none:
            break
        case .dialUpstream:
            self.dial(context: context)
        case .startRelaying:
            self.upstreamTimer?.cancel()
            self.upstreamTimer = nil
            // A preconnected (ws) upstream was measured when it was dialled, before the 101.
            if let started = self.dialStartedAt, !(self.connector is PreconnectedUpstream) {
                self.connectMetrics.recordUpstreamConnect(since: started)
            }
            if let held = self.held, let upstream = self.upstream {
                self.held = nil
                upstream.partnerWrite(held)
                upstream.partnerFlush()
            }
            if self.pendingRead {
                self.pendingRead = false
                context.read()
            }
        case .refuseWithConnack(let version, let ending):
            self.connectMetrics.upstreamConnectFailed()
            self.cancelTimers()
            self.held = nil
            self.logger.warning("broker unavailable", metadata: ["reason": "\(ending.reason)", "upstream": "\(self.connector.endpointDescription)"])
            context.write(self.wrapOutboundOut(.binary(MQTTPacket.connackServerUnavailable(version: version ?? .v3_1_1, allocator: context.channel.allocator))), promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.close(ending.code, reason: Self.publicReason(for: ending))), promise: nil)
            self.closeUpstream(graceful: false)
            self.resumeHeldRead(context: context)
        case .closeClient(let ending):
            self.cancelTimers()
            self.held = nil
            context.writeAndFlush(self.wrapOutboundOut(.close(ending.code, reason: Self.publicReason(for: ending))), promise: nil)
            self.closeUpstream(graceful: true)
            self.resumeHeldRead(context: context)
        case .closeUpstream:
            self.cancelTimers()
            self.closeUpstream(graceful: true)
            self.resumeHeldRead(context: context)
        }
    }

    /// A read held back for backpressure (or while dialling) must be replayed once the session is
    /// closing: the client's answer to our close frame has to be read, or the close waits for its timeout.
    private func resumeHeldRead(context: ChannelHandlerContext) {
        guard self.pendingRead else { return }
        self.pendingRead = false
        context.read()
    }

    /// What the client is told in the close frame. Reasons about the broker side (host names, TLS
    /// errors) stay in the logs: clients are not told how the network behind the bridge looks.
    static func publicReason(for ending: SessionEnding) -> String {
        switch ending.code {
        case .tryAgainLater: "broker unavailable"
        case .internalError: "broker error"
        default: ending.reason
        }
    }

    private func dial(context: ChannelHandlerContext) {
        let handler = UpstreamHandler(session: self)
        self.upstream = handler
        self.dialStartedAt = .now()
        let timeout = self.settings.upstreamReadyTimeout
        self.upstreamTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            guard self.upstream === handler else { return }
            self.perform(self.machine.upstreamFailed("no connection within \(timeout.humanDescription)"))
        }
        self.connector.connect(
            on: context.eventLoop, handler: NIOLoopBound(handler, eventLoop: context.eventLoop), prelude: self.descriptor.upstreamPrelude)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    // The session may have ended (client gone, drain, timeout) while the broker was being
                    // dialled — before the handler had a context to close: close the late connection now.
                    if self.upstream !== handler { channel.close(promise: nil) }
                case .failure(let error):
                    guard self.upstream === handler else { return }
                    self.perform(self.machine.upstreamFailed(UpstreamErrorDescription.describe(error)))
                }
            }
    }

    private func closeUpstream(graceful: Bool) {
        guard let upstream = self.upstream else { return }
        if graceful, self.streamRemaining > 0, self.context?.channel.isActive == true {
            self.upstreamCloseAwaitsStream = true  // closed by `upstreamRead` once the packet is through
            return
        }
        self.upstream = nil
        if graceful, self.upstreamNeedsFlush {
            self.upstreamNeedsFlush = false
            upstream.partnerFlush()
        }
        upstream.partnerClose(graceful: graceful, fullCloseAfter: self.settings.upstreamLingerTimeout)
    }

    private func cancelTimers() {
        self.connectPacketTimer?.cancel()
        self.connectPacketTimer = nil
        self.upstreamTimer?.cancel()
        self.upstreamTimer = nil
    }

    // MARK: Partner API (called by UpstreamHandler on the same event loop)

    var clientIsWritable: Bool { self.context?.channel.isWritable ?? false }

    func upstreamBecameReady() {
        self.perform(self.machine.upstreamReady())
    }

    func upstreamRead(_ bytes: ByteBuffer) {
        guard let context = self.context else { return }
        var bytes = bytes
        if self.streamRemaining > 0 {
            // The rest of a large packet already announced to the client: forward it as it comes, also while the
            // session is ending (what the codec holds behind the frame can only follow a complete frame).
            let part = bytes.readSlice(length: min(self.streamRemaining, bytes.readableBytes))!
            self.streamRemaining -= part.readableBytes
            self.burstBytesToClient += part.readableBytes
            self.clientNeedsFlush = true
            context.write(self.wrapOutboundOut(.continueBinary(part)), promise: nil)
            if self.streamRemaining == 0, self.upstreamCloseAwaitsStream {
                self.upstreamCloseAwaitsStream = false
                self.upstreamReadComplete()
                self.closeUpstream(graceful: true)
                return
            }
        }
        guard self.machine.state == .relaying, bytes.readableBytes > 0 else { return }
        self.burstBytesToClient += bytes.readableBytes
        self.accumulator.append(bytes)
        do {
            // Large packets are streamed (one frame, header first) rather than assembled: lower latency for big
            // messages and memory bounded by a read, not by the packet. (With compression the codec collects the
            // parts and compresses the whole message.)
            while let output = try self.accumulator.next(streamingPacketsLongerThan: Self.streamingThreshold) {
                switch output {
                case .packet(let header, let packet):
                    self.brokerCounts.add(header.type)
                    context.write(self.wrapOutboundOut(.binary(packet)), promise: nil)
                case .start(let header, let firstPart):
                    self.brokerCounts.add(header.type)
                    self.streamRemaining = header.packetLength - firstPart.readableBytes
                    context.write(self.wrapOutboundOut(.beginBinary(totalLength: header.packetLength, firstPart: firstPart)), promise: nil)
                }
                self.clientNeedsFlush = true
            }
        } catch {
            self.accumulator.reset()
            self.perform(self.machine.upstreamFailed("broker sent an invalid packet: \(error)"))
        }
    }

    func upstreamReadComplete() {
        if self.clientNeedsFlush {
            self.clientNeedsFlush = false
            self.context?.flush()
        }
        self.metrics.record(&self.brokerCounts, direction: .brokerToClient)
        self.metrics.recordBytes(self.burstBytesToClient, direction: .brokerToClient)
        self.totalBytesToClient += self.burstBytesToClient
        self.burstBytesToClient = 0
    }

    func upstreamBecameWritable() {
        guard self.pendingRead, self.machine.state == .relaying, let context = self.context else { return }
        self.pendingRead = false
        context.read()
    }

    func upstreamInactive(failure: String?) {
        self.upstream = nil
        let streamCutShort = self.streamRemaining > 0
        if self.clientNeedsFlush { self.upstreamReadComplete() }
        if self.accumulator.bufferedByteCount > 0 || self.streamRemaining > 0 {
            self.logger.debug(
                "broker closed mid-packet",
                metadata: ["buffered_bytes": "\(self.accumulator.bufferedByteCount)", "streamed_bytes_missing": "\(self.streamRemaining)"])
            self.accumulator.reset()
        }
        if let failure {
            self.perform(self.machine.upstreamFailed(failure))
        } else {
            self.perform(self.machine.upstreamClosed())
        }
        // The frame of a packet the broker never finished cannot be completed, nor can anything follow it.
        if streamCutShort { self.context?.close(promise: nil) }
    }

    // MARK: End of session

    private func finish() {
        self.totalBytesFromClient += self.burstBytesFromClient
        self.totalBytesToClient += self.burstBytesToClient
        self.metrics.openSessions.decrement()
        let ending = self.machine.ending ?? SessionEnding(.client, .abnormalClosure, "connection closed")
        self.metrics.closed(code: ending.code.rawValue, initiator: ending.initiator.rawValue)
        guard let accessLogger = self.accessLogger else { return }
        let connect = self.machine.connect
        let duration = NIODeadline.now() - self.startedAt
        accessLogger.info(
            "session",
            metadata: [
                "client": "\(self.descriptor.clientAddress)",
                "listener": "\(self.descriptor.listener)",
                "route": "\(self.descriptor.route)",
                "subprotocol": "\(self.descriptor.subprotocol ?? "none")",
                "mqtt_version": "\(connect?.version?.description ?? "-")",
                "client_id": "\(connect?.clientID ?? "-")",
                "username": "\(connect?.username ?? "-")",
                "bytes_in": "\(self.totalBytesFromClient)",
                "bytes_out": "\(self.totalBytesToClient)",
                "duration_ms": "\(duration.nanoseconds / 1_000_000)",
                "closed_by": "\(ending.initiator.rawValue)",
                "close_code": "\(ending.code.rawValue)",
                "reason": "\(ending.reason)",
            ]
        )
    }
}

