import NIOCore

/// Follows MQTT packet boundaries in a byte stream (client → broker) without holding any bytes.
///
/// The relay forwards each chunk as it comes; the scanner only reads the fixed headers in it, validates their
/// framing (length encoding, size limit) and reports each one as soon as it is complete — before the body has
/// arrived — then skips the body arithmetically. A fixed header split across chunks is decoded byte by byte, so
/// the state is a few integers: no buffer, no allocation.
public struct MQTTStreamScanner: Sendable {
    /// The largest packet accepted, fixed header included; a longer one makes `scan` throw `.packetTooLarge`.
    package let maximumPacketSize: Int

    /// Body bytes of the current packet still to come (0 between packets and while a header is being read).
    private var bodyBytesRemaining = 0
    /// The first byte of a fixed header that is partially received; nil when no header is in progress.
    private var pendingFirstByte: UInt8?
    /// The remaining length decoded so far from `pendingLengthBytes` length bytes of the header in progress.
    private var pendingLength = 0
    private var pendingLengthBytes = 0
    /// Set by the first error; every later call rethrows it.
    private var failure: MQTTWireError?
    /// How many packets have started (their first byte scanned) so far, wrapping. Compared before and after `scan`, it
    /// tells whether the packet still in progress after a chunk began in that chunk or is an older one continued (the
    /// relay's packet-completion deadline counts from a packet's first byte).
    package private(set) var packetsStarted: UInt = 0

    /// - Parameter maximumPacketSize: the largest packet accepted, fixed header included (at least 2).
    public init(maximumPacketSize: Int) {
        precondition(maximumPacketSize >= 2, "a packet is at least 2 bytes long")
        self.maximumPacketSize = maximumPacketSize
    }

    /// True when no packet is partially received: every byte scanned so far belongs to a whole packet.
    /// False after an error, since the stream then has no meaningful boundaries.
    public var isAtPacketBoundary: Bool {
        self.failure == nil && self.bodyBytesRemaining == 0 && self.pendingFirstByte == nil
    }

    /// Calls `onPacket` once per fixed header completed within `chunk`, in order. The header is reported as soon
    /// as it is complete, before its body has arrived.
    ///
    /// - Throws: `.variableByteIntegerTooLong`, `.overlongVariableByteInteger`, `.packetTooLarge`. Headers
    ///   completed earlier in the same chunk have already been reported. After a throw the scanner rethrows the
    ///   same error on every call until `reset()`.
    public mutating func scan(_ chunk: ByteBuffer, onPacket: (MQTTFixedHeader) -> Void) throws(MQTTWireError) {
        if let failure = self.failure {
            throw failure
        }
        var index = chunk.readerIndex
        let end = chunk.writerIndex
        while index < end {
            if self.bodyBytesRemaining > 0 {
                let skipped = min(self.bodyBytesRemaining, end - index)
                self.bodyBytesRemaining -= skipped
                index += skipped
                continue
            }
            // Fast path: a whole fixed header inside the chunk and none in progress.
            if self.pendingFirstByte == nil {
                self.packetsStarted &+= 1  // this byte starts a packet, whichever path reads its header
                let header: MQTTFixedHeader?
                do {
                    header = try MQTTFixedHeader.peek(in: chunk, at: index, maximumPacketSize: self.maximumPacketSize)
                } catch {
                    self.failure = error
                    throw error
                }
                if let header {
                    index += header.headerLength
                    self.bodyBytesRemaining = header.remainingLength
                    onPacket(header)
                    continue
                }
            }
            // Slow path: the header straddles chunks; consume it byte by byte.
            guard let byte = chunk.getInteger(at: index, as: UInt8.self) else {
                return  // unreachable: index < end
            }
            index += 1
            do {
                if let header = try self.consumeHeaderByte(byte) {
                    self.bodyBytesRemaining = header.remainingLength
                    onPacket(header)
                }
            } catch {
                self.failure = error
                throw error
            }
        }
    }

    /// Forgets any partial packet and any previous error.
    package mutating func reset() {
        self = MQTTStreamScanner(maximumPacketSize: self.maximumPacketSize)
    }

    /// Feeds one byte of a fixed header; returns the header when this byte completes it.
    private mutating func consumeHeaderByte(_ byte: UInt8) throws(MQTTWireError) -> MQTTFixedHeader? {
        guard let firstByte = self.pendingFirstByte else {
            self.pendingFirstByte = byte
            return nil
        }
        self.pendingLength |= Int(byte & 0x7F) << (7 * self.pendingLengthBytes)
        self.pendingLengthBytes += 1
        if byte & 0x80 != 0 {
            if self.pendingLengthBytes == MQTTVariableByteInteger.maximumLength {
                throw MQTTVariableByteInteger.tooLong()
            }
            return nil
        }
        if byte == 0 && self.pendingLengthBytes > 1 {
            throw MQTTVariableByteInteger.overlong(length: self.pendingLengthBytes)
        }
        let header = MQTTFixedHeader(
            firstByte: firstByte,
            remainingLength: self.pendingLength,
            headerLength: 1 + self.pendingLengthBytes
        )
        self.pendingFirstByte = nil
        self.pendingLength = 0
        self.pendingLengthBytes = 0
        guard header.packetLength <= self.maximumPacketSize else {
            throw MQTTWireError.tooLarge(packetLength: header.packetLength, limit: self.maximumPacketSize)
        }
        return header
    }
}
