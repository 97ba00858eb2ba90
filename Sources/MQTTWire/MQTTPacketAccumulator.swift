import NIOCore

/// Cuts a byte stream (broker → client) into whole MQTT control packets.
///
/// Each packet comes out as one `ByteBuffer` slice, fixed header included, sharing storage with the bytes that
/// were appended: no copy in the common case where a read holds whole packets.
///
/// ## Memory policy
/// An idle connection must cost nothing, and a large packet must not be reallocated over and over:
/// - `append` keeps the caller's buffer as is when nothing is buffered (no copy).
/// - When every buffered byte has been handed out, the storage is released (`retainedStorageCapacity == 0`).
/// - When a partial packet remains after `nextPacket` returns nil, it stays where it is only if that storage can
///   hold the whole packet and is not mostly dead weight (at most twice the packet's size). Otherwise — typically
///   10 bytes left at the end of a 64 KiB read — the partial packet is copied once into a new buffer sized for the
///   whole packet (its length is known once the fixed header is complete), so a 1 MiB packet arriving in 64 KiB
///   reads is assembled in place. The up-front reservation is capped at `reservationLimit`; beyond that the buffer
///   grows by doubling, so a header announcing a huge packet cannot make us reserve memory it has not sent.
/// - When the partial packet's fixed header is itself incomplete, `append` first completes the header from the new
///   bytes, then reserves, then writes the rest: still one copy of the tail of the partial packet.
public struct MQTTPacketAccumulator: Sendable {
    /// The largest packet accepted, fixed header included; a longer one makes `nextPacket` throw `.packetTooLarge`.
    package let maximumPacketSize: Int

    /// Up to this many bytes are reserved at once for a packet being assembled.
    public static let reservationLimit = 1 << 20

    /// nil whenever nothing is buffered (invariant), so an idle accumulator holds no storage.
    private var buffer: ByteBuffer?
    /// True while `buffer` is storage allocated here for the packet being assembled, with no slice of it handed
    /// out: appending then writes in place.
    private var ownsBuffer = false
    /// Set by the first error; every later call rethrows it.
    private var failure: MQTTWireError?

    /// - Parameter maximumPacketSize: the largest packet accepted, fixed header included (at least 2).
    public init(maximumPacketSize: Int) {
        precondition(maximumPacketSize >= 2, "a packet is at least 2 bytes long")
        self.maximumPacketSize = maximumPacketSize
    }

    /// The number of bytes received but not yet returned as part of a packet.
    public var bufferedByteCount: Int { self.buffer?.readableBytes ?? 0 }

    /// The size of the storage this accumulator keeps alive (0 when idle), for tests and memory accounting.
    /// Storage shared with packets already returned counts too, as long as the accumulator references it.
    public var retainedStorageCapacity: Int { self.buffer?.storageCapacity ?? 0 }

    /// Appends bytes read from the stream. When nothing is buffered it keeps `bytes` as is (no copy).
    public mutating func append(_ bytes: ByteBuffer) {
        guard self.failure == nil, bytes.readableBytes > 0 else {
            return
        }
        guard self.buffer != nil else {
            self.buffer = bytes
            self.ownsBuffer = false
            return
        }
        var bytes = bytes
        if self.ownsBuffer, self.bufferedByteCount < 5 {
            // The partial packet may still lack part of its fixed header: complete it first so that the whole
            // packet's storage can be reserved before the (possibly large) rest is written.
            if let headerTail = bytes.readSlice(length: min(bytes.readableBytes, 5 - self.bufferedByteCount)) {
                self.buffer?.writeImmutableBuffer(headerTail)
            }
            // An invalid header is reported by the next `nextPacket()`; here it only means "nothing to reserve".
            if let header = try? self.peekHeader() {
                self.reserveForPacket(of: header.packetLength)
            }
        }
        self.buffer?.writeImmutableBuffer(bytes)
    }

    /// The next whole packet (fixed header included) as a slice — no copy — or nil until more bytes arrive.
    ///
    /// - Throws: the fixed-header errors of `MQTTFixedHeader.peek`. After a throw the accumulator keeps no bytes and
    ///   rethrows the same error on every call until `reset()`: the caller is expected to close the connection.
    public mutating func nextPacket() throws(MQTTWireError) -> ByteBuffer? {
        try self.nextPacketWithHeader()?.packet
    }

    /// Like `nextPacket()`, also returning the packet's parsed fixed header (for its type, without a second parse).
    public mutating func nextPacketWithHeader() throws(MQTTWireError) -> (header: MQTTFixedHeader, packet: ByteBuffer)? {
        guard let header = try self.frontHeader() else {
            self.keepPartialPacket(packetLength: nil)
            return nil
        }
        return self.takePacket(header)
    }

    /// What `next(streamingPacketsLongerThan:)` hands out.
    public enum Output: Sendable {
        /// A whole packet, as from `nextPacketWithHeader()`.
        case packet(MQTTFixedHeader, ByteBuffer)
        /// The beginning of a large packet: its header and the bytes received so far. The remaining
        /// `header.packetLength - firstPart.readableBytes` bytes are the next bytes of the stream; the caller
        /// takes them itself and does not append them here.
        case start(MQTTFixedHeader, firstPart: ByteBuffer)
    }

    /// Like `nextPacketWithHeader()`, but a packet longer than `threshold` is handed out as soon as its fixed
    /// header is known, so that it can be forwarded while it arrives instead of being assembled in memory.
    public mutating func next(streamingPacketsLongerThan threshold: Int) throws(MQTTWireError) -> Output? {
        guard let header = try self.frontHeader() else {
            self.keepPartialPacket(packetLength: nil)
            return nil
        }
        // Handed out before `takePacket` would reserve storage for the whole packet and copy what is here into it.
        if header.packetLength > threshold, self.bufferedByteCount < header.packetLength, let buffered = self.buffer {
            self.buffer = nil
            self.ownsBuffer = false
            return .start(header, firstPart: buffered)
        }
        return self.takePacket(header).map { .packet($0.header, $0.packet) }
    }

    /// Drops everything, the error of a previous throw included (used on close).
    package mutating func reset() {
        self.buffer = nil
        self.ownsBuffer = false
        self.failure = nil
    }

    /// The fixed header at the front of the buffered bytes, nil while nothing or only part of it is buffered. A
    /// malformed header is remembered: the bytes are dropped and every later call throws the same error.
    private mutating func frontHeader() throws(MQTTWireError) -> MQTTFixedHeader? {
        if let failure = self.failure {
            throw failure
        }
        do {
            return try self.peekHeader()
        } catch {
            self.failure = error
            self.buffer = nil
            self.ownsBuffer = false
            throw error
        }
    }

    /// The whole packet `header` describes as a slice, or nil (keeping the partial packet) until all of it is here.
    private mutating func takePacket(_ header: MQTTFixedHeader) -> (header: MQTTFixedHeader, packet: ByteBuffer)? {
        guard self.bufferedByteCount >= header.packetLength, let packet = self.buffer?.readSlice(length: header.packetLength)
        else {
            self.keepPartialPacket(packetLength: header.packetLength)
            return nil
        }
        // The packet shares the storage: writing into it in place is no longer possible.
        self.ownsBuffer = false
        if self.bufferedByteCount == 0 {
            self.buffer = nil
        }
        return (header, packet)
    }

    /// Applies the memory policy to a partial packet; `packetLength` is nil when its fixed header is incomplete.
    private mutating func keepPartialPacket(packetLength: Int?) {
        if self.ownsBuffer {
            self.reserveForPacket(of: packetLength ?? 5)
            return
        }
        guard let buffered = self.buffer else {
            return
        }
        let needed = min(packetLength ?? 5, Self.reservationLimit)
        let room = buffered.capacity - buffered.readerIndex
        if room >= needed && buffered.storageCapacity <= 2 * needed {
            return
        }
        var fresh = ByteBufferAllocator().buffer(capacity: max(needed, buffered.readableBytes))
        fresh.writeImmutableBuffer(buffered)
        self.buffer = fresh
        self.ownsBuffer = true
    }

    /// The fixed header at the front of the buffered bytes. Reads through a copy that dies before the caller
    /// writes to `buffer` again, so the storage stays uniquely referenced and writes happen in place.
    private func peekHeader() throws(MQTTWireError) -> MQTTFixedHeader? {
        guard let buffered = self.buffer else {
            return nil
        }
        return try MQTTFixedHeader.peek(in: buffered, maximumPacketSize: self.maximumPacketSize)
    }

    /// Makes room for the rest of a packet of `packetLength` bytes (up to `reservationLimit`) in the owned buffer.
    private mutating func reserveForPacket(of packetLength: Int) {
        let missing = min(packetLength, Self.reservationLimit) - self.bufferedByteCount
        if missing > 0 {
            self.buffer?.reserveCapacity(minimumWritableBytes: missing)
        }
    }
}
