import MQTTWire
import NIOCore
import WebSocketTransport

/// Between `BenchClientHandler` and the transport's client-role codec: the generator writes whole MQTT packets, many
/// per buffer, and each goes out as one binary message (what MQTT client libraries send); the codec masks them and
/// coalesces a batch into one socket write per flush.
///
/// Closing while open sends a close frame (1000) first, as a well-behaved client does, and then closes at once: the
/// generator does not wait for the server's answer.
final class MQTTWebSocketAdapter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = WebSocketOutbound

    private var closing = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var packets = self.unwrapOutboundIn(data)
        guard packets.readableBytes > 0 else {
            promise?.succeed()
            return
        }
        while packets.readableBytes > 0 {
            // Our own encoders wrote these packets, so the header is valid; a malformed tail still goes out as
            // one message rather than being dropped silently.
            var length = packets.readableBytes
            if let header = try? MQTTFixedHeader.peek(in: packets, maximumPacketSize: .max), header.packetLength <= packets.readableBytes {
                length = header.packetLength
            }
            let packet = packets.readSlice(length: length)!
            context.write(self.wrapOutboundOut(.binary(packet)), promise: packets.readableBytes == 0 ? promise : nil)
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all, !self.closing {
            self.closing = true
            context.writeAndFlush(self.wrapOutboundOut(.close(.normalClosure, reason: "")), promise: nil)
        }
        context.close(mode: mode, promise: promise)
    }
}
