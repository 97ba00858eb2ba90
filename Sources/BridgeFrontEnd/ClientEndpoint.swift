import ClientAddress
import NIOCore
import SettingsSupport

/// What a listener believes about where its connections come from.
package struct ListenerSettings: Sendable {
    package var name: String
    /// Proxies whose PROXY headers and X-Forwarded-For / X-Real-IP headers count.
    package var trustedProxies: TrustedProxies
    /// Take the client address from X-Forwarded-For / X-Real-IP when the peer is a trusted proxy.
    package var forwardedHeaders: Bool

    package init(name: String, trustedProxies: TrustedProxies = .none, forwardedHeaders: Bool = false) {
        self.name = name
        self.trustedProxies = trustedProxies
        self.forwardedHeaders = forwardedHeaders
    }
}

/// The real client of a connection: its address as the access log shows it, the key for per-address
/// limits, and the socket address for an outbound PROXY header.
struct ClientEndpoint {
    /// `203.0.113.7:51234`, `[2001:db8::1]:51234`, or just the address when it came from X-Forwarded-For.
    var display: String
    /// The address without port (IPv4-mapped addresses unmapped), for per-address limits.
    var ip: String
    /// With a port when one is known (0 otherwise); nil when the peer has no IP address.
    var socketAddress: SocketAddress?

    /// Order of belief: the PROXY protocol header (already checked against trusted proxies by its handler),
    /// then X-Forwarded-For / X-Real-IP when the listener allows it and the sender is a trusted proxy,
    /// else the TCP peer.
    static func resolve(
        channel: any Channel, proxy: ProxyProtocolOutcome?, listener: ListenerSettings, headers: HTTPHeadersView?
    ) -> ClientEndpoint {
        let peer = proxy?.clientAddress(peer: channel.remoteAddress) ?? channel.remoteAddress
        guard let peer, let address = IPAddress(peer) else {
            return ClientEndpoint(display: "unknown", ip: "unknown", socketAddress: nil)
        }
        var ip = address.unmapped
        var port = peer.port
        if listener.forwardedHeaders, let headers {
            let forwarded = resolveClientAddress(
                peer: ip, xForwardedFor: headers.xForwardedFor, xRealIP: headers.xRealIP, trusted: listener.trustedProxies)
            if forwarded != ip {
                ip = forwarded
                port = nil
            }
        }
        let text = ip.description
        let display = port.map { hostAndPort(text, $0) } ?? text
        return ClientEndpoint(display: display, ip: text, socketAddress: ip.socketAddress(port: port ?? 0))
    }
}

/// The two forwarding headers, as the resolver needs them.
struct HTTPHeadersView {
    var xForwardedFor: [String]
    var xRealIP: String?
}
