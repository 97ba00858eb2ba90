import NIOCore

/// The 4-byte masking key of a client frame (RFC 6455 §5.3).
public struct WebSocketMaskingKey: Hashable, Sendable {
    /// The key bytes as a big-endian integer: the order they appear on the wire.
    @usableFromInline package var networkOrder: UInt32

    package init(networkOrder: UInt32) {
        self.networkOrder = networkOrder
    }

    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        self.networkOrder = UInt32(b0) << 24 | UInt32(b1) << 16 | UInt32(b2) << 8 | UInt32(b3)
    }

    /// A fresh key for a client frame. RFC 6455 requires keys an intermediary cannot predict.
    package static func random() -> WebSocketMaskingKey {
        var generator = SystemRandomNumberGenerator()
        return WebSocketMaskingKey(networkOrder: generator.next())
    }

    /// Eight key bytes starting at key position `offset`, laid out in memory order, so that one
    /// 64-bit XOR masks eight payload bytes whatever the machine's endianness.
    ///
    /// Rotating the key to start at `offset` and storing it big-endian puts its bytes in wire order in memory; the
    /// two halves of the pattern are the same, so their order does not depend on the machine either. (A loop over the
    /// eight bytes cost ~100 instructions a frame: as much as unmasking a 64-byte payload.)
    @inlinable
    func pattern64(startingAt offset: Int) -> UInt64 {
        let shift = UInt32(8 * (offset & 3))
        let rotated = networkOrder &<< shift | networkOrder &>> (32 - shift)  // 32 - 0 masks to 0: no rotation
        let inMemoryOrder = UInt64(rotated.bigEndian)
        return inMemoryOrder << 32 | inMemoryOrder
    }

    /// Byte `index` of `pattern64(startingAt:)`'s pattern in memory: the key byte for payload position
    /// `offset + index` (any `index`: the pattern repeats every four bytes).
    @inlinable
    static func patternByte(_ pattern: UInt64, _ index: Int) -> UInt8 {
        withUnsafeBytes(of: pattern) { $0[index & 7] }
    }

    /// XORs `count` bytes at `input` with `pattern` (from `pattern64`) into `output`, eight at a time. `input` and
    /// `output` may be the same memory (masking in place). The one loop behind every masking and unmasking.
    @inlinable
    static func xor(_ input: UnsafeRawPointer, into output: UnsafeMutableRawPointer, count: Int, pattern: UInt64) {
        var offset = 0
        while offset + 8 <= count {
            let word = input.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            output.storeBytes(of: word ^ pattern, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < count {
            let byte = input.load(fromByteOffset: offset, as: UInt8.self) ^ Self.patternByte(pattern, offset)
            output.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self)
            offset += 1
        }
    }
}

extension ByteBuffer {
    /// Appends the readable bytes of `source` XORed with `key`, starting at key position `keyOffset`
    /// (the number of payload bytes of this frame already processed).
    ///
    /// This is the relay's unmasking step: masking forces one copy anyway, so the copy is done here,
    /// eight bytes at a time, straight into the outgoing buffer.
    @inlinable
    public mutating func writeMaskedBytes(of source: ByteBuffer, key: WebSocketMaskingKey, keyOffset: Int) {
        self.writeMaskedBytes(of: source, at: source.readerIndex, length: source.readableBytes, key: key, keyOffset: keyOffset)
    }

    /// Appends `length` bytes of `source` from `index` (anywhere before its `writerIndex`, read or not) XORed with
    /// `key`, starting at key position `keyOffset`.
    ///
    /// Taking a position instead of a slice lets the reader's fast path unmask a payload without creating a
    /// `ByteBuffer` for it (Benchmarks/RelayCost).
    @inlinable
    package mutating func writeMaskedBytes(
        of source: ByteBuffer, at index: Int, length count: Int, key: WebSocketMaskingKey, keyOffset: Int
    ) {
        precondition(index >= 0 && count >= 0 && index + count <= source.writerIndex, "masked range outside the written bytes")
        guard count > 0 else { return }
        let pattern = key.pattern64(startingAt: keyOffset)
        source.withVeryUnsafeBytes { storage in
            let input = storage.baseAddress! + index
            _ = self.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { output in
                WebSocketMaskingKey.xor(input, into: output.baseAddress!, count: count, pattern: pattern)
                return count
            }
        }
    }

    /// Masks (or unmasks: the operation is its own inverse) the readable bytes in place.
    @inlinable
    package mutating func maskReadableBytes(key: WebSocketMaskingKey, keyOffset: Int = 0) {
        let pattern = key.pattern64(startingAt: keyOffset)
        self.withUnsafeMutableReadableBytes { bytes in
            guard let start = bytes.baseAddress else { return }
            WebSocketMaskingKey.xor(start, into: start, count: bytes.count, pattern: pattern)
        }
    }
}
