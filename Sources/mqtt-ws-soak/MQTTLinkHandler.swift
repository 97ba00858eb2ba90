import BenchCore
import MQTTWire
import NIOCore

/// What one connection of a soak client reports to its session.
enum MQTTLinkEvent {
    /// The byte stream carries MQTT now (TCP connected, or the WebSocket upgrade was accepted) on this channel.
    case ready(any Channel)
    /// One whole MQTT packet, fixed header included.
    case packet(MQTTFixedHeader, ByteBuffer)
    /// The end of a read burst: the moment to flush the answers written meanwhile.
    case readComplete
    /// The connection is gone (closed by either side, or failed).
    case closed
}

/// Splits the inbound MQTT byte stream into packets and reports them; a framing error closes the connection.
final class MQTTLinkHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    /// The WebSocket upgrade (nil for TCP: ready once connected).
    private let transportReady: EventLoopFuture<String?>?
    private let events: (MQTTLinkEvent) -> Void
    private var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
    private var closedReported = false

    init(transportReady: EventLoopFuture<String?>?, events: @escaping (MQTTLinkEvent) -> Void) {
        self.transportReady = transportReady
        self.events = events
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        if let transportReady = self.transportReady {
            // A failed upgrade closes the channel, which reports `.closed`.
            transportReady.assumeIsolated().whenSuccess { _ in self.events(.ready(channel)) }
        } else {
            self.events(.ready(channel))
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.accumulator.append(Self.unwrapInboundIn(data))
        do {
            while let (header, packet) = try self.accumulator.nextPacketWithHeader() {
                self.events(.packet(header, packet))
            }
        } catch {
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.events(.readComplete)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.reportClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func reportClosed() {
        guard !self.closedReported else { return }
        self.closedReported = true
        self.events(.closed)
    }
}
