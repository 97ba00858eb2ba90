import NIOCore
import Testing
import WebSocketTransport

/// What the codec keeps of the buffers it is given. NIO reuses its receive buffer when nobody else
/// references it, and NIOSSLHandler takes care not to share its plaintext buffer; a handler that keeps
/// even a 13-byte slice pins the whole allocation (16 KiB behind TLS, up to the read size without) per
/// idle connection, and forces a fresh allocation for the next read.
@Suite struct CodecBufferRetentionTests {
    /// Feeds `bytes` in a buffer the test owns, then reports whether the codec still shares its storage.
    private func codecKeepsStorage(of bytes: [UInt8], harness: CodecHarness) -> Bool {
        var input = harness.channel.allocator.buffer(capacity: 4096)
        input.writeBytes(bytes)
        let address = input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        harness.read(buffer: input)
        // `clear()` keeps the storage only when this is the last reference to it.
        input.clear()
        return input.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } != address
    }

    @Test func wholeFramesLeaveNoReferenceToTheReadBuffer() throws {
        // The method's control case: everything consumed, nothing kept.
        let harness = try CodecHarness()
        defer { harness.finish() }
        let frames = TestFrame.binary([1, 2, 3]) + TestFrame.ping([4]) + TestFrame.binary([UInt8](repeating: 5, count: 300))
        #expect(!codecKeepsStorage(of: frames, harness: harness))
        // A payload cut mid-frame is fine too: it is unmasked into the codec's own buffer.
        #expect(!codecKeepsStorage(of: Array(TestFrame.binary([UInt8](repeating: 6, count: 300)).prefix(100)), harness: harness))
        harness.readComplete()
        #expect(harness.recorder.delivered.count == 3 + 300 + 100 - 8)
    }

    @Test(arguments: [1, 2, 9, 13])
    func partialHeaderLeavesNoReferenceToTheReadBuffer(headerBytes: Int) throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let payload = [UInt8](repeating: 7, count: 65_536)
        let frame = TestFrame.binary(payload, mask: [1, 2, 3, 4])  // 14-byte header
        let kept = codecKeepsStorage(of: TestFrame.binary([1, 2, 3]) + frame.prefix(headerBytes), harness: harness)
        #expect(!kept)
        // The rest still parses correctly.
        harness.read(Array(frame.dropFirst(headerBytes)))
        harness.readComplete()
        expectSameBytes(harness.recorder.delivered, [1, 2, 3] + payload)
    }
}
