import NIOCore

/// Lets a handler that writes a byte stream sit behind `WebSocketMessageCodec`: each `ByteBuffer` written becomes one
/// binary message. Inbound, the codec's `.byteStream` mode already delivers `ByteBuffer`s, which pass through.
///
/// The relay's glue towards a `ws` upstream uses it: the same `UpstreamHandler` serves TCP and WebSocket brokers,
/// and MQTT over WebSocket does not care where frames begin (MQTT 5.0 §6), so one message per burst is right.
package final class WebSocketByteStreamAdapter: ChannelOutboundHandler, RemovableChannelHandler {
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = WebSocketOutbound

    package init() {}

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(self.wrapOutboundOut(.binary(self.unwrapOutboundIn(data))), promise: promise)
    }
}
