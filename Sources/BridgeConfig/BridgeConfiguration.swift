import SettingsSupport
import UpstreamPool

/// The whole bridge configuration: plain `Sendable` values with defaults.
///
/// The defaults here are the documented defaults of `Config/bridge.yaml`; loading a file, environment
/// variables and `--set` overrides lives in `ConfigurationLoader`. Validation (`validate()`) names the
/// offending key with the same dotted path the YAML file uses, e.g. `routes.browser.max_packet_size`.
public struct BridgeConfiguration: Sendable, Equatable {
    /// Listeners by name (`listeners.<name>` in YAML), sorted by name.
    package var listeners: [ListenerConfiguration]
    /// Routes by name (`routes.<name>`), sorted by name. Matching is by exact path.
    package var routes: [RouteConfiguration]
    /// `upstream`: the MQTT broker every session is relayed to.
    package var upstream: UpstreamConfiguration
    /// `timeouts`: per-connection deadlines before relaying starts.
    package var timeouts: TimeoutConfiguration
    /// `limits`: request-level limits.
    public var limits: LimitsConfiguration
    /// `shutdown`: draining on SIGTERM/SIGINT.
    package var shutdown: ShutdownConfiguration
    /// `logging`: level, format and the access log.
    package var logging: LoggingConfiguration
    /// `static_files`: a directory (the built-in dashboard) served on paths that are not routes; off by default.
    package var staticFiles: StaticFilesConfiguration
    /// `admin`: the operations listener (health, readiness, metrics, publish API).
    package var admin: AdminConfiguration
    /// `auth`: how tokens are checked, for routes with `auth` (edge authentication).
    package var auth: AuthConfiguration

    /// The defaults with these routes: all a route table needs (the http-upgrade fuzz target, a separate package,
    /// builds its tables so; the full initialiser below would make every section type public).
    public init(routes: [RouteConfiguration] = RouteConfiguration.defaults) {
        self.init(listeners: ListenerConfiguration.defaults, routes: routes)
    }

    package init(
        listeners: [ListenerConfiguration] = ListenerConfiguration.defaults,
        routes: [RouteConfiguration] = RouteConfiguration.defaults,
        upstream: UpstreamConfiguration = .init(),
        timeouts: TimeoutConfiguration = .init(),
        limits: LimitsConfiguration = .init(),
        shutdown: ShutdownConfiguration = .init(),
        logging: LoggingConfiguration = .init(),
        staticFiles: StaticFilesConfiguration = .init(),
        admin: AdminConfiguration = .init(),
        auth: AuthConfiguration = .init()
    ) {
        self.listeners = listeners
        self.routes = routes
        self.upstream = upstream
        self.timeouts = timeouts
        self.limits = limits
        self.shutdown = shutdown
        self.logging = logging
        self.staticFiles = staticFiles
        self.admin = admin
        self.auth = auth
    }
}

// MARK: - Listeners

/// One listening socket (`listeners.<name>`).
package struct ListenerConfiguration: Sendable, Equatable {
    /// The YAML key; used in logs and metrics labels.
    package var name: String
    /// `listeners.<name>.enabled`: a disabled listener is kept in the file but not opened.
    package var enabled: Bool
    /// `listeners.<name>.address`: an IPv4 or IPv6 literal or a host name. `::` listens on IPv6 and IPv4 (dual stack).
    package var address: String
    /// `listeners.<name>.port`: 0 picks a free port (tests).
    package var port: Int
    /// `listeners.<name>.tls`: present → wss, absent → plain ws (for a TLS-terminating proxy in front).
    package var tls: ListenerTLSConfiguration?
    /// `listeners.<name>.mode`: `tls`, `plain` or `auto` (both on one port, told apart by the first byte a
    /// client sends). Default: `tls` when `tls` is present, else `plain`.
    package var mode: ListenerMode
    /// `listeners.<name>.proxy_protocol`: `off`, `optional` or `required` — a PROXY protocol v1/v2 header
    /// (HAProxy, AWS NLB, …) in front of each connection, accepted only from `trusted_proxies`.
    package var proxyProtocol: ProxyProtocolMode
    /// `listeners.<name>.trusted_proxies`: addresses and CIDR ranges of the proxies/load balancers whose
    /// PROXY headers and X-Forwarded-For/X-Real-IP headers are believed.
    package var trustedProxies: [String]
    /// `listeners.<name>.forwarded_headers`: take the client address from X-Forwarded-For / X-Real-IP when
    /// the connection comes from a trusted proxy (the right-most untrusted address; never the spoofable left-most).
    package var forwardedHeaders: Bool
    /// `listeners.<name>.reuse_port`: on Linux, one listening socket per event loop on this port (`SO_REUSEPORT`), so
    /// that accepting never waits behind another loop's handshakes. Off: one socket, and a second process on the port
    /// fails with "address in use" (with it on, one run by the same user would share the connections).
    package var reusePort: Bool

    package init(
        name: String, enabled: Bool = true, address: String, port: Int, tls: ListenerTLSConfiguration? = nil,
        mode: ListenerMode? = nil, proxyProtocol: ProxyProtocolMode = .off, trustedProxies: [String] = [],
        forwardedHeaders: Bool = false, reusePort: Bool = true
    ) {
        self.name = name
        self.enabled = enabled
        self.address = address
        self.port = port
        self.tls = tls
        self.mode = mode ?? (tls == nil ? .plain : .tls)
        self.proxyProtocol = proxyProtocol
        self.trustedProxies = trustedProxies
        self.forwardedHeaders = forwardedHeaders
        self.reusePort = reusePort
    }

    /// `wss` on all interfaces at 8443 with the development certificate, and a disabled loopback `ws` at 8080
    /// that believes X-Forwarded-For from loopback (a local nginx).
    package static let defaults: [ListenerConfiguration] = [
        // For a TLS-terminating proxy on the same machine (nginx): its X-Forwarded-For names the client.
        ListenerConfiguration(
            name: "ws", enabled: false, address: "127.0.0.1", port: 8080, trustedProxies: ["127.0.0.1", "::1"], forwardedHeaders: true),
        ListenerConfiguration(name: "wss", address: "::", port: 8443, tls: ListenerTLSConfiguration()),
    ]
}

/// How a listener treats the bytes a client sends first.
package enum ListenerMode: String, Sendable, Equatable, CaseIterable {
    /// Plain HTTP/WebSocket (ws://).
    case plain
    /// TLS (wss://).
    case tls
    /// Both on one port: a TLS ClientHello starts with 0x16, anything else is plain HTTP.
    case auto
}

/// Whether a listener expects a PROXY protocol header before each connection's own bytes.
package enum ProxyProtocolMode: String, Sendable, Equatable, CaseIterable {
    case off
    /// Trusted peers may send one; connections without it use their own addresses.
    case optional
    /// Every connection must come from a trusted proxy and start with a header.
    case required
}

/// `listeners.<name>.tls`: the server certificate(s).
///
/// `certificate`, `key` and `chain` are the listener's default pair: it is served to clients that send no SNI server
/// name or a name that no `sni` entry lists. Every pair is re-read on SIGHUP (and every `reload_interval` if set);
/// a pair that fails its checks is refused and the one in use stays.
///
/// Paths written in the config file (and these defaults) are relative to the file's directory, so the defaults name
/// the development certificate in `.dev/certs/` at the repository root when the file is `Config/bridge.yaml`.
/// `ConfigurationLoader` resolves them; a configuration built in code uses them as given (relative to the working directory).
package struct ListenerTLSConfiguration: Sendable, Equatable {
    /// `certificate`: PEM file with the leaf certificate (and optionally the chain after it).
    package var certificatePath: String
    /// `key`: PEM file with the private key (PKCS#8, RSA or EC).
    package var keyPath: String
    /// `chain`: optional PEM file with intermediate certificates, sent after the leaf.
    package var chainPath: String?
    /// `min_version`: `1.2` (default) or `1.3`. Never lower: WeChat requires TLS 1.2+.
    package var minimumVersion: TLSMinimumVersion
    /// `profile`: `intermediate` (default), `modern` (TLS 1.3 only) or `old` (adds CBC and RSA key exchange suites).
    package var profile: TLSProfile
    /// `ciphers`: the TLS 1.2 suites to offer, a subset of the profile's (OpenSSL or IANA names); absent → all of them.
    package var cipherSuites: [String]?
    /// `reload_interval`: how often the certificate files are checked for changes; a changed pair is loaded as on
    /// SIGHUP. Zero (the default) means only on SIGHUP. When not zero, at least one second.
    package var reloadInterval: Duration
    /// `sni`: further certificates by name (`sni.<name>`), chosen by the server name the client sends (SNI), sorted
    /// by name. Empty: every client gets the default pair.
    package var sni: [SNICertificateConfiguration]

    package init(
        certificatePath: String = "../.dev/certs/server.crt",
        keyPath: String = "../.dev/certs/server.key",
        chainPath: String? = nil,
        minimumVersion: TLSMinimumVersion = .v1_2,
        reloadInterval: Duration = .zero,
        sni: [SNICertificateConfiguration] = [],
        profile: TLSProfile = .intermediate,
        cipherSuites: [String]? = nil
    ) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.chainPath = chainPath
        self.minimumVersion = minimumVersion
        self.profile = profile
        self.cipherSuites = cipherSuites
        self.reloadInterval = reloadInterval
        self.sni = sni
    }
}

/// `listeners.<name>.tls.sni.<name>`: a certificate served to clients whose SNI server name matches `server_names`.
///
/// Names match case-insensitively. An exact name wins over a wildcard; `*.example.com` matches one label
/// (`a.example.com`, not `example.com` and not `a.b.example.com`), as certificate wildcards do.
package struct SNICertificateConfiguration: Sendable, Equatable {
    /// The YAML key; used in logs and as the `name` label of the certificate metrics. `default` is reserved for
    /// the listener's own pair.
    package var name: String
    /// `server_names`: exact DNS names and `*.` wildcards, e.g. `[api.example.com, "*.api.example.com"]`.
    package var serverNames: [String]
    /// `certificate`: PEM file with the leaf certificate (and optionally the chain after it).
    package var certificatePath: String
    /// `key`: PEM file with the private key.
    package var keyPath: String
    /// `chain`: optional PEM file with intermediate certificates.
    package var chainPath: String?

    package init(name: String, serverNames: [String], certificatePath: String, keyPath: String, chainPath: String? = nil) {
        self.name = name
        self.serverNames = serverNames
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.chainPath = chainPath
    }

    /// The `name` label of the listener's own pair (`tls.certificate`/`tls.key`) in logs and metrics.
    package static let defaultPairName = CertificatePairName.listenerDefault
}

/// `listeners.<name>.tls.min_version`: the oldest TLS version accepted. 1.0 and 1.1 are deliberately not representable.
package enum TLSMinimumVersion: String, Sendable, Equatable, CaseIterable {
    case v1_2 = "1.2"
    case v1_3 = "1.3"
}

// MARK: - Routes

/// How a route answers `Sec-WebSocket-Protocol`.
public enum SubprotocolPolicy: String, Sendable, Equatable, CaseIterable {
    /// WeChat mini-programs: no offer → the session is MQTT and the 101 carries no `Sec-WebSocket-Protocol`;
    /// an offer of a supported value → that value is echoed (RFC 6455); an offer of only unknown values → 400.
    case miniprogram
    /// Browsers and standard clients: the first supported value offered is echoed; no offer → 400
    /// (unless `require_subprotocol: false`).
    case passthrough
}

/// One WebSocket path (`routes.<name>`).
public struct RouteConfiguration: Sendable, Equatable {
    /// The YAML key; used in logs and metrics labels.
    public var name: String
    /// `path`: exact request path, e.g. `/wss`. `/` is allowed (old mqtt.js `wxs://` clients drop the path).
    /// The query string is ignored when matching.
    public var path: String
    /// `policy`: `miniprogram` or `passthrough`.
    public var policy: SubprotocolPolicy
    /// `subprotocols`: the values the bridge accepts, in the bridge's order of preference only for tie-breaks;
    /// the client's order decides (the first value the client offers that is in this list).
    public var subprotocols: [String]
    /// `require_subprotocol`: passthrough only; `false` accepts clients that offer nothing (answered without the header).
    public var requireSubprotocol: Bool
    /// `max_packet_size`: largest MQTT control packet (fixed header included) accepted in either direction, in bytes.
    /// A client packet over it closes with 1009; a broker packet over it closes with 1011 (the broker should have been configured lower).
    /// Default 1 MiB + 1 KiB: a 1 MiB payload plus room for the topic and properties. Valid range 2…268,435,460
    /// (`maximumPacketSizeLimit`, the largest packet MQTT's length encoding allows).
    package var maxPacketSize: Int
    /// `topic_policy`: optional allow lists for what clients on this route may publish and subscribe to.
    /// Absent → no checks, and the relay does not even read topics (it costs nothing).
    package var topicPolicy: TopicPolicyConfiguration?
    /// `allowed_origins`: browser `Origin`s allowed on this route (`https://app.example.com`,
    /// `https://*.example.com`); absent → any origin. A request from another origin gets 403.
    package var allowedOrigins: [String]?
    /// `allow_missing_origin`: whether requests without an `Origin` header (WeChat, native clients) are
    /// accepted when `allowed_origins` is set.
    package var allowMissingOrigin: Bool
    /// `max_frame_size`: largest WebSocket frame payload accepted from a client; larger → close 1009.
    /// Frames are streamed, so this is a policy limit, not memory held.
    package var maxFrameSize: Int
    /// `ping_interval`: the bridge sends a WebSocket ping after this long without hearing from the client,
    /// so NATs and proxies keep idle sessions; 0 turns it off. Default: 30 s on passthrough routes, off on
    /// miniprogram routes.
    package var pingInterval: Duration
    /// `ping_timeout`: a client that has not answered (with a pong or any frame) this long after a ping is
    /// closed (close 1001 sent, socket closed without waiting).
    package var pingTimeout: Duration
    /// `compression`: permessage-deflate (RFC 7692) when a client offers it; off by default.
    public var compression: CompressionConfiguration
    /// `auth`: sessions on this route need a token (see `AuthConfiguration`); absent → no authentication.
    package var auth: RouteAuthConfiguration?

    public init(
        name: String,
        path: String,
        policy: SubprotocolPolicy,
        subprotocols: [String] = RouteConfiguration.standardSubprotocols,
        requireSubprotocol: Bool = true,
        maxPacketSize: Int = (1 << 20) + 1024,
        topicPolicy: TopicPolicyConfiguration? = nil,
        allowedOrigins: [String]? = nil,
        allowMissingOrigin: Bool = true,
        maxFrameSize: Int = 16 << 20,
        pingInterval: Duration? = nil,
        pingTimeout: Duration = .seconds(10),
        compression: CompressionConfiguration = .init(),
        auth: RouteAuthConfiguration? = nil
    ) {
        self.name = name
        self.path = path
        self.policy = policy
        self.subprotocols = subprotocols
        self.requireSubprotocol = requireSubprotocol
        self.maxPacketSize = maxPacketSize
        self.topicPolicy = topicPolicy
        self.allowedOrigins = allowedOrigins
        self.allowMissingOrigin = allowMissingOrigin
        self.maxFrameSize = maxFrameSize
        self.pingInterval = pingInterval ?? Self.defaultPingInterval(for: policy)
        self.pingTimeout = pingTimeout
        self.compression = compression
        self.auth = auth
    }

    /// Browsers answer pings in the background; mini-program sockets are left to MQTT keepalive by default.
    package static func defaultPingInterval(for policy: SubprotocolPolicy) -> Duration {
        policy == .passthrough ? .seconds(30) : .zero
    }

    /// The MQTT WebSocket subprotocol names: `mqtt` (3.1.1 and 5.0) and `mqttv3.1` (3.1).
    @usableFromInline package static let standardSubprotocols = ["mqtt", "mqttv3.1"]

    /// `browser` at `/mqtt` (passthrough) and `miniprogram` at `/wss`.
    public static let defaults: [RouteConfiguration] = [
        RouteConfiguration(name: "browser", path: "/mqtt", policy: .passthrough),
        RouteConfiguration(name: "miniprogram", path: "/wss", policy: .miniprogram),
    ]
}

/// `routes.<name>.topic_policy`: allow lists of MQTT topic filters (`+` and `#` wildcards as in MQTT).
///
/// A client that publishes to a topic no `publish` filter matches, or subscribes to a filter that no
/// `subscribe` filter covers, is disconnected (MQTT 5.0: DISCONNECT 0x87 "Not authorized" first; then
/// WebSocket close 1008). A list that is absent allows everything; an empty list allows nothing
/// (e.g. `publish: []` makes a receive-only route for mini-programs).
public struct TopicPolicyConfiguration: Sendable, Equatable {
    /// `publish`: topics clients may publish to.
    package var publish: [String]?
    /// `subscribe`: filters clients may subscribe to; a requested filter must be covered by one of them
    /// (`push/#` covers `push/user/+`).
    package var subscribe: [String]?

    package init(publish: [String]? = nil, subscribe: [String]? = nil) {
        self.publish = publish
        self.subscribe = subscribe
    }
}

/// `routes.<name>.compression`: permessage-deflate (RFC 7692), used when the client offers it (browsers
/// do; WeChat with `perMessageDeflate: true`). It trades CPU for bandwidth: worth it for large, repetitive
/// JSON payloads on slow mobile links, not for small binary MQTT packets. Memory per compressed session is
/// about 2^(server_max_window_bits + 2) + 2^(memory_level + 9) bytes for sending plus
/// 2^client_max_window_bits for receiving — the defaults keep that near 36 KiB.
public struct CompressionConfiguration: Sendable, Equatable {
    /// `enabled`: negotiate the extension when offered.
    public var enabled: Bool
    /// `threshold`: messages (MQTT packets) smaller than this many bytes go uncompressed.
    package var threshold: Int
    /// `level`: zlib level, 1 (fastest) to 9 (smallest).
    package var level: Int
    /// `memory_level`: zlib memory level, 1 to 9.
    package var memoryLevel: Int
    /// `server_max_window_bits`: the bridge's compression window, 9 to 15.
    public var serverMaxWindowBits: Int
    /// `client_max_window_bits`: the window asked of clients that let the server choose, 9 to 15.
    package var clientMaxWindowBits: Int
    /// `server_no_context_takeover`: compress every message on its own (less memory between messages).
    public var serverNoContextTakeover: Bool
    /// `client_no_context_takeover`: ask clients to do the same.
    package var clientNoContextTakeover: Bool

    public init(
        enabled: Bool = false, threshold: Int = 256, level: Int = 6, memoryLevel: Int = 5, serverMaxWindowBits: Int = 12,
        clientMaxWindowBits: Int = 12, serverNoContextTakeover: Bool = false, clientNoContextTakeover: Bool = false
    ) {
        self.enabled = enabled
        self.threshold = threshold
        self.level = level
        self.memoryLevel = memoryLevel
        self.serverMaxWindowBits = serverMaxWindowBits
        self.clientMaxWindowBits = clientMaxWindowBits
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
    }
}

// MARK: - Limits, shutdown, logging

/// `limits`: request-level limits shared by all listeners and routes.
public struct LimitsConfiguration: Sendable, Equatable {
    /// `max_request_head_size`: request line + headers of the upgrade request; larger → 431.
    public var maxRequestHeadSize: Int
    /// `max_connections`: open client connections on all listeners, handshakes included; a connection
    /// over it is closed as soon as it is accepted. 0 = no limit.
    package var maxConnections: Int
    /// `max_sessions_per_ip`: open sessions per client address (IPv6: per /64); more → 429. 0 = no limit.
    /// Keep it generous: mobile carriers put many WeChat users behind one address.
    package var maxSessionsPerIP: Int
    /// `connection_rate_per_ip`: new sessions per second per client address (token bucket refill); 0 = no limit.
    package var connectionRatePerIP: Double
    /// `connection_burst_per_ip`: how many new sessions a client address may open at once (bucket size).
    package var connectionBurstPerIP: Int

    // The per-address defaults are sized for a reconnect storm behind one carrier NAT (issue 14, docs/deploy.md):
    // 10,000 sessions per address (a fifth of max_connections), 200 new sessions/s after a burst of 1,000. A full
    // handshake costs the bridge about 0.5 ms of CPU (ECDSA P-256, docs/PERFORMANCE.md), so one address can take
    // at most ~10% of a core sustained, while 2,000 users behind one address are back in ~5 s and 9,000 in ~40 s.
    // The earlier 1,000 / 20/s / 100 left every user past the 1,000th locked out and took 45 s for the first 1,000.

    package init(
        maxRequestHeadSize: Int = 8 * 1024,
        maxConnections: Int = 50_000,
        maxSessionsPerIP: Int = 10_000,
        connectionRatePerIP: Double = 200,
        connectionBurstPerIP: Int = 1_000
    ) {
        self.maxRequestHeadSize = maxRequestHeadSize
        self.maxConnections = maxConnections
        self.maxSessionsPerIP = maxSessionsPerIP
        self.connectionRatePerIP = connectionRatePerIP
        self.connectionBurstPerIP = connectionBurstPerIP
    }
}

/// `shutdown`.
package struct ShutdownConfiguration: Sendable, Equatable {
    /// `grace_period`: after SIGTERM/SIGINT, how long sessions get to close before the process exits anyway.
    package var gracePeriod: Duration
    /// `drain_rate`: sessions closed per second while draining, so that the clients of a restarting instance reconnect
    /// to the others gradually. Absent (nil) → the closes are spread evenly over `grace_period`; 0 → all at once.
    package var drainRate: Double?

    package init(gracePeriod: Duration = .seconds(10), drainRate: Double? = nil) {
        self.gracePeriod = gracePeriod
        self.drainRate = drainRate
    }
}

/// `logging`.
package struct LoggingConfiguration: Sendable, Equatable {
    package enum Format: String, Sendable, Equatable, CaseIterable {
        /// `key=value` pairs (logfmt), for humans and grep.
        case text
        /// One JSON object per line, for log shippers.
        case json
    }

    /// `level`: trace, debug, info, notice, warning, error, critical (`LoggingConfiguration.levels`).
    /// A string rather than swift-log's enum so that this module does not depend on swift-log; `validate()` checks it.
    package var level: String
    /// `format`: `text` or `json`.
    package var format: Format
    /// `access_log`: one line per session at its end.
    package var accessLog: Bool

    package init(level: String = "info", format: Format = .text, accessLog: Bool = true) {
        self.level = level
        self.format = format
        self.accessLog = accessLog
    }
}
