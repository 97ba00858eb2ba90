import NIOCore

// `timeouts.packet` (`PacketCompletionDeadline`): the client's packet in progress must be complete in time.
extension ClientSessionHandler {
    /// After a read's bytes were scanned (`packetsStartedBefore`: the scanner's count before them); only while the
    /// deadline is on.
    func timePacket(packetsStartedBefore: UInt, context: ChannelHandlerContext) {
        // Until the CONNECT is in, `timeouts.connect` bounds it (1002 "no CONNECT within …"); timing it here too would
        // close a slow CONNECT with 1008 instead whenever `timeouts.packet` is the shorter. A packet that follows the
        // CONNECT in the same read is timed from the next read.
        if case .awaitingConnect = self.machine.state { return }
        if case .awaitingConnectWithUpstream = self.machine.state { return }
        let action = self.packetDeadline!.readScanned(
            atPacketBoundary: self.scanner.isAtPacketBoundary,
            packetStartedInRead: self.scanner.packetsStarted != packetsStartedBefore, now: context.eventLoop.now)
        self.perform(action, context: context)
    }

    private func packetDeadlineTimerFired() {
        self.packetDeadlineTimer = nil
        guard let context = self.context, self.packetDeadline != nil else { return }  // the session ended meanwhile
        self.perform(self.packetDeadline!.timerFired(now: context.eventLoop.now), context: context)
    }

    private func perform(_ action: PacketCompletionDeadline.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .armTimer(let deadline):
            self.packetDeadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
                self.packetDeadlineTimerFired()
            }
        case .expired:
            guard let reason = self.packetDeadline?.reason else { return }
            let closing = self.machine.packetDeadlinePassed(reason)
            if closing != .none { self.metrics.packetDeadlineCloses.increment() }
            self.perform(closing)
        }
    }
}
