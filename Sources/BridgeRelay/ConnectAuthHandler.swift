import EdgeAuth
import Foundation
import MQTTWire
import NIOCore
import WebSocketTransport

/// Edge authentication of one session at its CONNECT: sits between `WebSocketMessageCodec` and
/// `ClientSessionHandler` on routes with `auth` (only there), holds the client's bytes until the CONNECT has been
/// judged, and only then lets the session see them.
///
/// - Accepted: the session is told first (`EdgeAuthEvent.authorized`, with the session's own topic allow list when its
///   grant is per session), then gets the held bytes, CONNECT first and unchanged. From then on bytes pass straight
///   through; the handler stays only for the expiry timer (`disconnect_on_expiry`).
/// - Refused: CONNACK "not authorized" in the client's version (3.1/3.1.1 return code 5, 5.0 reason 0x87; "server
///   unavailable" 3/0x88 when the callout is down), then `EdgeAuthEvent.refused` makes the session close with 1008.
///   The session never sees the CONNECT, so the broker is never dialled.
///
/// A first packet that is not a CONNECT, or a CONNECT that does not parse, is passed on as it is: the session refuses
/// it with its usual protocol error, and no broker is dialled for it either. While the decision is pending (an auth
/// callout round trip), nothing more is read from the client.
package final class ConnectAuthHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer
    package typealias OutboundIn = WebSocketOutbound
    package typealias OutboundOut = WebSocketOutbound

    private enum State {
        /// Bytes until the first packet is whole.
        case awaitingConnect(held: ByteBuffer?)
        /// The CONNECT is being judged; `held` starts with it. `readHeld`: a read waits for the decision.
        case deciding(held: ByteBuffer, readHeld: Bool)
        /// Decided (accepted, or not ours to judge): everything passes.
        case passing
        /// Refused: the session is closing; nothing more goes to it.
        case refused
    }

    private let auth: RouteEdgeAuth
    private let upgrade: UpgradeAuthOutcome
    private let clientAddress: String
    private let maximumPacketSize: Int
    private let metrics: BridgeMetrics.Route
    /// The wall clock the expiry is measured against (`exp` is wall-clock time); tests pass their own.
    private let now: @Sendable () -> Date
    private var state = State.awaitingConnect(held: nil)
    private var expiryTimer: Scheduled<Void>?

    /// - Parameter upgrade: what the upgrade's authentication step decided (`EdgeAuthenticator.authenticateUpgrade`).
    package init(
        auth: RouteEdgeAuth, upgrade: UpgradeAuthOutcome, clientAddress: String, maximumPacketSize: Int, metrics: BridgeMetrics.Route,
        now: @escaping @Sendable () -> Date = Date.init
    ) {
        self.auth = auth
        self.upgrade = upgrade
        self.clientAddress = clientAddress
        self.maximumPacketSize = maximumPacketSize
        self.metrics = metrics
        self.now = now
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = self.unwrapInboundIn(data)
        switch self.state {
        case .passing:
            context.fireChannelRead(data)
        case .refused:
            break
        case .deciding(var held, let readHeld):
            held.writeImmutableBuffer(bytes)
            self.state = .deciding(held: held, readHeld: readHeld)
        case .awaitingConnect(var held):
            if held == nil { held = bytes } else { held!.writeImmutableBuffer(bytes) }
            self.firstPacketArrived(in: held!, context: context)
        }
    }

    /// Judges the CONNECT once it is whole; anything that is not a well-formed CONNECT goes to the session as it is.
    private func firstPacketArrived(in held: ByteBuffer, context: ChannelHandlerContext) {
        let header: MQTTFixedHeader
        do {
            guard let peeked = try MQTTFixedHeader.peek(in: held, maximumPacketSize: self.maximumPacketSize) else {
                self.state = .awaitingConnect(held: held)
                return
            }
            header = peeked
        } catch {
            return self.passOn(held, context: context)
        }
        guard header.type == .connect else { return self.passOn(held, context: context) }
        guard held.readableBytes >= header.packetLength else {
            self.state = .awaitingConnect(held: held)
            return
        }
        guard let packet = held.getSlice(at: held.readerIndex, length: header.packetLength),
            let connect = try? MQTTConnectInfo(parsing: packet)
        else { return self.passOn(held, context: context) }

        self.state = .deciding(held: held, readHeld: false)
        self.auth.authenticator.authorizeConnect(
            route: self.auth.route, after: self.upgrade, connect: connect, clientAddress: self.clientAddress, on: context.eventLoop
        ).assumeIsolated().whenComplete { result in
            switch result {
            case .success(.accepted(let authorization)):
                self.accept(authorization, connect: connect, context: context)
            case .success(.refused(let failure)):
                self.refuse(failure, connect: connect, context: context)
            case .failure:
                self.refuse(AuthFailure(.unavailable), connect: connect, context: context)
            }
        }
    }

    private func accept(_ authorization: SessionAuthorization, connect: MQTTConnectInfo, context: ChannelHandlerContext) {
        guard case .deciding(let held, let readHeld) = self.state else { return }  // the client left meanwhile
        var topics: (any TopicAuthorizer)?
        if authorization.topicsArePerSession, let grant = authorization.topics {
            do {
                topics = try self.auth.makeTopicAuthorizer(grant)
            } catch {
                // A value from the token made a filter invalid: refuse rather than guess.
                return self.refuse(AuthFailure(.unusableIdentity), connect: connect, context: context)
            }
        }
        self.metrics.authentication(stage: "connect", result: "accepted")
        context.fireUserInboundEventTriggered(
            EdgeAuthEvent.authorized(SessionAuthRecord(authorization), topics: topics))
        if let delay = authorization.timeUntilDisconnect(now: self.now()) {
            self.expiryTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                self.metrics.authentication(stage: "session", result: "expired")
                context.fireUserInboundEventTriggered(EdgeAuthEvent.expired)
            }
        }
        self.passOn(held, context: context)
        if readHeld { context.read() }
    }

    private func refuse(_ failure: AuthFailure, connect: MQTTConnectInfo, context: ChannelHandlerContext) {
        guard case .deciding = self.state else { return }
        self.state = .refused
        self.metrics.authentication(stage: "connect", result: "refused")
        self.metrics.authenticationRefused(stage: "connect", reason: failure.label)
        let version = connect.version ?? .v3_1_1
        let code: UInt8 =
            switch (failure.isServiceUnavailable, version.hasProperties) {
            case (false, false): Self.notAuthorizedReturnCode
            case (false, true): Self.notAuthorizedReasonCode
            case (true, false): MQTTPacket.serverUnavailableReturnCode
            case (true, true): MQTTPacket.serverUnavailableReasonCode
            }
        var connack = context.channel.allocator.buffer(capacity: 5)
        MQTTPacket.writeConnack(sessionPresent: false, returnCode: code, version: version, to: &connack)
        context.write(self.wrapOutboundOut(.binary(connack)), promise: nil)
        // The session closes with 1008 and records the ending; the reason is safe to show (`AuthFailure`).
        context.fireUserInboundEventTriggered(EdgeAuthEvent.refused(connect: connect, reason: "not authorized: \(failure.reason)"))
    }

    /// 3.1/3.1.1 CONNACK return code 5, "not authorized".
    static let notAuthorizedReturnCode: UInt8 = 0x05
    /// 5.0 CONNACK reason code 0x87, "Not authorized".
    static let notAuthorizedReasonCode: UInt8 = 0x87

    private func passOn(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        self.state = .passing
        context.fireChannelRead(self.wrapInboundOut(bytes))
        context.fireChannelReadComplete()
    }

    package func read(context: ChannelHandlerContext) {
        if case .deciding(let held, _) = self.state {
            self.state = .deciding(held: held, readHeld: true)
            return
        }
        context.read()
    }

    package func channelInactive(context: ChannelHandlerContext) {
        self.expiryTimer?.cancel()
        if case .deciding = self.state { self.state = .refused }  // a late decision has nobody to tell
        context.fireChannelInactive()
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.expiryTimer?.cancel()
    }
}

/// What edge authentication tells the session behind it (`ClientSessionHandler`), as a user inbound event.
enum EdgeAuthEvent {
    /// The CONNECT passed; it follows. `topics`: the session's own allow list, which replaces the route's (nil: the
    /// route's `topic_policy`, if any, applies as it is).
    case authorized(SessionAuthRecord, topics: (any TopicAuthorizer)?)
    /// The CONNECT was refused and answered with a CONNACK: close 1008 with `reason`. The session never gets `connect`.
    case refused(connect: MQTTConnectInfo, reason: String)
    /// The token's `exp` has passed (`disconnect_on_expiry`): MQTT 5 DISCONNECT 0xA0, then close 1008.
    case expired
}
