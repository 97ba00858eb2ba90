import Foundation
import MQTTWire

/// Two real Mosquitto brokers on ephemeral loopback ports, joined by Mosquitto's own bridge: `a` holds the bridge
/// connection to `b`, so a message published on either reaches subscribers on both.
///
/// The bridge section (from `connection` to the end of `a`'s configuration) comes from the caller, usually read from
/// the shipped `Config/cluster/mosquitto-a.conf` with only its `address` replaced (`bridgeSection(fromConfig:…)`).
package struct BridgedMosquittos: Sendable {
    /// Holds the bridge connection.
    package let a: MosquittoProcess
    /// Accepts it like any client.
    package let b: MosquittoProcess

    /// Starts `b`, then `a` with the bridge section that `bridgeSection` returns for `b`'s `host:port`, and waits until
    /// a message crosses the bridge both ways.
    package static func start(
        timeout: Duration = .seconds(20), bridgeSection: @Sendable (_ remote: String) throws -> String
    ) async throws -> BridgedMosquittos {
        let b = try await MosquittoProcess.start()
        let a: MosquittoProcess
        do {
            a = try await MosquittoProcess.start(extraConfig: try bridgeSection("\(b.host):\(b.port)"))
        } catch {
            await b.stop()
            throw error
        }
        let brokers = BridgedMosquittos(a: a, b: b)
        do {
            try await brokers.waitUntilJoined(timeout: timeout)
        } catch {
            await brokers.stop()
            throw TestSupportError("\(error)\n--- broker a:\n\(a.log())\n--- broker b:\n\(b.log())")
        }
        return brokers
    }

    /// The bridge section of a Mosquitto configuration file: from its `connection` line to the end, with every
    /// `address` line pointing at `remote` instead. Everything else is kept as written.
    package static func bridgeSection(fromConfig path: String, remote: String) throws -> String {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("connection ") }) else {
            throw TestSupportError("\(path) has no bridge (no `connection` line)")
        }
        return lines[start...].map { $0.hasPrefix("address ") ? "address \(remote)" : String($0) }.joined(separator: "\n")
    }

    /// Publishes probes on each side until one reaches a subscriber on the other (the bridge connects, and subscribes
    /// on both brokers, a moment after `a` starts).
    package func waitUntilJoined(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        for (from, to) in [(a, b), (b, a)] {
            let topic = "bridged-mosquittos/probe/\(UUID().uuidString.prefix(8))"
            let subscriber = try await Self.client(to, "probe-subscriber")
            defer { Task { await subscriber.close() } }
            try await subscriber.send(MQTTTestPackets.subscribe(topic, qos: 0, packetID: 1))
            _ = try await subscriber.receivePacket()  // SUBACK
            let publisher = try await Self.client(from, "probe-publisher")
            defer { Task { await publisher.close() } }
            while true {
                try await publisher.send(MQTTTestPackets.publish(topic, payload: Array("probe".utf8)))
                if let packet = try? await subscriber.receivePacket(timeout: .milliseconds(200)),
                    MQTTTestPackets.type(of: packet) == .publish
                {
                    break
                }
                guard ContinuousClock.now < deadline else {
                    throw TestSupportError(
                        "no message crossed Mosquitto's bridge from port \(from.port) to port \(to.port) within \(timeout)")
                }
            }
        }
    }

    /// A connected MQTT 3.1.1 client (raw bytes) on `broker`.
    package static func client(_ broker: MosquittoProcess, _ clientID: String) async throws -> TestTCPClient {
        let client = try await TestTCPClient.connect(host: broker.host, port: broker.port)
        try await client.send(MQTTTestPackets.connect(clientID: "\(clientID)-\(UUID().uuidString.prefix(6))"))
        let connack = try await client.receivePacket()
        guard connack == MQTTTestPackets.connackAccepted else {
            throw TestSupportError("broker on port \(broker.port) refused \(clientID): \(ByteFormatting.hex(connack))")
        }
        return client
    }

    package func stop() async {
        await a.stop()
        await b.stop()
    }
}
