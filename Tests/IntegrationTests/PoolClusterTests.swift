import BridgeConfig
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing
import UpstreamPool

/// Issue 11 with the real pieces: two Mosquittos joined by Mosquitto's own bridge (the shipped
/// `Config/cluster/mosquitto-a.conf` section), two bridge instances whose pool holds both brokers
/// (`upstream.servers`, `balance: client_id`, libmosquitto health checks), and HAProxy from `Config/cluster/haproxy.cfg`.
@Suite("Upstream pool: two bridges over two bridged Mosquittos", .serialized, .timeLimit(.minutes(3)))
struct PoolClusterTests {
    /// Both brokers in the pool, probed every 200 ms: what `Config/cluster/bridge.yaml` says, on loopback ports.
    static func pooled(_ brokers: BridgedMosquittos, behindHAProxy: Bool = false) -> (inout BridgeConfiguration) -> Void {
        { configuration in
            if behindHAProxy { ClusterRecipeTests.behindHAProxy(&configuration) }
            configuration.upstream.servers = [
                UpstreamServer(host: brokers.a.host, port: brokers.a.port), UpstreamServer(host: brokers.b.host, port: brokers.b.port),
            ]
            configuration.upstream.balance = .clientID
            configuration.upstream.healthCheck = UpstreamHealthCheckConfiguration(
                interval: .milliseconds(200), timeout: .milliseconds(150), minHealthy: 1, backoff: .milliseconds(200),
                maxBackoff: .seconds(1))
        }
    }

    /// `127.0.0.1:port` of the broker the pool's rendezvous ranking puts first for `clientID`, from a pool of its own:
    /// what every bridge must agree on without talking to each other.
    static func expectedBroker(_ clientID: String, _ brokers: BridgedMosquittos) throws -> String {
        let pool = try UpstreamPool(
            settings: UpstreamPoolSettings(servers: [
                UpstreamServer(host: brokers.a.host, port: brokers.a.port), UpstreamServer(host: brokers.b.host, port: brokers.b.port),
            ]))
        var plan = pool.makeView().plan(clientID: clientID)
        let first = plan.next()
        return try #require(first).description
    }

    /// Client ids, split by the broker rendezvous hashing sends them to.
    static func clientIDs(_ count: Int, prefix: String, _ brokers: BridgedMosquittos) throws -> (onA: [String], onB: [String]) {
        var onA: [String] = []
        var onB: [String] = []
        var index = 0
        let a = "\(brokers.a.host):\(brokers.a.port)"
        while onA.count < count || onB.count < count {
            let id = "\(prefix)-\(index)"
            index += 1
            if try expectedBroker(id, brokers) == a {
                if onA.count < count { onA.append(id) }
            } else if onB.count < count {
                onB.append(id)
            }
        }
        return (onA, onB)
    }

    static func withCluster(
        behindHAProxy: Bool = false, _ body: (BridgedMosquittos, BridgeHarness, BridgeHarness) async throws -> Void
    ) async throws {
        let brokers = try await BridgedMosquittos.start { remote in
            try BridgedMosquittos.bridgeSection(fromConfig: ClusterRecipeTests.clusterDirectory + "/mosquitto-a.conf", remote: remote)
        }
        do {
            let configure = Self.pooled(brokers, behindHAProxy: behindHAProxy)
            try await BridgeHarness.with(configure: configure, broker: brokers.a, admin: true) { bridgeA in
                try await BridgeHarness.with(configure: configure, broker: brokers.a, admin: true) { bridgeB in
                    try await bridgeA.waitForReadyz("lists both servers up") { $0.status == 200 && $0.text.contains("\"servers_up\":2") }
                    try await bridgeB.waitForReadyz("lists both servers up") { $0.status == 200 && $0.text.contains("\"servers_up\":2") }
                    try await body(brokers, bridgeA, bridgeB)
                }
            }
        } catch {
            await brokers.stop()
            throw TestSupportError(
                "\(error)\n--- broker a:\n\(brokers.a.log().suffix(3000))\n--- broker b:\n\(brokers.b.log().suffix(3000))")
        }
        await brokers.stop()
    }

    @Test("through HAProxy, the same client id lands on the same broker whichever bridge takes it, as rendezvous hashing ranks it")
    func stickyAcrossBridges() async throws {
        try await Self.withCluster(behindHAProxy: true) { brokers, bridgeA, bridgeB in
            try await Self.withHAProxy(bridgeA, bridgeB) { haproxy in
                try await ClusterRecipeTests.waitForStatuses(haproxy, ["bridge-a": "UP", "bridge-b": "UP"])
                let ids = try Self.clientIDs(3, prefix: "sticky", brokers)
                // Rounds of every id. Within a round the connections are held open, so that HAProxy's leastconn
                // alternates between the bridges, and round r first opens r extra connections, so the alternation
                // starts elsewhere each round. Which bridge an id meets still depends on HAProxy's bookkeeping of the
                // previous round's closes (two fixed rounds once sent every id through the same bridge twice on a
                // loaded machine), so rounds go on, at most six, until some id has gone through both bridges.
                // (Never the same id twice at once: the broker would end the older session.)
                func wentThroughBoth(_ id: String) -> Bool {
                    [bridgeA, bridgeB].allSatisfy { bridge in bridge.accessLines.contains { $0.contains("client_id=\(id) ") } }
                }
                var rounds = 0
                var throughBoth = 0
                while rounds < 6 && (rounds < 2 || throughBoth == 0) {
                    var clients: [TestWebSocketClient] = []
                    for shifter in 0..<rounds {
                        clients.append(try await Self.connectThrough(haproxy, clientID: "sticky-shifter-\(shifter)"))
                    }
                    for id in ids.onA + ids.onB {
                        clients.append(try await Self.connectThrough(haproxy, clientID: id))
                    }
                    for client in clients { try await client.sendBinary(MQTTTestPackets.disconnect) }
                    rounds += 1
                    for id in ids.onA + ids.onB {
                        try await Self.waitForAccessLines(in: [bridgeA, bridgeB], containing: ["client_id=\(id) "], count: rounds)
                    }
                    throughBoth = (ids.onA + ids.onB).count(where: wentThroughBoth)
                }
                for id in ids.onA + ids.onB {
                    let expected = try Self.expectedBroker(id, brokers)
                    let lines = (bridgeA.accessLines + bridgeB.accessLines).filter { $0.contains("client_id=\(id) ") }
                    #expect(lines.count == rounds && lines.allSatisfy { $0.contains("broker=\(expected)") }, "\(lines)")
                }
                #expect(throughBoth > 0, "some id went through each bridge (\(rounds) rounds)")
                #expect(!bridgeA.accessLines.isEmpty && !bridgeB.accessLines.isEmpty, "HAProxy used both bridges")
            }
        }
    }

    /// HAProxy from the shipped `haproxy.cfg` in front of the two bridges, both in rotation.
    static func withHAProxy(_ bridgeA: BridgeHarness, _ bridgeB: BridgeHarness, _ body: (HAProxyProcess) async throws -> Void) async throws
    {
        let haproxy = try await HAProxyProcess.start(
            configPath: ClusterRecipeTests.clusterDirectory + "/haproxy.cfg",
            environment: [
                "LB_ADDRESS": "127.0.0.1", "LB_STATS_ADDRESS": "127.0.0.1",
                "BRIDGE_A_ADDRESS": "127.0.0.1", "BRIDGE_A_PORT": "\(bridgeA.wssPort)", "BRIDGE_A_ADMIN_PORT": "\(bridgeA.adminPort)",
                "BRIDGE_B_ADDRESS": "127.0.0.1", "BRIDGE_B_PORT": "\(bridgeB.wssPort)", "BRIDGE_B_ADMIN_PORT": "\(bridgeB.adminPort)",
            ],
            portVariables: ["LB_PORT", "LB_STATS_PORT"])
        do {
            try await ClusterRecipeTests.waitForStatuses(haproxy, ["bridge-a": "UP", "bridge-b": "UP"])
            try await body(haproxy)
        } catch {
            await haproxy.stop()
            throw TestSupportError("\(error)\n--- haproxy:\n\(haproxy.log())")
        }
        await haproxy.stop()
    }

    /// A client through HAProxy, CONNACK accepted.
    static func connectThrough(
        _ haproxy: HAProxyProcess, clientID: String, version: MQTTProtocolVersion = .v3_1_1
    ) async throws -> TestWebSocketClient {
        let (response, client) = try await TestWebSocketClient.connect(
            host: "127.0.0.1", port: try haproxy.port("LB_PORT"), path: "/wss", tls: try BridgeHarness.tls, subprotocols: nil)
        guard response.status == 101, let client else { throw TestSupportError("HAProxy → bridge: \(response.status)") }
        try await client.sendBinary(MQTTTestPackets.connect(clientID: clientID, version: version, cleanStart: true))
        let connack = try await client.receiveBinaryMessage()
        // 3.1.1 `20 02 00 00`; 5.0 adds properties after the reason code.
        guard connack.count >= 4, connack[0] == 0x20, connack[3] == 0 else { throw TestSupportError("CONNACK \(connack)") }
        return client
    }

    /// HAProxy's log lines (`option tcplog`) of connections it could not hand to any bridge: termination state `SC`
    /// (the server refused or timed out the connect, after every retry and redispatch) or no server at all.
    static func refusedConnections(_ haproxy: HAProxyProcess) -> [String] {
        haproxy.log().split(separator: "\n").map(String.init).filter { line in
            line.contains(" wss bridges/") && (line.contains("<NOSRV>") || line.contains(" SC"))
        }
    }

    @Test("rolling restart: a bridge drains at drain_rate, its clients reconnect through HAProxy to the other; none refused")
    func pacedDrainBehindHAProxy() async throws {
        let brokers = try await BridgedMosquittos.start { remote in
            try BridgedMosquittos.bridgeSection(fromConfig: ClusterRecipeTests.clusterDirectory + "/mosquitto-a.conf", remote: remote)
        }
        do {
            let drainRate = 10.0
            let configure: (inout BridgeConfiguration) -> Void = { configuration in
                Self.pooled(brokers, behindHAProxy: true)(&configuration)
                configuration.shutdown.drainRate = drainRate
            }
            try await BridgeHarness.with(configure: configure, broker: brokers.a, admin: true) { bridgeA in
                try await BridgeHarness.with(configure: configure, broker: brokers.a, admin: true) { bridgeB in
                    try await Self.withHAProxy(bridgeA, bridgeB) { haproxy in
                        // Half MQTT 5 (told DISCONNECT 0x8B before the close), half 3.1.1.
                        var clients: [(id: String, client: TestWebSocketClient)] = []
                        var mqtt5: Set<String> = []
                        for index in 0..<8 {
                            let id = "rolling-\(index)"
                            if index % 2 == 0 { mqtt5.insert(id) }
                            clients.append(
                                (id, try await Self.connectThrough(haproxy, clientID: id, version: mqtt5.contains(id) ? .v5 : .v3_1_1)))
                        }
                        let firstAddresses = Dictionary(uniqueKeysWithValues: clients.map { ($0.id, $0.client.localAddress) })
                        let started = ContinuousClock.now
                        let drain = Task { await bridgeA.shutdown() }
                        // Bridge a's clients are closed with 1001, in turns; bridge b's are not touched.
                        let closes = await withTaskGroup(of: (String, UInt16?, Duration)?.self) { group in
                            for (id, client) in clients {
                                group.addTask {
                                    guard let close = try? await client.expectClose(timeout: .seconds(2)) else { return nil }
                                    return (id, close.code, ContinuousClock.now - started)
                                }
                            }
                            var closes: [(id: String, code: UInt16?, after: Duration)] = []
                            for await close in group { if let close { closes.append(close) } }
                            return closes.sorted { $0.after < $1.after }
                        }
                        await drain.value
                        #expect(!closes.isEmpty && closes.count < clients.count, "HAProxy's leastconn spread the clients over both bridges")
                        #expect(closes.allSatisfy { $0.code == 1001 })
                        for (id, client) in clients where closes.contains(where: { $0.id == id }) {
                            let disconnects = client.skippedDataFrames.map(\.payload)
                            #expect(
                                disconnects == (mqtt5.contains(id) ? [[0xE0, 0x02, 0x8B, 0x00]] : []),
                                "\(id): DISCONNECT 0x8B for MQTT 5 only")
                        }
                        // The bridges saw each client's own address (PROXY v2 from HAProxy), not HAProxy's.
                        for close in closes {
                            let own = try #require(firstAddresses[close.id] ?? nil)
                            try await Self.waitForAccessLines(
                                in: [bridgeA], containing: ["client=\(own) ", "client_id=\(close.id) "], count: 1)
                        }
                        // Each reconnects through HAProxy, which no longer sends anyone to the draining bridge.
                        for close in closes {
                            let again = try await Self.connectThrough(haproxy, clientID: close.id)
                            let own = try #require(again.localAddress)
                            try await again.sendBinary(MQTTTestPackets.disconnect)
                            try await Self.waitForAccessLines(
                                in: [bridgeB], containing: ["client=\(own) ", "client_id=\(close.id) "], count: 1)
                        }
                        // Every connect above succeeded; HAProxy's own log agrees that it refused none (a connect a
                        // draining bridge refused before HAProxy's check noticed is retried on the other: `option redispatch`).
                        #expect(Self.refusedConnections(haproxy).isEmpty, "\(Self.refusedConnections(haproxy))")
                        for (id, client) in clients where !closes.contains(where: { $0.id == id }) {
                            try await client.sendBinary(MQTTTestPackets.pingreq)
                            #expect(try await client.receiveBinaryMessage() == MQTTTestPackets.pingresp, "on bridge b, untouched")
                        }
                        let spacing = zip(closes.dropFirst(), closes).map { $0.after - $1.after }
                        // tcplog's retries field: `+1` when a connect went to another bridge than first chosen.
                        let redispatched = haproxy.log().split(separator: "\n").count { $0.contains(" wss bridges/") && $0.contains("/+") }
                        print(
                            "paced drain at \(drainRate)/s: \(closes.count) sessions closed after \(closes.map { "\($0.after)" }); gaps \(spacing); HAProxy redispatched \(redispatched) connects, refused none"
                        )
                    }
                }
            }
        } catch {
            await brokers.stop()
            throw error
        }
        await brokers.stop()
    }

    /// Waits until `bridges` together logged at least `count` access lines containing every fragment.
    static func waitForAccessLines(in bridges: [BridgeHarness], containing fragments: [String], count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(5)
        var found = 0
        while ContinuousClock.now < deadline {
            found = bridges.flatMap(\.accessLines).count { line in fragments.allSatisfy(line.contains) }
            if found >= count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestSupportError("\(found) of \(count) access lines with \(fragments)")
    }

    @Test("a broker stops: only its clients are closed, they reconnect to the other at once; it returns and gets its ids back")
    func failoverAndReturn() async throws {
        try await Self.withCluster { brokers, bridgeA, _ in
            let ids = try Self.clientIDs(3, prefix: "failover", brokers)
            var onA: [TestWebSocketClient] = []
            var onB: [TestWebSocketClient] = []
            for id in ids.onA { onA.append(try await bridgeA.connectMQTT(clientID: id)) }
            for id in ids.onB { onB.append(try await bridgeA.connectMQTT(clientID: id)) }

            let stopped = ContinuousClock.now
            await brokers.b.stop()
            for client in onB {
                _ = try await client.expectClose(timeout: .seconds(5))
            }
            // Reconnecting, broker b's clients get a CONNACK from broker a (b is down by the failed dial or the probe).
            let brokerA = "broker=\(brokers.a.host):\(brokers.a.port)"
            let brokerB = "broker=\(brokers.b.host):\(brokers.b.port)"
            var reconnected: [TestWebSocketClient] = []
            for id in ids.onB { reconnected.append(try await bridgeA.connectMQTT(clientID: id)) }
            let failover = ContinuousClock.now - stopped
            print("pool failover: broker stopped → its \(ids.onB.count) clients closed and reconnected to the other in \(failover)")
            // Broker a's clients were not touched: they still talk to their broker.
            for client in onA {
                try await client.sendBinary(MQTTTestPackets.pingreq)
                #expect(try await client.receiveBinaryMessage() == MQTTTestPackets.pingresp)
            }

            // Broker b returns: once its probe succeeds, new sessions of its ids go back to it; open ones stay on a.
            try await brokers.b.restart()
            try await bridgeA.waitForReadyz("lists both servers up again") { $0.text.contains("\"servers_up\":2") }
            for client in reconnected {
                try await client.sendBinary(MQTTTestPackets.pingreq)
                #expect(try await client.receiveBinaryMessage() == MQTTTestPackets.pingresp, "an open session stays where it is")
                try await client.sendBinary(MQTTTestPackets.disconnect)
            }
            for id in ids.onB {
                try await Self.waitForAccessLines(in: [bridgeA], containing: ["client_id=\(id) ", brokerA], count: 1)
            }
            let returning = try await bridgeA.connectMQTT(clientID: ids.onB[0])
            try await returning.sendBinary(MQTTTestPackets.disconnect)
            // The first session (closed when b stopped) and this one.
            try await Self.waitForAccessLines(in: [bridgeA], containing: ["client_id=\(ids.onB[0]) ", brokerB], count: 2)
            for client in onA { try await client.sendBinary(MQTTTestPackets.disconnect) }
        }
    }

    @Test("a persistent QoS 1 session (clean_session=false) survives a bridge restart: the message sent meanwhile arrives")
    func persistentSessionAcrossBridgeRestart() async throws {
        let brokers = try await BridgedMosquittos.start { remote in
            try BridgedMosquittos.bridgeSection(fromConfig: ClusterRecipeTests.clusterDirectory + "/mosquitto-a.conf", remote: remote)
        }
        do {
            let id = "persistent-device-7"
            let expected = try Self.expectedBroker(id, brokers)
            let home = expected.hasSuffix(":\(brokers.a.port)") ? brokers.a : brokers.b
            // The first bridge instance: subscribe with QoS 1 in a persistent session, then the instance goes away.
            try await BridgeHarness.with(configure: Self.pooled(brokers), broker: brokers.a, admin: true) { bridge in
                try await bridge.waitForReadyz("lists both servers up") { $0.text.contains("\"servers_up\":2") }
                let (response, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
                #expect(response.status == 101)
                let device = try #require(client)
                try await device.sendBinary(MQTTTestPackets.connect(clientID: id, cleanStart: false))
                #expect(try await device.receiveBinaryMessage().prefix(2) == [0x20, 0x02])
                try await device.sendBinary(MQTTTestPackets.subscribe("devices/7/commands", qos: 1, packetID: 3))
                #expect(try await device.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x03, 0x01])
                await bridge.shutdown()
                _ = try await device.expectClose(timeout: .seconds(10))
            }
            // Meanwhile a backend sends the device a command, on the other broker: Mosquitto's bridge carries it over
            // and the device's broker queues it for the offline session.
            let other = home === brokers.a ? brokers.b : brokers.a
            let backend = try await BridgedMosquittos.client(other, "backend")
            try await backend.send(MQTTTestPackets.publish("devices/7/commands", payload: Array("reboot".utf8), qos: 1, packetID: 9))
            #expect(try await backend.receivePacket() == MQTTTestPackets.puback(9))
            await backend.close()

            // A new bridge instance (as after a rolling restart): same id → same broker → session present, command delivered.
            try await BridgeHarness.with(configure: Self.pooled(brokers), broker: brokers.a, admin: true) { bridge in
                try await bridge.waitForReadyz("lists both servers up") { $0.text.contains("\"servers_up\":2") }
                let (response, client) = try await bridge.connect(path: "/wss", subprotocols: nil)
                #expect(response.status == 101)
                let device = try #require(client)
                try await device.sendBinary(MQTTTestPackets.connect(clientID: id, cleanStart: false))
                #expect(try await device.receiveBinaryMessage() == [0x20, 0x02, 0x01, 0x00], "session present")
                let delivered = try MQTTTestPackets.decodePublish(try await device.receiveBinaryMessage(timeout: .seconds(10)))
                #expect(delivered.topic == "devices/7/commands")
                #expect(Array(delivered.payload.readableBytesView) == Array("reboot".utf8))
                try await device.sendBinary(MQTTTestPackets.disconnect)
                _ = try await bridge.waitForAccessLine(containing: ["client_id=\(id)", "broker=\(expected)"])
            }
        } catch {
            await brokers.stop()
            throw error
        }
        await brokers.stop()
    }

    @Test("/readyz lists every server, and /metrics has per-server series")
    func readinessAndMetricsPerServer() async throws {
        try await Self.withCluster { brokers, bridgeA, _ in
            let client = try await bridgeA.connectMQTT(clientID: "metrics-client")
            let expected = try Self.expectedBroker("metrics-client", brokers)
            let readyz = try await bridgeA.admin("GET", "/readyz")
            #expect(readyz.status == 200)
            #expect(readyz.text.contains("\"server\":\"\(expected)\",\"status\":\"up\",\"sessions\":1"), "\(readyz.text)")
            let metrics = try PrometheusText.parse(try await bridgeA.admin("GET", "/metrics").text)
            #expect(metrics.value("mqtt_ws_bridge_upstream_server_sessions", ["server": expected]) == 1)
            #expect(metrics.value("mqtt_ws_bridge_upstream_server_up", ["server": "\(brokers.b.host):\(brokers.b.port)"]) == 1)
            #expect(metrics.value("mqtt_ws_bridge_upstream_server_dial_failures_total", ["server": expected]) == 0)
            #expect((metrics.value("mqtt_ws_bridge_upstream_server_probe_seconds", ["server": expected]) ?? 0) > 0)

            await brokers.b.stop()
            try await bridgeA.waitForReadyz("shows broker b down but stays ready (min_healthy 1)") {
                $0.status == 200 && $0.text.contains("\"servers_up\":1")
            }
            await client.closeTCP()
        }
    }
}
