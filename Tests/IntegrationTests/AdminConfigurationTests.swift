import BridgeAdmin
import BridgeConfig
import BridgeServer
import Foundation
import SettingsSupport
import Testing

/// The `admin` section: defaults, overrides (secrets from the environment) and the rules that protect the publish API.
@Suite("Admin configuration")
struct AdminConfigurationTests {
    private func load(
        _ yaml: String? = nil, environment: [String: String] = [:], set overrides: [String] = []
    ) throws(ConfigurationErrors) -> BridgeConfiguration {
        // The default wss listener needs certificate files; a ws-only listener keeps these tests free of files.
        let base = "listeners:\n  ws:\n    address: 127.0.0.1\n    port: 8080\n"
        return try ConfigurationLoader.load(
            ConfigurationSource(
                fileText: base + (yaml ?? ""), filePath: nil, environment: environment, overrides: overrides))
    }

    private func problems(_ yaml: String? = nil, environment: [String: String] = [:], set overrides: [String] = []) -> [String] {
        do {
            _ = try load(yaml, environment: environment, set: overrides)
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    @Test("defaults: enabled on 127.0.0.1:9090, probe every 5s, publish API on, no token, 1 MiB bodies, 2 connections")
    func defaults() throws {
        let admin = try load().admin
        #expect(admin == AdminConfiguration())
        #expect(admin.enabled && admin.address == "127.0.0.1" && admin.port == 9090)
        #expect(admin.readiness.interval == .seconds(5) && admin.readiness.timeout == .seconds(2))
        #expect(admin.readiness.failureThreshold == 3 && admin.readiness.successThreshold == 1)
        #expect(admin.publish.enabled && admin.publish.token == nil)
        #expect(admin.publish.maxBodySize == 1 << 20 && admin.publish.poolSize == 2)
        #expect(admin.writeTimeout == .seconds(10) && admin.maxConnections == 128)
    }

    @Test("every key can be set from the file, and secrets from the environment")
    func overrides() throws {
        let yaml = """
            admin:
              address: "::1"
              port: 9191
              idle_timeout: 5s
              write_timeout: 2s
              max_connections: 16
              readiness:
                interval: 1s
                timeout: 500ms
                username: probe
                client_id: bridge-probe
                failure_threshold: 4
                success_threshold: 2
              publish:
                max_body_size: 64KiB
                pool_size: 4
                ack_timeout: 3s
                username: pusher
                client_id: bridge-pub
            """
        let admin = try load(
            yaml,
            environment: [
                "MQTT_WS_BRIDGE_ADMIN_READINESS_PASSWORD": "probe-secret",
                "MQTT_WS_BRIDGE_ADMIN_PUBLISH_PASSWORD": "pusher-secret",
                "MQTT_WS_BRIDGE_ADMIN_PUBLISH_TOKEN": "0123456789abcdef0123",
            ]
        ).admin
        #expect(admin.address == "::1" && admin.port == 9191 && admin.idleTimeout == .seconds(5))
        #expect(admin.writeTimeout == .seconds(2) && admin.maxConnections == 16)
        #expect(
            admin.readiness
                == AdminReadinessConfiguration(
                    interval: .seconds(1), timeout: .milliseconds(500), username: "probe", password: "probe-secret",
                    clientID: "bridge-probe",
                    failureThreshold: 4, successThreshold: 2))
        #expect(
            admin.publish
                == AdminPublishConfiguration(
                    enabled: true, token: "0123456789abcdef0123", maxBodySize: 64 * 1024, poolSize: 4, ackTimeout: .seconds(3),
                    username: "pusher", password: "pusher-secret", clientID: "bridge-pub"))
    }

    @Test("the admin API and the publish API on a non-loopback address without a token refuse to start, naming the keys")
    func tokenRequiredOffLoopback() throws {
        let found = problems(set: ["admin.address=0.0.0.0"])
        #expect(found.count == 2, "\(found)")
        #expect(found.contains { $0.contains("admin.token:") && $0.contains("loopback") }, "\(found)")
        #expect(found.contains { $0.contains("admin.publish.token") && $0.contains("loopback") }, "\(found)")
        // The publish token alone leaves the sessions API open: still refused, for admin.token only.
        let publishOnly = problems(set: ["admin.address=0.0.0.0", "admin.publish.token=0123456789abcdef"])
        #expect(publishOnly.count == 1 && publishOnly.first?.contains("admin.token:") == true, "\(publishOnly)")
        // admin.token protects both APIs (the publish API accepts it); a second token for publishing is optional.
        #expect(problems(set: ["admin.address=0.0.0.0", "admin.token=0123456789abcdef"]) == [])
        #expect(problems(set: ["admin.address=0.0.0.0", "admin.token=0123456789abcdef", "admin.publish.token=fedcba9876543210"]) == [])
        #expect(problems(set: ["admin.address=0.0.0.0", "admin.token=0123456789abcdef", "admin.publish.enabled=false"]) == [])
        #expect(try load(environment: ["MQTT_WS_BRIDGE_ADMIN_TOKEN": "0123456789abcdef0123"]).admin.token == "0123456789abcdef0123")
        // Without the sessions API, the publish token alone is enough (and with neither API, no token at all).
        #expect(problems(set: ["admin.address=0.0.0.0", "admin.sessions.enabled=false", "admin.publish.token=0123456789abcdef"]) == [])
        #expect(problems(set: ["admin.address=0.0.0.0", "admin.sessions.enabled=false", "admin.publish.enabled=false"]) == [])
        #expect(try load(environment: ["MQTT_WS_BRIDGE_ADMIN_SESSIONS_ENABLED": "false"]).admin.sessionsEnabled == false)
        // Loopback spellings need no token.
        for address in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"] {
            #expect(problems(set: ["admin.address=\(address)"]) == [], "\(address)")
        }
        for address in ["::", "10.0.0.1", "example.com", "::ffff:10.0.0.1"] {
            #expect(!LoopbackAddress.isLoopback(address), "\(address)")
        }
        // A configuration built in code gets the same refusal from the service itself.
        var configuration = BridgeConfiguration()
        configuration.admin.address = "0.0.0.0"
        #expect(throws: AdminStartupError.self) { try AdminService.validate(AdminSettings(configuration)) }
        configuration.admin.publish.token = "0123456789abcdef"
        #expect(throws: AdminStartupError.self) { try AdminService.validate(AdminSettings(configuration)) }
    }

    @Test(
        "the other rules name their key",
        arguments: [
            (["admin.publish.token=short"], "admin.publish.token"),
            (["admin.token=short"], "admin.token"),
            (["admin.token=has spaces in the token!!"], "admin.token"),
            (["admin.publish.token=has spaces in the token!!"], "admin.publish.token"),
            (["admin.readiness.interval=10ms", "admin.readiness.timeout=10ms"], "admin.readiness.interval"),
            (["admin.readiness.timeout=10s"], "admin.readiness.timeout"),
            (["admin.publish.pool_size=0"], "admin.publish.pool_size"),
            (["admin.publish.pool_size=two"], "admin.publish.pool_size"),
            (["admin.publish.max_body_size=10"], "admin.publish.max_body_size"),
            (["admin.port=70000"], "admin.port"),
            (["admin.idle_timeout=0s"], "admin.idle_timeout"),
            (["admin.write_timeout=0s"], "admin.write_timeout"),
            (["admin.readiness.failure_threshold=0"], "admin.readiness.failure_threshold"),
            (["admin.readiness.success_threshold=101"], "admin.readiness.success_threshold"),
            (["admin.max_connections=-1"], "admin.max_connections"),
            (["admin.readiness.username=\"\""], "admin.readiness.username"),
            (["admin.publish.nonsense=1"], "admin.publish.nonsense"),
        ])
    func rules(overrides: [String], key: String) {
        let found = problems(set: overrides)
        #expect(found.count == 1, "\(found)")
        #expect(found.first?.contains(key) == true, "\(found)")
    }

    @Test("admin.enabled: false skips the section's rules")
    func disabled() {
        #expect(problems(set: ["admin.enabled=false", "admin.address=0.0.0.0"]) == [])
    }
}
