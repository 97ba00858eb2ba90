import MQTTWire
import NIOCore
import WebSocketTransport

/// Signals from the transport handlers to `BenchClientHandler`.
public enum BenchTransportEvent: Sendable, Hashable {
    /// The byte stream now carries MQTT: the 101 was validated (WebSocket), or the TCP connection is up.
    case ready
    /// The server sent a WebSocket close frame with this status code (nil when the frame had none).
    case closeReceived(code: UInt16?)
}

/// The client side of MQTT over WebSocket: sends the upgrade request, validates the 101, then turns the
/// server's frames into the MQTT byte stream and MQTT packets into masked binary frames.
///
/// Inbound: `ByteBuffer` from the socket (or TLS) → the payloads of binary frames, as slices (no copy), one
/// `channelRead` per frame. Pings are answered, a close frame is answered and the channel closed.
/// Outbound: a `ByteBuffer` holding whole MQTT packets → one masked binary frame per packet (what MQTT client
/// libraries send), all in one buffer and one write, so a batch of packets is still one `write` system call.
public final class WebSocketClientHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case awaitingResponse(ByteBuffer?)
        case open
        /// We sent a close frame.
        case closing
        case failed
    }

    /// What the frame reader is in the middle of.
    private struct FrameInProgress {
        var opcode: WebSocketOpcode
        var remaining: Int
        /// The payload of a control frame, collected until complete (at most 125 bytes).
        var controlPayload: ByteBuffer?
    }

    private let target: BenchTarget
    private let handshake: WebSocketClientHandshake
    private var state: State = .idle
    private var frame: FrameInProgress?
    /// Bytes of an incomplete frame header, kept until the next read completes it.
    private var partialHeader: ByteBuffer?
    /// True inside a fragmented data message (a continuation frame is expected).
    private var inFragmentedMessage = false
    private var maskingKeys: MaskingKeySequence

    public init(target: BenchTarget, subprotocol: String?) {
        self.target = target
        self.handshake = WebSocketClientHandshake(subprotocol: subprotocol)
        self.maskingKeys = MaskingKeySequence()
    }

    /// For tests: a fixed handshake key and masking-key seed.
    init(target: BenchTarget, handshake: WebSocketClientHandshake, maskingSeed: UInt64) {
        self.target = target
        self.handshake = handshake
        self.maskingKeys = MaskingKeySequence(seed: maskingSeed)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            self.sendUpgradeRequest(context: context)
        }
    }

    public func channelActive(context: ChannelHandlerContext) {
        self.sendUpgradeRequest(context: context)
        context.fireChannelActive()
    }

    private func sendUpgradeRequest(context: ChannelHandlerContext) {
        guard case .idle = self.state else { return }
        self.state = .awaitingResponse(nil)
        let request = self.handshake.request(for: self.target)
        var buffer = context.channel.allocator.buffer(capacity: request.utf8.count)
        buffer.writeString(request)
        context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = self.unwrapInboundIn(data)
        switch self.state {
        case .idle, .failed:
            return
        case .awaitingResponse(var head):
            if head == nil {
                head = buffer
            } else {
                head?.writeBuffer(&buffer)
            }
            guard var received = head else { return }
            guard let headLength = WebSocketClientHandshake.responseHeadLength(in: received) else {
                if received.readableBytes > WebSocketClientHandshake.maximumResponseHeadLength {
                    self.fail(context: context, BenchClientError(.upgrade, "response head longer than \(WebSocketClientHandshake.maximumResponseHeadLength) bytes"))
                } else {
                    self.state = .awaitingResponse(received)
                }
                return
            }
            let headText = received.readString(length: headLength) ?? ""
            do {
                try self.handshake.validate(responseHead: headText)
            } catch {
                self.fail(context: context, error)
                return
            }
            self.state = .open
            context.fireUserInboundEventTriggered(BenchTransportEvent.ready)
            if received.readableBytes > 0 {
                self.readFrames(context: context, from: &received)
            }
        case .open, .closing:
            self.readFrames(context: context, from: &buffer)
        }
    }

    /// Reads as many frames (or parts of a frame's payload) as `buffer` holds.
    private func readFrames(context: ChannelHandlerContext, from buffer: inout ByteBuffer) {
        if var partial = self.partialHeader {
            self.partialHeader = nil
            partial.writeBuffer(&buffer)
            buffer = partial
        }
        while buffer.readableBytes > 0 || (self.frame?.remaining == 0) {
            if self.frame == nil {
                let header: WebSocketFrameHeader?
                do {
                    header = try WebSocketFrameHeader.read(from: &buffer)
                } catch {
                    self.fail(context: context, BenchClientError(.protocolViolation, "WebSocket: \(error)"))
                    return
                }
                guard let header else {
                    self.partialHeader = buffer
                    return
                }
                do {
                    try self.begin(header)
                } catch {
                    self.fail(context: context, error)
                    return
                }
            }
            guard var current = self.frame else { return }
            let take = min(current.remaining, buffer.readableBytes)
            if take > 0, let slice = buffer.readSlice(length: take) {
                current.remaining -= take
                if current.opcode.isControl {
                    current.controlPayload?.writeImmutableBuffer(slice)
                } else {
                    context.fireChannelRead(self.wrapInboundOut(slice))
                }
            }
            if current.remaining > 0 {
                self.frame = current
                return
            }
            self.frame = nil
            if current.opcode.isControl {
                self.handleControlFrame(context: context, opcode: current.opcode, payload: current.controlPayload)
                guard case .open = self.state else { return }
            }
        }
    }

    /// Checks a frame header against the connection's state (RFC 6455 §5) and starts reading its payload.
    private func begin(_ header: WebSocketFrameHeader) throws(BenchClientError) {
        if header.maskingKey != nil {
            throw BenchClientError(.protocolViolation, "WebSocket: the server sent a masked frame")
        }
        if header.reservedBits != 0 {
            throw BenchClientError(.protocolViolation, "WebSocket: reserved bits set without an extension")
        }
        guard header.opcode.isKnown else {
            throw BenchClientError(.protocolViolation, "WebSocket: unknown opcode \(header.opcode)")
        }
        if header.opcode.isControl {
            if !header.fin || header.payloadLength > 125 {
                throw BenchClientError(.protocolViolation, "WebSocket: fragmented or oversized \(header.opcode) frame")
            }
            self.frame = FrameInProgress(
                opcode: header.opcode, remaining: header.payloadLength,
                controlPayload: ByteBuffer())
            return
        }
        switch header.opcode {
        case .text:
            throw BenchClientError(.protocolViolation, "WebSocket: text frame (MQTT travels in binary frames)")
        case .binary:
            if self.inFragmentedMessage {
                throw BenchClientError(.protocolViolation, "WebSocket: new message before the previous one ended")
            }
        default:  // continuation
            if !self.inFragmentedMessage {
                throw BenchClientError(.protocolViolation, "WebSocket: continuation frame outside a message")
            }
        }
        self.inFragmentedMessage = !header.fin
        self.frame = FrameInProgress(opcode: header.opcode, remaining: header.payloadLength, controlPayload: nil)
    }

    private func handleControlFrame(context: ChannelHandlerContext, opcode: WebSocketOpcode, payload: ByteBuffer?) {
        switch opcode {
        case .ping:
            guard case .open = self.state else { return }
            let output = self.frameBuffer(opcode: .pong, payload: payload ?? ByteBuffer(), allocator: context.channel.allocator)
            context.writeAndFlush(self.wrapOutboundOut(output), promise: nil)
        case .close:
            let code = payload.flatMap { $0.getInteger(at: $0.readerIndex, as: UInt16.self) }
            context.fireUserInboundEventTriggered(BenchTransportEvent.closeReceived(code: code))
            if case .open = self.state {
                var answer = ByteBuffer()
                if let code { answer.writeInteger(code) }
                let output = self.frameBuffer(opcode: .close, payload: answer, allocator: context.channel.allocator)
                self.state = .closing
                context.writeAndFlush(self.wrapOutboundOut(output), promise: nil)
            }
            self.state = .closing
            context.close(promise: nil)
        default:  // pong
            break
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .open = self.state else {
            promise?.fail(BenchClientError(.protocolViolation, "write before the WebSocket upgrade completed (or after close)"))
            return
        }
        var packets = self.unwrapOutboundIn(data)
        var output = context.channel.allocator.buffer(capacity: packets.readableBytes + packets.readableBytes / 4 + 16)
        while packets.readableBytes > 0 {
            // Our own encoders wrote these packets, so the header is valid; a malformed tail still goes out as
            // one frame rather than being dropped silently.
            let length: Int
            if let header = try? MQTTFixedHeader.peek(in: packets, maximumPacketSize: Int.max), header.packetLength <= packets.readableBytes {
                length = header.packetLength
            } else {
                length = packets.readableBytes
            }
            guard let packet = packets.readSlice(length: length) else { break }
            let key = self.maskingKeys.next()
            WebSocketFrameHeader(opcode: .binary, maskingKey: key, payloadLength: length).write(to: &output)
            output.writeMaskedBytes(of: packet, key: key, keyOffset: 0)
        }
        context.write(self.wrapOutboundOut(output), promise: promise)
    }

    /// Closing while open sends a close frame (1000) first, as a well-behaved client does.
    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if mode == .all, case .open = self.state {
            self.state = .closing
            var code = ByteBuffer()
            code.writeInteger(WebSocketCloseCode.normalClosure.rawValue)
            let output = self.frameBuffer(opcode: .close, payload: code, allocator: context.channel.allocator)
            context.writeAndFlush(self.wrapOutboundOut(output), promise: nil)
        }
        context.close(mode: mode, promise: promise)
    }

    /// One masked frame with a control or data payload.
    private func frameBuffer(opcode: WebSocketOpcode, payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let key = self.maskingKeys.next()
        var output = allocator.buffer(capacity: WebSocketFrameHeader.maximumLength + payload.readableBytes)
        WebSocketFrameHeader(opcode: opcode, maskingKey: key, payloadLength: payload.readableBytes).write(to: &output)
        output.writeMaskedBytes(of: payload, key: key, keyOffset: 0)
        return output
    }

    private func fail(context: ChannelHandlerContext, _ error: BenchClientError) {
        self.state = .failed
        self.partialHeader = nil
        self.frame = nil
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
