import BridgeTestSupport
import NIOCore
import Testing
import WebSocketTransport

/// Outbound: every `.binary` message written is one unmasked binary frame; small ones are coalesced per flush.
@Suite struct CodecOutboundTests {
    private func binary(_ payload: [UInt8]) -> ServerFrame {
        ServerFrame(fin: true, rsv: 0, opcode: 0x2, masked: false, payload: payload)
    }

    @Test(arguments: [0, 1, 125, 126, 127, 16 << 10, 65535, 65536, 100_000])
    func eachWriteBecomesOneBinaryFrame(length: Int) throws {
        var random = SeededRandom(seed: 0x5EED_0300 &+ UInt64(length))
        let payload = random.bytes(length)
        let harness = try CodecHarness()
        defer { harness.finish() }
        let written = harness.write(payload)
        harness.flush()
        #expect(try harness.outboundFrames() == [binary(payload)])
        #expect(written.succeeded)
    }

    @Test func severalWritesAndOneFlushGiveExactlyOneSocketWrite() throws {
        // The performance property: NIOSSLHandler makes a TLS record of every write, so a burst of
        // MQTT packets must reach it as one buffer.
        let harness = try CodecHarness()
        defer { harness.finish() }
        let payloads = (0..<20).map { [UInt8](repeating: UInt8($0), count: $0 * 50) }
        let outcomes = payloads.map { harness.write($0) }
        #expect(try harness.outboundBuffers().isEmpty, "nothing before the flush")
        #expect(outcomes.allSatisfy { $0.isPending })

        harness.flush()
        let buffers = try harness.outboundBuffers()
        #expect(buffers.count == 1)
        #expect(try ServerFrame.parseAll(buffers.flatMap { Array($0.readableBytesView) }) == payloads.map(binary))
        #expect(outcomes.allSatisfy { $0.succeeded })
    }

    @Test func writesWithAndWithoutPromisesMix() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.channel.write(WebSocketOutbound.binary(harness.channel.allocator.buffer(bytes: [1])), promise: nil)
        let second = harness.write([2])
        harness.channel.write(WebSocketOutbound.binary(harness.channel.allocator.buffer(bytes: [3])), promise: nil)
        let fourth = harness.write([4])
        harness.flush()
        #expect(second.succeeded && fourth.succeeded)
        #expect(try harness.outboundFrames() == [[1], [2], [3], [4]].map(binary))
    }

    @Test func messageOverTheCoalescingLimitFollowsThePendingBytesAndItsHeaderInOrder() throws {
        let harness = try CodecHarness(.init(coalescingLimit: 100))
        defer { harness.finish() }
        let small1 = harness.write([1, 1])
        let small2 = harness.write([2, 2, 2])
        let big = [UInt8](repeating: 9, count: 101)
        let bigOutcome = harness.write(big)
        let small3 = harness.write([3])
        harness.flush()

        let buffers = try harness.outboundBuffers()
        // [coalesced small1+small2 + header of big], [big as given], [small3]: the header rides with the pending bytes
        #expect(buffers.count == 3)
        #expect(buffers.count >= 2 && Array(buffers[1].readableBytesView) == big, "the large payload is passed on as it is")
        #expect(
            try ServerFrame.parseAll(buffers.flatMap { Array($0.readableBytesView) }) == [
                binary([1, 1]), binary([2, 2, 2]), binary(big), binary([3]),
            ])
        #expect(small1.succeeded && small2.succeeded && bigOutcome.succeeded && small3.succeeded)
    }

    @Test func messageOfExactlyTheCoalescingLimitIsCoalesced() throws {
        let harness = try CodecHarness(.init(coalescingLimit: 100))
        defer { harness.finish() }
        harness.write([0])
        harness.write([UInt8](repeating: 7, count: 100))
        harness.flush()
        #expect(try harness.outboundBuffers().count == 1)
    }

    @Test func secondFlushOnlyWritesNewFrames() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.write([1])
        harness.flush()
        harness.flush()
        harness.write([2])
        harness.flush()
        let buffers = try harness.outboundBuffers()
        #expect(buffers.count == 2)
        #expect(try ServerFrame.parseAll(buffers.flatMap { Array($0.readableBytesView) }) == [binary([1]), binary([2])])
    }

    @Test func unflushedWritesFailWhenTheChannelCloses() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let first = harness.write([1])
        let second = harness.write([2])
        harness.channel.close(promise: nil)
        #expect(first.failed)
        #expect(second.failed)
    }

    @Test func writeFromTheHandlerDuringAReadGoesOutAtReadComplete() throws {
        // A handler that answers inside channelRead without flushing (e.g. relaying a burst): the
        // codec's readComplete flush writes the answer too, still as one socket write.
        let harness = try CodecHarness()
        defer { harness.finish() }
        harness.recorder.onRead = { context, _ in
            context.write(NIOAny(WebSocketOutbound.binary(context.channel.allocator.buffer(bytes: [0xD0, 0x00]))), promise: nil)
        }
        harness.feed(TestFrame.binary([0xC0, 0x00]) + TestFrame.ping([1]))
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode).sorted() == [0x2, 0xA])
    }

    @Test func unflushedWritesGoOutBeforeTheAnswerToAPeerClose() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let pending = harness.write([1, 2])
        harness.feed(TestFrame.close(code: 1000))
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.first?.payload == [1, 2])
        #expect(pending.succeeded)
    }

    @Test func unflushedWritesGoOutBeforeTheCloseFrameOfARefusal() throws {
        let harness = try CodecHarness()
        defer { harness.finish() }
        let pending = harness.write([1, 2])
        harness.feed(TestFrame.text([0x41]))
        let frames = try harness.outboundFrames()
        #expect(frames.map(\.opcode) == [0x2, 0x8])
        #expect(frames.last?.closeCode == 1003)
        #expect(pending.succeeded)
    }

    @Test func closingTheChannelCompletesThePromisesOfUnflushedWrites() throws {
        // Coalesced, unflushed writes must not leave their promises pending when the pipeline goes away:
        // an unfulfilled promise is a hang for whoever waits on it (and NIO's leak check stops a debug
        // build when the promise is freed).
        let harness = try CodecHarness()
        defer { harness.finish() }
        let promise = harness.channel.eventLoop.makePromise(of: Void.self)
        let outcome = PromiseOutcome(promise.futureResult)
        harness.channel.write(WebSocketOutbound.binary(harness.channel.allocator.buffer(bytes: [1])), promise: promise)
        // The codec cannot be removed on its own (it is not a RemovableChannelHandler); tearing the
        // pipeline down must still complete what was written but not flushed.
        _ = try? harness.channel.close().wait()
        #expect(!outcome.isPending)
        if outcome.isPending { promise.fail(ChannelError.ioOnClosedChannel) }
    }
}

/// The one entrance costs no allocation per message: `NIOAny` stores a value of up to three words inline.
@Suite struct OutboundValueTests {
    @Test func everyOutboundValueFitsNIOAnysInlineStorage() {
        #expect(MemoryLayout<WebSocketOutbound>.size <= 3 * MemoryLayout<Int>.size)
        #expect(MemoryLayout<WebSocketOutbound>.alignment <= MemoryLayout<Int>.alignment)
    }
}
