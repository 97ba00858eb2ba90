import NIOCore

/// Performs the client side of the opening handshake on a fresh connection, then puts a client-role
/// `WebSocketMessageCodec` in its place: the one client handshake of the `ws` upstream and the load generator.
///
/// It writes the request when the channel is active, reads the response head (at most
/// `WebSocketClientHandshake.maximumResponseHeadLength` bytes), and checks it. On success it adds the codec right
/// after itself, succeeds `upgraded` with the chosen subprotocol, passes on the bytes that came after the head (the
/// first frames) and removes itself. On failure it fails `upgraded`, passes the error on (`errorCaught`) and closes
/// the connection. Messages written before the upgrade completed fail: there is no frame to put them in yet.
package final class WebSocketClientUpgradeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer
    package typealias OutboundIn = WebSocketOutbound
    package typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case awaitingResponse(received: ByteBuffer?)
        case upgraded
        case failed
    }

    private let handshake: WebSocketClientHandshake
    private let codecConfiguration: WebSocketMessageCodec.Configuration
    private let upgraded: EventLoopPromise<String?>
    private var state = State.idle

    /// `codec`: the configuration of the codec that takes over (its role is set to `.client`).
    package init(handshake: WebSocketClientHandshake, codec: WebSocketMessageCodec.Configuration, upgraded: EventLoopPromise<String?>) {
        self.handshake = handshake
        var codec = codec
        codec.role = .client
        self.codecConfiguration = codec
        self.upgraded = upgraded
    }

    package func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.sendRequest(context: context) }
    }

    package func channelActive(context: ChannelHandlerContext) {
        self.sendRequest(context: context)
        context.fireChannelActive()
    }

    private func sendRequest(context: ChannelHandlerContext) {
        guard case .idle = self.state else { return }
        self.state = .awaitingResponse(received: nil)
        context.writeAndFlush(self.wrapOutboundOut(context.channel.allocator.buffer(string: self.handshake.request)), promise: nil)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = self.unwrapInboundIn(data)
        guard case .awaitingResponse(var received) = self.state else {
            // Only after the upgrade (a read already queued when the codec took over): it belongs to the codec.
            if case .upgraded = self.state { context.fireChannelRead(data) }
            return
        }
        if received == nil {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        guard var buffer = received else { return }
        guard let headLength = WebSocketClientHandshake.responseHeadLength(in: buffer) else {
            if buffer.readableBytes > WebSocketClientHandshake.maximumResponseHeadLength {
                self.fail(
                    WebSocketClientHandshakeError(
                        "the answer to the upgrade request is longer than \(WebSocketClientHandshake.maximumResponseHeadLength) bytes"),
                    context: context)
            } else {
                self.state = .awaitingResponse(received: buffer)
            }
            return
        }
        let head = buffer.readString(length: headLength) ?? ""
        let subprotocol: String?
        do {
            subprotocol = try self.handshake.validate(responseHead: head)
        } catch {
            self.fail(error, context: context)
            return
        }
        do {
            try context.pipeline.syncOperations.addHandler(
                WebSocketMessageCodec(configuration: self.codecConfiguration), position: .after(self))
        } catch {
            self.fail(error, context: context)
            return
        }
        self.state = .upgraded
        self.upgraded.succeed(subprotocol)
        // The server may have sent its first frames right behind the 101.
        if buffer.readableBytes > 0 {
            context.fireChannelRead(self.wrapInboundOut(buffer))
            context.fireChannelReadComplete()
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .upgraded = self.state else {
            promise?.fail(WebSocketClientHandshakeError("a message was written before the WebSocket upgrade completed"))
            return
        }
        context.write(data, promise: promise)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        switch self.state {
        case .idle, .awaitingResponse:
            self.state = .failed
            self.upgraded.fail(WebSocketClientHandshakeError("the server closed the connection during the WebSocket handshake"))
        case .upgraded, .failed:
            break
        }
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch self.state {
        case .idle, .awaitingResponse:
            self.fail(error, context: context)
        case .upgraded, .failed:
            context.fireErrorCaught(error)
        }
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        // Removed before the handshake finished (the pipeline is torn down): nobody may wait forever.
        switch self.state {
        case .idle, .awaitingResponse:
            self.state = .failed
            self.upgraded.fail(ChannelError.ioOnClosedChannel)
        case .upgraded, .failed:
            break
        }
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        if case .failed = self.state { return }
        self.state = .failed
        self.upgraded.fail(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
