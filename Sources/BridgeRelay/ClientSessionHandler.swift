import Logging
import MQTTWire
import NIOCore
import SessionRegistry
import WebSocketTransport

/// The client side of the glue: the last handler of the client channel, behind `WebSocketMessageCodec`.
///
/// Client → broker: the codec delivers unmasked MQTT bytes per read burst; `MQTTStreamScanner`
/// checks packet boundaries and limits without holding bytes, and the bytes go to the broker as they
/// are, one write per burst (flushes: as to the client). Only the first packet is held: the CONNECT is inspected
/// (for logs and the choice of broker) and the broker is dialled after it, on this channel's event loop; or, for an
/// upstream that answers the upgrade (`ws`), before the 101 (`answerUpgrade`). Either way through `UpstreamDial`.
///
/// Broker → client: `MQTTPacketAccumulator` cuts whole packets, written once per read (`BrokerPacketBatch`, one
/// `WebSocketOutbound.binaries` value; over `streamingThreshold`: streamed as it arrives); a flush per burst or busy window.
///
/// Decisions are made by `SessionStateMachine`; this class performs them.
package final class ClientSessionHandler: ChannelDuplexHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = WebSocketOutbound

    var machine = SessionStateMachine()
    var descriptor: SessionDescriptor
    let settings: SessionSettings
    let metrics: BridgeMetrics.Route
    let connectMetrics: BridgeMetrics
    /// The bridge's logger as given, without this session's metadata: `log` adds it to each line written, so an
    /// idle session keeps no metadata dictionary of its own (≈ 400 bytes; docs/PERFORMANCE.md "RSS per idle session").
    private let sharedLogger: Logger
    private let accessLogger: Logger?

    private(set) var context: ChannelHandlerContext?
    /// The broker side: dialled through `UpstreamDial`, then glued to this handler.
    let link: SessionUpstreamLink
    /// Set by `answerUpgrade` when the 101 waits for the broker.
    var subprotocolOffer: SubprotocolOffer?
    var upgradeAnswer: EventLoopPromise<UpgradeAnswer>?

    private(set) var scanner: MQTTStreamScanner
    private var accumulator: MQTTPacketAccumulator
    private var packetsToClient = BrokerPacketBatch()
    private var held = HeldClientBytes()
    /// Only with a topic policy: client packets after the CONNECT are assembled whole and checked
    /// before they are forwarded.
    var policy: TopicPolicyFilter?
    /// Edge authentication's verdict, on routes with `auth` (`ClientSessionHandler+EdgeAuth`): the access line's `auth`, `sub`.
    var edgeAuth: EdgeAuthVerdict?

    /// Bytes of a large broker packet still to forward after its start (see `streamingThreshold`).
    private var streamRemaining = 0
    /// The session ends while a broker packet is half forwarded: the broker connection stays open until the rest is
    /// through (see `closeUpstream`), bounded by the codec's close timeout.
    private var upstreamCloseAwaitsStream = false
    /// Broker packets larger than this are forwarded while they arrive instead of being assembled first.
    static let streamingThreshold = 64 * 1024

    private var pendingRead = false
    private var clientNeedsFlush = false
    private(set) var clientCounts = PacketCounts()
    private(set) var brokerCounts = PacketCounts()
    private(set) var burstBytesFromClient = 0
    private(set) var burstBytesToClient = 0
    private(set) var totalBytesFromClient = 0
    private(set) var totalBytesToClient = 0

    private let startedAt = NIODeadline.now()
    private var connectPacketTimer: Scheduled<Void>?
    /// `timeouts.packet`; nil when it is off.
    var packetDeadline: PacketCompletionDeadline?
    var packetDeadlineTimer: Scheduled<Void>?
    private var transportError: String?
    /// In the admin API's registry from CONNECT to close, when the bridge keeps one (ClientSessionHandler+Admin).
    let registry: SessionRegistry?
    var registration: SessionRegistration?

    /// A session that registers nowhere (the microbenchmarks, a separate package, make it so).
    package convenience init(
        descriptor: SessionDescriptor, settings: SessionSettings, upstream: Upstream, metrics: BridgeMetrics, logger: Logger,
        accessLogger: Logger?
    ) {
        self.init(
            descriptor: descriptor, settings: settings, upstream: upstream, metrics: metrics, logger: logger,
            accessLogger: accessLogger, registry: nil)
    }

    /// - Parameter registry: the admin API's open sessions; nil: the session registers nowhere.
    package init(
        descriptor: SessionDescriptor,
        settings: SessionSettings,
        upstream: Upstream,
        metrics: BridgeMetrics,
        logger: Logger,
        accessLogger: Logger?,
        registry: SessionRegistry?
    ) {
        self.registry = registry
        self.descriptor = descriptor
        self.settings = settings
        self.link = SessionUpstreamLink(upstream: upstream, settings: settings, metrics: metrics.route(descriptor.route))
        self.connectMetrics = metrics
        self.metrics = metrics.route(descriptor.route)
        self.sharedLogger = logger
        self.accessLogger = accessLogger
        self.scanner = MQTTStreamScanner(maximumPacketSize: settings.maximumPacketSize)
        self.packetDeadline = PacketCompletionDeadline(timeout: settings.packetTimeout)
        self.accumulator = MQTTPacketAccumulator(maximumPacketSize: settings.maximumPacketSize)
        self.policy = settings.topicAuthorizer.map {
            TopicPolicyFilter(authorizer: $0, maximumPacketSize: settings.maximumPacketSize)
        }
    }

    /// Writes a line with the session's metadata (`client`, `route` and, once connected, `broker`), which is built
    /// only for a line that is written: warnings and debug lines are rare, an idle session keeps none of it.
    func log(_ level: Logger.Level, _ message: @autoclosure () -> Logger.Message, metadata: @autoclosure () -> Logger.Metadata? = nil) {
        guard self.sharedLogger.logLevel <= level else { return }
        var logger = self.sharedLogger
        logger[metadataKey: "client"] = "\(self.descriptor.clientAddress)"
        logger[metadataKey: "route"] = "\(self.descriptor.route)"
        if let server = self.link.server { logger[metadataKey: "broker"] = "\(server)" }
        logger.log(level: level, message(), metadata: metadata())
    }

    // MARK: Channel events

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.metrics.sessions.increment()
        self.metrics.openSessions.increment()
        let timeout = self.settings.connectPacketTimeout
        self.connectPacketTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
            self.perform(self.machine.connectTimedOut(after: timeout.humanDescription))
        }
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = self.unwrapInboundIn(data)
        switch self.machine.state {
        case .awaitingConnect, .awaitingConnectWithUpstream, .connectingUpstream, .relaying, .draining:
            break
        case .answeringUpgrade, .closing, .closed:
            return  // not started, or ending: nothing more goes to the broker
        }
        self.burstBytesFromClient += bytes.readableBytes

        var firstPacketProblem: String?
        let packetsStartedBefore = self.scanner.packetsStarted
        do {
            try self.scanner.scan(bytes) { header in
                self.clientCounts.add(header.type)
                if header.type == .disconnect { self.machine.disconnectReceived() }
                if self.held.awaitsFirstPacket { firstPacketProblem = self.held.firstPacketStarted(header) }
            }
        } catch {
            let code: WebSocketCloseCode = error.code == .packetTooLarge ? .messageTooBig : .protocolError
            self.perform(self.machine.clientViolatedMQTT(code, error.description))
            return
        }
        if let problem = firstPacketProblem {
            self.perform(self.machine.clientViolatedMQTT(.protocolError, problem))
            return
        }
        if self.packetDeadline != nil { self.timePacket(packetsStartedBefore: packetsStartedBefore, context: context) }

        switch self.machine.state {
        case .awaitingConnect, .awaitingConnectWithUpstream:
            self.held.append(bytes)
            self.inspectConnectIfComplete()
        case .connectingUpstream, .relaying, .draining:
            guard let admitted = self.admit(bytes) else { return }
            self.forward(admitted)
        case .answeringUpgrade, .closing, .closed:
            break
        }
    }

    /// Bytes that may go to the broker: written while relaying, held until then.
    private func forward(_ bytes: ByteBuffer) {
        switch self.machine.state {
        case .relaying, .draining:
            self.link.write(bytes)
        default:
            self.held.append(bytes)
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
                self.forward(allowed)
            }
            // MQTT 5 can say why: DISCONNECT 0x87 "Not authorized" before the close frame.
            if self.machine.connect?.version == .v5 { self.write(.notAuthorized, context: self.context) }
            self.perform(self.machine.clientViolatedMQTT(.policyViolation, "topic policy: \(reason)"))
            return nil
        case .malformed(let error):
            self.perform(self.machine.clientViolatedMQTT(.protocolError, error.description))
            return nil
        }
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        self.link.flush(burstBytes: self.burstBytesFromClient)
        self.registration?.packetsFromClient += self.clientCounts.sum
        self.metrics.record(&self.clientCounts, direction: .clientToBroker)
        self.metrics.recordBytes(self.burstBytesFromClient, direction: .clientToBroker)
        self.totalBytesFromClient += self.burstBytesFromClient
        self.burstBytesFromClient = 0
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { self.link.clientCanTakeMore() }
        context.fireChannelWritabilityChanged()
    }

    package func read(context: ChannelHandlerContext) {
        switch self.machine.state {
        case .connectingUpstream:
            // Nothing can be forwarded yet: leave the bytes in the kernel.
            self.pendingRead = true
        case .relaying where !self.link.isWritable:
            self.pendingRead = true
        case .draining where !self.link.isWritable:
            // The client's last packets are waited for only while the broker takes them: the client's close must be
            // read, and nothing may pile up.
            self.closeUpstream()
            context.read()
        default:
            context.read()
        }
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
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
        case let event as EdgeAuthEvent:
            self.edgeAuthDecided(event)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Transport errors (TLS alerts, resets): the client is gone.
        if self.transportError == nil { self.transportError = UpstreamErrorDescription.describe(error) }
        context.close(promise: nil)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        self.cancelTimers()
        self.perform(self.machine.clientInactive(transportError: self.transportError))
        self.finish()
        context.fireChannelInactive()
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.cancelTimers()
        self.context = nil
    }

    // MARK: CONNECT

    private func inspectConnectIfComplete() {
        // With a topic policy, the packets behind the CONNECT are checked before they may go anywhere.
        guard let (packet, rest) = self.held.connect(keepingOnlyTheConnect: self.policy != nil) else { return }
        do {
            let info = try MQTTConnectInfo(parsing: packet)
            self.connectPacketTimer?.cancel()
            self.connectPacketTimer = nil
            self.log(
                .debug,
                "CONNECT",
                metadata: [
                    "client_id": "\(info.clientID)", "mqtt_version": "\(info.version?.description ?? "level \(info.protocolLevelByte)")",
                    "username": "\(info.username ?? "-")", "keepalive": "\(info.keepAlive)", "clean_start": "\(info.cleanStart)",
                ]
            )
            self.register(info)  // before the dial, which may finish at once and name the broker
            self.perform(self.machine.connectReceived(info))
            if self.policy != nil, let rest, let admitted = self.admit(rest) {
                self.forward(admitted)
            }
        } catch {
            self.perform(self.machine.clientViolatedMQTT(.protocolError, "malformed CONNECT: \(error)"))
        }
    }

    // MARK: Actions

    func perform(_ action: SessionStateMachine.Action) {
        guard let context = self.context else { return }
        self.perform(action, eventLoop: context.eventLoop)
    }

    /// `context` is nil only before the 101 (`answerUpgrade`), where only upstream actions arise.
    func perform(_ action: SessionStateMachine.Action, eventLoop: any EventLoop) {
        let context = self.context
        switch action {
        case .none:
            break
        case .dialUpstream:
            self.dialUpstream(on: eventLoop)
        case .acceptUpgrade:
            self.descriptor.subprotocol = self.subprotocolOffer?.clientAnswer(brokerAnswered: self.link.subprotocol)
            self.upgradeAnswer?.succeed(.switchProtocols(subprotocol: self.descriptor.subprotocol))
            self.upgradeAnswer = nil
        case .refuseUpgrade(let reason):
            self.log(.warning, "broker unavailable", metadata: ["reason": "\(reason)", "upstream": "\(self.link.description)"])
            self.upgradeAnswer?.succeed(.badGateway(reason: reason))
            self.upgradeAnswer = nil
        case .startRelaying:
            if let held = self.held.take() {
                self.link.write(held)
                self.link.flush(burstBytes: held.readableBytes)
            }
            // Broker reads wait for the relaying to start (an upstream dialled before the 101 waited for the CONNECT).
            self.link.clientCanTakeMore()
            if self.pendingRead, let context {
                self.pendingRead = false
                context.read()
            }
        case .refuseWithConnack(let version, let ending):
            self.cancelTimers()
            self.held.take()
            self.log(.warning, "broker unavailable", metadata: ["reason": "\(ending.reason)", "upstream": "\(self.link.description)"])
            guard let context else { return }
            context.write(
                self.wrapOutboundOut(
                    .binary(MQTTPacket.connackServerUnavailable(version: version ?? .v3_1_1, allocator: context.channel.allocator))),
                promise: nil)
            context.writeAndFlush(self.wrapOutboundOut(.close(ending.code, reason: ending.publicReason)), promise: nil)
            self.link.close(graceful: false)
            self.resumeHeldRead(context: context)
        case .closeClient(let ending):
            self.cancelTimers()
            self.held.take()
            context?.writeAndFlush(self.wrapOutboundOut(.close(ending.code, reason: ending.publicReason)), promise: nil)
            self.closeUpstream()
            context.map(self.resumeHeldRead)
        case .drainClient(let ending, let disconnect):
            // MQTT 5: DISCONNECT 0x8B "Server shutting down" first, so the client knows to reconnect (elsewhere).
            if let disconnect { self.write(disconnect, context: context) }
            // Acknowledgements the client sent before it saw the close frame still go to the broker (a lost PUBACK
            // is a duplicate delivery after the restart); the upstream closes at the client's close frame or EOF.
            context?.writeAndFlush(
                self.wrapOutboundOut(.close(ending.code, reason: ending.publicReason, keepsReceiving: true)), promise: nil)
            if !self.link.isWritable { self.closeUpstream() }
            context.map(self.resumeHeldRead)
        case .closeUpstream:
            self.cancelTimers()
            self.closeUpstream()
            context.map(self.resumeHeldRead)
            // The client went away before the broker answered the upgrade.
            self.upgradeAnswer?.fail(ChannelError.ioOnClosedChannel)
            self.upgradeAnswer = nil
        }
    }

    /// A read held back for backpressure (or while dialling) must be replayed once the session is
    /// closing: the client's answer to our close frame has to be read, or the close waits for its timeout.
    private func resumeHeldRead(context: ChannelHandlerContext) {
        guard self.pendingRead else { return }
        self.pendingRead = false
        context.read()
    }

    /// Closes the broker connection after what was written to it; while a broker packet is half forwarded to a client
    /// still there, once the rest is through (`upstreamRead`): only a complete frame can be followed by anything.
    private func closeUpstream() {
        if self.streamRemaining > 0, self.context?.channel.isActive == true {
            self.upstreamCloseAwaitsStream = true
            return
        }
        self.link.close(graceful: true)
    }

    private func cancelTimers() {
        self.connectPacketTimer?.cancel()
        self.connectPacketTimer = nil
        self.packetDeadlineTimer?.cancel()
        self.packetDeadlineTimer = nil
    }

    // MARK: Partner API (called by UpstreamHandler on the same event loop)

    /// Broker bytes are read only while a client that takes them waits for them (relaying, or a half-sent packet; no deferred flush).
    var acceptsBrokerBytes: Bool {
        (self.machine.state == .relaying || self.streamRemaining > 0) && self.context?.channel.isWritable == true
            && !self.link.toClient.isDeferring
    }

    func upstreamRead(_ bytes: ByteBuffer) {
        guard let context = self.context else { return }
        var bytes = bytes
        if self.streamRemaining > 0 {
            // The rest of a large packet already announced to the client, also while the session is ending.
            let part = bytes.readSlice(length: min(self.streamRemaining, bytes.readableBytes))!
            self.streamRemaining -= part.readableBytes
            self.burstBytesToClient += part.readableBytes
            self.clientNeedsFlush = true
            context.write(self.wrapOutboundOut(.continueBinary(part)), promise: nil)
            if self.streamRemaining == 0, self.upstreamCloseAwaitsStream {
                self.upstreamCloseAwaitsStream = false
                self.upstreamReadComplete()
                self.link.close(graceful: true)
                return
            }
        }
        guard self.machine.state == .relaying, bytes.readableBytes > 0 else { return }
        self.burstBytesToClient += bytes.readableBytes
        self.accumulator.append(bytes)
        do {
            while let output = try self.accumulator.next(streamingPacketsLongerThan: Self.streamingThreshold) {
                switch output {
                case .packet(let header, let packet):
                    self.brokerCounts.add(header.type)
                    if header.type == .connack { self.machine.connackRelayed(packet, header: header) }
                    self.packetsToClient.append(packet)
                case .start(let header, let firstPart):
                    self.brokerCounts.add(header.type)
                    self.streamRemaining = header.packetLength - firstPart.readableBytes
                    self.packetsToClient.startStream(totalLength: header.packetLength, firstPart: firstPart)
                }
                self.clientNeedsFlush = true
            }
            self.packetsToClient.write(to: context)
        } catch {
            self.packetsToClient.write(to: context)  // the valid packets before the invalid one, as they came
            self.accumulator.reset()
            self.perform(self.machine.upstreamFailed("broker sent an invalid packet: \(error)"))
        }
    }

    func upstreamReadComplete() {
        if self.clientNeedsFlush {
            self.clientNeedsFlush = false
            self.flushToClient(
                burstBytes: self.burstBytesToClient, immediately: self.streamRemaining > 0 || self.machine.state != .relaying)
        }
        self.registration?.packetsToClient += self.brokerCounts.sum
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
        self.link.lost()
        let streamCutShort = self.streamRemaining > 0
        if self.clientNeedsFlush { self.upstreamReadComplete() }
        if self.accumulator.bufferedByteCount > 0 || self.streamRemaining > 0 {
            self.log(
                .debug,
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
        self.registration?.end()
        self.totalBytesFromClient += self.burstBytesFromClient
        self.totalBytesToClient += self.burstBytesToClient
        self.metrics.openSessions.decrement()
        let ending = self.machine.ending ?? SessionEnding(.client, .abnormalClosure, "connection closed")
        self.metrics.closed(code: ending.code.rawValue, initiator: ending.initiator.rawValue)
        self.accessLogger?.info(
            "session",
            metadata: SessionAccessLine(
                descriptor: self.descriptor, session: self.registration?.id, connect: self.machine.connect ?? self.edgeAuth?.refusedConnect,
                broker: self.link.server, bytesIn: self.totalBytesFromClient, bytesOut: self.totalBytesToClient,
                duration: .now() - self.startedAt, ending: ending, auth: self.edgeAuth?.record
            ).metadata)
    }
}
