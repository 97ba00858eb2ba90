import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The broker side of the glue: the last handler of the upstream channel.
///
/// Until its connection is ready for MQTT (connected; after the TLS handshake when there is one) it reports only to
/// the dial that created it, through `ready`: success, or why the connection failed. From then on it forwards what
/// the broker sends to its partner `ClientSessionHandler` and writes what the partner gives it. Both live on the same
/// event loop, so they call each other directly. Reading from the broker pauses while the partner cannot take the
/// bytes (the outbound `read` is held back and replayed when the partner says so), which bounds memory for slow
/// clients.
package final class UpstreamHandler: ChannelDuplexHandler {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    /// The partner; cleared when either side lets go, which also breaks the reference cycle.
    private var session: ClientSessionHandler?
    private var context: ChannelHandlerContext?
    /// Set by the connector: ready for MQTT only after the TLS handshake, not at TCP connect.
    var expectsTLSHandshake = false
    /// Set by the `ws` connector before it adds the handler: the broker's `Sec-WebSocket-Protocol` answer.
    var negotiatedSubprotocol: String?
    /// Until the connection is ready: the dial's promise.
    private var ready: EventLoopPromise<String?>?
    private var pendingRead = false
    /// The first error seen on this channel, reported when it closes.
    private var failure: String?

    init(session: ClientSessionHandler, ready: EventLoopPromise<String?>) {
        self.session = session
        self.ready = ready
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { self.becameActive(context: context) }
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.session = nil
        self.failSetUp()
    }

    package func channelActive(context: ChannelHandlerContext) {
        self.becameActive(context: context)
        context.fireChannelActive()
    }

    private func becameActive(context: ChannelHandlerContext) {
        guard !self.expectsTLSHandshake else { return }
        self.becameReady()
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            self.becameReady()
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// The dial learns it first; its success hands this handler to the session before `succeed` returns.
    private func becameReady() {
        guard let ready = self.ready else { return }
        self.ready = nil
        ready.succeed(self.negotiatedSubprotocol)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.session?.upstreamRead(self.unwrapInboundIn(data))
    }

    package func channelReadComplete(context: ChannelHandlerContext) {
        self.session?.upstreamReadComplete()
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { self.session?.upstreamBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if self.failure == nil { self.failure = UpstreamErrorDescription.describe(error) }
        context.close(promise: nil)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        let session = self.session
        self.session = nil
        if self.ready != nil {
            self.failSetUp()
        } else {
            session?.upstreamInactive(failure: self.failure)
        }
        context.fireChannelInactive()
    }

    package func read(context: ChannelHandlerContext) {
        // While setting up, reads carry the TLS and WebSocket handshakes.
        if self.ready != nil || (self.session?.acceptsBrokerBytes ?? true) {
            context.read()
        } else {
            self.pendingRead = true
        }
    }

    private func failSetUp() {
        guard let ready = self.ready else { return }
        self.ready = nil
        ready.fail(UpstreamDial.Failed(description: self.failure ?? "the broker closed the connection during connection set-up"))
    }

    // MARK: Partner API (called by ClientSessionHandler on the same event loop)

    var isWritable: Bool { self.context?.channel.isWritable ?? false }
    var eventLoop: (any EventLoop)? { self.context?.eventLoop }

    func partnerWrite(_ bytes: ByteBuffer) {
        self.context?.write(self.wrapOutboundOut(bytes), promise: nil)
    }

    func partnerFlush() {
        self.context?.flush()
    }

    /// The partner can take broker bytes again (it became writable, or it started relaying).
    func partnerBecameWritable() {
        self.releaseHeldRead()
    }

    /// The dial gave this connection up (deadline, failure, the session no longer needs it): close it as it is.
    func abandon() {
        self.session = nil
        self.pendingRead = false
        self.context?.close(promise: nil)
    }

    /// Lets go of the session and closes the connection. `graceful`: what was written is sent first and
    /// the broker sees an orderly end of stream (TCP FIN / TLS close_notify); a full close follows
    /// after `fullCloseAfter` in case the broker keeps its side open.
    func partnerClose(graceful: Bool, fullCloseAfter: TimeAmount) {
        self.session = nil
        // With no client left to protect, a read held back for its sake would keep the broker's end of stream
        // unread until the full close below.
        self.releaseHeldRead()
        guard let context = self.context else { return }
        guard graceful, context.channel.isActive else {
            context.close(promise: nil)
            return
        }
        context.flush()
        let closed = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: closed)
        closed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        context.eventLoop.assumeIsolated().scheduleTask(in: fullCloseAfter) {
            if context.channel.isActive { context.close(promise: nil) }
        }
    }

    /// Replays a read that `read(context:)` held back while the client was not writable.
    private func releaseHeldRead() {
        guard self.pendingRead, let context = self.context else { return }
        self.pendingRead = false
        context.read()
    }
}

/// Short, user-facing descriptions of why the broker could not be reached or failed.
enum UpstreamErrorDescription {
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { return self.describe(first.error) }
            if error.dnsAAAAError != nil || error.dnsAError != nil { return "cannot resolve \(error.host)" }
            return "cannot connect to \(error.host):\(error.port)"
        case ChannelError.connectTimeout(let amount):
            return "connect timed out after \(amount.nanoseconds / 1_000_000) ms"
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return "connection refused"
            case ECONNRESET: return "connection reset"
            case ETIMEDOUT: return "connection timed out"
            case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
            case EPIPE: return "broken pipe"
            default: return String(describing: error)
            }
        case NIOSSLError.uncleanShutdown:
            // The peer closed TCP without TLS close_notify: an abrupt close, not a TLS failure.
            return "connection closed without a close frame (TLS unclean shutdown)"
        case let error as NIOSSLError:
            return "TLS: \(error)"
        case let error as BoringSSLError:
            return "TLS: \(error)"
        default:
            return String(describing: error)
        }
    }
}
