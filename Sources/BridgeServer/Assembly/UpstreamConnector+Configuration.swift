import BridgeConfig
import BridgeRelay
import BridgeTLS

// The assembly point for BridgeRelay's dialling: `upstream.kind`, `upstream.path` and `upstream.tls` as a connector.
// (The relay's per-session settings come through the front end's `FrontEndSettings`; the servers through
// `UpstreamPoolWiring`.)

enum UpstreamConnectors {
    /// The connector of `upstream.kind`; throws when the TLS files cannot be read.
    static func make(_ configuration: UpstreamConfiguration) throws -> any UpstreamConnector {
        let tls = configuration.tls.map(UpstreamTLSSettings.init)
        switch configuration.kind {
        case .tcp: return try TCPUpstreamConnector(tls: tls)
        case .ws: return try WebSocketUpstreamConnector(path: configuration.path, tls: tls)
        }
    }
}
