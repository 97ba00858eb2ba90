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
            logging: reader.section("logging", default: base.logging, LoggingConfiguration.decode)
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
        guard let address, let port else { return nil }
        return ListenerConfiguration(name: name, enabled: enabled, address: address, port: port, tls: tls)
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
            sni: reader.entries("sni", defaults: base.sni, name: \.name, SNICertificateConfiguration.decode)
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
        guard let path, let policy else { return nil }
        return RouteConfiguration(
            name: name, path: path, policy: policy, subprotocols: subprotocols,
            requireSubprotocol: requireSubprotocol, maxPacketSize: maxPacketSize, topicPolicy: topicPolicy
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
        UpstreamConfiguration(
            host: reader.value("host", .string, default: base.host),
            port: reader.value("port", .port, default: base.port),
            connectTimeout: reader.value("connect_timeout", .duration, default: base.connectTimeout),
            tls: reader.optionalSection("tls", default: base.tls, blank: UpstreamTLSConfiguration(), UpstreamTLSConfiguration.decode)
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
            keyPath: reader.optionalValue("key", .path, default: base.keyPath.map(reader.defaultPath))
        )
    }
}

extension TimeoutConfiguration {
    /// `timeouts`.
    static func decode(_ reader: SectionReader, base: TimeoutConfiguration) -> TimeoutConfiguration {
        TimeoutConfiguration(
            handshake: reader.value("handshake", .duration, default: base.handshake),
            connectPacket: reader.value("connect", .duration, default: base.connectPacket),
            closeHandshake: reader.value("close", .duration, default: base.closeHandshake)
        )
    }
}

extension LimitsConfiguration {
    /// `limits`.
    static func decode(_ reader: SectionReader, base: LimitsConfiguration) -> LimitsConfiguration {
        LimitsConfiguration(maxRequestHeadSize: reader.value("max_request_head_size", .byteSize, default: base.maxRequestHeadSize))
    }
}

extension ShutdownConfiguration {
    /// `shutdown`.
    static func decode(_ reader: SectionReader, base: ShutdownConfiguration) -> ShutdownConfiguration {
        ShutdownConfiguration(gracePeriod: reader.value("grace_period", .duration, default: base.gracePeriod))
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
