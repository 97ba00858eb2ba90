import MQTTWire
import NIOCore

/// The client's bytes from its first packet until the broker connection is ready.
///
/// The first packet must be a CONNECT; it is inspected once whole (for the logs and the choice of broker), and it and
/// whatever follows it are written to the broker in one go when the session starts relaying.
struct HeldClientBytes {
    private(set) var bytes: ByteBuffer?
    /// Length of the first packet (the CONNECT), known once its fixed header has arrived.
    private var connectLength: Int?
    /// Until the first packet header has been seen (checked per packet, so a plain stored flag).
    private(set) var awaitsFirstPacket = true

    /// The header of the client's first packet: why the stream is refused when it is not a CONNECT, else nil.
    mutating func firstPacketStarted(_ header: MQTTFixedHeader) -> String? {
        self.awaitsFirstPacket = false
        guard header.type == .connect else { return "first packet must be CONNECT, got \(header.type)" }
        self.connectLength = header.packetLength
        return nil
    }

    mutating func append(_ bytes: ByteBuffer) {
        if self.bytes == nil {
            self.bytes = bytes
        } else {
            var bytes = bytes
            self.bytes!.writeBuffer(&bytes)
        }
    }

    /// Everything held, which is held no more.
    @discardableResult
    mutating func take() -> ByteBuffer? {
        defer { self.bytes = nil }
        return self.bytes
    }

    /// The whole CONNECT once it has arrived, and the bytes after it; `keepingOnlyTheConnect` lets go of those, for a
    /// caller that checks them before they may be held.
    mutating func connect(keepingOnlyTheConnect: Bool) -> (packet: ByteBuffer, rest: ByteBuffer?)? {
        guard let length = self.connectLength, let bytes = self.bytes, bytes.readableBytes >= length,
            let packet = bytes.getSlice(at: bytes.readerIndex, length: length)
        else { return nil }
        let rest = bytes.getSlice(at: bytes.readerIndex + length, length: bytes.readableBytes - length).flatMap {
            $0.readableBytes > 0 ? $0 : nil
        }
        if keepingOnlyTheConnect { self.bytes = packet }
        return (packet, rest)
    }
}
