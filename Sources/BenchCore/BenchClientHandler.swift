import MQTTWire
import NIOCore
import NIOSSL
import WebSocketTransport

#if canImport(Glibc)
import Glibc  // linger
#elseif canImport(Darwin)
import Darwin
#endif

/// One MQTT client of the generator, at the end of its pipeline (after TLS and WebSocket framing, if any):
/// CONNECT/CONNACK, then its role — publish, subscribe and count, or stay idle.
///
/// It works on the raw MQTT byte stream: outbound writes hold whole packets (many per write when publishing),
/// inbound bytes are cut into packets by `MQTTPacketAccumulator`. Counters go to the loop's `LoopWorker`, which
/// every handler on that event loop shares (no locks: all of them run on that loop's thread).
final class BenchClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = Never
    typealias OutboundOut = ByteBuffer

    /// The parts of the configuration a connection needs.
    struct Settings: Sendable {
        var version: MQTTProtocolVersion
        var qos: UInt8
        var keepAlive: UInt16
        var username: String?
        var password: String?
        var clientIDPrefix: String
        var topicPrefix: String
        var payloadSize: Int
        var stampsPayloads: Bool
        var batchBytes: Int
        /// Messages per second for one publisher; nil = as fast as possible.
        var ratePerPublisher: Double?
        var inflight: Int
        /// See `BenchConfiguration.closedLoop`.
        var closedLoop: Bool = false
        /// See `BenchConfiguration.maxOutstanding`; shared by every connection of the run.
        var outstanding: OutstandingWindow? = nil
        /// Subscribers per topic, from the configuration (for the outstanding window).
        var fanOut: [Int] = []
        var connectTimeout: TimeAmount

        func topic(_ index: Int) -> String { "\(self.topicPrefix)/\(index)" }
    }

    enum State {
        case idle
        case awaitingConnack
        case awaitingSuback(packetID: UInt16)
        case ready
        /// We sent DISCONNECT or started closing: the end of the connection is expected.
        case closing
        case closed
    }

    let settings: Settings
    let role: BenchClientRole
    let worker: LoopWorker
    /// Completed with the monotonic time (ns) at which the connection became ready (CONNACK, and SUBACK for a
    /// subscriber), or failed with the connection's first error.
    private var readyPromise: EventLoopPromise<UInt64>?
    /// The WebSocket upgrade (nil for plain TCP, where MQTT starts at `channelActive`).
    private let transportReady: EventLoopFuture<String?>?
    var state: State = .idle
    var context: ChannelHandlerContext?
    private var accumulator: MQTTPacketAccumulator
    private var timeout: Scheduled<Void>?
    private var pingTask: RepeatedTask?
    private var closeCode: UInt16?
    private var firstError: BenchClientError?
    /// Monotonic nanoseconds when the WebSocket upgrade (after TLS) completed; nil before, and for plain TCP.
    private(set) var transportReadyAt: UInt64?

    // Publisher.
    var topic: String = ""
    var topicIndex = 0
    var payload = ByteBuffer()
    var sequence: UInt64 = 0
    var publishing = false
    /// Set while `pump()` runs: a writability change inside our own flush must not re-enter it.
    var pumping = false
    /// A PUBACK freed room in the QoS 1 window during this read burst: pump at the end of the burst.
    var windowFreed = false
    var pacer: RatePacer?
    /// QoS 1: the identifiers of unacknowledged PUBLISHes (nil for QoS 0).
    var packetIDs: PacketIDWindow?

    // Subscriber.
    private var tracker = SequenceTracker()
    /// PUBLISHes received during this read burst (closed loop and outstanding window: publishers may go on).
    private var receivedInBurst = 0
    private var pendingAcknowledgements: ByteBuffer?

    init(
        settings: Settings, role: BenchClientRole, worker: LoopWorker, readyPromise: EventLoopPromise<UInt64>,
        transportReady: EventLoopFuture<String?>? = nil
    ) {
        self.settings = settings
        self.transportReady = transportReady
        self.role = role
        self.worker = worker
        self.readyPromise = readyPromise
        self.accumulator = MQTTPacketAccumulator(maximumPacketSize: max(settings.payloadSize + 64 * 1024, 1 << 20))
        if case .publisher(_, let topicIndex) = role {
            self.topicIndex = topicIndex
            self.topic = settings.topic(topicIndex)
            self.payload = LatencyStamp.makePayloadTemplate(size: settings.payloadSize)
            if settings.qos > 0 {
                self.packetIDs = PacketIDWindow()
            }
        }
    }

    // MARK: - Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.worker.register(self)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timeout = self.settings.connectTimeout
        self.timeout = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.fail(
                BenchClientError(.timeout, "not ready after \(timeout.nanoseconds / 1_000_000) ms (\(loopBound.value.stateDescription))"))
        }
        if let transportReady = self.transportReady {
            transportReady.assumeIsolated().whenSuccess { _ in
                self.transportReadyAt = NIODeadline.now().uptimeNanoseconds
                self.start()
            }
        } else if context.channel.isActive {
            self.start()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // A channel whose TCP connect failed is removed without ever becoming inactive.
        self.timeout?.cancel()
        self.pingTask?.cancel()
        self.stopPublishing()
        self.readyPromise?.fail(self.firstError ?? BenchClientError(.connect, "connection closed before it was established"))
        self.readyPromise = nil
        self.worker.unregister(self)
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if self.transportReady == nil {
            self.start()
        }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let event as WebSocketEvent:
            switch event {
            case .closeReceived(let code, _): self.closeCode = code?.rawValue
            case .protocolViolation(let error): self.fail(BenchClientError(.protocolViolation, "WebSocket: \(error.reason)"))
            case .keepaliveTimeout(let reason): self.fail(BenchClientError(.closed, "WebSocket: \(reason)"))
            case .pongReceived: break
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let wasExpected: Bool
        switch self.state {
        case .closing, .closed: wasExpected = true
        default: wasExpected = self.worker.isClosingAll
        }
        if !wasExpected && self.firstError == nil {
            let reason = self.closeCode.map { "close frame \($0)" } ?? "no close frame"
            let during = self.stateDescription
            self.record(BenchClientError(.closed, "the server closed the connection (\(reason)) while \(during)"))
        }
        self.state = .closed
        self.stopPublishing()
        self.timeout?.cancel()
        self.pingTask?.cancel()
        self.readyPromise?.fail(self.firstError ?? BenchClientError(.closed, "closed before ready"))
        self.readyPromise = nil
        self.worker.unregister(self)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(Self.classify(error))
    }

    /// Maps errors from the pipeline (TLS, sockets, ours) to report kinds.
    static func classify(_ error: any Error) -> BenchClientError {
        switch error {
        case let error as BenchClientError: error
        case let error as NIOSSLError: BenchClientError(.tls, "\(error)")
        case let error as BoringSSLError: BenchClientError(.tls, "\(error)")
        case let error as MQTTWireError: BenchClientError(.protocolViolation, "MQTT: \(error)")
        case let error as WebSocketClientHandshakeError: BenchClientError(.upgrade, error.reason)
        case let error as IOError: BenchClientError(.closed, "\(error)")
        default: BenchClientError(.protocolViolation, "\(error)")
        }
    }

    /// Keeps the connection's first error. Once the connection was ready it is counted in the loop's tally;
    /// before that it fails the ready promise and whoever opened the connection counts it (exactly once).
    private func record(_ error: BenchClientError) {
        guard self.firstError == nil else { return }
        self.firstError = error
        if self.readyPromise == nil {
            self.worker.errors.record(error)
        }
    }

    /// Records the connection's first error and closes it.
    func fail(_ error: BenchClientError) {
        switch self.state {
        case .closing, .closed:
            return  // errors while we close (a reset after our DISCONNECT) are not the server's fault
        default:
            break
        }
        self.record(error)
        self.state = .closing
        self.readyPromise?.fail(error)
        self.readyPromise = nil
        self.stopPublishing()
        self.context?.close(promise: nil)
    }

    var stateDescription: String {
        switch self.state {
        case .idle: self.transportReady != nil ? "waiting for the WebSocket upgrade" : "connecting"
        case .awaitingConnack: "waiting for CONNACK"
        case .awaitingSuback: "waiting for SUBACK"
        case .ready: "connected"
        case .closing, .closed: "closing"
        }
    }

    /// Sends DISCONNECT and closes; the future completes when the channel is closed.
    func disconnect() -> EventLoopFuture<Void> {
        guard let context = self.context else {
            return self.worker.eventLoop.makeSucceededVoidFuture()
        }
        let wasReady: Bool
        if case .ready = self.state { wasReady = true } else { wasReady = false }
        self.state = .closing
        self.stopPublishing()
        if wasReady {
            var buffer = context.channel.allocator.buffer(capacity: 4)
            MQTTPacket.writeDisconnect(version: self.settings.version, to: &buffer)
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
        }
        let channel = context.channel
        channel.close(promise: nil)
        return channel.closeFuture
    }

    /// Drops the connection the way a network cut or a crashed client does: no DISCONNECT, no TLS close_notify,
    /// no WebSocket close, and a TCP reset (SO_LINGER 0) so that the server learns at once and no TIME_WAIT is
    /// left behind. The close is issued below the TLS handler, which would otherwise start an orderly shutdown.
    func cut() -> EventLoopFuture<Void> {
        guard let context = self.context else {
            return self.worker.eventLoop.makeSucceededVoidFuture()
        }
        self.state = .closing
        self.stopPublishing()
        self.timeout?.cancel()
        self.pingTask?.cancel()
        let channel = context.channel
        let reset =
            (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
            ?? channel.eventLoop.makeSucceededVoidFuture()
        let loopBoundContext = NIOLoopBound(context, eventLoop: channel.eventLoop)
        reset.whenComplete { _ in
            // Down the pipeline to AbruptCloseHandler, which closes below TLS; a pipeline without it fails the
            // event, and the channel is closed the ordinary way.
            let closed = channel.eventLoop.makePromise(of: Void.self)
            loopBoundContext.value.triggerUserOutboundEvent(AbruptCloseHandler.Request(), promise: closed)
            closed.futureResult.whenFailure { _ in channel.close(promise: nil) }
        }
        return channel.closeFuture
    }

    // MARK: - Connecting

    private func start() {
        guard case .idle = self.state, let context = self.context else { return }
        self.state = .awaitingConnack
        var buffer = context.channel.allocator.buffer(capacity: 64)
        MQTTPacket.writeConnect(
            version: self.settings.version, clientID: self.role.clientID(prefix: self.settings.clientIDPrefix),
            username: self.settings.username, password: self.settings.password,
            keepAlive: self.settings.keepAlive, cleanStart: true, to: &buffer)
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    private func becomeReady() {
        self.state = .ready
        self.timeout?.cancel()
        self.timeout = nil
        if case .subscriber(_, let topicIndex) = self.role {
            self.worker.subscriberReady(topicIndex: topicIndex)
        }
        if case .idle = self.role, self.settings.keepAlive > 0, let context = self.context {
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let interval = TimeAmount.seconds(Int64(self.settings.keepAlive))
            self.pingTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                loopBound.value.sendPing()
            }
        }
        self.readyPromise?.succeed(NIODeadline.now().uptimeNanoseconds)
        self.readyPromise = nil
    }

    private func sendPing() {
        guard case .ready = self.state, let context = self.context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 2)
        MQTTPacket.writePingreq(to: &buffer)
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.accumulator.append(self.unwrapInboundIn(data))
        let now = NIODeadline.now().uptimeNanoseconds
        do {
            while let (header, packet) = try self.accumulator.nextPacketWithHeader() {
                try self.handle(packet, type: header.type, receivedAt: now)
                if case .closed = self.state { return }
            }
        } catch let error as BenchClientError {
            self.fail(error)
        } catch {
            self.fail(Self.classify(error))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let acknowledgements = self.pendingAcknowledgements, acknowledgements.readableBytes > 0 {
            self.pendingAcknowledgements = nil
            context.writeAndFlush(self.wrapOutboundOut(acknowledgements), promise: nil)
        }
        if self.windowFreed {
            self.windowFreed = false
            self.publishTick()
        }
        if self.receivedInBurst > 0 {
            self.settings.outstanding?.delivered(self.receivedInBurst)
            if self.settings.closedLoop || self.settings.outstanding != nil {
                self.worker.publishTick()
            }
        }
        self.receivedInBurst = 0
        context.fireChannelReadComplete()
    }

    private func handle(_ packet: ByteBuffer, type: MQTTPacketType, receivedAt now: UInt64) throws {
        let version = self.settings.version
        switch (type, self.state) {
        case (.publish, _):
            try self.handlePublish(packet, receivedAt: now)
        case (.puback, _):
            let acknowledgement = try MQTTPacket.Acknowledgement(parsing: packet, version: version)
            self.handlePuback(packetID: acknowledgement.packetID)
        case (.connack, .awaitingConnack):
            let connack = try MQTTPacket.Connack(parsing: packet, version: version)
            guard connack.returnCode == 0 else {
                throw BenchClientError(.refused, "CONNACK refused with code \(connack.returnCode)")
            }
            if case .subscriber(_, let topicIndex) = self.role {
                let packetID: UInt16 = 1
                var buffer = self.context?.channel.allocator.buffer(capacity: 64) ?? ByteBuffer()
                MQTTPacket.writeSubscribe(
                    packetID: packetID, filters: [(self.settings.topic(topicIndex), self.settings.qos)], version: version,
                    to: &buffer)
                self.state = .awaitingSuback(packetID: packetID)
                self.context?.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            } else {
                self.becomeReady()
            }
        case (.suback, .awaitingSuback(let packetID)):
            let suback = try MQTTPacket.Suback(parsing: packet, version: version)
            guard suback.packetID == packetID, let code = suback.returnCodes.first, code < 0x80 else {
                throw BenchClientError(.refused, "SUBACK refused: packet id \(suback.packetID), codes \(suback.returnCodes)")
            }
            self.becomeReady()
        case (.pingresp, _):
            break
        case (.disconnect, _):
            let disconnect = try? MQTTPacket.Disconnect(parsing: packet, version: version)
            throw BenchClientError(.closed, "the broker sent DISCONNECT (reason \(disconnect?.reasonCode ?? 0))")
        default:
            throw BenchClientError(.protocolViolation, "unexpected \(type.description.uppercased()) while \(self.stateDescription)")
        }
    }

    private func handlePublish(_ packet: ByteBuffer, receivedAt now: UInt64) throws {
        guard case .subscriber = self.role else {
            throw BenchClientError(.protocolViolation, "a PUBLISH arrived on a connection that did not subscribe")
        }
        let publish = try MQTTPacket.Publish(parsing: packet, version: self.settings.version)
        self.worker.counters.delivered += 1
        self.receivedInBurst += 1
        self.worker.counters.deliveredBytes += UInt64(publish.payload.readableBytes)
        if let stamp = LatencyStamp(readingFrom: publish.payload) {
            switch self.tracker.record(publisher: stamp.publisher, sequence: stamp.sequence) {
            case .new(let gap):
                self.worker.counters.uniqueStamped += 1
                self.worker.counters.gaps += gap
                if now > stamp.sentAt {
                    self.worker.recordLatency(nanoseconds: now - stamp.sentAt)
                }
            case .duplicate:
                self.worker.counters.duplicates += 1
            case .foreign:
                break
            }
        }
        if publish.qos > 0, let packetID = publish.packetID {
            // Taken out of the property while writing, so the buffer stays uniquely referenced (no copy).
            var acknowledgements = self.pendingAcknowledgements ?? ByteBuffer()
            self.pendingAcknowledgements = nil
            if publish.qos == 1 {
                MQTTPacket.writePuback(packetID: packetID, to: &acknowledgements)
            } else {
                // The generator subscribes with QoS ≤ 1, so the broker never sends QoS 2; answer correctly anyway.
                MQTTPacket.writePubrec(packetID: packetID, to: &acknowledgements)
            }
            self.pendingAcknowledgements = acknowledgements
        }
    }

    private func handlePuback(packetID: UInt16) {
        guard self.packetIDs?.release(packetID) == true else {
            self.fail(BenchClientError(.protocolViolation, "PUBACK for packet id \(packetID), which is not in flight"))
            return
        }
        self.worker.counters.acknowledged += 1
        self.windowFreed = true
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && self.publishing {
            self.publishTick()
        }
        context.fireChannelWritabilityChanged()
    }
}
