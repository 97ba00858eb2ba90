import BridgeConfig
import Foundation
import Testing
import UpstreamPool

@Suite("upstream.servers, upstream.balance, upstream.health_check, shutdown.drain_rate")
struct UpstreamPoolConfigurationTests {
    @Test("defaults: one server from host and port, client_id balancing, probes every 5s, drain spread over the grace period")
    func defaults() throws {
        let fixture = try Fixture()
        let configuration = try #require(fixture.load(""))
        #expect(configuration.upstream.servers.isEmpty)
        #expect(configuration.upstream.serverList == [UpstreamServer(host: "127.0.0.1", port: 1883)])
        #expect(configuration.upstream.balance == .clientID)
        #expect(
            configuration.upstream.healthCheck
                == UpstreamHealthCheckConfiguration(
                    interval: .seconds(5), timeout: .seconds(2), minHealthy: 1, backoff: .seconds(1), maxBackoff: .seconds(30)))
        #expect(configuration.upstream.poolSettings == UpstreamPoolSettings(servers: [UpstreamServer(host: "127.0.0.1", port: 1883)]))
        #expect(configuration.shutdown.drainRate == nil)
    }

    @Test("servers as host:port, IPv6 in brackets, or address with weight")
    func servers() throws {
        let fixture = try Fixture()
        let configuration = try #require(
            fixture.load(
                """
                upstream:
                  servers:
                    - broker-a:1883
                    - "[2001:db8::7]:8883"
                    - address: broker-c:1883
                      weight: 3
                  balance: least_sessions
                  health_check: { interval: 1s, timeout: 500ms, min_healthy: 2, backoff: 250ms, max_backoff: 10s }
                shutdown: { drain_rate: 50 }
                """))
        let upstream = configuration.upstream
        #expect(
            upstream.servers == [
                UpstreamServer(host: "broker-a", port: 1883), UpstreamServer(host: "2001:db8::7", port: 8883),
                UpstreamServer(host: "broker-c", port: 1883, weight: 3),
            ])
        #expect(upstream.serverList == upstream.servers)
        #expect(
            upstream.poolSettings
                == UpstreamPoolSettings(
                    servers: upstream.servers, balance: .leastSessions, minHealthy: 2,
                    backoff: UpstreamBackoff(initial: .milliseconds(250), maximum: .seconds(10))))
        #expect(upstream.healthCheck.interval == .seconds(1))
        #expect(upstream.healthCheck.timeout == .milliseconds(500))
        #expect(configuration.shutdown.drainRate == 50)
    }

    @Test("servers from an environment variable: a YAML list, or a single server")
    func serversFromTheEnvironment() throws {
        let fixture = try Fixture()
        let list = fixture.load("", environment: ["MQTT_WS_BRIDGE_UPSTREAM_SERVERS": "[broker-a:1883, broker-b:1884]"])
        #expect(list?.upstream.servers == [UpstreamServer(host: "broker-a", port: 1883), UpstreamServer(host: "broker-b", port: 1884)])
        let single = fixture.load("", environment: ["MQTT_WS_BRIDGE_UPSTREAM_SERVERS": "[::1]:1883"])
        #expect(single?.upstream.servers == [UpstreamServer(host: "::1", port: 1883)])
        let set = fixture.load("", set: ["upstream.servers=[a:1, b:2]", "upstream.balance=round_robin"])
        #expect(set?.upstream.servers.map(\.description) == ["a:1", "b:2"])
        #expect(set?.upstream.balance == .roundRobin)
    }

    @Test("servers and host/port in one file: an error naming the keys")
    func bothForms() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems("upstream:\n  host: broker\n  port: 1884\n  servers: [a:1883, b:1883]\n") == [
                "\(fixture.configPath):2:9: upstream.host: cannot be given together with upstream.servers: host and port are the one-server form; list every broker under upstream.servers instead",
                "\(fixture.configPath):3:9: upstream.port: cannot be given together with upstream.servers: host and port are the one-server form; list every broker under upstream.servers instead",
            ])
        // The environment counts too: a variable for host with servers in the file.
        #expect(fixture.problems("upstream: { servers: [a:1883] }", environment: ["MQTT_WS_BRIDGE_UPSTREAM_HOST": "broker"]).count == 1)
    }

    @Test("bad entries are named with their position and what is wrong")
    func badEntries() throws {
        let fixture = try Fixture()
        let problems = { (servers: String) in fixture.problems("upstream:\n  servers: \(servers)\n") }
        #expect(
            problems("[a:1883, broker-b]") == [
                "\(fixture.configPath):2:12: upstream.servers: entry 1: 'broker-b' has no port (write host:port, e.g. broker-b:1883)"
            ])
        #expect(
            problems("[]") == [
                "\(fixture.configPath):2:12: upstream.servers: lists no servers (give at least one, or leave the key out and use upstream.host and upstream.port)"
            ])
        #expect(
            problems("[{address: a:1883, wieght: 2}]").first?.hasSuffix(
                "upstream.servers: entry 0: unknown key 'wieght' (an entry has address and weight)") == true)
        #expect(problems("[{weight: 2}]").first?.hasSuffix("upstream.servers: entry 0: has no address (write address: host:port)") == true)
        #expect(
            problems("[{address: a:1883, weight: two}]").first?.hasSuffix("upstream.servers: entry 0: weight 'two' is not a whole number")
                == true)
        #expect(
            problems("{a: b}").first?.hasSuffix(
                "upstream.servers: expected a list of servers such as [broker-a:1883, broker-b:1883], found a section (key: value pairs)")
                == true)
    }

    @Test("the pool's rules, under this file's keys")
    func validation() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(
            """
            upstream:
              servers: [a:1883, {address: A:1883, weight: 0}]
              health_check: { interval: 50ms, timeout: 1s, min_healthy: 3, backoff: 5s, max_backoff: 1s }
            shutdown: { drain_rate: -1 }
            """)
        #expect(problems.contains { $0.hasSuffix("upstream.servers[1].weight: 0 is out of range (1 to 1000)") }, "\(problems)")
        #expect(problems.contains { $0.hasSuffix("upstream.servers[1]: 'A:1883' is listed twice (also entry 0)") }, "\(problems)")
        #expect(problems.contains { $0.hasSuffix("upstream.health_check.min_healthy: is 3, but there are only 2 servers") }, "\(problems)")
        #expect(
            problems.contains {
                $0.hasSuffix("upstream.health_check.max_backoff: must not be shorter than the initial backoff (5.0 seconds)")
            }, "\(problems)")
        #expect(
            problems.contains {
                $0.hasSuffix("upstream.health_check.interval: must be at least 100ms (every probe is a real MQTT connection to the broker)")
            }, "\(problems)")
        #expect(
            problems.contains {
                $0.hasSuffix(
                    "upstream.health_check.timeout: must not be longer than upstream.health_check.interval (a probe must end before the next is due)"
                )
            }, "\(problems)")
        #expect(problems.contains { $0.hasSuffix("shutdown.drain_rate: '-1' is not a number ≥ 0") }, "\(problems)")
        #expect(problems.count == 7, "\(problems)")

        // With the one-server form, min_healthy counts that one server; host and port keep their own rules.
        #expect(
            fixture.problems("upstream: { health_check: { min_healthy: 2 } }") == [
                "\(fixture.configPath):1:42: upstream.health_check.min_healthy: is 2, but there is only 1 server"
            ])
    }

    @Test("drain_rate 0 closes at once; fractions are allowed")
    func drainRate() throws {
        let fixture = try Fixture()
        #expect(fixture.load("shutdown: { drain_rate: 0 }")?.shutdown.drainRate == 0)
        #expect(fixture.load("shutdown: { drain_rate: 2.5 }")?.shutdown.drainRate == 2.5)
        var configuration = BridgeConfiguration()
        configuration.shutdown.drainRate = .nan
        #expect(
            validationProblems(configuration).contains {
                $0.hasPrefix("shutdown.drain_rate: nan is not a number of sessions per second ≥ 0")
            })
    }

    @Test("Config/cluster/bridge.yaml loads (TLS files pointed at stand-ins) with both brokers and the PROXY protocol from HAProxy")
    func clusterConfiguration() throws {
        let fixture = try Fixture()
        let path = ShippedConfigurationTests.repositoryRoot + "/Config/cluster/bridge.yaml"
        let configuration = try ConfigurationLoader.load(
            path: path, environment: [:],
            overrides: [
                "listeners.wss.tls.certificate=\(fixture.defaultCertificatePath)", "listeners.wss.tls.key=\(fixture.defaultKeyPath)",
            ])
        #expect(configuration.upstream.servers.map(\.description) == ["mosquitto-a:1883", "mosquitto-b:1883"])
        #expect(configuration.upstream.balance == .clientID)
        #expect(configuration.upstream.healthCheck.interval == .seconds(2))
        let wss = try #require(configuration.listener(named: "wss"))
        #expect(wss.proxyProtocol == .required)
        #expect(wss.trustedProxies == ["172.30.1.10"])
        #expect(configuration.shutdown.drainRate == 500)
        #expect(configuration.shutdown.gracePeriod == .seconds(30))
        #expect(!configuration.admin.publish.enabled)
        // Every environment variable the file mentions is a key.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let variables = Set(text.matches(of: /MQTT_WS_BRIDGE_[A-Z0-9_]*[A-Z0-9]/).map { String($0.output) })
        #expect(variables.count >= 10)
        do {
            _ = try ConfigurationLoader.load(
                path: path, environment: Dictionary(uniqueKeysWithValues: variables.map { ($0, "x") }), overrides: [])
        } catch {
            #expect(error.problems.filter { $0.message.contains("matches no configuration key") } == [])
        }
    }
}
