import CoreMetrics
import NIOCore

/// One direction of one session: performs `FlushCoalescing`'s decisions with the event loop's clock and at most one
/// scheduled task. Owned by the session (broker → client) and by `SessionUpstreamLink` (client → broker), on their
/// event loop.
final class CoalescedFlush {
    private var policy: FlushCoalescing
    private var timer: Scheduled<Void>?
    /// The deferred flush, performed by the timer or by `flushDeferredNow`.
    private var deferred: (() -> Void)?

    /// Counts the deferred flushes (an operator sees whether batching happens).
    private let deferrals: Counter?

    init(window: TimeAmount, deferrals: Counter? = nil) {
        self.policy = FlushCoalescing(window: window)
        self.deferrals = deferrals
    }

    /// A flush is deferred to the end of the window: the owner may hold back reading more until it is done.
    var isDeferring: Bool { self.policy.isDeferring }

    /// A read burst this large flushes at once: it fills TLS records (at most 16 KiB each) and segments by itself, so
    /// waiting would only add latency (the streamed parts of a large packet, bulk transfers).
    static let largeBurst = 16 * 1024

    /// Flushes now with `flush`, or defers it to the window's end; a flush already deferred takes these bytes along.
    /// `immediately`, or a burst of `largeBurst` bytes or more: flush now whatever the window says (a deferred flush
    /// with it). The deferred `flush` runs on `eventLoop` unless `flushedAnyway` or `cancel` came first.
    func flushWanted(on eventLoop: any EventLoop, burstBytes: Int, immediately: Bool = false, flush: @escaping () -> Void) {
        if immediately || burstBytes >= Self.largeBurst {
            self.flushedAnyway(on: eventLoop)
            flush()
            return
        }
        switch self.policy.flushWanted(at: eventLoop.now) {
        case .flushNow:
            flush()
        case .deferUntil(let deadline):
            self.deferred = flush
            self.deferrals?.increment()
            self.timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
                self.timer = nil
                let flush = self.deferred
                self.deferred = nil
                if self.policy.deadlineReached(at: eventLoop.now) { flush?() }
            }
        case .alreadyDeferred:
            break
        }
    }

    /// The owner flushed (or is about to, e.g. with a close frame): the deferred flush is moot.
    func flushedAnyway(on eventLoop: any EventLoop) {
        if self.policy.flushedAnyway(at: eventLoop.now) { self.cancelTimer() }
    }

    /// The channel is gone: nothing deferred is performed.
    func cancel() {
        if self.policy.abandon() { self.cancelTimer() }
    }

    private func cancelTimer() {
        self.timer?.cancel()
        self.timer = nil
        self.deferred = nil
    }
}
