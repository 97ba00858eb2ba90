import NIOCore
import NIOWebSocket

/// The last handler of a test WebSocket connection: queues every decoded frame for the test and, like a
/// browser, answers pings with pongs and a close frame with a close frame (both can be turned off).
final class FrameCollector: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let state: WaitableState<WebSocketConnectionState>
    private let options: TestWebSocketClient.Options

    init(state: WaitableState<WebSocketConnectionState>, options: TestWebSocketClient.Options) {
        self.state = state
        self.options = options
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let received = ReceivedFrame(
            opcode: frame.opcode, fin: frame.fin, reservedBits: frame.reservedBits.rawValue,
            masked: frame.maskKey != nil, payload: Array(frame.unmaskedData.readableBytesView)
        )
        let answerPings = options.answerPings
        let answerClose = options.answerClose
        let (pong, closeReply) = state.update { state -> (Bool, Bool) in
            state.record(received)
            state.pending.append(received)
            switch received.opcode {
            case .ping:
                state.pings.append(received.payload)
                return (answerPings && !state.closeSent, false)
            case .connectionClose:
                if state.closeReceived == nil { state.closeReceived = received }
                guard answerClose, !state.closeSent else { return (false, false) }
                state.closeSent = true
                return (false, true)
            default:
                return (false, false)
            }
        }
        if pong {
            write(.pong, received.payload, context: context)
        }
        if closeReply {
            // RFC 6455 §5.5.1: the reply typically echoes the status code.
            write(.connectionClose, Array(received.payload.prefix(2)), context: context)
        }
    }

    private func write(_ opcode: WebSocketOpcode, _ payload: [UInt8], context: ChannelHandlerContext) {
        let frame = WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: ByteBuffer(bytes: payload))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.update { $0.tcpClosed = true }
        context.fireChannelInactive()
    }

    /// Errors (TLS, an invalid frame from the server) are recorded for the failure message; the connection is
    /// then unusable, so it is closed, as a browser would.
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let text = String(describing: error)
        state.update { $0.errors.append(text) }
        context.close(promise: nil)
    }
}
