import SettingsSupport

/// Rules that hold whatever the configuration was made from: the file, overrides, or code (tests).
///
/// Decoding only checks that each value has the right form (a port is a number); these rules check that the values
/// make sense together. Messages name the key path as written in the YAML file.
extension BridgeConfiguration {
    /// Throws every rule that is broken, or returns if none is. Also checks that TLS files exist and are readable.
    public func validate() throws(ConfigurationErrors) {
        var report = ValidationReport()
        validateListeners(into: &report)
        validateRoutes(into: &report)
        upstream.validate(into: &report)
        timeouts.validate(into: &report)
        limits.validate(into: &report)
        shutdown.validate(into: &report)
        logging.validate(into: &report)
        staticFiles.validate(into: &report)
        admin.validate(into: &report)
        auth.validate(into: &report)
        if admin.enabled && upstream.kind == .ws && admin.brokerPort == nil {
            report.add(
                "admin.broker_port",
                "is required with upstream.kind ws: the readiness probe and the publish API speak MQTT over TCP (libmosquitto), so give the broker's TCP port (usually 1883)"
            )
        }
        guard report.problems.isEmpty else { throw ConfigurationErrors(problems: report.problems) }
    }

    /// The listener called `name`, if there is one.
    package func listener(named name: String) -> ListenerConfiguration? {
        listeners.first { $0.name == name }
    }

    /// The route called `name`, if there is one.
    package func route(named name: String) -> RouteConfiguration? {
        routes.first { $0.name == name }
    }

    private func validateListeners(into report: inout ValidationReport) {
        for listener in listeners {
            listener.validate(into: &report)
        }
        let enabled = listeners.filter(\.enabled)
        if listeners.isEmpty {
            report.add("listeners", "no listeners are configured; add at least one (see Config/bridge.yaml)")
        } else if enabled.isEmpty {
            report.add("listeners", "no listener is enabled; set enabled: true on at least one")
        }
        for (index, listener) in enabled.enumerated() where listener.port != 0 {
            if let other = enabled[..<index].first(where: {
                $0.port == listener.port && Self.addressesOverlap($0.address, listener.address)
            }) {
                let how =
                    other.address == listener.address
                    ? "the same address and port" : "an overlapping address ('::' and '0.0.0.0' cover every address) and the same port"
                report.add(
                    "listeners.\(listener.name)", "uses \(how) as listeners.\(other.name) (\(listener.address) port \(listener.port))")
            }
        }
    }

    private func validateRoutes(into report: inout ValidationReport) {
        if routes.isEmpty {
            report.add("routes", "no routes are configured; add at least one (see Config/bridge.yaml)")
        }
        for (index, route) in routes.enumerated() {
            route.validate(into: &report)
            route.auth?.validate(into: &report, route: route.name, auth: auth)
            route.validateTopicTemplates(into: &report)
            if let other = routes[..<index].first(where: { $0.path == route.path }) {
                report.add("routes.\(route.name).path", "'\(route.path)' is already used by routes.\(other.name)")
            }
        }
    }

    /// Two listeners on the same port collide when their addresses are equal or one is a wildcard covering the other.
    /// `::` covers IPv4 too: SwiftNIO binds dual-stack sockets.
    static func addressesOverlap(_ a: String, _ b: String) -> Bool {
        let (a, b) = (a.lowercased(), b.lowercased())
        if a == b || a == "::" || b == "::" { return true }
        let isIPv6 = { (address: String) in address.contains(":") }
        return (a == "0.0.0.0" && !isIPv6(b)) || (b == "0.0.0.0" && !isIPv6(a))
    }
}

/// The problems found so far by `validate()`.
struct ValidationReport {
    private(set) var problems: [ConfigurationProblem] = []

    mutating func add(_ key: String, _ message: String) {
        problems.append(ConfigurationProblem(key: key, message: message))
    }

    /// The entry name is part of `--set` keys, environment variable names and metrics labels.
    mutating func checkEntryName(_ name: String, section: String) {
        if name.isEmpty {
            add(section, "an entry has an empty name")
        } else if !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            add(
                "\(section).\(name)",
                "the name may contain only letters, digits, '-' and '_' (it is used in --set keys and environment variable names)")
        }
    }

    mutating func checkPositive(_ duration: Duration, _ key: String) {
        if duration <= .zero {
            add(key, "must be longer than zero")
        }
    }

    /// A file the bridge will open at start: it must exist and be readable now, not at the first connection.
    mutating func checkReadableFile(_ path: String, _ key: String) {
        guard !path.isEmpty else {
            add(key, "must not be empty")
            return
        }
        do {
            try FileAccess.checkReadable(atPath: path)
        } catch {
            if error.isNotFound {
                add(key, "file '\(path)' does not exist" + Self.developmentCertificateHint(path))
            } else {
                add(key, "cannot read '\(path)': \(error)")
            }
        }
    }

    /// A directory the bridge will read at start: it must exist and be a directory now.
    mutating func checkReadableDirectory(_ path: String, _ key: String) {
        guard !path.isEmpty else {
            add(key, "must not be empty")
            return
        }
        do {
            try FileAccess.checkDirectory(atPath: path)
        } catch {
            add(key, error.isNotFound ? "directory '\(path)' does not exist" : "cannot use '\(path)': \(error)")
        }
    }

    /// The default TLS paths point at a certificate that `make run` or `mqtt-ws-bridge dev-cert` creates.
    private static func developmentCertificateHint(_ path: String) -> String {
        let developmentFiles = [".dev/certs/server.crt", ".dev/certs/server.key"]
        guard developmentFiles.contains(where: path.hasSuffix) else { return "" }
        return
            " (it is the development certificate: create it with `make run` or `mqtt-ws-bridge dev-cert`, or point the key at your own file)"
    }
}

extension ListenerConfiguration {
    func validate(into report: inout ValidationReport) {
        let key = "listeners.\(name)"
        report.checkEntryName(name, section: "listeners")
        if address.isEmpty {
            report.add("\(key).address", "must not be empty (use :: for every interface or 127.0.0.1 for loopback only)")
        }
        if !(0...65535).contains(port) {
            report.add("\(key).port", "\(port) is not a port number (0-65535; 0 picks a free port)")
        }
        tls?.validate(into: &report, key: "\(key).tls")
        if (proxyProtocol != .off || forwardedHeaders) && trustedProxies.isEmpty {
            let what = proxyProtocol != .off ? "proxy_protocol" : "forwarded_headers"
            report.add(
                "\(key).trusted_proxies",
                "must list the proxies' addresses (e.g. [10.0.0.0/8]) when \(what) is on: headers from anyone else are never believed")
        }
        switch (mode, tls) {
        case (.tls, nil), (.auto, nil):
            report.add("\(key).mode", "'\(mode.rawValue)' needs a tls section with the certificate (or use mode: plain)")
        case (.plain, .some):
            report.add("\(key).mode", "'plain' with a tls section: remove tls, or use mode: tls (or auto for both on one port)")
        default:
            break
        }
    }
}

extension ListenerTLSConfiguration {
    func validate(into report: inout ValidationReport, key: String) {
        report.checkReadableFile(certificatePath, "\(key).certificate")
        report.checkReadableFile(keyPath, "\(key).key")
        if let chainPath {
            report.checkReadableFile(chainPath, "\(key).chain")
        }
        if reloadInterval < .zero || (reloadInterval > .zero && reloadInterval < Self.minimumReloadInterval) {
            report.add("\(key).reload_interval", "must be 0 (reload on SIGHUP only) or at least 1s")
        }
        var listedBy: [ServerNamePattern: String] = [:]
        for entry in sni {
            entry.validate(into: &report, section: "\(key).sni", listedBy: &listedBy)
        }
    }

    /// Checking files more often than this is busy work; renewals happen every few weeks.
    package static let minimumReloadInterval = Duration.seconds(1)
}

extension SNICertificateConfiguration {
    /// `listedBy` collects the server names of the entries checked so far, so a name listed twice is reported
    /// (which entry would win would otherwise depend on order).
    func validate(into report: inout ValidationReport, section: String, listedBy: inout [ServerNamePattern: String]) {
        let key = "\(section).\(name)"
        report.checkEntryName(name, section: section)
        if name == Self.defaultPairName {
            report.add(
                key,
                "the name '\(Self.defaultPairName)' is reserved for the listener's own certificate (tls.certificate and tls.key); choose another"
            )
        }
        if serverNames.isEmpty {
            report.add("\(key).server_names", "must list at least one server name, e.g. [api.example.com, \"*.api.example.com\"]")
        }
        for text in serverNames {
            do {
                let pattern = try ServerNamePattern(text)
                if let other = listedBy[pattern] {
                    let owner = other == name ? "this entry" : "\(section).\(other)"
                    report.add("\(key).server_names", "'\(pattern)' is already listed by \(owner)")
                } else {
                    listedBy[pattern] = name
                }
            } catch {
                report.add("\(key).server_names", error.description)
            }
        }
        report.checkReadableFile(certificatePath, "\(key).certificate")
        report.checkReadableFile(keyPath, "\(key).key")
        if let chainPath {
            report.checkReadableFile(chainPath, "\(key).chain")
        }
    }
}

extension RouteConfiguration {
    /// The largest MQTT control packet: 1 byte of header, 4 bytes of remaining length, 268,435,455 bytes of body.
    package static let maximumPacketSizeLimit = 268_435_460

    func validate(into report: inout ValidationReport) {
        let key = "routes.\(name)"
        report.checkEntryName(name, section: "routes")
        if !path.hasPrefix("/") {
            report.add("\(key).path", "'\(path)' must start with '/'")
        }
        if path.contains("?") || path.contains("#") {
            report.add("\(key).path", "'\(path)' must not contain '?' or '#' (a request's query string is ignored when matching)")
        }
        if path.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true }) {
            report.add("\(key).path", "'\(path)' must not contain spaces or control characters")
        }
        if subprotocols.isEmpty {
            report.add("\(key).subprotocols", "must list at least one subprotocol (usually [mqtt, mqttv3.1])")
        }
        for subprotocol in subprotocols where !Self.isToken(subprotocol) {
            report.add(
                "\(key).subprotocols",
                "'\(subprotocol)' is not a valid subprotocol name (an HTTP token: letters, digits and !#$%&'*+-.^_`|~, no spaces or commas)"
            )
        }
        if !(2...Self.maximumPacketSizeLimit).contains(maxPacketSize) {
            report.add(
                "\(key).max_packet_size",
                "\(maxPacketSize) is out of range (2 to \(Self.maximumPacketSizeLimit) bytes, the largest packet MQTT can encode)")
        }
        if maxFrameSize < 2 {
            report.add("\(key).max_frame_size", "\(maxFrameSize) is too small (at least 2 bytes; frames carry MQTT packets)")
        }
        for origin in allowedOrigins ?? [] where !Self.isOriginPattern(origin) {
            report.add("\(key).allowed_origins", "'\(origin)' is not an origin (scheme://host[:port], optionally https://*.example.com)")
        }
        if pingInterval < .zero {
            report.add("\(key).ping_interval", "must not be negative (0 turns pings off)")
        }
        if pingInterval > .zero {
            report.checkPositive(pingTimeout, "\(key).ping_timeout")
        }
        compression.validate(into: &report, key: "\(key).compression")
    }

    /// `scheme://host[:port]` with an optional leading `*.` on the host; no path.
    static func isOriginPattern(_ value: String) -> Bool {
        guard let separator = value.range(of: "://") else { return false }
        let scheme = value[..<separator.lowerBound]
        var host = value[separator.upperBound...]
        guard !scheme.isEmpty, scheme.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }) else {
            return false
        }
        if host.hasPrefix("*.") { host = host.dropFirst(2) }
        return !host.isEmpty && !host.contains("/") && !host.contains("*") && !host.contains(where: \.isWhitespace)
    }

    /// RFC 7230 §3.2.6 `token`: what `Sec-WebSocket-Protocol` values must be.
    static func isToken(_ value: String) -> Bool {
        let punctuation: Set<Character> = ["!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~"]
        return !value.isEmpty && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || punctuation.contains($0)) }
    }
}

extension UpstreamConfiguration {
    func validate(into report: inout ValidationReport) {
        if host.isEmpty {
            report.add("upstream.host", "must not be empty")
        }
        if !(1...65535).contains(port) {
            report.add("upstream.port", "\(port) is not a usable broker port (1-65535)")
        }
        report.checkPositive(connectTimeout, "upstream.connect_timeout")
        if coalesceWindow < .zero || coalesceWindow > Self.maximumCoalesceWindow {
            report.add("upstream.coalesce_window", "must be between 0 (off) and 10ms: it is a latency budget of microseconds, e.g. 500us")
        }
        if maxConcurrentDials < 0 {
            report.add(
                "upstream.max_concurrent_dials", "\(maxConcurrentDials) is negative: give the connects in flight at once, or 0 for no limit"
            )
        }
        if kind == .ws && (!path.hasPrefix("/") || path.contains(where: { $0.isWhitespace })) {
            report.add("upstream.path", "'\(path)' must start with '/' and contain no spaces (the broker's WebSocket path, e.g. /mqtt)")
        }
        tls?.validate(into: &report)
        validatePool(into: &report)
    }
}

extension UpstreamTLSConfiguration {
    func validate(into report: inout ValidationReport) {
        if let caFilePath {
            report.checkReadableFile(caFilePath, "upstream.tls.ca_file")
        }
        if serverName?.isEmpty == true {
            report.add("upstream.tls.server_name", "must not be empty (leave it out to use upstream.host)")
        }
        if let certificatePath {
            report.checkReadableFile(certificatePath, "upstream.tls.certificate")
        }
        if let keyPath {
            report.checkReadableFile(keyPath, "upstream.tls.key")
        }
        if (certificatePath == nil) != (keyPath == nil) {
            let (missing, present) = certificatePath == nil ? ("certificate", "key") : ("key", "certificate")
            report.add("upstream.tls.\(missing)", "is required when upstream.tls.\(present) is set (a client certificate needs both)")
        }
    }
}

extension TimeoutConfiguration {
    func validate(into report: inout ValidationReport) {
        report.checkPositive(handshake, "timeouts.handshake")
        report.checkPositive(connectPacket, "timeouts.connect")
        // Under a second, a packet that spans a few round trips of a mobile link would be cut.
        if packet != .zero && packet < .seconds(1) {
            report.add("timeouts.packet", "must be 0 (off) or at least 1s")
        }
        report.checkPositive(closeHandshake, "timeouts.close_handshake")
        report.checkPositive(upstreamLinger, "timeouts.upstream_linger")
    }
}

extension LimitsConfiguration {
    /// Below 1 KiB ordinary upgrade requests are refused; above 1 MiB a slow client can pin too much memory.
    static let requestHeadSizeRange = 1024...(1024 * 1024)

    func validate(into report: inout ValidationReport) {
        if !Self.requestHeadSizeRange.contains(maxRequestHeadSize) {
            report.add("limits.max_request_head_size", "\(maxRequestHeadSize) is out of range (1KiB to 1MiB)")
        }
        if connectionRatePerIP > 0 && connectionBurstPerIP < 1 {
            report.add(
                "limits.connection_burst_per_ip",
                "must be at least 1 when limits.connection_rate_per_ip is set (0 turns the rate limit off)")
        }
    }
}

extension ShutdownConfiguration {
    func validate(into report: inout ValidationReport) {
        report.checkPositive(gracePeriod, "shutdown.grace_period")
        if let drainRate, !(drainRate.isFinite && drainRate >= 0) {
            report.add(
                "shutdown.drain_rate",
                "\(drainRate) is not a number of sessions per second ≥ 0 (0 closes all at once; leave it out to spread the closes over shutdown.grace_period)"
            )
        }
    }
}

extension LoggingConfiguration {
    /// swift-log's levels, by their names.
    package static let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    func validate(into report: inout ValidationReport) {
        if !Self.levels.contains(level) {
            report.add(
                "logging.level",
                "'\(level)' is not one of: \(Self.levels.joined(separator: ", "))\(Suggestion.didYouMean(level, in: Self.levels))")
        }
    }
}

extension CompressionConfiguration {
    func validate(into report: inout ValidationReport, key: String) {
        if !(1...9).contains(level) {
            report.add("\(key).level", "\(level) is out of range (1 fastest to 9 smallest)")
        }
        if !(1...9).contains(memoryLevel) {
            report.add("\(key).memory_level", "\(memoryLevel) is out of range (1 to 9)")
        }
        for (name, bits) in [("server_max_window_bits", serverMaxWindowBits), ("client_max_window_bits", clientMaxWindowBits)]
        where !(9...15).contains(bits) {
            report.add("\(key).\(name)", "\(bits) is out of range (9 to 15; zlib cannot use 8)")
        }
    }
}

extension StaticFilesConfiguration {
    /// Files are held in memory: 1 KiB is too small for any page, above 1 GiB is a mistake, not a dashboard.
    static let maxSizeRange = 1024...(1024 * 1024 * 1024)

    func validate(into report: inout ValidationReport) {
        if !Self.maxSizeRange.contains(maxSize) {
            report.add("static_files.max_size", "\(maxSize) is out of range (1KiB to 1GiB)")
        }
        report.checkPositive(sendTimeout, "static_files.send_timeout")
        // Only when switched on: the default directory need not exist where static files are not wanted (Docker).
        if enabled {
            report.checkReadableDirectory(directory, "static_files.directory")
        }
    }
}
