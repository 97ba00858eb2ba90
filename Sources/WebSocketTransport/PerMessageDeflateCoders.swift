import CompressNIO
import NIOCore

/// The sending half of permessage-deflate (RFC 7692 §7.2.1) on one connection: zlib state created on first use.
/// A class, so a connection without compression keeps one pointer for it (not 80 bytes of optional state).
final class PerMessageDeflateCompressor {
    /// The four bytes a sync flush ends with; senders strip them, receivers put them back (§7.2.1–2).
    static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    let agreement: PerMessageDeflate.Agreement
    let settings: PerMessageDeflate.Settings
    private var compressor: ZlibCompressor?

    init(agreement: PerMessageDeflate.Agreement, settings: PerMessageDeflate.Settings) {
        self.agreement = agreement
        self.settings = settings
    }

    /// The compressed payload for `message`, or nil when it should go uncompressed (too small, or
    /// compression would not shrink it and the sender is free to choose per message).
    func compress(_ message: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard message.readableBytes >= self.settings.threshold else { return nil }
        do {
            let compressor = try self.compressor ?? self.makeCompressor()
            self.compressor = compressor
            var input = message
            var output = allocator.buffer(capacity: compressor.maxSize(from: message))
            try compressor.deflate(from: &input, to: &output, flush: .sync)
            if output.readableBytes >= 4,
                output.getBytes(at: output.writerIndex - 4, length: 4) == Self.tail
            {
                output.moveWriterIndex(to: output.writerIndex - 4)
            }
            if self.agreement.serverNoContextTakeover {
                try compressor.reset()
                // Each message stands alone, so sending this one uncompressed is allowed.
                if output.readableBytes >= message.readableBytes { return nil }
            }
            return output
        } catch {
            // zlib failures here mean exhausted memory; sending uncompressed is always correct when the
            // dictionary is reset, otherwise the stream is broken and the caller must close.
            return nil
        }
    }

    private func makeCompressor() throws -> ZlibCompressor {
        try ZlibCompressor(
            algorithm: .deflate,
            configuration: ZlibConfiguration(
                windowSize: Int32(self.agreement.serverMaxWindowBits),
                compressionLevel: Int32(self.settings.compressionLevel),
                memoryLevel: Int32(self.settings.memoryLevel)))
    }
}

/// The receiving half of permessage-deflate (RFC 7692 §7.2.2) on one connection: zlib state created on first use.
///
/// Inflating is bounded: output is produced in chunks and the message is refused (close 1009) as soon as its
/// decompressed size passes `maximumMessageSize`, so a small "decompression bomb" costs at most that much memory,
/// never what it would expand to.
/// A class, so a connection without compression keeps one pointer for it (not 48 bytes of optional state).
final class PerMessageDeflateDecompressor {
    private static let inflateChunk = 16 * 1024

    let agreement: PerMessageDeflate.Agreement
    let maximumMessageSize: Int
    private var decompressor: ZlibDecompressor?
    /// Decompressed bytes of the message being received.
    private var inflatedInMessage = 0

    init(agreement: PerMessageDeflate.Agreement, maximumMessageSize: Int) {
        self.agreement = agreement
        self.maximumMessageSize = maximumMessageSize
    }

    /// Inflates a piece of a compressed message's payload into `output`.
    func inflate(_ input: ByteBuffer, into output: inout ByteBuffer) throws(WebSocketProtocolError) {
        var input = input
        let decompressor: ZlibDecompressor
        do {
            decompressor =
                try self.decompressor ?? ZlibDecompressor(algorithm: .deflate, windowSize: Int32(self.agreement.clientMaxWindowBits))
        } catch {
            throw WebSocketProtocolError(.internalError, "cannot allocate a decompressor")
        }
        self.decompressor = decompressor
        // Loop while there is input, and also while the last call filled the output: zlib may have
        // consumed every input byte and still hold decompressed bytes it had no room for.
        var outputWasFull = false
        while input.readableBytes > 0 || outputWasFull {
            output.reserveCapacity(minimumWritableBytes: Self.inflateChunk)
            let before = (read: input.readerIndex, written: output.writerIndex)
            outputWasFull = false
            do {
                try decompressor.inflate(from: &input, to: &output)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                outputWasFull = true
            } catch let error as CompressNIOError where error == .inputBufferOverflow {
                // Input exhausted mid-block: the rest comes with the next frame or read.
            } catch {
                throw WebSocketProtocolError(.invalidPayloadData, "invalid permessage-deflate data")
            }
            self.inflatedInMessage += output.writerIndex - before.written
            if self.inflatedInMessage > self.maximumMessageSize {
                throw WebSocketProtocolError(.messageTooBig, "decompressed message exceeds \(self.maximumMessageSize) bytes")
            }
            if input.readerIndex == before.read && output.writerIndex == before.written { break }
        }
    }

    /// The last frame of a compressed message has been inflated: add the stripped tail.
    func finishMessage(into output: inout ByteBuffer) throws(WebSocketProtocolError) {
        try self.inflate(ByteBuffer(bytes: PerMessageDeflateCompressor.tail), into: &output)
        self.inflatedInMessage = 0
        if self.agreement.clientNoContextTakeover {
            do {
                try self.decompressor?.reset()
            } catch {
                throw WebSocketProtocolError(.internalError, "cannot reset the decompressor")
            }
        }
    }
}
