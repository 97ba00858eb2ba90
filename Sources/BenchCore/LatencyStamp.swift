import NIOCore

/// The first bytes of every payload the generator publishes (when the payload is large enough): who sent it,
/// its sequence number and when, so that the receiving side measures end-to-end latency and counts lost and
/// duplicated messages without any shared state between connections.
///
/// Layout (big-endian, 24 bytes): magic `"MWB1"` (UInt32), publisher index (UInt32), sequence number (UInt64,
/// from 1), send time (UInt64, `NIODeadline.now().uptimeNanoseconds`: monotonic, comparable across the
/// generator's threads, meaningless across processes).
package struct LatencyStamp: Sendable, Hashable {
    /// "MWB1": tells the generator's own messages from anything else on the topic.
    package static let magic: UInt32 = 0x4D57_4231
    /// Bytes the stamp occupies at the front of the payload.
    package static let length = 24

    package var publisher: UInt32
    package var sequence: UInt64
    /// Monotonic nanoseconds (`NIODeadline.uptimeNanoseconds`) when the PUBLISH was encoded.
    package var sentAt: UInt64

    package init(publisher: UInt32, sequence: UInt64, sentAt: UInt64) {
        self.publisher = publisher
        self.sequence = sequence
        self.sentAt = sentAt
    }

    /// Overwrites the first `length` bytes of `payload`'s readable bytes with this stamp, in place.
    ///
    /// - Precondition: `payload.readableBytes >= LatencyStamp.length`.
    @inlinable
    package func write(into payload: inout ByteBuffer) {
        let start = payload.readerIndex
        payload.setInteger(Self.magic, at: start)
        payload.setInteger(self.publisher, at: start + 4)
        payload.setInteger(self.sequence, at: start + 8)
        payload.setInteger(self.sentAt, at: start + 16)
    }

    /// Reads the stamp at the front of `payload` (without moving its reader index); nil when the payload is too
    /// short or does not start with the magic.
    @inlinable
    package init?(readingFrom payload: ByteBuffer) {
        let start = payload.readerIndex
        guard payload.readableBytes >= Self.length,
            payload.getInteger(at: start, as: UInt32.self) == Self.magic,
            let publisher = payload.getInteger(at: start + 4, as: UInt32.self),
            let sequence = payload.getInteger(at: start + 8, as: UInt64.self),
            let sentAt = payload.getInteger(at: start + 16, as: UInt64.self)
        else {
            return nil
        }
        self.init(publisher: publisher, sequence: sequence, sentAt: sentAt)
    }

    /// A payload of `size` bytes: zeros where the stamp goes, then a repeating filler (not all zeros, so that
    /// nothing along the way can get away with compressing it).
    package static func makePayloadTemplate(size: Int, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: size)
        let stampBytes = min(size, Self.length)
        buffer.writeRepeatingByte(0, count: stampBytes)
        if size > stampBytes {
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size - stampBytes) { bytes in
                for index in 0..<(size - stampBytes) {
                    bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ 7)
                }
                return size - stampBytes
            }
        }
        return buffer
    }
}
