import NIOCore
import NIOEmbedded
import Testing

@testable import BridgeServer

/// `shutdown.drain_rate`: a drain closes connections in turns (`DrainPacer` through each connection's
/// `DrainDeadline`), on a controlled clock (`EmbeddedEventLoop`), and the grace period still bounds everything.
@Suite struct DrainPacingTests {
    /// Records when the drain reached the rest of the pipeline (where the session would answer with close 1001).
    final class QuiesceRecorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private(set) var heardAt: NIODeadline?

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is ChannelShouldQuiesceEvent { heardAt = context.eventLoop.now }
        }
    }

    struct Drain {
        let loop = EmbeddedEventLoop()
        let channels: [EmbeddedChannel]
        let recorders: [QuiesceRecorder]
        let start: NIODeadline

        init(connections: Int, rate: Double?, gracePeriod: TimeAmount = .seconds(10)) throws {
            let pacer = DrainPacer(rate: rate, gracePeriod: gracePeriod)
            var channels: [EmbeddedChannel] = []
            var recorders: [QuiesceRecorder] = []
            for _ in 0..<connections {
                let recorder = QuiesceRecorder()
                let channel = EmbeddedChannel(loop: loop)
                try channel.connect(to: SocketAddress(ipAddress: "203.0.113.9", port: 50000)).wait()
                try channel.pipeline.syncOperations.addHandler(DrainDeadline(gracePeriod: gracePeriod, pacer: pacer, onHardClose: {}))
                try channel.pipeline.syncOperations.addHandler(recorder)
                channels.append(channel)
                recorders.append(recorder)
            }
            self.channels = channels
            self.recorders = recorders
            start = loop.now
            pacer.start(connections: connections)
            for channel in channels {
                channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
            }
        }

        /// When each connection heard of the drain, after the start, in milliseconds (nil: not yet).
        var heardAfter: [Int64?] {
            recorders.map { $0.heardAt.map { ($0 - start).nanoseconds / 1_000_000 } }
        }

        func finish() {
            for channel in channels { _ = try? channel.finish() }
        }
    }

    @Test func aRateSpacesTheClosesByItsInterval() throws {
        let drain = try Drain(connections: 4, rate: 2)
        defer { drain.finish() }
        #expect(drain.heardAfter == [0, nil, nil, nil], "the first at once, the others wait for their turn")
        drain.loop.advanceTime(by: .milliseconds(499))
        #expect(drain.heardAfter == [0, nil, nil, nil])
        drain.loop.advanceTime(by: .milliseconds(1))
        #expect(drain.heardAfter == [0, 500, nil, nil])
        drain.loop.advanceTime(by: .seconds(1))
        #expect(drain.heardAfter == [0, 500, 1000, 1500])
    }

    @Test func noRateSpreadsTheClosesOverMostOfTheGracePeriod() throws {
        let drain = try Drain(connections: 5, rate: nil, gracePeriod: .seconds(10))
        defer { drain.finish() }
        drain.loop.advanceTime(by: .seconds(9))
        // 80% of 10 s over four gaps.
        #expect(drain.heardAfter == [0, 2000, 4000, 6000, 8000])
    }

    @Test func rateZeroClosesEverythingAtOnce() throws {
        let drain = try Drain(connections: 3, rate: 0)
        defer { drain.finish() }
        #expect(drain.heardAfter == [0, 0, 0])
    }

    @Test func turnsAfterTheGracePeriodGiveWayToTheHardClose() throws {
        let drain = try Drain(connections: 3, rate: 0.25, gracePeriod: .seconds(5))
        defer { drain.finish() }
        drain.loop.advanceTime(by: .seconds(5))
        #expect(drain.heardAfter == [0, 4000, nil], "the third turn (8 s) is after the grace period")
        #expect(drain.channels.map(\.isActive) == [false, false, false], "all closed by the grace period")
    }

    @Test func connectionsStayOpenUntilTheirTurn() throws {
        let drain = try Drain(connections: 2, rate: 1)
        defer { drain.finish() }
        #expect(drain.channels.map(\.isActive) == [true, true], "a turn passes the drain on; the session closes itself")
    }
}
