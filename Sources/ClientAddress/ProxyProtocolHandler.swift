import NIOCore

/// Reads an optional or mandatory PROXY protocol header (v1 or v2) at the start of an inbound connection, then
/// gets out of the way.
///
/// Put it first in the server pipeline (before TLS and HTTP). It decides once per connection:
///
/// | peer (TCP remote address)          | first bytes      | result                                        |
/// |------------------------------------|------------------|-----------------------------------------------|
/// | trusted                            | valid header     | `.received(header)`, bytes after it passed on |
/// | trusted                            | no header        | `requireHeaderFromTrustedPeers` ? rejected : `.absent` |
/// | untrusted, `allowUntrustedPeers`   | no header        | `.absent`, bytes passed on unchanged          |
/// | untrusted, `allowUntrustedPeers`   | a header         | rejected (nobody else may claim an address)   |
/// | untrusted, not allowed             | —                | rejected as soon as the channel is active     |
/// | any                                | invalid header   | rejected                                      |
///
/// On a decision it records it in `outcome`, fires a `ProxyProtocolEvent` to the handlers after it, and then:
/// - accepted: passes on the bytes that followed the header (or the whole first bytes when there is none), in the
///   same `channelRead`, unchanged — nothing lost or duplicated, wherever the reads were split — and removes
///   itself, so later reads go straight to the next handler;
/// - rejected: drops what it holds and closes the channel. Nothing is passed on.
///
/// Memory is bounded: it holds at most `parser.maximumHeaderSize` bytes (107 for v1) plus one read. Time is not:
/// the caller closes connections that send nothing, with the same timeout as the rest of the handshake. The
/// channel is expected to use `autoRead` (the NIO default).
package final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer

    package struct Configuration: Sendable {
        /// The peers allowed to send a header: load balancers and proxies we run.
        package var trustedProxies: TrustedProxies
        /// Whether a trusted peer must start with a header (true) or may also connect without one (false).
        package var requireHeaderFromTrustedPeers: Bool
        /// Whether peers outside `trustedProxies` may connect at all. They never may send a header.
        package var allowUntrustedPeers: Bool
        /// Header size limit and accepted versions.
        package var parser: ProxyProtocolParser

        package init(
            trustedProxies: TrustedProxies,
            requireHeaderFromTrustedPeers: Bool = true,
            allowUntrustedPeers: Bool = false,
            parser: ProxyProtocolParser = ProxyProtocolParser()
        ) {
            self.trustedProxies = trustedProxies
            self.requireHeaderFromTrustedPeers = requireHeaderFromTrustedPeers
            self.allowUntrustedPeers = allowUntrustedPeers
            self.parser = parser
        }

        /// A listener behind a load balancer only (what the spec recommends): every connection comes from a trusted
        /// proxy and starts with a header; anything else is closed.
        package static func required(trusting proxies: TrustedProxies) -> Configuration {
            Configuration(trustedProxies: proxies, requireHeaderFromTrustedPeers: true, allowUntrustedPeers: false)
        }

        /// A listener shared by a load balancer and direct clients: a header is accepted from trusted peers and
        /// refused from anyone else; connections without one pass through unchanged.
        package static func optional(trusting proxies: TrustedProxies) -> Configuration {
            Configuration(trustedProxies: proxies, requireHeaderFromTrustedPeers: false, allowUntrustedPeers: true)
        }
    }

    private enum State {
        /// The peer has not been looked at yet (channel not active).
        case initial
        /// Waiting for enough bytes to decide; `trusted` is the peer's standing.
        case awaitingHeader(trusted: Bool, peer: SocketAddress?)
        /// Decided and passed on: later reads (if the removal is still in flight) are forwarded unchanged.
        case forwarding
        /// Refused: later reads are dropped.
        case rejected
    }

    private let configuration: Configuration
    /// Bytes received while waiting for a decision (a partial header, or a prefix of a signature).
    private var buffered: ByteBuffer?
    private var state = State.initial

    /// The decision, readable by anyone who kept a reference, also after this handler has left the pipeline.
    package let outcome: ProxyProtocolOutcome

    package init(configuration: Configuration, outcome: ProxyProtocolOutcome = ProxyProtocolOutcome()) {
        self.configuration = configuration
        self.outcome = outcome
    }

    // MARK: Lifecycle

    package func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            self.lookAtPeer(context: context)
        }
    }

    package func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        self.lookAtPeer(context: context)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        switch self.state {
        case .initial, .awaitingHeader:
            let error = self.closedEarly()
            self.buffered = nil
            self.state = .rejected
            self.announce(.rejected(error), context: context)
        case .forwarding, .rejected:
            break
        }
        context.fireChannelInactive()
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .awaitingHeader = self.state, let event = event as? ChannelEvent, event == .inputClosed {
            // Half-closed before deciding: nothing more will come, so the header never will.
            self.reject(self.closedEarly(), context: context)
        }
        context.fireUserInboundEventTriggered(event)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        // Removed from outside while undecided: unverified bytes are not passed on.
        self.buffered = nil
    }

    // MARK: Reading

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.state {
        case .forwarding:
            context.fireChannelRead(data)
            return
        case .rejected:
            return
        case .initial:
            // Bytes before channelActive do not happen with NIO's channels; decide with what we know.
            self.lookAtPeer(context: context)
            guard case .awaitingHeader = self.state else {
                return
            }
        case .awaitingHeader:
            break
        }
        var input = self.unwrapInboundIn(data)
        if self.buffered == nil {
            self.buffered = input
        } else {
            self.buffered?.writeBuffer(&input)
        }
        self.decide(context: context)
    }

    private func lookAtPeer(context: ChannelHandlerContext) {
        guard case .initial = self.state else {
            return
        }
        let peer = context.channel.remoteAddress
        let trusted = peer.map { self.configuration.trustedProxies.contains($0) } ?? false
        self.state = .awaitingHeader(trusted: trusted, peer: peer)
        if !trusted, !self.configuration.allowUntrustedPeers {
            self.reject(
                ProxyProtocolError(
                    code: .untrustedPeer,
                    description: "connection from \(Self.describe(peer)), which is not a trusted proxy"
                ),
                context: context
            )
        }
    }

    private func decide(context: ChannelHandlerContext) {
        guard case .awaitingHeader(let trusted, let peer) = self.state, var bytes = self.buffered else {
            return
        }
        switch ProxyProtocolParser.detect(bytes) {
        case .needMoreBytes:
            return
        case .notProxy:
            if trusted, self.configuration.requireHeaderFromTrustedPeers {
                self.reject(
                    ProxyProtocolError(
                        code: .missingHeader,
                        description: "trusted proxy \(Self.describe(peer)) sent no PROXY protocol header; "
                            + "the connection starts with \(ProxyProtocolParser.hexPreview(bytes))"
                    ),
                    context: context
                )
            } else {
                self.accept(.absent, remaining: bytes, context: context)
            }
        case .proxyV1, .proxyV2:
            guard trusted else {
                self.reject(
                    ProxyProtocolError(
                        code: .untrustedPeer,
                        description: "PROXY protocol header from \(Self.describe(peer)), which is not a trusted proxy"
                    ),
                    context: context
                )
                return
            }
            do {
                guard let header = try self.configuration.parser.parse(&bytes) else {
                    return  // incomplete: `bytes` is untouched and `buffered` still holds everything
                }
                self.accept(.received(header), remaining: bytes, context: context)
            } catch {
                self.reject(error, context: context)
            }
        }
    }

    // MARK: Decisions

    private func accept(_ state: ProxyProtocolOutcome.State, remaining: ByteBuffer, context: ChannelHandlerContext) {
        self.buffered = nil
        self.state = .forwarding
        switch state {
        case .received(let header):
            self.announce(.received(header), context: context)
        default:
            self.announce(.absent, context: context)
        }
        // A handler after this one may have closed the connection on the event (a per-IP limit, say): then the
        // bytes have nowhere to go.
        if remaining.readableBytes > 0, context.channel.isActive {
            context.fireChannelRead(self.wrapInboundOut(remaining))
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func reject(_ error: ProxyProtocolError, context: ChannelHandlerContext) {
        guard case .awaitingHeader = self.state else {
            return
        }
        self.buffered = nil
        self.state = .rejected
        self.announce(.rejected(error), context: context)
        context.close(promise: nil)
    }

    /// Records the decision, then tells the handlers after this one.
    private func announce(_ event: ProxyProtocolEvent, context: ChannelHandlerContext) {
        switch event {
        case .received(let header): self.outcome.resolve(.received(header))
        case .absent: self.outcome.resolve(.absent)
        case .rejected(let error): self.outcome.resolve(.rejected(error))
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func closedEarly() -> ProxyProtocolError {
        let count = self.buffered?.readableBytes ?? 0
        return ProxyProtocolError(
            code: .connectionClosedBeforeHeader,
            description: count == 0
                ? "the peer closed the connection before sending anything"
                : "the peer closed the connection after \(count) byte\(count == 1 ? "" : "s") of an incomplete PROXY protocol header"
        )
    }

    private static func describe(_ peer: SocketAddress?) -> String {
        guard let peer else {
            return "an unknown address"
        }
        return peer.ipAddress ?? peer.description
    }
}
