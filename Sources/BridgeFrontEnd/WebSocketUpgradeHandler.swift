import BridgeRelay
import ClientAddress
import EdgeAuth
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import WebSocketTransport

/// Answers the client's HTTP request: a 101 that switches the connection to the relay, or a short
/// refusal (404, 405, 426, 400, 403, 429, 431) followed by a close. What to answer is decided by `UpgradeDecision`
/// from the request head alone; this handler performs it.
///
/// On upgrade it creates the session and asks it how to answer (`ClientSessionHandler.answerUpgrade`): at once, or,
/// for an upstream that must answer first (`ws`), once the relay has connected the broker; reads are held back
/// meanwhile. Then it writes the 101 (or a 502), puts `WebSocketMessageCodec` and the session behind itself and
/// removes the HTTP handlers; bytes the client sent after its request (a first frame sent without waiting for the
/// 101) are forwarded by the decoder to the codec, so nothing is lost.
final class WebSocketUpgradeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case awaitingHead
        /// Accepted by `UpgradeDecision`; edge authentication is judging the request (`UpgradeAuthentication`).
        /// `requestEnded`: the request's end arrived meanwhile. `readHeld`: a read waits for the decision.
        case authenticating(UpgradeAcceptance, upstreamPrelude: ByteBuffer?, requestEnded: Bool, readHeld: Bool)
        /// Accepted; the 101 goes out at the end of the request.
        case upgrading(UpgradeAcceptance, upstreamPrelude: ByteBuffer?)
        /// The relay is preparing the answer (dialling a `ws` upstream); `readHeld`: a read waits for it.
        case awaitingAnswer(readHeld: Bool)
        /// A refusal was sent (or the connection is being dropped): ignore the rest of the request.
        case done
    }

    private let frontEnd: WebSocketFrontEnd
    private let listener: ListenerSettings
    /// The PROXY protocol decision for this connection, when the listener takes PROXY headers.
    private let proxy: ProxyProtocolOutcome?
    private let limiter: RequestHeadLimiter
    private let decoder: ByteToMessageHandler<HTTPRequestDecoder>
    private var state = State.awaitingHead
    private var timeout: Scheduled<Void>?
    /// The real client, known once the request head (with any X-Forwarded-For) has arrived.
    private var client = ClientEndpoint(display: "unknown", ip: "unknown", socketAddress: nil)

    init(
        frontEnd: WebSocketFrontEnd, listener: ListenerSettings, proxy: ProxyProtocolOutcome?, limiter: RequestHeadLimiter,
        decoder: ByteToMessageHandler<HTTPRequestDecoder>
    ) {
        self.frontEnd = frontEnd
        self.listener = listener
        self.proxy = proxy
        self.limiter = limiter
        self.decoder = decoder
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // Covers the TLS handshake too: the timer starts when the connection is accepted.
        self.timeout = context.eventLoop.assumeIsolated().scheduleTask(in: self.frontEnd.handshakeTimeout) {
            guard case .awaitingHead = self.state else { return }
            self.state = .done
            self.frontEnd.metrics.unrouted.handshake("timeout")
            self.frontEnd.logger.debug("handshake timed out", metadata: ["client": "\(clientAddress(of: context.channel))"])
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.timeout?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.timeout?.cancel()
        if case .authenticating = self.state { self.state = .done }  // the auth callout's late answer has nobody to go to
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            guard case .awaitingHead = self.state else { return }
            self.timeout?.cancel()
            context.pipeline.syncOperations.removeHandler(self.limiter, promise: nil)
            self.client = ClientEndpoint.resolve(
                channel: context.channel, proxy: self.proxy, listener: self.listener,
                headers: HTTPHeadersView(xForwardedFor: head.headers["X-Forwarded-For"], xRealIP: head.headers.first(name: "X-Real-IP")))
            let decision = UpgradeDecision(head, routes: self.frontEnd.routes) { self.frontEnd.admission.admit(self.client.ip) }
            self.perform(decision, head, context: context)
        case .body:
            break
        case .end:
            if case .authenticating(let acceptance, let prelude, _, let readHeld) = self.state {
                self.state = .authenticating(acceptance, upstreamPrelude: prelude, requestEnded: true, readHeld: readHeld)
                return
            }
            guard case .upgrading(let acceptance, let prelude) = self.state else { return }
            self.answer(acceptance, upstreamPrelude: prelude, context: context)
        }
    }

    func read(context: ChannelHandlerContext) {
        // The one backpressure mechanism: nothing more is read from the client until the relay has answered.
        if case .awaitingAnswer = self.state {
            self.state = .awaitingAnswer(readHeld: true)
            return
        }
        if case .authenticating(let acceptance, let prelude, let ended, _) = self.state {
            self.state = .authenticating(acceptance, upstreamPrelude: prelude, requestEnded: ended, readHeld: true)
            return
        }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .rejected(let error) = event as? ProxyProtocolEvent {
            // The PROXY protocol handler closes the connection itself; say why. A peer that closes before
            // sending anything is usually a load balancer's TCP health check.
            self.state = .done
            self.frontEnd.metrics.unrouted.handshake("proxy_protocol_rejected")
            self.frontEnd.logger.log(
                level: error.code == .connectionClosedBeforeHeader ? .debug : .info, "PROXY protocol header refused",
                metadata: ["peer": "\(clientAddress(of: context.channel))", "listener": "\(self.listener.name)", "reason": "\(error)"])
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // Draining: a connection still in its handshake is simply closed.
            self.state = .done
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard case .awaitingHead = self.state else {
            context.close(promise: nil)
            return
        }
        self.timeout?.cancel()
        // No usable request head, so no forwarding headers: the refusal is logged with the TCP (or PROXY) peer.
        self.client = ClientEndpoint.resolve(channel: context.channel, proxy: self.proxy, listener: self.listener, headers: nil)
        switch error {
        case is RequestHeadLimiter.TooLarge, HTTPParserError.headerOverflow:
            self.refuse(
                UpgradeRefusal(
                    431, "request header too large (limit \(self.frontEnd.maxRequestHeadSize) bytes)", result: "header_too_large",
                    route: nil),
                context: context)
        case is HTTPParserError:
            self.refuse(UpgradeRefusal(400, "malformed HTTP request", result: "bad_request", route: nil), context: context)
        default:
            // TLS failures (plain HTTP on the TLS port, TLS < 1.2, no shared cipher) and resets.
            self.state = .done
            self.frontEnd.metrics.unrouted.handshake("transport_error")
            self.frontEnd.logger.debug(
                "connection failed before the handshake",
                metadata: ["client": "\(clientAddress(of: context.channel))", "error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Decision

    private func perform(_ decision: UpgradeDecision, _ head: HTTPRequestHead, context: ChannelHandlerContext) {
        switch decision {
        case .refuse(let refusal):
            // A path that is not a route may be a static file.
            let path = requestPath(of: head.uri)
            if refusal.status == 404,
                self.frontEnd.staticFiles?.respond(to: head, path: path, client: self.client.ip, context: context) == true
            {
                self.state = .done  // answered from static_files; the connection closes after it
                return
            }
            self.refuse(refusal, context: context)
        case .accept(let acceptance):
            // The closure lives as long as the session: it captures the key alone, not the acceptance (its route
            // and strings, ~700 bytes per idle session; docs/PERFORMANCE.md "RSS per idle session").
            let admission = self.frontEnd.admission
            let admissionKey = acceptance.admissionKey
            context.channel.closeFuture.whenComplete { _ in admission.release(admissionKey) }
            let prelude = self.frontEnd.sendsProxyProtocol ? self.proxyProtocolHeader(host: acceptance.host, context: context) : nil
            guard let auth = acceptance.route.auth else {
                self.state = .upgrading(acceptance, upstreamPrelude: prelude)
                return
            }
            self.authenticate(head, acceptance, auth: auth, upstreamPrelude: prelude, context: context)
        }
    }

    /// Edge authentication before the 101: a refusal is a 401 (or 503) instead of the upgrade.
    private func authenticate(
        _ head: HTTPRequestHead, _ acceptance: UpgradeAcceptance, auth: RouteEdgeAuth, upstreamPrelude: ByteBuffer?,
        context: ChannelHandlerContext
    ) {
        self.state = .authenticating(acceptance, upstreamPrelude: upstreamPrelude, requestEnded: false, readHeld: false)
        let metrics = self.frontEnd.metrics.route(auth.route)
        UpgradeAuthentication.judge(head, auth: auth, clientAddress: self.client.ip, metrics: metrics, on: context.eventLoop)
            .assumeIsolated().whenSuccess { result in
                guard case .authenticating(var acceptance, let prelude, let requestEnded, let readHeld) = self.state else { return }
                switch result {
                case .refuse(let refusal):
                    self.frontEnd.accessLogger?.info(
                        "handshake",
                        metadata: [
                            "client": "\(self.client.display)", "listener": "\(self.listener.name)", "route": "\(auth.route)",
                            "status": "\(refusal.status)", "auth": "refused", "sub": "-", "reason": "\(refusal.reason)",
                        ])
                    self.refuse(refusal, context: context)
                case .proceed(let outcome):
                    acceptance.auth = outcome
                    self.state = .upgrading(acceptance, upstreamPrelude: prelude)
                    if requestEnded {
                        // A read held meanwhile stays held until the 101 (the bytes after the request are the session's).
                        self.answer(acceptance, upstreamPrelude: prelude, readHeld: readHeld, context: context)
                    } else if readHeld {
                        context.read()  // the rest of the request
                    }
                }
            }
    }

    private func refuse(_ refusal: UpgradeRefusal, context: ChannelHandlerContext) {
        self.state = .done
        (refusal.route.map { self.frontEnd.metrics.route($0) } ?? self.frontEnd.metrics.unrouted).handshake(refusal.result)
        self.frontEnd.logger.log(
            level: refusal.status == 404 ? .debug : .info, "handshake refused",
            metadata: [
                "client": "\(self.client.display)", "listener": "\(self.listener.name)",
                "route": "\(refusal.route ?? "-")", "status": "\(refusal.status)", "reason": "\(refusal.reason)",
            ])
        let response = HTTPResponse.refusal(
            refusal.status, refusal.reason, extraHeaders: refusal.headers.map { ($0.name, $0.value) }, allocator: context.channel.allocator)
        context.writeAndFlush(self.wrapOutboundOut(response)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    // MARK: Upgrade

    /// The PROXY protocol v2 header for the broker connection: the real client as source, the address
    /// it connected to as destination, the host name it asked for (AUTHORITY) and its TLS version (SSL).
    private func proxyProtocolHeader(host: String?, context: ChannelHandlerContext) -> ByteBuffer? {
        guard let source = self.client.socketAddress,
            let destination = self.proxy?.header?.destinationAddress ?? context.channel.localAddress
        else { return nil }
        var tlvs: [ProxyProtocolTLV] = []
        if let host, let name = host.split(separator: ":").first.map(String.init), !name.isEmpty, !host.hasPrefix("[") {
            tlvs.append(.authority(name))
        }
        // swift-nio-ssl's own accessor: the front end asks the pipeline, not the TLS handler, for the negotiated version.
        if let version = try? context.pipeline.syncOperations.nioSSL_tlsVersion() {
            tlvs.append(.ssl(ProxyProtocolSSLInfo(version: version == .tlsv13 ? "TLSv1.3" : "TLSv1.2", cipher: nil)))
        }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        do {
            try ProxyProtocolV2.encode(source: source, destination: destination, tlvs: tlvs, into: &buffer)
        } catch {
            self.frontEnd.logger.warning("cannot encode the PROXY protocol header", metadata: ["error": "\(error)"])
            return nil
        }
        return buffer
    }

    /// The relay decides the answer, and connects the broker first when the answer depends on it.
    private func answer(
        _ acceptance: UpgradeAcceptance, upstreamPrelude: ByteBuffer?, readHeld: Bool = false, context: ChannelHandlerContext
    ) {
        let route = acceptance.route
        let descriptor = SessionDescriptor(
            clientAddress: self.client.display, listener: self.listener.name, route: route.settings.name, subprotocol: nil,
            upstreamPrelude: upstreamPrelude)
        let session = ClientSessionHandler(
            descriptor: descriptor, settings: route.session, upstream: self.frontEnd.upstream,
            metrics: self.frontEnd.metrics, logger: self.frontEnd.logger, accessLogger: self.frontEnd.accessLogger,
            registry: self.frontEnd.sessions)
        self.state = .awaitingAnswer(readHeld: readHeld)
        session.answerUpgrade(acceptance.subprotocol, client: context.channel).assumeIsolated().whenComplete { result in
            guard case .awaitingAnswer(let readHeld) = self.state else { return }
            switch result {
            case .success(.switchProtocols(let subprotocol)):
                self.state = .done
                self.switchToWebSocket(acceptance, subprotocol: subprotocol, session: session, readHeld: readHeld, context: context)
            case .success(.badGateway):
                // The relay logged why; the client learns only that the broker is unavailable.
                self.refuse(
                    UpgradeRefusal(502, "broker unavailable", result: "bad_gateway", route: route.settings.name), context: context)
            case .failure:
                self.state = .done  // the client is gone
            }
        }
    }

    private func switchToWebSocket(
        _ acceptance: UpgradeAcceptance, subprotocol: String?, session: ClientSessionHandler, readHeld: Bool, context: ChannelHandlerContext
    ) {
        let route = acceptance.route
        let compression = acceptance.compression
        let response = HTTPResponse.switchingProtocols(
            accept: acceptance.acceptValue, subprotocol: subprotocol, extensions: compression?.responseHeaderValue,
            allocator: context.channel.allocator)
        context.writeAndFlush(self.wrapOutboundOut(response), promise: nil)

        var codecConfiguration = route.codec
        if let compression, let settings = route.compression {
            codecConfiguration.compression = .init(agreement: compression, settings: settings)
        }
        let codec = WebSocketMessageCodec(configuration: codecConfiguration)
        do {
            let pipeline = context.pipeline.syncOperations
            try pipeline.addHandler(codec, position: .after(self))
            if let auth = route.auth, let outcome = acceptance.auth {
                // Before the session: it sees the CONNECT only once edge authentication has accepted it.
                let gate = ConnectAuthHandler(
                    auth: auth, upgrade: outcome, clientAddress: self.client.ip, maximumPacketSize: route.session.maximumPacketSize,
                    metrics: self.frontEnd.metrics.route(route.settings.name))
                try pipeline.addHandler(gate, position: .after(codec))
                try pipeline.addHandler(session, position: .after(gate))
            } else {
                try pipeline.addHandler(session, position: .after(codec))
            }
            // Remove ourselves first, then the decoder: its left-over bytes must reach the codec. NIO
            // removes the decoder in a later tick and forwards those bytes without a read-complete, which
            // is when the codec passes payload on: fire one, or a CONNECT sent along with the request
            // would wait for the client's next packet.
            let channel = context.channel
            let decoderRemoved = context.eventLoop.makePromise(of: Void.self)
            if readHeld { context.read() }
            pipeline.removeHandler(context: context, promise: nil)
            pipeline.removeHandler(self.decoder, promise: decoderRemoved)
            decoderRemoved.futureResult.assumeIsolated().whenSuccess {
                channel.pipeline.syncOperations.fireChannelReadComplete()
            }
            self.frontEnd.metrics.route(route.settings.name).handshake("accepted")
        } catch {
            self.frontEnd.logger.error("could not switch the pipeline to WebSocket", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }
}

/// The TCP peer as `203.0.113.7:51234` or `[2001:db8::1]:51234`, for log lines written before the
/// request head is known (the real client, through PROXY/X-Forwarded-For, is `ClientEndpoint`).
func clientAddress(of channel: any Channel) -> String {
    ClientEndpoint.resolve(channel: channel, proxy: nil, listener: ListenerSettings(name: ""), headers: nil).display
}

extension HTTPHeaders {
    /// Whether a comma-separated header contains `token` (ASCII case-insensitive), across all its lines.
    func containsToken(_ token: String, in name: String) -> Bool {
        WebSocketHandshake.tokens(in: self[name]).contains { $0.caseInsensitiveEquals(token) }
    }
}
