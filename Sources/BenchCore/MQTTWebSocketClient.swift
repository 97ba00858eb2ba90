import NIOCore

/// The load generator's WebSocket client role for the other tools that speak MQTT over WebSocket (`mqtt-ws-soak`),
/// so that they speak exactly what `mqtt-ws-bench` speaks: the transport's client handshake and client-role codec, and
/// one MQTT packet per message.
package enum MQTTWebSocketClient {
    /// The handlers to add after TLS (if any). `upgraded` succeeds with the server's subprotocol answer once the 101 is
    /// accepted (from then on the channel carries MQTT bytes), and fails if the upgrade does. `subprotocol` nil offers
    /// none, as WeChat does.
    package static func handlers(
        target: BenchTarget, subprotocol: String?, upgraded: EventLoopPromise<String?>
    ) -> [any ChannelHandler] {
        BenchConnector.webSocketHandlers(target: target, subprotocol: subprotocol, upgraded: upgraded)
    }
}
