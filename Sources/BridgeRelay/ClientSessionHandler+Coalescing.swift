import NIOCore

extension ClientSessionHandler {
    /// Broker → client, once per read burst: the flush now when the session was idle, else at the end of the coalescing
    /// window (`FlushCoalescing`). Until then `acceptsBrokerBytes` is false, so the broker's packets gather in the socket
    /// and the read after the flush takes them at once. `immediately`: a large packet is being streamed (its reads are
    /// full already, waiting gains nothing) or the session is ending (the close must follow the bytes); a large burst
    /// goes at once too (`CoalescedFlush.largeBurst`).
    func flushToClient(burstBytes: Int, immediately: Bool) {
        guard let eventLoop = self.context?.eventLoop else { return }
        self.link.toClient.flushWanted(on: eventLoop, burstBytes: burstBytes, immediately: immediately) {
            self.context?.flush()
            // A broker read held back for the deferred flush resumes; one held for backpressure still waits.
            if self.acceptsBrokerBytes { self.link.clientCanTakeMore() }
        }
    }
}
