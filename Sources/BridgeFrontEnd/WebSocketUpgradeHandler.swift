import BridgeConfig
import BridgeRelay
import ClientAddress
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import WebSocketTransport

/// Answers the client's HTTP request: a 101 that switches the connection to the relay, or a short
/// refusal (404, 405, 426, 400, 431) followed by a close.
///
/// On upgrade it writes the 101, puts `WebSocketMessageCodec` and `ClientSessionHandler` behind
/// itself and removes the HTTP handlers; bytes the client sent after its request (a first frame sent
/// without waiting for the 101) are forwarded by the decoder to the codec, so nothing is lost.
final class WebSocketUpgradeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    private enum State {
        case awaitingHead
        case upgrading(
            route: WebSocketFrontEnd.Route, subprotocol: String?, offered: [String], accept: String,
            compression: PerMessageDeflate.Agreement?, upstreamPrelude: ByteBuffer?)
        /// A `ws` upstream is being dialled; the 101 waits for its answer.
        case dialling
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
            self.evaluate(head, context: context)
        case .body:
            break
        case .end:
            guard case .upgrading(let route, let subprotocol, let offered, let accept, let compression, let prelude) = self.state else { return }
            switch self.frontEnd.upstream {
            case .ws(let webSocketUpstream):
                self.state = .dialling
                self.dialWebSocketUpstream(
                    webSocketUpstream, route: route, subprotocol: subprotocol, offered: offered, accept: accept,
                    compression: compression, prelude: prelude, context: context)
            case .tcp(let connector):
                self.state = .done
                self.switchToWebSocket(
                    route: route, subprotocol: subprotocol, accept: accept, compression: compression,
                    connector: connector, upstreamPrelude: prelude, context: context)
            }
        }
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
                431, "request header too large (limit \(self.frontEnd.maxRequestHeadSize) bytes)", result: "header_too_large",
                route: nil, context: context)
        case is HTTPParserError:
            self.refuse(400, "malformed HTTP request", result: "bad_request", route: nil, context: context)
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

    private func evaluate(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = requestPath(of: head.uri)
        guard let route = self.frontEnd.routesByPath[path] else {
            if self.frontEnd.staticFiles?.respond(to: head, path: path, context: context) == true {
                self.state = .done  // answered from static_files; the connection closes after it
                return
            }
            self.refuse(404, "no WebSocket endpoint at \(path)", result: "not_found", route: nil, context: context)
            return
        }
        let headers = head.headers
        guard head.method == .GET else {
            self.refuse(
                405, "method \(head.method.rawValue) not allowed; a WebSocket handshake is a GET", result: "method_not_allowed",
                route: route, extraHeaders: [("Allow", "GET")], context: context)
            return
        }
        guard headers.containsToken("websocket", in: "Upgrade") else {
            self.refuse(
                426, "this is an MQTT over WebSocket endpoint: connect with a WebSocket client (ws:// or wss://)",
                result: "upgrade_required", route: route,
                extraHeaders: [("Upgrade", "websocket"), ("Connection", "Upgrade, close"), ("Sec-WebSocket-Version", "13")],
                context: context)
            return
        }
        guard head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) else {
            self.refuse(400, "a WebSocket handshake needs HTTP/1.1", result: "bad_request", route: route, context: context)
            return
        }
        guard headers.containsToken("upgrade", in: "Connection") else {
            self.refuse(400, "the Connection header must include Upgrade", result: "bad_request", route: route, context: context)
            return
        }
        let versions = headers["Sec-WebSocket-Version"]
        guard let version = versions.first, versions.count == 1 else {
            self.refuse(400, "missing Sec-WebSocket-Version", result: "bad_request", route: route, context: context)
            return
        }
        guard version.trimmingCharacters(in: " \t") == "13" else {
            self.refuse(
                426, "unsupported Sec-WebSocket-Version \(version); this server speaks 13", result: "unsupported_version", route: route,
                extraHeaders: [("Sec-WebSocket-Version", "13")], context: context)
            return
        }
        let keys = headers["Sec-WebSocket-Key"]
        guard keys.count == 1, let key = keys.first?.trimmingCharacters(in: " \t"), WebSocketHandshake.isValidKey(key) else {
            self.refuse(400, "missing or invalid Sec-WebSocket-Key", result: "bad_request", route: route, context: context)
            return
        }
        guard !headers["Host"].isEmpty else {
            self.refuse(400, "missing Host header", result: "bad_request", route: route, context: context)
            return
        }
        if !headers["Transfer-Encoding"].isEmpty || headers["Content-Length"].contains(where: { $0 != "0" }) {
            self.refuse(400, "a WebSocket handshake has no body", result: "bad_request", route: route, context: context)
            return
        }
        if let origins = route.origins, let reason = origins.refusal(for: headers.first(name: "Origin")) {
            self.refuse(403, reason, result: "origin_forbidden", route: route, context: context)
            return
        }
        let offered = WebSocketHandshake.tokens(in: headers["Sec-WebSocket-Protocol"])
        let echo: String?
        switch route.configuration.negotiateSubprotocol(offered: offered) {
        case .refuse(let reason):
            self.refuse(400, reason, result: "subprotocol_refused", route: route, context: context)
            return
        case .accept(let value):
            echo = value
        }
        // Last, so that only requests that would otherwise be accepted use up a client's allowance.
        switch self.frontEnd.admission.admit(self.client.ip) {
        case .admitted(let admissionKey):
            let admission = self.frontEnd.admission
            context.channel.closeFuture.whenComplete { _ in admission.release(admissionKey) }
            let compression = route.compression.flatMap {
                PerMessageDeflate.negotiate(offers: headers["Sec-WebSocket-Extensions"], settings: $0)
            }
            self.state = .upgrading(
                route: route, subprotocol: echo, offered: offered, accept: WebSocketHandshake.acceptValue(forKey: key),
                compression: compression,
                upstreamPrelude: self.frontEnd.sendsProxyProtocol ? self.proxyProtocolHeader(host: headers.first(name: "Host"), context: context) : nil)
        case .tooManySessions(let limit):
            self.refuse(
                429, "too many sessions from your address (limit \(limit))", result: "too_many_sessions", route: route,
                extraHeaders: [("Retry-After", "10")], context: context)
        case .rateLimited(let retryAfter):
            self.refuse(
                429, "too many new connections from your address; retry in \(retryAfter) s", result: "rate_limited", route: route,
                extraHeaders: [("Retry-After", "\(retryAfter)")], context: context)
        }
    }

    private func refuse(
        _ status: Int, _ reason: String, result: String, route: WebSocketFrontEnd.Route?,
        extraHeaders: [(String, String)] = [], context: ChannelHandlerContext
    ) {
        self.state = .done
        (route.map { self.frontEnd.metrics.route($0.configuration.name) } ?? self.frontEnd.metrics.unrouted).handshake(result)
        self.frontEnd.logger.log(
            level: status == 404 ? .debug : .info, "handshake refused",
            metadata: [
                "client": "\(self.client.display)", "listener": "\(self.listener.name)",
                "route": "\(route?.configuration.name ?? "-")", "status": "\(status)", "reason": "\(reason)",
            ])
        let response = HTTPResponse.refusal(status, reason, extraHeaders: extraHeaders, allocator: context.channel.allocator)
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
        if let tls = try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self), let version = tls.tlsVersion {
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

    /// Opens the broker's WebSocket before answering the client. Upstream offer: a miniprogram route
    /// offers `mqtt` for clients that offered nothing (and the client still gets no header); a passthrough
    /// route forwards the client's offer and gives the client the broker's answer unchanged.
    private func dialWebSocketUpstream(
        _ upstream: WebSocketUpstreamConnector, route: WebSocketFrontEnd.Route, subprotocol: String?, offered: [String],
        accept: String, compression: PerMessageDeflate.Agreement?, prelude: ByteBuffer?, context: ChannelHandlerContext
    ) {
        // Nothing more is read from the client until the broker has answered.
        context.channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        let offer: [String]? =
            switch route.configuration.policy {
            case .miniprogram: offered.isEmpty ? ["mqtt"] : offered
            case .passthrough: offered.isEmpty ? nil : offered
            }
        let started = NIODeadline.now()
        upstream.open(on: context.eventLoop, subprotocols: offer, prelude: prelude).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let (channel, answered)):
                guard context.channel.isActive else {
                    channel.close(promise: nil)
                    return
                }
                self.frontEnd.metrics.recordUpstreamConnect(since: started)
                // Whatever happens to the session, the broker connection does not outlive the client's.
                context.channel.closeFuture.whenComplete { _ in channel.close(promise: nil) }
                context.channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
                let echo = route.configuration.policy == .miniprogram ? subprotocol : answered
                self.state = .done
                self.switchToWebSocket(
                    route: route, subprotocol: echo, accept: accept, compression: compression,
                    connector: PreconnectedUpstream(channel: channel, endpointDescription: upstream.endpointDescription),
                    upstreamPrelude: nil, context: context)
            case .failure(let error):
                self.frontEnd.metrics.upstreamConnectFailed()
                self.frontEnd.logger.warning(
                    "broker unavailable", metadata: ["upstream": "\(upstream.endpointDescription)", "reason": "\(error)", "client": "\(self.client.display)"])
                self.refuse(502, "broker unavailable", result: "bad_gateway", route: route, context: context)
            }
        }
    }

    private func switchToWebSocket(
        route: WebSocketFrontEnd.Route, subprotocol: String?, accept: String, compression: PerMessageDeflate.Agreement?,
        connector: any UpstreamConnector, upstreamPrelude: ByteBuffer?, context: ChannelHandlerContext
    ) {
        let response = HTTPResponse.switchingProtocols(
            accept: accept, subprotocol: subprotocol, extensions: compression?.responseHeaderValue, allocator: context.channel.allocator)
        context.writeAndFlush(self.wrapOutboundOut(response), promise: nil)

        let descriptor = SessionDescriptor(
            clientAddress: self.client.display, listener: self.listener.name,
            route: route.configuration.name, subprotocol: subprotocol, upstreamPrelude: upstreamPrelude)
        var codecConfiguration = route.codec
        if let compression, let settings = route.compression {
            codecConfiguration.compression = .init(agreement: compression, settings: settings)
        }
        let codec = WebSocketMessageCodec(configuration: codecConfiguration)
        let session = ClientSessionHandler(
            descriptor: descriptor, settings: route.session, connector: connector,
            metrics: self.frontEnd.metrics, logger: self.frontEnd.logger, accessLogger: self.frontEnd.accessLogger)
        do {
            let pipeline = context.pipeline.syncOperations
            try pipeline.addHandler(codec, position: .after(self))
            try pipeline.addHandler(session, position: .after(codec))
            // Remove ourselves first, then the decoder: its left-over bytes must reach the codec. NIO
            // removes the decoder in a later tick and forwards those bytes without a read-complete, which
            // is when the codec passes payload on: fire one, or a CONNECT sent along with the request
            // would wait for the client's next packet.
            let channel = context.channel
            let decoderRemoved = context.eventLoop.makePromise(of: Void.self)
            pipeline.removeHandler(context: context, promise: nil)
            pipeline.removeHandler(self.decoder, promise: decoderRemoved)
            decoderRemoved.futureResult.assumeIsolated().whenSuccess {
                channel.pipeline.syncOperations.fireChannelReadComplete()
            }
            self.frontEnd.metrics.route(route.configuration.name).handshake("accepted")
        } catch {
            self.frontEnd.logger.error("could not switch the pipeline to WebSocket", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }
}

/// The path of a request target, without query or fragment; absolute-form targets are reduced to their path.
func requestPath(of uri: String) -> String {
    var target = Substring(uri)
    if let scheme = target.range(of: "://") {
        let afterScheme = target[scheme.upperBound...]
        target = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? "/"
    }
    if let end = target.firstIndex(where: { $0 == "?" || $0 == "#" }) {
        target = target[..<end]
    }
    return target.isEmpty ? "/" : String(target)
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

extension String {
    func trimmingCharacters(in characters: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
