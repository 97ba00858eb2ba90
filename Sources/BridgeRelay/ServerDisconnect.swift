import MQTTWire
import NIOCore
import WebSocketTransport

/// A DISCONNECT the bridge sends on its own behalf, as the server, to an MQTT 5 client before closing the
/// WebSocket: the client library then reports why instead of a bare connection loss. MQTT 3.x has no server-sent
/// DISCONNECT, so 3.x clients get only the close frame.
///
/// The bridge never acknowledges, drops or rewrites MQTT on a client's behalf; this is the server's own message about
/// the server's own decision (its topic policy, its shutdown, an operator's kick, a token's expiry).
struct ServerDisconnect: Hashable, Sendable {
    /// The MQTT 5 DISCONNECT reason code (≥ 0x80: the session ends because of an error or a server decision).
    var reasonCode: UInt8

    /// 0x87 "Not authorized": the route's topic policy refused a packet.
    static let notAuthorized = ServerDisconnect(reasonCode: 0x87)
    /// 0x8B "Server shutting down": the bridge drains (SIGTERM), the client should reconnect elsewhere.
    static let serverShuttingDown = ServerDisconnect(reasonCode: 0x8B)
    /// 0x98 "Administrative action": an operator closed the session (admin API).
    static let administrativeAction = ServerDisconnect(reasonCode: 0x98)
    /// 0xA0 "Maximum connect time": the session's token expired (`disconnect_on_expiry`).
    static let maximumConnectTime = ServerDisconnect(reasonCode: 0xA0)

    /// The binary message that carries the DISCONNECT (`E0 02 <reason> 00`: no properties). Written before the close
    /// frame; after a half-forwarded broker packet the codec holds both until that packet's frame is complete.
    func message(allocator: ByteBufferAllocator) -> WebSocketOutbound {
        .binary(MQTTPacket.disconnect(reasonCode: self.reasonCode, version: .v5, allocator: allocator))
    }
}

extension ClientSessionHandler {
    /// Writes the server's own DISCONNECT to the client (MQTT 5 sessions only: the caller checks); its close frame
    /// follows.
    func write(_ disconnect: ServerDisconnect, context: ChannelHandlerContext?) {
        guard let context else { return }
        context.write(self.wrapOutboundOut(disconnect.message(allocator: context.channel.allocator)), promise: nil)
    }
}
