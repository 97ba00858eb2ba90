import NIOCore
import WebSocketTransport

/// What one read of broker bytes writes to the client: its whole packets as one `WebSocketOutbound.binaries` value —
/// one pipeline write (and one cast out of `NIOAny`) per read burst instead of one per packet — and, last, the start
/// of a large packet that is streamed.
///
/// The array's storage is kept from read to read: the codec copies the packets out before its `write` returns, so the
/// array is uniquely referenced again when it is emptied, and a steady relay allocates nothing for it.
struct BrokerPacketBatch {
    private var packets: [ByteBuffer] = []
    private var streamStart: (totalLength: Int, firstPart: ByteBuffer)?

    mutating func append(_ packet: ByteBuffer) {
        assert(self.streamStart == nil, "a streamed packet takes the rest of the read")
        self.packets.append(packet)
    }

    /// A packet of `totalLength` bytes, `firstPart` of which has arrived, sent as one frame while the rest arrives
    /// (`continueBinary`) rather than assembled first: lower latency for big messages, memory bounded by a read. (With
    /// compression the codec compresses the collected parts whole.) It takes the rest of the read, so it is the last.
    mutating func startStream(totalLength: Int, firstPart: ByteBuffer) {
        self.streamStart = (totalLength, firstPart)
    }

    /// Writes what was collected, in order (nothing when nothing was), and empties the batch.
    mutating func write(to context: ChannelHandlerContext) {
        if !self.packets.isEmpty {
            context.write(NIOAny(WebSocketOutbound.binaries(self.packets)), promise: nil)
            self.packets.removeAll(keepingCapacity: true)
        }
        if let (totalLength, firstPart) = self.streamStart {
            self.streamStart = nil
            context.write(NIOAny(WebSocketOutbound.beginBinary(totalLength: totalLength, firstPart: firstPart)), promise: nil)
        }
    }
}
