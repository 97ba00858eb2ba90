import BridgeConfig
import BridgeServer
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// The pieces of the scale-out recipe (Config/cluster, Docker/docker-compose.cluster.yml), run as shipped:
/// HAProxy from `Config/cluster/haproxy.cfg` (only its documented address and port variables set) in front of two real
/// bridges that take PROXY protocol v2 from it, in front of two Mosquittos joined by the bridge section of
/// `Config/cluster/mosquitto-a.conf` (only its `address` changed).
///
/// Here each bridge relays to one broker (bridge-a → broker A, bridge-b → broker B) with `upstream.host`/`port`;
/// `PoolClusterTests` runs the same recipe with both servers in each bridge's pool (`upstream.servers`).
@Suite("The cluster recipe: HAProxy → two bridges → two bridged Mosquittos", .timeLimit(.minutes(2)))
struct ClusterRecipeTests {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let clusterDirectory = repositoryRoot + "/Config/cluster"

    /// The bridges' wss listener takes a PROXY v2 header from HAProxy (loopback here) and nothing without one, as
    /// `listeners.wss` in Config/cluster/bridge.yaml does.
    static func behindHAProxy(_ configuration: inout BridgeConfiguration) {
        configuration.listeners = configuration.listeners.map { listener in
            var listener = listener
            if listener.name == "wss" {
                listener.proxyProtocol = .required
                listener.trustedProxies = ["127.0.0.1"]
            }
            return listener
        }
    }

    @Test(
        "HAProxy checks both bridges' /readyz, passes clients with PROXY v2, and the brokers share messages; a draining bridge leaves the rotation"
    )
    func recipe() async throws {
        let brokers = try await BridgedMosquittos.start { remote in
            try BridgedMosquittos.bridgeSection(fromConfig: Self.clusterDirectory + "/mosquitto-a.conf", remote: remote)
        }
        do {
            try await BridgeHarness.with(configure: Self.behindHAProxy, broker: brokers.a, admin: true) { bridgeA in
                try await BridgeHarness.with(configure: Self.behindHAProxy, broker: brokers.b, admin: true) { bridgeB in
                    try await self.exercise(brokers: brokers, bridgeA: bridgeA, bridgeB: bridgeB)
                }
            }
        } catch {
            await brokers.stop()
            throw error
        }
        await brokers.stop()
    }

    private func exercise(brokers: BridgedMosquittos, bridgeA: BridgeHarness, bridgeB: BridgeHarness) async throws {
        let haproxy = try await HAProxyProcess.start(
            configPath: Self.clusterDirectory + "/haproxy.cfg",
            environment: [
                "LB_ADDRESS": "127.0.0.1", "LB_STATS_ADDRESS": "127.0.0.1",
                "BRIDGE_A_ADDRESS": "127.0.0.1", "BRIDGE_A_PORT": "\(bridgeA.wssPort)", "BRIDGE_A_ADMIN_PORT": "\(bridgeA.adminPort)",
                "BRIDGE_B_ADDRESS": "127.0.0.1", "BRIDGE_B_PORT": "\(bridgeB.wssPort)", "BRIDGE_B_ADMIN_PORT": "\(bridgeB.adminPort)",
            ],
            portVariables: ["LB_PORT", "LB_STATS_PORT"])
        do {
            try await self.exercise(haproxy: haproxy, brokers: brokers, bridgeA: bridgeA, bridgeB: bridgeB)
        } catch {
            await haproxy.stop()
            throw TestSupportError("\(error)\n--- haproxy:\n\(haproxy.log())")
        }
        await haproxy.stop()
    }

    private func exercise(haproxy: HAProxyProcess, brokers: BridgedMosquittos, bridgeA: BridgeHarness, bridgeB: BridgeHarness) async throws
    {
        // Both bridges enter the rotation through HAProxy's HTTP check of their /readyz.
        try await Self.waitForStatuses(haproxy, ["bridge-a": "UP", "bridge-b": "UP"])

        // A mini-program through HAProxy: TLS passes through to a bridge, which got the PROXY header (it takes no
        // connection without one) and relays to its broker.
        let lbPort = try haproxy.port("LB_PORT")
        let tls = try BridgeHarness.tls
        let (response, client) = try await TestWebSocketClient.connect(
            host: "127.0.0.1", port: lbPort, path: "/wss", tls: tls, subprotocols: nil)
        #expect(response.status == 101)
        let miniProgram = try #require(client)
        try await miniProgram.sendBinary(MQTTTestPackets.connect(clientID: "cluster-miniprogram"))
        #expect(try await miniProgram.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
        try await miniProgram.sendBinary(MQTTTestPackets.subscribe("cluster/push/#", qos: 0, packetID: 1))
        #expect(try await miniProgram.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x01, 0x00])
        let accessFragments = ["client_id=cluster-miniprogram"]

        // Backends publish on each broker directly: whichever broker the mini-program's bridge relays to, one message
        // comes from its own broker and the other across Mosquitto's bridge.
        for (broker, name) in [(brokers.a, "a"), (brokers.b, "b")] {
            let backend = try await BridgedMosquittos.client(broker, "cluster-backend-\(name)")
            let push = MQTTTestPackets.publish("cluster/push/from-\(name)", payload: Array("pushed on broker \(name)".utf8))
            try await backend.send(push)
            #expect(try await miniProgram.receiveBinaryMessage() == push)
            try await backend.send(MQTTTestPackets.disconnect)
            await backend.close()
        }

        // A message published on broker A reaches a subscriber on broker B, and the other way round.
        for (from, to) in [(brokers.a, brokers.b), (brokers.b, brokers.a)] {
            let subscriber = try await BridgedMosquittos.client(to, "cluster-subscriber")
            try await subscriber.send(MQTTTestPackets.subscribe("cluster/shared", qos: 1, packetID: 2))
            #expect(try await subscriber.receivePacket() == [0x90, 0x03, 0x00, 0x02, 0x01])
            let publisher = try await BridgedMosquittos.client(from, "cluster-publisher")
            try await publisher.send(MQTTTestPackets.publish("cluster/shared", payload: Array("across".utf8), qos: 1, packetID: 7))
            #expect(try await publisher.receivePacket() == MQTTTestPackets.puback(7))
            let delivered = try MQTTTestPackets.decodePublish(try await subscriber.receivePacket())
            #expect(delivered.topic == "cluster/shared")
            #expect(Array(delivered.payload.readableBytesView) == Array("across".utf8))
            await publisher.close()
            await subscriber.close()
        }

        try await miniProgram.sendBinary(MQTTTestPackets.disconnect)
        let servedBy = try await firstBridge(among: [bridgeA, bridgeB], loggingAccessLine: accessFragments)
        #expect(servedBy.accessLines.contains { $0.contains("client=") }, "\(servedBy.accessLines)")

        // bridge-a drains: /readyz turns 503, HAProxy takes it out of the rotation, and new clients still get in.
        await bridgeA.shutdown()
        try await Self.waitForStatuses(haproxy, ["bridge-a": "DOWN", "bridge-b": "UP"])
        for index in 0..<3 {
            let (response, client) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: lbPort, path: "/wss", tls: tls, subprotocols: nil)
            #expect(response.status == 101)
            let late = try #require(client)
            try await late.sendBinary(MQTTTestPackets.connect(clientID: "cluster-late-\(index)"))
            #expect(try await late.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            try await late.sendBinary(MQTTTestPackets.disconnect)
        }
        _ = try await bridgeB.waitForAccessLine(containing: ["client_id=cluster-late-2"])
    }

    @Test("the shipped cluster configuration's server list passes start-up checks")
    func serverListAccepted() throws {
        let certificates = try BridgeHarness.certificates.get()
        let configuration = try ConfigurationLoader.load(
            path: nil, environment: [:],
            overrides: [
                "listeners.wss.tls.certificate=\(certificates.certificate)", "listeners.wss.tls.key=\(certificates.key)",
                "upstream.servers=[broker-a:1883, broker-b:1883]",
            ])
        #expect(configuration.upstream.servers.count == 2)
        try BridgeServer.validate(configuration)
    }

    /// Polls HAProxy's stats until the `bridges` backend's servers have exactly these check statuses.
    static func waitForStatuses(_ haproxy: HAProxyProcess, _ expected: [String: String], timeout: Duration = .seconds(20)) async throws {
        let deadline = ContinuousClock.now + timeout
        var last: [String: String] = [:]
        while ContinuousClock.now < deadline {
            last = try await haproxy.serverStatuses(backend: "bridges", statsPortVariable: "LB_STATS_PORT")
            if last == expected { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("HAProxy's servers are \(last), not \(expected), after \(timeout)")
    }

    /// The bridge that logged the session's access line (HAProxy chose it).
    private func firstBridge(among bridges: [BridgeHarness], loggingAccessLine fragments: [String]) async throws -> BridgeHarness {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            if let bridge = bridges.first(where: { bridge in bridge.accessLines.contains { line in fragments.allSatisfy(line.contains) } })
            {
                return bridge
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError("no bridge logged an access line with \(fragments)")
    }
}
