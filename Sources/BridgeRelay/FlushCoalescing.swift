import NIOCore

/// When one direction of one session flushes: at once when it has been idle, at the end of a short window when it is
/// busy. A pure state machine: the caller passes the time in, performs the decision and owns the one timer.
///
/// The rule: a flush is wanted (a read burst produced bytes for the other side). If the last flush is at least
/// `window` ago (or there was none), flush now: a cold session's message goes out at once, with no added latency. If
/// the direction flushed within the window, defer the flush to the end of that window (last flush + `window`); further
/// wishes until then join it. So a hot session flushes at most once per window, and a message waits at most `window`.
/// `window` zero: every wish flushes at once, the bridge's behaviour without coalescing. (Large bursts and a session's
/// ending are not asked about: `CoalescedFlush` flushes them at once, see `flushedAnyway`.)
///
/// Why this shape, compared with the usual ones:
/// - Nagle (RFC 896) sends at once when nothing is unacknowledged and holds small segments while something is: the
///   same "idle → now, busy → batch" test. The bound here is a time, not an ACK: the bridge sees no ACKs, and Nagle's
///   interplay with delayed ACKs (stalls of up to 40 ms) is what latency-minded operators turn off.
/// - `TCP_CORK` holds everything until uncorked (or 200 ms), and Kafka's `linger.ms` makes every batch wait up to the
///   linger for more records (`batch.size` ends it early). Both delay the first message too: a push session with a few
///   messages a minute would pay the whole window on each. Rejected.
/// - nginx's `postpone_output` holds output until 1460 bytes are buffered or the response ends. An MQTT stream has no
///   end of response, so a lone small message would wait for the next one. Rejected.
/// - NATS flushes once per wake-up (the server flushes each client that got data at the end of a producer's read; the
///   Go client's flusher goroutine writes whatever accumulated when it runs): batching from work already queued, no
///   timer. That is this type with `window` zero; the window adds batching across wake-ups, which is what the bridge
///   needs when the broker writes each packet with its own `write` (`set_tcp_nodelay true`).
package struct FlushCoalescing: Sendable {
    /// What the caller does with a wish to flush.
    package enum Decision: Equatable, Sendable {
        /// Flush now.
        case flushNow
        /// Schedule the one deferred flush for this deadline (`deadlineReached` when it fires).
        case deferUntil(NIODeadline)
        /// A deferred flush is already scheduled and will carry these bytes too.
        case alreadyDeferred
    }

    /// The latency budget: how long a busy direction's bytes may wait for more to join them.
    package let window: TimeAmount
    private var lastFlush: NIODeadline?
    private var deferredUntil: NIODeadline?

    package init(window: TimeAmount) {
        precondition(window >= .zero, "a coalescing window cannot be negative")
        self.window = window
    }

    /// A deferred flush is scheduled and not yet performed.
    package var isDeferring: Bool { self.deferredUntil != nil }

    /// Bytes were written and want to go out.
    package mutating func flushWanted(at now: NIODeadline) -> Decision {
        if self.deferredUntil != nil { return .alreadyDeferred }
        guard let lastFlush = self.lastFlush, now < lastFlush + self.window else {
            self.lastFlush = now
            return .flushNow
        }
        let deadline = lastFlush + self.window
        self.deferredUntil = deadline
        return .deferUntil(deadline)
    }

    /// The deferred flush's timer fired. True: flush now. False: nothing was deferred any more (moot).
    package mutating func deadlineReached(at now: NIODeadline) -> Bool {
        guard self.deferredUntil != nil else { return false }
        self.deferredUntil = nil
        self.lastFlush = now
        return true
    }

    /// The caller flushed for its own reasons (a close, a streamed large packet): a deferred flush is moot.
    /// True when one was deferred, so the caller cancels its timer.
    package mutating func flushedAnyway(at now: NIODeadline) -> Bool {
        let wasDeferring = self.deferredUntil != nil
        self.deferredUntil = nil
        self.lastFlush = now
        return wasDeferring
    }

    /// The direction is gone (channel inactive): nothing is deferred any more. True when something was, so the caller
    /// cancels its timer.
    package mutating func abandon() -> Bool {
        let wasDeferring = self.deferredUntil != nil
        self.deferredUntil = nil
        return wasDeferring
    }
}
