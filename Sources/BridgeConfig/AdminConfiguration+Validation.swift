import SettingsSupport

/// The `admin` section's rules (see BridgeConfiguration+Validation.swift for the rules of the rest and
/// `ValidationReport`): the operations listener, its readiness probe and the publish API.
extension AdminConfiguration {
    /// Request bodies of the publish API: at least 1 KiB (a useful message), at most 256 MiB (the largest MQTT packet).
    static let publishBodySizeRange = 1024...(256 * 1024 * 1024)
    /// Publisher connections per bridge.
    static let publishPoolSizeRange = 1...16
    /// Probing a broker more often than this only adds load.
    static let minimumReadinessInterval = Duration.milliseconds(100)

    func validate(into report: inout ValidationReport) {
        guard enabled else { return }
        if address.isEmpty {
            report.add("admin.address", "must not be empty (127.0.0.1 keeps the admin listener on loopback)")
        }
        if !(0...65535).contains(port) {
            report.add("admin.port", "\(port) is not a port number (0-65535; 0 picks a free port)")
        }
        report.checkPositive(idleTimeout, "admin.idle_timeout")
        report.checkPositive(writeTimeout, "admin.write_timeout")
        if let token {
            report.checkBearerToken(token, "admin.token")
        } else if sessionsEnabled && !LoopbackAddress.isLoopback(address) {
            report.add(
                "admin.token",
                "is required when admin.address ('\(address)') is not a loopback address: without it anyone who can reach the admin listener could list and close sessions (set it, e.g. with MQTT_WS_BRIDGE_ADMIN_TOKEN, or set admin.sessions.enabled: false)"
            )
        }
        readiness.validate(into: &report)
        publish.validate(into: &report, address: address, adminToken: token)
    }
}

extension AdminReadinessConfiguration {
    func validate(into report: inout ValidationReport) {
        if interval < AdminConfiguration.minimumReadinessInterval {
            report.add("admin.readiness.interval", "must be at least 100ms (every probe is a real MQTT connection to the broker)")
        }
        report.checkPositive(timeout, "admin.readiness.timeout")
        if timeout > interval {
            report.add(
                "admin.readiness.timeout", "must not be longer than admin.readiness.interval (a probe must end before the next is due)")
        }
        report.checkMQTTClientFields(username: username, password: password, clientID: clientID, section: "admin.readiness")
        for (key, value) in [("failure_threshold", failureThreshold), ("success_threshold", successThreshold)]
        where !Self.thresholdRange.contains(value) {
            report.add("admin.readiness.\(key)", "\(value) is out of range (1 to 100 probes in a row)")
        }
    }
}

extension AdminPublishConfiguration {
    /// The characters RFC 6750 allows in a bearer token (`b64token`), apart from the trailing `=` padding.
    static let tokenCharacters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/")
    /// Shorter tokens can be guessed.
    static let minimumTokenLength = 16

    /// `adminToken`: `admin.token`, which the publish API accepts as well, so with it `publish.token` may be left out.
    func validate(into report: inout ValidationReport, address: String, adminToken: String?) {
        guard enabled else { return }
        if let token {
            report.checkBearerToken(token, "admin.publish.token")
        } else if adminToken == nil && !LoopbackAddress.isLoopback(address) {
            report.add(
                "admin.publish.token",
                "is required when admin.address ('\(address)') is not a loopback address: without it anyone who can reach the admin listener could publish (set it or admin.token, e.g. with MQTT_WS_BRIDGE_ADMIN_PUBLISH_TOKEN, or set admin.publish.enabled: false)"
            )
        }
        if !AdminConfiguration.publishBodySizeRange.contains(maxBodySize) {
            report.add("admin.publish.max_body_size", "\(maxBodySize) is out of range (1KiB to 256MiB)")
        }
        if !AdminConfiguration.publishPoolSizeRange.contains(poolSize) {
            report.add("admin.publish.pool_size", "\(poolSize) is out of range (1 to 16 connections)")
        }
        report.checkPositive(ackTimeout, "admin.publish.ack_timeout")
        report.checkMQTTClientFields(username: username, password: password, clientID: clientID, section: "admin.publish")
    }
}

extension ValidationReport {
    /// A bearer token the admin listener compares requests with: long enough not to be guessed, and made of the
    /// characters an `Authorization: Bearer` value may carry.
    mutating func checkBearerToken(_ token: String, _ key: String) {
        let body = token.reversed().drop { $0 == "=" }
        if token.count < AdminPublishConfiguration.minimumTokenLength {
            add(
                key,
                "is \(token.count) characters long; use at least \(AdminPublishConfiguration.minimumTokenLength) (e.g. the output of `openssl rand -hex 32`)"
            )
        } else if body.isEmpty || !body.allSatisfy(AdminPublishConfiguration.tokenCharacters.contains) {
            add(key, "may contain only letters, digits and - . _ ~ + / (optionally ending in =), as a bearer token must")
        }
    }
}

extension ValidationReport {
    /// The bridge's own MQTT client sends these in CONNECT: MQTT strings, and libmosquitto takes C strings.
    mutating func checkMQTTClientFields(username: String?, password: String?, clientID: String?, section: String) {
        for (key, value) in [("username", username), ("client_id", clientID)] {
            guard let value else { continue }
            if value.isEmpty {
                add("\(section).\(key)", "must not be empty (leave it out instead)")
            } else if value.utf8.count > 65535 || value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                add("\(section).\(key)", "must be at most 65535 bytes without control characters (an MQTT string)")
            }
        }
        if let password, password.utf8.count > 65535 || password.utf8.contains(0) {
            add("\(section).password", "must be at most 65535 bytes without NUL characters")
        }
    }
}
