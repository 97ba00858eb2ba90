import BridgeTestSupport
import Foundation
import Testing

/// One Eclipse Paho C example pair (Debian's paho.mqtt.c-examples) on one route with one MQTT version.
struct PahoCase: Sendable, CustomTestStringConvertible {
    /// `paho_c_*` use the asynchronous library (MQTTAsync), `paho_cs_*` the synchronous one (MQTTClient).
    var tools: String
    /// The examples' `-V` values: 311 (MQTT 3.1.1) or 5.
    var version: String
    var route: String
    var path: String

    var publisher: String { "\(self.tools)_pub" }
    var subscriber: String { "\(self.tools)_sub" }
    var name: String { "\(self.tools)-v\(self.version)-\(self.route)" }
    var testDescription: String { "\(self.publisher)/\(self.subscriber), MQTT \(self.version == "5" ? "5" : "3.1.1"), \(self.route) route" }

    /// Both libraries with both versions; each version on both routes (Paho offers `mqtt`, which both accept).
    static let all = [
        PahoCase(tools: "paho_c", version: "311", route: "browser", path: "/mqtt"),
        PahoCase(tools: "paho_c", version: "5", route: "miniprogram", path: "/wss"),
        PahoCase(tools: "paho_cs", version: "311", route: "miniprogram", path: "/wss"),
        PahoCase(tools: "paho_cs", version: "5", route: "browser", path: "/mqtt"),
    ]
}

/// Eclipse Paho C's example clients through the real bridge to a real Mosquitto over wss://, trusting the test CA
/// (`--cafile`; the host name is checked: no `--insecure`). A plain MQTT client on the broker checks what they publish;
/// what they receive is read from the subscriber's output.
@Suite("Third-party client: Eclipse Paho C", .timeLimit(.minutes(2)))
struct PahoClientTests {
    @Test("Publish QoS 0/1/2 and subscribe through the bridge", arguments: PahoCase.all)
    func publishAndSubscribe(_ paho: PahoCase) async throws {
        let directory = try ThirdPartyClients.temporaryDirectory("paho")
        let prefix = "paho/\(paho.name)"
        try await BridgeHarness.with { bridge in
            let url = "wss://127.0.0.1:\(bridge.wssPort)\(paho.path)"
            let common = ["-c", url, "--cafile", try ThirdPartyClients.caFile, "-V", paho.version]

            // A retained message from before the subscriber: when the subscriber prints it, its subscription is active.
            let peer = try await BrokerPeer.connect(to: bridge.broker, clientID: "\(paho.name)-peer")
            try await peer.publish("\(prefix)/ready", "retained before the subscriber came", qos: 1, retain: true)
            try await peer.subscribe("\(prefix)/q/#", qos: 2)

            let subscriberOutput = directory + "/subscriber.txt"
            let subscriber = try ChildProcess.spawn(
                executable: try CommandLineTool.path(paho.subscriber),
                arguments: ["-t", "\(prefix)/#", "-q", "2", "-i", "\(paho.name)-sub"] + common, outputPath: subscriberOutput)
            do {
                let printed = { (try? String(contentsOfFile: subscriberOutput, encoding: .utf8)) ?? "" }
                try await Self.waitUntil("\(paho.subscriber) prints the retained message", output: printed, process: subscriber) {
                    $0.contains("retained before the subscriber came")
                }

                // One publisher per QoS, side by side (each connects, publishes, disconnects).
                let publishers = try (0...2).map { qos in
                    let output = directory + "/publisher-\(qos).txt"
                    let process = try ChildProcess.spawn(
                        executable: try CommandLineTool.path(paho.publisher),
                        arguments: [
                            "-t", "\(prefix)/q/\(qos)", "-m", "from Paho at QoS \(qos)", "-q", "\(qos)", "-i", "\(paho.name)-pub\(qos)",
                        ] + common,
                        outputPath: output)
                    return (qos: qos, process: process, output: output)
                }
                for publisher in publishers {
                    let status = await publisher.process.waitForExit(timeout: .seconds(15))
                    if status == nil { await publisher.process.stop() }
                    let output = (try? String(contentsOfFile: publisher.output, encoding: .utf8)) ?? ""
                    #expect(status == 0, "\(paho.publisher) QoS \(publisher.qos): \(output)")
                }

                // What the publisher sent, as the broker delivers it to a plain client.
                let received = try await peer.receivePublishes(3)
                for qos in 0...2 {
                    let message = try #require(received["\(prefix)/q/\(qos)"], "\(received.keys)")
                    #expect(message.info.qos == UInt8(qos))
                    #expect(message.payload == Array("from Paho at QoS \(qos)".utf8))
                }
                // What the subscriber received through the bridge.
                try await Self.waitUntil("\(paho.subscriber) prints the three messages", output: printed, process: subscriber) { text in
                    (0...2).allSatisfy { text.contains("from Paho at QoS \($0)\n") }
                }

                let access = try await bridge.waitForAccessLine(containing: ["client_id=\(paho.name)-pub2"])
                #expect(access.contains("route=\(paho.route)"))
                #expect(access.contains("subprotocol=mqtt"))
                #expect(access.contains(paho.version == "5" ? "mqtt_version=5.0" : "mqtt_version=3.1.1"))
            } catch {
                await subscriber.stop()
                throw error
            }
            await subscriber.stop()
            await peer.close()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Polls a client's output until `condition` holds; fails early if the client exits.
    static func waitUntil(
        _ what: String, output: () -> String, process: ChildProcess, timeout: Duration = .seconds(15), _ condition: (String) -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition(output()) {
            guard process.isRunning else { throw TestSupportError("\(what): it exited (\(process.exitCode ?? -1)):\n\(output())") }
            guard ContinuousClock.now < deadline else { throw TestSupportError("\(what): not within \(timeout):\n\(output())") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
