import NIOCore
import Testing

@testable import BenchCore

@Suite struct RatePacerTests {
    @Test func dueFollowsAnAbsoluteSchedule() {
        // 1000 msg/s: message n is due at n ms.
        var pacer = RatePacer(rate: 1000, startNanoseconds: 1_000_000_000)
        #expect(pacer.due(at: 999_999_999) == 0, "nothing before the start")
        #expect(pacer.due(at: 1_000_000_000) == 1, "message 0 is due at the start")
        #expect(pacer.due(at: 1_000_000_000) == 0)
        #expect(pacer.due(at: 1_000_999_999) == 0)
        #expect(pacer.due(at: 1_001_000_000) == 1)
        #expect(pacer.due(at: 1_010_500_000) == 9, "messages 2…10")
        #expect(pacer.scheduled == 11)
        #expect(pacer.skipped == 0)
    }

    @Test func fractionalRatesDoNotDrift() {
        // 3 msg/s for 10 s, polled every 1 ms: exactly 31 messages (0 s, 1/3 s, …, 10 s).
        var pacer = RatePacer(rate: 3, startNanoseconds: 0)
        var total = 0
        for millisecond in stride(from: 0, through: 10_000, by: 1) {
            total += pacer.due(at: UInt64(millisecond) * 1_000_000)
        }
        #expect(total == 31)
    }

    @Test func catchUpIsBoundedAndSkipsAreCounted() {
        var pacer = RatePacer(rate: 10_000, startNanoseconds: 0, maximumBurst: 100)
        #expect(pacer.due(at: 0) == 1)
        // One second later 10,000 messages are due; only 100 are sent, the rest is skipped.
        #expect(pacer.due(at: 1_000_000_000) == 100)
        #expect(pacer.skipped == 9_900)
        #expect(pacer.due(at: 1_000_000_000) == 0)
    }

    @Test func givenBackMessagesAreDueAgain() {
        var pacer = RatePacer(rate: 1000, startNanoseconds: 0)
        #expect(pacer.due(at: 4_000_000) == 5)
        pacer.giveBack(3)
        #expect(pacer.due(at: 4_000_000) == 3)
        #expect(pacer.nanosecondsUntilNext(at: 4_000_000) == 1_000_000)
        #expect(pacer.nanosecondsUntilNext(at: 6_000_000) == 0)
    }
}

@Suite struct LatencyStampTests {
    @Test func roundTrip() throws {
        var payload = LatencyStamp.makePayloadTemplate(size: 64)
        #expect(payload.readableBytes == 64)
        let stamp = LatencyStamp(publisher: 7, sequence: 123_456_789_012, sentAt: 987_654_321_098_765)
        stamp.write(into: &payload)
        #expect(payload.readableBytes == 64, "written in place")
        #expect(Array(payload.readableBytesView.prefix(4)) == Array("MWB1".utf8))
        let decoded = try #require(LatencyStamp(readingFrom: payload))
        #expect(decoded == stamp)
    }

    @Test func templateFillerIsNotAllZeros() {
        let payload = LatencyStamp.makePayloadTemplate(size: 1000)
        #expect(payload.readableBytesView.dropFirst(LatencyStamp.length).contains { $0 != 0 })
        #expect(LatencyStamp.makePayloadTemplate(size: 10).readableBytes == 10)
        #expect(LatencyStamp.makePayloadTemplate(size: 0).readableBytes == 0)
    }

    @Test func foreignOrShortPayloadsAreIgnored() {
        #expect(LatencyStamp(readingFrom: ByteBuffer(repeating: 0, count: 64)) == nil, "no magic")
        var short = LatencyStamp.makePayloadTemplate(size: 64)
        LatencyStamp(publisher: 1, sequence: 1, sentAt: 1).write(into: &short)
        #expect(LatencyStamp(readingFrom: short.getSlice(at: 0, length: 23) ?? ByteBuffer()) == nil)
    }

    @Test func stampIsReadAtTheReaderIndex() throws {
        var buffer = ByteBuffer(bytes: [0xAA, 0xBB])
        var payload = LatencyStamp.makePayloadTemplate(size: 30)
        LatencyStamp(publisher: 2, sequence: 3, sentAt: 4).write(into: &payload)
        buffer.writeBuffer(&payload)
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try #require(LatencyStamp(readingFrom: buffer)) == LatencyStamp(publisher: 2, sequence: 3, sentAt: 4))
    }
}

@Suite struct SequenceTrackerTests {
    @Test func countsGapsAndDuplicatesPerPublisher() {
        var tracker = SequenceTracker()
        #expect(tracker.record(publisher: 0, sequence: 1) == .new(gap: 0))
        #expect(tracker.record(publisher: 0, sequence: 2) == .new(gap: 0))
        #expect(tracker.record(publisher: 1, sequence: 1) == .new(gap: 0), "publishers are independent")
        #expect(tracker.record(publisher: 0, sequence: 5) == .new(gap: 2))
        #expect(tracker.record(publisher: 0, sequence: 5) == .duplicate)
        #expect(tracker.record(publisher: 0, sequence: 3) == .duplicate, "late or repeated: MQTT keeps order")
        #expect(tracker.record(publisher: 9, sequence: 0) == .foreign, "sequences start at 1")
        #expect(tracker.record(publisher: UInt32.max, sequence: 1) == .foreign)
        #expect(tracker.unique == 4)
        #expect(tracker.gaps == 2)
        #expect(tracker.duplicates == 2)
        #expect(tracker.foreign == 2)
    }
}

@Suite struct PacketIDWindowTests {
    @Test func identifiersAreUniqueWhileInFlightAndWrapAround() {
        var window = PacketIDWindow()
        let first = window.take()
        let second = window.take()
        #expect(first == 1 && second == 2)
        #expect(window.count == 2)
        let released = window.release(first)
        let releasedAgain = window.release(first)
        #expect(released)
        #expect(!releasedAgain, "a second PUBACK for the same identifier is refused")
        #expect(window.count == 1)
        // Go round the whole space: identifier 2 is still in flight and must be skipped, 0 never used.
        var seen: Set<UInt16> = []
        for _ in 0..<65_534 {
            let packetID = window.take()
            #expect(packetID != 0 && packetID != 2)
            seen.insert(packetID)
            _ = window.release(packetID)
        }
        #expect(seen.count == 65_534)
        #expect(window.contains(2))
    }
}
