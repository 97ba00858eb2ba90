import NIOCore

/// Everything the handler behind `WebSocketMessageCodec` can write: one value per write, one entrance.
///
/// The codec keeps the rule "no frame inside a half-written frame" for all of them: while a streamed message
/// (`beginBinary`…`continueBinary`) is incomplete, messages written meanwhile wait and follow it in order, and a close
/// waits for its end too (bounded by the close timeout; only when the rest does not come in time does the connection
/// end without a close frame).
public enum WebSocketOutbound: Sendable {
    /// One binary message, sent as one frame (several of them per flush are coalesced into one socket write).
    case binary(ByteBuffer)
    /// Several binary messages, one frame each, in this order: the same frames as writing each as `.binary`, in one
    /// write. For a read burst of packets: one pipeline write (and one cast out of `NIOAny`) per burst instead of one
    /// per message. The promise completes when the last of them is written.
    case binaries([ByteBuffer])
    /// One text message (UTF-8 is the writer's promise), sent as one frame.
    case text(ByteBuffer)
    /// The start of one binary message of `totalLength` bytes, sent as one frame whose header announces the whole
    /// length; `firstPart` is its first bytes and `continueBinary` gives the rest, in order. For forwarding a large
    /// message while it arrives. (Boxed: it is rare, and this keeps the common cases small enough for `NIOAny` to
    /// carry without an allocation.)
    indirect case beginBinary(totalLength: Int, firstPart: ByteBuffer)
    /// More of the message started with `beginBinary`; never more than it announced.
    case continueBinary(ByteBuffer)
    /// Start the closing handshake (RFC 6455 §7.1.2): what was written before goes out first, then the close frame with
    /// `code` and `reason` (cut to fit a control frame). Later writes fail. The socket closes when the peer answers or
    /// after the close timeout. The write's promise succeeds at once.
    ///
    /// With `keepsReceiving`, data frames the peer sends until its answering close frame are still passed on: the peer
    /// may have sent them before it saw our close frame (RFC 6455 §5.5.1 only forbids *sending* data after a close).
    /// The relay asks for it on a drain, so that acknowledgements already on their way still reach the broker.
    indirect case close(WebSocketCloseCode, reason: String, keepsReceiving: Bool = false)
}

/// Which end of the connection a codec is (RFC 6455 §5.1: clients mask, servers do not).
public enum WebSocketRole: Sendable, Hashable {
    /// Facing a client: inbound frames must be masked, outbound frames are not.
    case server
    /// Facing a server (a broker's WebSocket listener, the load generator's target): outbound frames are masked with
    /// a fresh key each, inbound frames must not be masked.
    case client
}

/// What `WebSocketMessageCodec` reports to the handler behind it.
public enum WebSocketEvent: Sendable, Hashable {
    /// The peer sent a close frame (`code` nil when it carried none). If the peer started the closing
    /// handshake, the codec has answered it (or will, right after a streamed message) and is closing the connection.
    case closeReceived(code: WebSocketCloseCode?, reason: String)
    /// The codec refused the peer's input, sent a close frame with `error.closeCode` and is closing.
    case protocolViolation(WebSocketProtocolError)
    /// A pong arrived.
    case pongReceived
    /// The peer answered nothing to a keepalive ping in time: the codec sent close 1001 and closed the socket.
    case keepaliveTimeout(reason: String)
}
