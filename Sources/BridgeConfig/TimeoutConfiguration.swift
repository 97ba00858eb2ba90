/// `timeouts`: per-connection deadlines.
///
/// `timeouts.close` is the old name for both close timeouts: it sets `close_handshake` and `upstream_linger`, each
/// unless that key is given by its own name (in the file, the environment or `--set`).
package struct TimeoutConfiguration: Sendable, Equatable {
    /// `handshake`: from accept (TLS included) until the HTTP request head is complete.
    package var handshake: Duration
    /// `connect`: from the 101 until the client's whole MQTT CONNECT has arrived.
    package var connectPacket: Duration
    /// `packet`: from the first byte of an MQTT packet from the client until the packet is complete; zero: no deadline.
    /// The default allows a largest packet at the default `max_packet_size` (1 MiB) through at ≈ 140 kbit/s (the
    /// relay's `PacketCompletionDeadline` says why a fixed deadline and why this one).
    package var packet: Duration
    /// `close_handshake`: how long to wait for the client's close frame after the bridge sent one.
    package var closeHandshake: Duration
    /// `upstream_linger`: once the client is gone, the bridge ends its side of the broker connection and gives the
    /// broker this long to close its side before closing the connection fully.
    package var upstreamLinger: Duration

    package init(
        handshake: Duration = .seconds(10), connectPacket: Duration = .seconds(10), packet: Duration = .seconds(60),
        closeHandshake: Duration = .seconds(3), upstreamLinger: Duration = .seconds(3)
    ) {
        self.handshake = handshake
        self.connectPacket = connectPacket
        self.packet = packet
        self.closeHandshake = closeHandshake
        self.upstreamLinger = upstreamLinger
    }
}
