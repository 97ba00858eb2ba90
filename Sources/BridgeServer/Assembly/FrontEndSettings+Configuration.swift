import BridgeConfig
import BridgeFrontEnd
import WebSocketTransport

// The assembly point for BridgeFrontEnd (and, through its route table, the relay's per-session settings): `routes`,
// `timeouts`, `limits`, `static_files` and the `upstream` keys a session uses.
//
// Public: the Fuzzing package's http-upgrade target builds its route tables through it, as the bridge does.

extension FrontEndSettings {
    public init(_ configuration: BridgeConfiguration) {
        self.init(
            routes: configuration.routes.map(RouteSettings.init),
            handshakeTimeout: configuration.timeouts.handshake,
            connectPacketTimeout: configuration.timeouts.connectPacket,
            packetTimeout: configuration.timeouts.packet,
            upstreamConnectTimeout: configuration.upstream.connectTimeout,
            upstreamLingerTimeout: configuration.timeouts.upstreamLinger,
            closeHandshakeTimeout: configuration.timeouts.closeHandshake,
            coalesceWindow: configuration.upstream.coalesceWindow,
            maxRequestHeadSize: configuration.limits.maxRequestHeadSize,
            maxSessionsPerAddress: configuration.limits.maxSessionsPerIP,
            connectionRatePerAddress: configuration.limits.connectionRatePerIP,
            connectionBurstPerAddress: configuration.limits.connectionBurstPerIP,
            sendsProxyProtocol: configuration.upstream.proxyProtocol,
            staticFiles: configuration.staticFiles.enabled ? StaticFileSettings(configuration.staticFiles) : nil)
    }
}

extension RouteSettings {
    public init(_ route: RouteConfiguration) {
        let compression = route.compression
        self.init(
            name: route.name, path: route.path, policy: SubprotocolPolicy(route.policy),
            subprotocols: route.subprotocols, requireSubprotocol: route.requireSubprotocol, maxPacketSize: route.maxPacketSize,
            maxFrameSize: route.maxFrameSize, allowedOrigins: route.allowedOrigins, allowMissingOrigin: route.allowMissingOrigin,
            pingInterval: route.pingInterval, pingTimeout: route.pingTimeout,
            compression: compression.enabled
                ? PerMessageDeflate.Settings(
                    serverMaxWindowBits: compression.serverMaxWindowBits, clientMaxWindowBits: compression.clientMaxWindowBits,
                    serverNoContextTakeover: compression.serverNoContextTakeover,
                    clientNoContextTakeover: compression.clientNoContextTakeover, compressionLevel: compression.level,
                    memoryLevel: compression.memoryLevel, threshold: compression.threshold)
                : nil)
    }
}

extension RouteSettings.SubprotocolPolicy {
    package init(_ policy: BridgeConfig.SubprotocolPolicy) {
        switch policy {
        case .miniprogram: self = .miniprogram
        case .passthrough: self = .passthrough
        }
    }
}

extension StaticFileSettings {
    package init(_ configuration: StaticFilesConfiguration) {
        self.init(
            directory: configuration.directory, maxSize: configuration.maxSize, sendTimeout: configuration.sendTimeout,
            maxRequestsPerAddress: configuration.maxRequestsPerIP)
    }
}
