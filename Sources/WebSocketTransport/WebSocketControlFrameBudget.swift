import NIOCore

/// How many control frames a peer may send (`WebSocketControlFrameBudget`).
package struct WebSocketControlFrameLimits: Sendable, Hashable {
    /// Control frames the peer may send at once.
    package var burst: Int
    /// Control frames a second the budget regains, up to `burst`.
    package var perSecond: Int

    package init(burst: Int, perSecond: Int) {
        self.burst = burst
        self.perSecond = perSecond
    }

    /// Generous for any client (a keepalive ping is one frame every few seconds), tight for a flood.
    package static let standard = WebSocketControlFrameLimits(burst: 100, perSecond: 20)
}

/// How many control frames (pings and pongs) a peer may send: a token bucket of `burst` frames that refills at
/// `perSecond`. A peer beyond it is closed with 1008 (policy violation).
///
/// Every ping costs the connection a pong, written on the event loop it shares with hundreds of other sessions, and
/// TCP backpressure alone does not bound that: a peer that floods pings and reads the pongs keeps its loop busy for
/// as long as it likes (a flood from one client made another client's CONNECT time out). No MQTT client needs more
/// than a keepalive ping now and then, and the burst leaves room for tools that send a few at once (Autobahn's 2.10
/// sends ten in one go and expects every pong: inside the budget every ping is still answered).
struct WebSocketControlFrameBudget {
    typealias Limits = WebSocketControlFrameLimits

    let limits: Limits
    private var available: Int
    /// When the bucket last gained a frame (or was last full).
    private var refilledAt: NIODeadline

    init(limits: Limits, now: NIODeadline) {
        precondition(limits.burst > 0 && limits.perSecond > 0, "a control-frame budget needs a burst and a rate")
        self.limits = limits
        self.available = limits.burst
        self.refilledAt = now
    }

    /// Takes one frame from the budget; false when there is none left (the peer sends faster than the limits allow).
    mutating func spend(now: NIODeadline) -> Bool {
        self.refill(now: now)
        guard self.available > 0 else { return false }
        self.available -= 1
        return true
    }

    private mutating func refill(now: NIODeadline) {
        guard self.available < self.limits.burst else {
            self.refilledAt = now
            return
        }
        let interval = 1_000_000_000 / Int64(self.limits.perSecond)
        let earned = (now - self.refilledAt).nanoseconds / interval
        guard earned > 0 else { return }
        if earned >= Int64(self.limits.burst - self.available) {
            self.available = self.limits.burst
            self.refilledAt = now
        } else {
            self.available += Int(earned)
            // Keep the fraction of a frame already earned.
            self.refilledAt = self.refilledAt + .nanoseconds(earned * interval)
        }
    }

    /// Why the peer is closed, for its close frame and the logs (well under 123 bytes).
    var refusal: WebSocketProtocolError {
        WebSocketProtocolError(
            .policyViolation,
            "too many control frames (more than \(self.limits.burst) at once or \(self.limits.perSecond) a second)")
    }
}
