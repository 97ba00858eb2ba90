import BridgeTestSupport
import MQTTWire
import NIOCore
import Testing

@Suite struct PacketAccumulatorTests {
    /// Feeds `chunks`, draining after each, and returns every packet's bytes.
    static func drain(
        _ chunks: [ByteBuffer],
        maximumPacketSize: Int = 1 << 20
    ) throws -> (packets: [ByteBuffer], accumulator: MQTTPacketAccumulator) {
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: maximumPacketSize)
        var packets: [ByteBuffer] = []
        for chunk in chunks {
            accumulator.append(chunk)
            while let packet = try accumulator.nextPacket() {
                packets.append(packet)
            }
        }
        return (packets, accumulator)
    }

    @Test func batchedPacketsInOneChunk() throws {
        let (stream, expectedBytes) = sampleStream()
        let expected = expectedBytes.map { ByteBuffer(bytes: $0) }
        let (packets, accumulator) = try Self.drain([ByteBuffer(bytes: stream)])
        #expect(packets == expected)
        #expect(accumulator.bufferedByteCount == 0)
        #expect(accumulator.retainedStorageCapacity == 0)
    }

    @Test func splitAtEveryBytePosition() throws {
        let (stream, expectedBytes) = sampleStream()
        let expected = expectedBytes.map { ByteBuffer(bytes: $0) }
        for split in 0...stream.count {
            let (packets, accumulator) = try Self.drain(chunks(of: stream, splitAt: [split]))
            #expect(packets == expected, "split at \(split)")
            #expect(accumulator.bufferedByteCount == 0)
            #expect(accumulator.retainedStorageCapacity == 0)
        }
    }

    @Test func oneByteAtATime() throws {
        let (stream, expectedBytes) = sampleStream()
        let expected = expectedBytes.map { ByteBuffer(bytes: $0) }
        let (packets, accumulator) = try Self.drain(chunks(of: stream, splitAt: Array(1..<stream.count)))
        #expect(packets == expected)
        #expect(accumulator.retainedStorageCapacity == 0)
    }

    @Test func randomChunkings() throws {
        let (stream, expectedBytes) = sampleStream()
        let expected = expectedBytes.map { ByteBuffer(bytes: $0) }
        var generator = SeededGenerator(seed: 0x4D51_5454)
        for _ in 0..<200 {
            let cuts = (0..<Int.random(in: 1...12, using: &generator)).map { _ in
                Int.random(in: 0...stream.count, using: &generator)
            }
            let (packets, _) = try Self.drain(chunks(of: stream, splitAt: cuts))
            #expect(packets == expected, "cuts \(cuts.sorted())")
        }
    }

    @Test func nothingIsReturnedUntilThePacketIsWhole() throws {
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 100)
        accumulator.append(hex("30 05 00 01"))
        #expect(try accumulator.nextPacket() == nil)
        #expect(accumulator.bufferedByteCount == 4)
        accumulator.append(hex("74 AB"))
        #expect(try accumulator.nextPacket() == nil)
        accumulator.append(hex("CD C0"))
        let result = try #require(try accumulator.nextPacketWithHeader())
        #expect(bytes(of: result.packet) == hexBytes("30 05 00 01 74 AB CD"))
        #expect(result.header.type == .publish)
        #expect(try accumulator.nextPacket() == nil)
        #expect(accumulator.bufferedByteCount == 1)
        accumulator.append(hex("00"))
        #expect(try accumulator.nextPacket().map(bytes(of:)) == [0xC0, 0x00])
        #expect(accumulator.bufferedByteCount == 0)
        #expect(accumulator.retainedStorageCapacity == 0)
    }

    @Test func emptyAppendsChangeNothing() throws {
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 100)
        accumulator.append(ByteBuffer())
        #expect(accumulator.retainedStorageCapacity == 0)
        #expect(try accumulator.nextPacket() == nil)
        accumulator.append(hex("C0"))
        accumulator.append(ByteBuffer())
        accumulator.append(hex("00"))
        #expect(try accumulator.nextPacket().map(bytes(of:)) == [0xC0, 0x00])
    }

    @Test func exactlyTheMaximumIsAcceptedAndOneMoreIsNot() throws {
        let atLimit = packet(0x30, [0x00, 0x01, 0x74] + Array(repeating: 0x41, count: 95))  // 2 + 98 = 100 bytes
        #expect(atLimit.readableBytes == 100)
        let (packets, _) = try Self.drain([atLimit], maximumPacketSize: 100)
        #expect(packets == [atLimit])

        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 100)
        accumulator.append(hex("30 63"))  // 101 bytes announced: refused before the body arrives
        expectWireError(.packetTooLarge, "packet of 101 bytes exceeds the limit of 100") {
            _ = try accumulator.nextPacket()
        }
        // Unusable afterwards: same error, no bytes kept.
        #expect(accumulator.bufferedByteCount == 0)
        accumulator.append(hex("C0 00"))
        expectWireError(.packetTooLarge) { _ = try accumulator.nextPacket() }
        accumulator.reset()
        accumulator.append(hex("C0 00"))
        #expect(try accumulator.nextPacket().map(bytes(of:)) == [0xC0, 0x00])
    }

    @Test func malformedLengthsThrow() {
        var tooLong = MQTTPacketAccumulator(maximumPacketSize: .max)
        tooLong.append(hex("30 FF FF FF FF 01"))
        expectWireError(.variableByteIntegerTooLong) { _ = try tooLong.nextPacket() }

        var overlong = MQTTPacketAccumulator(maximumPacketSize: .max)
        overlong.append(hex("C0 00 C0 80 00"))
        #expect((try? overlong.nextPacket()) != nil)  // the valid PINGREQ before the bad header comes out
        expectWireError(.overlongVariableByteInteger) { _ = try overlong.nextPacket() }
    }

    @Test func packetsAreSlicesOfTheAppendedBufferNotCopies() throws {
        let (stream, expected) = sampleStream()
        let chunk = ByteBuffer(bytes: stream)
        let chunkBase = chunk.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
        accumulator.append(chunk)
        var offset = 0
        for expectedPacket in expected {
            let packet = try #require(try accumulator.nextPacket())
            let base = packet.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
            #expect(base == chunkBase + UInt(offset))
            offset += expectedPacket.count
        }
    }

    @Test func aSmallRemainderOfALargeReadIsCopiedOut() throws {
        // A 64 KiB read holding whole packets and the first 10 bytes of a 100-byte one.
        var read = ByteBufferAllocator().buffer(capacity: 65_536)
        var wholePackets = 0
        while read.readableBytes + 4 <= 65_536 - 10 {
            MQTTPacket.writePuback(packetID: 1, to: &read)
            wholePackets += 1
        }
        let partial = packet(0x30, [0x00, 0x01, 0x74] + Array(repeating: 0x42, count: 95))
        read.writeBytes(partial.readableBytesView.prefix(10))
        #expect(read.storageCapacity >= 65_536)

        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
        accumulator.append(read)
        var count = 0
        while try accumulator.nextPacket() != nil {
            count += 1
        }
        #expect(count == wholePackets)
        #expect(accumulator.bufferedByteCount == 10)
        // The 64 KiB storage is not kept alive for 10 bytes: the new buffer is sized for the 100-byte packet.
        #expect(accumulator.retainedStorageCapacity < 1_024)
        #expect(accumulator.retainedStorageCapacity >= 100)

        accumulator.append(ByteBuffer(bytes: partial.readableBytesView.dropFirst(10)))
        #expect(try accumulator.nextPacket().map(bytes(of:)) == bytes(of: partial))
        #expect(accumulator.retainedStorageCapacity == 0)
    }

    @Test func aLargePacketIsAssembledWithoutReallocation() throws {
        // A 1 MiB PUBLISH arriving in 64 KiB reads.
        var whole = ByteBuffer()
        var payload = ByteBuffer()
        for index in 0..<((1 << 20) - 10) {
            payload.writeInteger(UInt8(truncatingIfNeeded: index &* 31))
        }
        MQTTPacket.writePublish(topic: "big", payload: payload, version: .v3_1_1, to: &whole)
        let expected = bytes(of: whole)

        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 2 << 20)
        var capacities: Set<Int> = []
        var packets: [ByteBuffer] = []
        while let read = whole.readSlice(length: min(65_536, whole.readableBytes)) {
            // Each read in a storage of its own, as a channel read would be.
            accumulator.append(ByteBuffer(bytes: read.readableBytesView))
            while let packet = try accumulator.nextPacket() {
                packets.append(packet)
            }
            if accumulator.bufferedByteCount > 0 {
                capacities.insert(accumulator.retainedStorageCapacity)
            }
            if whole.readableBytes == 0 {
                break
            }
        }
        #expect(packets.count == 1)
        #expect(packets.first.map(bytes(of:)) == expected)
        #expect(capacities.count == 1, "the assembly buffer was reallocated: \(capacities.sorted())")
        #expect(capacities.allSatisfy { $0 >= expected.count })
        #expect(accumulator.retainedStorageCapacity == 0)
    }

    @Test func aHeaderSplitAcrossReadsStillReservesTheWholePacket() throws {
        var whole = ByteBuffer()
        MQTTPacket.writePublish(
            topic: "t",
            payload: ByteBuffer(repeating: 7, count: 300_000),
            version: .v3_1_1,
            to: &whole
        )
        let expected = bytes(of: whole)
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
        // Two bytes of the four-byte fixed header, then 64 KiB reads.
        accumulator.append(ByteBuffer(bytes: expected[0..<2]))
        #expect(try accumulator.nextPacket() == nil)
        var capacities: Set<Int> = []
        var offset = 2
        var result: ByteBuffer?
        while offset < expected.count {
            let end = min(offset + 65_536, expected.count)
            accumulator.append(ByteBuffer(bytes: expected[offset..<end]))
            offset = end
            result = try accumulator.nextPacket()
            if result == nil {
                capacities.insert(accumulator.retainedStorageCapacity)
            }
        }
        #expect(result.map(bytes(of:)) == expected)
        #expect(capacities.count == 1, "reallocated: \(capacities.sorted())")
    }

    @Test func resetReleasesEverything() throws {
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 100)
        accumulator.append(hex("30 10 00"))
        #expect(try accumulator.nextPacket() == nil)
        #expect(accumulator.retainedStorageCapacity > 0)
        accumulator.reset()
        #expect(accumulator.bufferedByteCount == 0)
        #expect(accumulator.retainedStorageCapacity == 0)
        #expect(try accumulator.nextPacket() == nil)
    }

    // MARK: Streaming large packets

    /// A PUBLISH of exactly `length` bytes (length 200...16 000: two-byte remaining length).
    static func publish(length: Int) -> [UInt8] {
        let remaining = length - 3
        return [0x30, UInt8(remaining & 0x7F) | 0x80, UInt8(remaining >> 7), 0, 1, 0x74] + [UInt8](repeating: 0x5A, count: remaining - 3)
    }

    @Test func packetsUpToTheThresholdAreWholeAndLargerOnesStartAsSoonAsTheHeaderIsKnown() throws {
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
        let small = Self.publish(length: 1_000)
        let large = Self.publish(length: 5_000)
        // The small packet and the first two bytes of the large one's header: the large one is not announced yet.
        accumulator.append(ByteBuffer(bytes: small + large[0..<2]))
        guard case .packet(let header, let packet) = try accumulator.next(streamingPacketsLongerThan: 1_000) else {
            Issue.record("the small packet should come whole")
            return
        }
        #expect(header.packetLength == 1_000)
        #expect(bytes(of: packet) == small)
        #expect(try accumulator.next(streamingPacketsLongerThan: 1_000) == nil, "header incomplete")

        // The header's last byte and some payload: the start, with everything received so far.
        accumulator.append(ByteBuffer(bytes: large[2..<700]))
        guard case .start(let startHeader, let firstPart) = try accumulator.next(streamingPacketsLongerThan: 1_000) else {
            Issue.record("the large packet should start")
            return
        }
        #expect(startHeader.packetLength == 5_000)
        #expect(bytes(of: firstPart) == Array(large[0..<700]))
        #expect(accumulator.bufferedByteCount == 0, "the caller owns the rest of the packet")
        #expect(try accumulator.next(streamingPacketsLongerThan: 1_000) == nil)
    }

    @Test func aStreamedPacketStartsInTheBufferItArrivedIn() throws {
        // No storage for the whole packet is reserved and nothing is copied: the caller streams the rest.
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
        let read = ByteBuffer(bytes: Self.publish(length: 5_000)[0..<700])
        accumulator.append(read)
        guard case .start(_, let firstPart) = try accumulator.next(streamingPacketsLongerThan: 1_000) else {
            Issue.record("the large packet should start")
            return
        }
        #expect(firstPart.storageCapacity == read.storageCapacity, "the read's own storage, not a 5,000-byte copy")
        #expect(accumulator.retainedStorageCapacity == 0)
    }

    @Test func aStreamedPacketMustStillFitTheMaximum() {
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 4_000)
        accumulator.append(ByteBuffer(bytes: Self.publish(length: 5_000)[0..<100]))
        #expect(throws: MQTTWireError.self) { try accumulator.next(streamingPacketsLongerThan: 1_000) }
    }
}
