import NIOCore

/// Per-route relay settings.
public struct SessionSettings: Sendable {
    /// Largest MQTT packet accepted from the client and relayed from the broker.
    package var maximumPacketSize: Int
    /// From the 101 until the client's whole CONNECT has arrived.
    package var connectPacketTimeout: TimeAmount
    /// From a client packet's first byte until it is complete (`PacketCompletionDeadline`); zero: no deadline.
    package var packetTimeout: TimeAmount
    /// From dialling until the broker connection is ready (TCP, TLS and, for `ws`, the upgrade), over every server tried.
    package var upstreamReadyTimeout: TimeAmount
    /// After the client is gone, how long the broker gets to close its side before the bridge closes it.
    package var upstreamLingerTimeout: TimeAmount
    /// The route's topic policy, if it has one.
    package var topicAuthorizer: (any TopicAuthorizer)?
    /// How long a busy session's flushes may wait for more bytes, in each direction (`FlushCoalescing`); zero: never.
    package var coalesceWindow: TimeAmount

    public init(
        maximumPacketSize: Int,
        connectPacketTimeout: TimeAmount = .seconds(10),
        packetTimeout: TimeAmount = .seconds(60),
        upstreamReadyTimeout: TimeAmount = .seconds(5),
        upstreamLingerTimeout: TimeAmount = .seconds(3),
        topicAuthorizer: (any TopicAuthorizer)? = nil,
        coalesceWindow: TimeAmount = .zero
    ) {
        self.maximumPacketSize = maximumPacketSize
        self.connectPacketTimeout = connectPacketTimeout
        self.packetTimeout = packetTimeout
        self.upstreamReadyTimeout = upstreamReadyTimeout
        self.upstreamLingerTimeout = upstreamLingerTimeout
        self.topicAuthorizer = topicAuthorizer
        self.coalesceWindow = coalesceWindow
    }
}
