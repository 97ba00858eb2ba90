import NIOCore
import Testing

@testable import BridgeRelay

/// `PacketCompletionDeadline` on its own: the actions it returns for reads and timer firings at given times.
@Suite struct PacketCompletionDeadlineTests {
    static let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    static func at(_ seconds: Int64) -> NIODeadline { Self.start + .seconds(seconds) }

    @Test func zeroTurnsItOff() {
        #expect(PacketCompletionDeadline(timeout: .zero) == nil)
        #expect(PacketCompletionDeadline(timeout: .seconds(30))?.reason == "MQTT packet not completed within 30 s")
    }

    @Test func aReadEndingAtABoundaryNeitherReadsTheClockNorArmsTheTimer() throws {
        var deadline = try #require(PacketCompletionDeadline(timeout: .seconds(30)))
        var clockReads = 0
        func now() -> NIODeadline {
            clockReads += 1
            return Self.start
        }
        #expect(deadline.readScanned(atPacketBoundary: true, packetStartedInRead: true, now: now()) == .none)
        #expect(clockReads == 0)
        #expect(deadline.packetStartedAt == nil)
    }

    @Test func thePacketIsTimedFromTheReadThatStartedItNotFromItsLastProgress() throws {
        var deadline = try #require(PacketCompletionDeadline(timeout: .seconds(30)))
        #expect(deadline.readScanned(atPacketBoundary: false, packetStartedInRead: true, now: Self.at(0)) == .armTimer(at: Self.at(30)))
        // More bytes of the same packet: no new start, no new timer.
        #expect(deadline.readScanned(atPacketBoundary: false, packetStartedInRead: false, now: Self.at(20)) == .none)
        #expect(deadline.packetStartedAt == Self.at(0))
        #expect(deadline.timerFired(now: Self.at(30)) == .expired)
    }

    @Test func theTimerLapsesAtABoundaryAndIsArmedAgainOnlyForTheNextUnfinishedPacket() throws {
        var deadline = try #require(PacketCompletionDeadline(timeout: .seconds(30)))
        #expect(deadline.readScanned(atPacketBoundary: false, packetStartedInRead: true, now: Self.at(0)) == .armTimer(at: Self.at(30)))
        #expect(deadline.readScanned(atPacketBoundary: true, packetStartedInRead: false, now: Self.at(5)) == .none)
        // A new packet while the first timer is still armed: no second timer.
        #expect(deadline.readScanned(atPacketBoundary: false, packetStartedInRead: true, now: Self.at(10)) == .none)
        // The first timer re-arms for the packet now in progress.
        #expect(deadline.timerFired(now: Self.at(30)) == .armTimer(at: Self.at(40)))
        #expect(deadline.readScanned(atPacketBoundary: true, packetStartedInRead: false, now: Self.at(39)) == .none)
        #expect(deadline.timerFired(now: Self.at(40)) == .none, "at a boundary the timer lapses")
        #expect(deadline.readScanned(atPacketBoundary: false, packetStartedInRead: true, now: Self.at(100)) == .armTimer(at: Self.at(130)))
    }

    @Test func aPacketThatBeginsInTheReadThatEndsTheLastIsANewStart() throws {
        var deadline = try #require(PacketCompletionDeadline(timeout: .seconds(30)))
        _ = deadline.readScanned(atPacketBoundary: false, packetStartedInRead: true, now: Self.at(0))
        // Never at a boundary at the end of a read, but each read starts a new packet: never overdue.
        for second in Int64(1)...29 {
            #expect(deadline.readScanned(atPacketBoundary: false, packetStartedInRead: true, now: Self.at(second)) == .none)
        }
        #expect(deadline.timerFired(now: Self.at(30)) == .armTimer(at: Self.at(59)))
    }
}
