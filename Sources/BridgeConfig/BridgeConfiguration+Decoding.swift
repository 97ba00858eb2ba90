/// One small decode function per section. Each names every key its section understands (anything else in the file
/// is reported as unknown) and takes defaults from `base`, the built-in value of the same section.
///
/// To add a section: give its struct a `decode(_:base:)` here and one `reader.section(...)` line in the root.

extension BridgeConfiguration {
    /// The whole file.
    static func decode(_ reader: SectionReader) -> BridgeConfiguration {
        let base = BridgeConfiguration()
        return BridgeConfiguration(
            listeners: reader.entries("listeners", defaults: base.listeners, name: \.name, ListenerConfiguration.decode),
            routes: reader.entries("routes", defaults: base.routes, name: \.name, RouteConfiguration.decode),
            upstream: reader.section("upstream", default: base.upstream, UpstreamConfiguration.decode),
            timeouts: reader.section("timeouts", default: base.timeouts, TimeoutConfiguration.decode),
            limits: reader.section("limits", default: base.limits, LimitsConfiguration.decode),
            shutdown: reader.section("shutdown", default: base.shutdown, ShutdownConfiguration.decode),
            logging: reader.section("logging", default: base.logging, LoggingConfiguration.decode),
            staticFiles: reader.section("static_files", default: base.staticFiles, StaticFilesConfiguration.decode),
            admin: reader.section("admin", default: base.admin, AdminConfiguration.decode),
            auth: reader.section("auth", default: base.auth, AuthConfiguration.decode)
        )
    }
}

extension ListenerConfiguration {
    /// `listeners.<name>`. Entries the user wrote (`base == nil`) must give `address` and `port`.
    static func decode(_ reader: SectionReader, name: String, base: ListenerConfiguration?) -> ListenerConfiguration? {
        let enabled = reader.value("enabled", .boolean, default: base?.enabled ?? true)
        let address = reader.requiredValue("address", .string, default: base?.address)
        let port = reader.requiredValue("port", .port, default: base?.port)
        let tls = reader.optionalSection("tls", default: base?.tls, blank: ListenerTLSConfiguration(), ListenerTLSConfiguration.decode)
        // The default mode follows the tls section as finally decoded, not the built-in entry's.
        let mode: ListenerMode? = reader.optionalValue("mode", .enumeration, default: base?.mode == .auto ? .auto : nil)
        let proxyProtocol = reader.value("proxy_protocol", .enumeration, default: base?.proxyProtocol ?? .off)
        let trustedProxies = reader.value("trusted_proxies", .list(of: .string), default: base?.trustedProxies ?? [])
        let forwardedHeaders = reader.value("forwarded_headers", .boolean, default: base?.forwardedHeaders ?? false)
        let reusePort = reader.value("reuse_port", .boolean, default: base?.reusePort ?? true)
        guard let address, let port else { return nil }
        return ListenerConfiguration(
            name: name, enabled: enabled, address: address, port: port, tls: tls, mode: mode, proxyProtocol: proxyProtocol,
            trustedProxies: trustedProxies, forwardedHeaders: forwardedHeaders, reusePort: reusePort)
    }
}

extension ListenerTLSConfiguration {
    /// `listeners.<name>.tls`.
    static func decode(_ reader: SectionReader, base: ListenerTLSConfiguration) -> ListenerTLSConfiguration {
        ListenerTLSConfiguration(
            certificatePath: reader.value("certificate", .path, default: reader.defaultPath(base.certificatePath)),
            keyPath: reader.value("key", .path, default: reader.defaultPath(base.keyPath)),
            chainPath: reader.optionalValue("chain", .path, default: base.chainPath.map(reader.defaultPath)),
            minimumVersion: reader.value("min_version", .tlsMinimumVersion, default: base.minimumVersion),
            reloadInterval: reader.value("reload_interval", .duration, default: base.reloadInterval),
            sni: reader.entries("sni", defaults: base.sni, name: \.name, SNICertificateConfiguration.decode),
            profile: reader.value("profile", .enumeration, default: base.profile),
            cipherSuites: reader.optionalValue("ciphers", .list(of: .string), default: base.cipherSuites)
        )
    }
}

extension SNICertificateConfiguration {
    /// `listeners.<name>.tls.sni.<name>`. Entries the user wrote must give `server_names`, `certificate` and `key`.
    static func decode(_ reader: SectionReader, name: String, base: SNICertificateConfiguration?) -> SNICertificateConfiguration? {
        let serverNames = reader.requiredValue("server_names", .list(of: .string), default: base?.serverNames)
        let certificatePath = reader.requiredValue("certificate", .path, default: base?.certificatePath)
        let keyPath = reader.requiredValue("key", .path, default: base?.keyPath)
        let chainPath = reader.optionalValue("chain", .path, default: base?.chainPath)
        guard let serverNames, let certificatePath, let keyPath else { return nil }
        return SNICertificateConfiguration(
            name: name, serverNames: serverNames, certificatePath: certificatePath, keyPath: keyPath, chainPath: chainPath)
    }
}

extension RouteConfiguration {
    /// `routes.<name>`. Entries the user wrote (`base == nil`) must give `path` and `policy`.
    static func decode(_ reader: SectionReader, name: String, base: RouteConfiguration?) -> RouteConfiguration? {
        let template = base ?? RouteConfiguration(name: name, path: "/", policy: .passthrough)
        let path = reader.requiredValue("path", .string, default: base?.path)
        let policy = reader.requiredValue("policy", .enumeration, default: base?.policy)
        let subprotocols = reader.value("subprotocols", .list(of: .string), default: template.subprotocols)
        let requireSubprotocol = reader.value("require_subprotocol", .boolean, default: template.requireSubprotocol)
        let maxPacketSize = reader.value("max_packet_size", .byteSize, default: template.maxPacketSize)
        let topicPolicy = reader.optionalSection(
            "topic_policy", default: template.topicPolicy, blank: TopicPolicyConfiguration(), TopicPolicyConfiguration.decode)
        let allowedOrigins = reader.optionalValue("allowed_origins", .list(of: .string), default: template.allowedOrigins)
        let allowMissingOrigin = reader.value("allow_missing_origin", .boolean, default: template.allowMissingOrigin)
        let maxFrameSize = reader.value("max_frame_size", .byteSize, default: template.maxFrameSize)
        // The ping default depends on the policy, so an absent key stays absent until the policy is known.
        let builtInPing = base.flatMap { $0.pingInterval == RouteConfiguration.defaultPingInterval(for: $0.policy) ? nil : $0.pingInterval }
        let pingInterval: Duration? = reader.optionalValue("ping_interval", .duration, default: builtInPing)
        let pingTimeout = reader.value("ping_timeout", .duration, default: template.pingTimeout)
        let compression = reader.section("compression", default: template.compression, CompressionConfiguration.decode)
        let auth = reader.optionalSection("auth", default: template.auth, blank: RouteAuthConfiguration(), RouteAuthConfiguration.decode)
        guard let path, let policy else { return nil }
        return RouteConfiguration(
            name: name, path: path, policy: policy, subprotocols: subprotocols,
            requireSubprotocol: requireSubprotocol, maxPacketSize: maxPacketSize, topicPolicy: topicPolicy,
            allowedOrigins: allowedOrigins, allowMissingOrigin: allowMissingOrigin, maxFrameSize: maxFrameSize,
            pingInterval: pingInterval, pingTimeout: pingTimeout, compression: compression, auth: auth
        )
    }
}

extension CompressionConfiguration {
    /// `routes.<name>.compression`.
    static func decode(_ reader: SectionReader, base: CompressionConfiguration) -> CompressionConfiguration {
        CompressionConfiguration(
            enabled: reader.value("enabled", .boolean, default: base.enabled),
            threshold: reader.value("threshold", .byteSize, default: base.threshold),
            level: reader.value("level", .count, default: base.level),
            memoryLevel: reader.value("memory_level", .count, default: base.memoryLevel),
            serverMaxWindowBits: reader.value("server_max_window_bits", .count, default: base.serverMaxWindowBits),
            clientMaxWindowBits: reader.value("client_max_window_bits", .count, default: base.clientMaxWindowBits),
            serverNoContextTakeover: reader.value("server_no_context_takeover", .boolean, default: base.serverNoContextTakeover),
            clientNoContextTakeover: reader.value("client_no_context_takeover", .boolean, default: base.clientNoContextTakeover)
        )
    }
}

extension TopicPolicyConfiguration {
    /// `routes.<name>.topic_policy`. The filters are checked with libmosquitto at start-up (`--check-config` too).
    static func decode(_ reader: SectionReader, base: TopicPolicyConfiguration) -> TopicPolicyConfiguration {
        TopicPolicyConfiguration(
            publish: reader.optionalValue("publish", .list(of: .string), default: base.publish),
            subscribe: reader.optionalValue("subscribe", .list(of: .string), default: base.subscribe)
        )
    }
}

extension UpstreamConfiguration {
    /// `upstream`.
    static func decode(_ reader: SectionReader, base: UpstreamConfiguration) -> UpstreamConfiguration {
        // Read first: with a server list, the one-server keys host and port must not be given as well.
        let servers = reader.value("servers", .upstreamServers, default: base.servers)
        return UpstreamConfiguration(
            host: reader.value("host", ValueType.string.onlyWithoutServers(servers), default: base.host),
            port: reader.value("port", ValueType.port.onlyWithoutServers(servers), default: base.port),
            connectTimeout: reader.value("connect_timeout", .duration, default: base.connectTimeout),
            coalesceWindow: reader.value("coalesce_window", .duration, default: base.coalesceWindow),
            maxConcurrentDials: reader.value("max_concurrent_dials", .count, default: base.maxConcurrentDials),
            tls: reader.optionalSection("tls", default: base.tls, blank: UpstreamTLSConfiguration(), UpstreamTLSConfiguration.decode),
            proxyProtocol: reader.value("proxy_protocol", .boolean, default: base.proxyProtocol),
            kind: reader.value("kind", .enumeration, default: base.kind),
            path: reader.value("path", .string, default: base.path),
            servers: servers,
            balance: reader.value("balance", .enumeration, default: base.balance),
            healthCheck: reader.section("health_check", default: base.healthCheck, UpstreamHealthCheckConfiguration.decode)
        )
    }
}

extension UpstreamTLSConfiguration {
    /// `upstream.tls`.
    static func decode(_ reader: SectionReader, base: UpstreamTLSConfiguration) -> UpstreamTLSConfiguration {
        UpstreamTLSConfiguration(
            caFilePath: reader.optionalValue("ca_file", .path, default: base.caFilePath.map(reader.defaultPath)),
            serverName: reader.optionalValue("server_name", .string, default: base.serverName),
            verify: reader.value("verify", .boolean, default: base.verify),
            certificatePath: reader.optionalValue("certificate", .path, default: base.certificatePath.map(reader.defaultPath)),
            keyPath: reader.optionalValue("key", .path, default: base.keyPath.map(reader.defaultPath)),
            profile: reader.value("profile", .enumeration, default: base.profile),
            cipherSuites: reader.optionalValue("ciphers", .list(of: .string), default: base.cipherSuites)
        )
    }
}

extension TimeoutConfiguration {
    /// `timeouts`.
    static func decode(_ reader: SectionReader, base: TimeoutConfiguration) -> TimeoutConfiguration {
        // `close` once meant both close timeouts; it still sets each one that is not given by its own name.
        let close = reader.alias("close", of: ["close_handshake", "upstream_linger"], .duration)
        return TimeoutConfiguration(
            handshake: reader.value("handshake", .duration, default: base.handshake),
            connectPacket: reader.value("connect", .duration, default: base.connectPacket),
            packet: reader.value("packet", .duration, default: base.packet),
            closeHandshake: reader.value("close_handshake", .duration, default: close ?? base.closeHandshake),
            upstreamLinger: reader.value("upstream_linger", .duration, default: close ?? base.upstreamLinger)
        )
    }
}

extension LimitsConfiguration {
    /// `limits`.
    static func decode(_ reader: SectionReader, base: LimitsConfiguration) -> LimitsConfiguration {
        LimitsConfiguration(
            maxRequestHeadSize: reader.value("max_request_head_size", .byteSize, default: base.maxRequestHeadSize),
            maxConnections: reader.value("max_connections", .count, default: base.maxConnections),
            maxSessionsPerIP: reader.value("max_sessions_per_ip", .count, default: base.maxSessionsPerIP),
            connectionRatePerIP: reader.value("connection_rate_per_ip", .rate, default: base.connectionRatePerIP),
            connectionBurstPerIP: reader.value("connection_burst_per_ip", .count, default: base.connectionBurstPerIP)
        )
    }
}

extension ShutdownConfiguration {
    /// `shutdown`.
    static func decode(_ reader: SectionReader, base: ShutdownConfiguration) -> ShutdownConfiguration {
        ShutdownConfiguration(
            gracePeriod: reader.value("grace_period", .duration, default: base.gracePeriod),
            drainRate: reader.optionalValue("drain_rate", .rate, default: base.drainRate)
        )
    }
}

extension LoggingConfiguration {
    /// `logging`. The level is checked by `validate()`, so configurations built in code get the same check.
    static func decode(_ reader: SectionReader, base: LoggingConfiguration) -> LoggingConfiguration {
        LoggingConfiguration(
            level: reader.value("level", .string, default: base.level),
            format: reader.value("format", .enumeration, default: base.format),
            accessLog: reader.value("access_log", .boolean, default: base.accessLog)
        )
    }
}

extension StaticFilesConfiguration {
    /// `static_files`.
    static func decode(_ reader: SectionReader, base: StaticFilesConfiguration) -> StaticFilesConfiguration {
        StaticFilesConfiguration(
            enabled: reader.value("enabled", .boolean, default: base.enabled),
            directory: reader.value("directory", .path, default: reader.defaultPath(base.directory)),
            maxSize: reader.value("max_size", .byteSize, default: base.maxSize),
            sendTimeout: reader.value("send_timeout", .duration, default: base.sendTimeout),
            maxRequestsPerIP: reader.value("max_requests_per_ip", .count, default: base.maxRequestsPerIP)
        )
    }
}

extension AdminConfiguration {
    /// `admin`.
    static func decode(_ reader: SectionReader, base: AdminConfiguration) -> AdminConfiguration {
        AdminConfiguration(
            enabled: reader.value("enabled", .boolean, default: base.enabled),
            address: reader.value("address", .string, default: base.address),
            token: reader.optionalValue("token", .string, default: base.token),
            port: reader.value("port", .port, default: base.port),
            idleTimeout: reader.value("idle_timeout", .duration, default: base.idleTimeout),
            writeTimeout: reader.value("write_timeout", .duration, default: base.writeTimeout),
            maxConnections: reader.value("max_connections", .count, default: base.maxConnections),
            readiness: reader.section("readiness", default: base.readiness, AdminReadinessConfiguration.decode),
            publish: reader.section("publish", default: base.publish, AdminPublishConfiguration.decode),
            sessionsEnabled: reader.section("sessions", default: base.sessionsEnabled) { $0.value("enabled", .boolean, default: $1) },
            brokerPort: reader.optionalValue("broker_port", .port, default: base.brokerPort)
        )
    }
}

extension AdminReadinessConfiguration {
    /// `admin.readiness`.
    static func decode(_ reader: SectionReader, base: AdminReadinessConfiguration) -> AdminReadinessConfiguration {
        AdminReadinessConfiguration(
            interval: reader.value("interval", .duration, default: base.interval),
            timeout: reader.value("timeout", .duration, default: base.timeout),
            username: reader.optionalValue("username", .string, default: base.username),
            password: reader.optionalValue("password", .string, default: base.password),
            clientID: reader.optionalValue("client_id", .string, default: base.clientID),
            failureThreshold: reader.value("failure_threshold", .count, default: base.failureThreshold),
            successThreshold: reader.value("success_threshold", .count, default: base.successThreshold)
        )
    }
}

extension AdminPublishConfiguration {
    /// `admin.publish`.
    static func decode(_ reader: SectionReader, base: AdminPublishConfiguration) -> AdminPublishConfiguration {
        AdminPublishConfiguration(
            enabled: reader.value("enabled", .boolean, default: base.enabled),
            token: reader.optionalValue("token", .string, default: base.token),
            maxBodySize: reader.value("max_body_size", .byteSize, default: base.maxBodySize),
            poolSize: reader.value("pool_size", .count, default: base.poolSize),
            ackTimeout: reader.value("ack_timeout", .duration, default: base.ackTimeout),
            username: reader.optionalValue("username", .string, default: base.username),
            password: reader.optionalValue("password", .string, default: base.password),
            clientID: reader.optionalValue("client_id", .string, default: base.clientID)
        )
    }
}
