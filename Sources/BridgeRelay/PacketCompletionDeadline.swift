import NIOCore
import WebSocketTransport

/// `timeouts.packet`: an MQTT packet the client has started must be complete within this long of its first byte, or
/// the session is closed with 1008 (policy violation).
///
/// Why the bridge needs it: nothing else bounds a packet in progress. A client that announces a 16 MiB PUBLISH and then
/// sends a byte now and then costs the bridge only a read's worth of memory (the relay streams), but Mosquitto 2.0.11
/// counts every byte read as keepalive activity, so the session, its broker connection and its TLS state would last
/// forever (docs/RELIABILITY.md, hostile peers). A session idle *between* packets is not this deadline's business: MQTT
/// keepalive (enforced by the broker) and the route's `ping_interval` handle that, and the timer is never armed for it.
///
/// Why a fixed deadline and not a minimum rate: the only packets a deadline can cut are large ones (a small packet
/// arrives in one read on any link), and their sizes are bounded by `max_packet_size`, so a fixed deadline already is a
/// minimum rate: `max_packet_size / timeouts.packet`. The default, 60 s over the default 1 MiB limit, lets a largest
/// message through at ≈ 17 KiB/s (≈ 140 kbit/s, a poor 3G or EDGE uplink) while holding a trickling client to one
/// minute per packet; one number is also easier to reason about than a rate and a grace period. The key is global: if
/// a route raises its `max_packet_size`, raise `timeouts.packet` to suit the largest. The CONNECT is not timed here
/// (`timeouts.connect` bounds it). Time counts from the packet's first byte, not from its last progress,
/// so bytes trickled into a started packet do not extend it; a packet's fixed header being slow counts too.
///
/// WebSocket frames need no deadline of their own: in `.byteStream` mode the codec passes payload bytes on as they
/// arrive, so a trickled frame is a trickled packet here. What a frame can hold without packet progress is bounded: at a
/// packet boundary, a frame header (≤ 14 bytes) or a compressed frame that inflates to nothing is an idle session as far
/// as MQTT goes (keepalive's job); inside a packet, the packet's clock is already running. A frame that carries only
/// further bytes of a started packet does not restart it.
///
/// Cost on the hot path: per read, one comparison of `MQTTStreamScanner.packetsStarted` and a boundary check; the
/// clock is read only when a read ends inside a packet that began in it. There is one timer at most, armed when a
/// packet is left unfinished and none is armed; when it fires it checks the recorded start lazily and re-arms for the
/// current packet, or lapses if the session is back at a boundary. A session whose reads end at packet boundaries
/// (small messages) never arms it; one streaming large messages arms it about once per `timeout`.
///
/// Time the bridge itself holds the client's reads back (the broker not taking more) counts too: a broker that takes
/// nothing for a whole deadline is past helping that session anyway.
struct PacketCompletionDeadline {
    enum Action: Equatable {
        case none
        /// Arm the timer to fire at this time (it is not armed now).
        case armTimer(at: NIODeadline)
        /// The packet in progress is overdue: close the session with 1008 and `reason`.
        case expired
    }

    let timeout: TimeAmount
    /// When the packet in progress began (the read that brought its first byte); nil at a packet boundary.
    private(set) var packetStartedAt: NIODeadline?
    private var timerIsArmed = false

    /// nil for a timeout of zero (or less): `timeouts.packet: 0` turns the deadline off.
    init?(timeout: TimeAmount) {
        guard timeout > .zero else { return nil }
        self.timeout = timeout
    }

    /// The access line's and the close frame's reason.
    var reason: String { "MQTT packet not completed within \(self.timeout.humanDescription)" }

    /// After each read of client bytes has been scanned.
    /// - Parameters:
    ///   - atPacketBoundary: every byte so far belongs to a whole packet (`MQTTStreamScanner.isAtPacketBoundary`).
    ///   - packetStartedInRead: the packet in progress began in this read (`MQTTStreamScanner.packetsStarted` moved).
    ///   - now: read only when a packet starts.
    mutating func readScanned(
        atPacketBoundary: Bool, packetStartedInRead: Bool, now: @autoclosure () -> NIODeadline
    ) -> Action {
        if atPacketBoundary {
            // The armed timer, if any, finds the boundary and lapses: no cancel on the hot path.
            self.packetStartedAt = nil
            return .none
        }
        guard packetStartedInRead || self.packetStartedAt == nil else { return .none }  // the same packet continues
        let startedAt = now()
        self.packetStartedAt = startedAt
        guard !self.timerIsArmed else { return .none }  // it re-arms for this packet when it fires
        self.timerIsArmed = true
        return .armTimer(at: startedAt + self.timeout)
    }

    /// The timer fired.
    mutating func timerFired(now: NIODeadline) -> Action {
        self.timerIsArmed = false
        guard let startedAt = self.packetStartedAt else { return .none }
        let due = startedAt + self.timeout
        guard now < due else { return .expired }
        self.timerIsArmed = true
        return .armTimer(at: due)
    }
}
