import BridgeTestSupport
import Foundation
import MQTTWire

/// Tests/Clients, found from this file's path (Tests/IntegrationTests/<file>).
enum ThirdPartyClients {
    static let directory: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()
        url.deleteLastPathComponent()
        return url.appendingPathComponent("Clients").path
    }()

    /// A fresh temporary directory for one test's files (payloads, client output).
    static func temporaryDirectory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The test CA that signed the bridge's certificate: what every client is told to trust.
    static var caFile: String {
        get throws { try BridgeHarness.certificates.get().caCertificate }
    }
}

/// One run of Tests/Clients/mqttjs/scenario.js (mqtt.js from Debian's node-mqtt) in its own Node.js process.
///
/// The script prints one JSON object per line; `waitFor` reads them as they appear and fails early when the script
/// reports an error or exits. Every wait has a timeout, and the script has its own deadline.
final class MQTTJSScenario: Sendable {
    /// What scenario.js takes (see the top of that file).
    struct Options: Encodable {
        enum Transport: String, Encodable { case ws, wechat }

        struct Subscription: Encodable {
            var filter: String
            var qos: Int
        }

        struct Publish: Encodable {
            var topic: String
            var qos: Int
            var text: String?
            var file: String?
        }

        struct Will: Encodable {
            var topic: String
            var payload: String
            var qos: Int
        }

        var transport: Transport
        var wxFixes: [String] = []
        var host = "127.0.0.1"
        var port: Int
        var path: String
        var ca: String
        var protocolVersion: Int
        var clientId: String
        var keepalive = 30
        var reconnectPeriod = 0
        var will: Will?
        var username: String?
        var password: String?
        var subscribe: Subscription?
        var publish: [Publish] = []
        var expectMessages: Int?
        var payloadDir: String?
        var deadlineMs = 30_000
    }

    /// One line of the script's output; fields are present where the event has them.
    struct Event: Decodable, Sendable {
        var event: String
        /// connected, subscribed: which connection of the client (1, then 2 after a reconnect); close: how many so far.
        var count: Int?
        var topic: String?
        var qos: Int?
        var length: Int?
        /// message: where the payload was written.
        var file: String?
        /// message: the payload as text, when short.
        var text: String?
        /// error: what went wrong.
        var message: String?
        /// client-error: mqtt.js's error code (a CONNACK's return code, e.g. 5 "not authorized").
        var errorCode: Int?
        /// wx-close: the close code the WeChat-like socket received.
        var code: Int?
        /// wx-connect: the subprotocols wx.js asked `wx.connectSocket` for.
        var protocolsAsked: [String]?
        /// subscribed: the SUBACK's return/reason codes.
        var granted: [Int]?
        /// state-after-socket-close: whether mqtt.js still believes it is connected, and how many 'close' it emitted.
        var connected: Bool?
        var closeEvents: Int?
    }

    let process: ChildProcess
    let outputPath: String

    private init(process: ChildProcess, outputPath: String) {
        self.process = process
        self.outputPath = outputPath
    }

    /// Starts `node scenario.js <options>`. Debian's Node.js looks in /usr/share/nodejs by itself; other builds of
    /// Node (NodeSource's, for instance) need NODE_PATH to find Debian's node-* packages.
    static func start(_ options: Options, outputDirectory: String) throws -> MQTTJSScenario {
        let node: String
        do {
            node = try CommandLineTool.path("node")
        } catch {
            throw TestSupportError("node not found: run Scripts/install-deps (Debian: apt-get install node-mqtt)")
        }
        let json = String(decoding: try JSONEncoder().encode(options), as: UTF8.self)
        let outputPath = outputDirectory + "/\(options.clientId).jsonl"
        var environment = ProcessInfo.processInfo.environment
        environment["NODE_PATH"] = (["/usr/share/nodejs", "/usr/lib/nodejs"] + [environment["NODE_PATH"]].compactMap { $0 }).joined(
            separator: ":")
        let process = try ChildProcess.spawn(
            executable: node, arguments: [ThirdPartyClients.directory + "/mqttjs/scenario.js", json],
            environment: environment, outputPath: outputPath)
        return MQTTJSScenario(process: process, outputPath: outputPath)
    }

    /// Everything the script printed so far (its stderr too), for failure messages.
    var output: String { (try? String(contentsOfFile: self.outputPath, encoding: .utf8)) ?? "<no output>" }

    /// The events printed so far, in order (lines that are not JSON, such as a stack trace, are skipped).
    var events: [Event] {
        self.output.split(separator: "\n").compactMap { try? JSONDecoder().decode(Event.self, from: Data($0.utf8)) }
    }

    func events(_ name: String) -> [Event] { self.events.filter { $0.event == name } }

    /// The first event named `name` that satisfies `condition`. Fails at once when the script reports an error or
    /// its deadline, or exits without printing it.
    @discardableResult
    func waitFor(
        _ name: String, timeout: Duration = .seconds(15), where condition: (Event) -> Bool = { _ in true }
    ) async throws -> Event {
        let deadline = ContinuousClock.now + timeout
        while true {
            let events = self.events
            if let found = events.first(where: { $0.event == name && condition($0) }) { return found }
            if let failure = events.first(where: { $0.event == "error" || $0.event == "deadline" }) {
                throw TestSupportError("mqtt.js scenario failed before '\(name)': \(failure.message ?? failure.event)\n\(self.output)")
            }
            if !self.process.isRunning {
                throw TestSupportError("mqtt.js scenario exited (\(self.process.exitCode ?? -1)) before '\(name)':\n\(self.output)")
            }
            guard ContinuousClock.now < deadline else {
                throw TestSupportError("no '\(name)' from the mqtt.js scenario within \(timeout):\n\(self.output)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits for the script to finish; nil if it did not within `timeout` (it is then stopped).
    func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        let status = await self.process.waitForExit(timeout: timeout)
        if status == nil { await self.process.stop() }
        return status
    }

    /// The client vanishes without a DISCONNECT or a WebSocket close frame, as when the app is killed.
    func kill() async {
        self.process.send(SIGKILL)
        _ = await self.process.waitForExit(timeout: .seconds(5))
    }
}

/// A plain MQTT 3.1.1 client straight to the broker (not through the bridge): the independent other end of every
/// third-party client test. It completes QoS 1 and 2 flows on both sides, so it can stand for any peer application.
struct BrokerPeer {
    let client: TestTCPClient
    private let name: String

    static func connect(to broker: MosquittoProcess, clientID: String) async throws -> BrokerPeer {
        let client = try await TestTCPClient.connect(host: broker.host, port: broker.port)
        try await client.send(MQTTTestPackets.connect(clientID: clientID))
        let connack = try await client.receivePacket()
        guard connack == MQTTTestPackets.connackAccepted else { throw TestSupportError("\(clientID): CONNACK \(connack)") }
        return BrokerPeer(client: client, name: clientID)
    }

    func subscribe(_ filter: String, qos: UInt8) async throws {
        try await self.client.send(MQTTTestPackets.subscribe(filter, qos: qos, packetID: 1))
        let suback = try await self.client.receivePacket()
        guard suback == [0x90, 0x03, 0x00, 0x01, qos] else { throw TestSupportError("\(self.name): SUBACK \(suback)") }
    }

    /// Publishes and completes the QoS flow (PUBACK, or PUBREC/PUBREL/PUBCOMP) before returning.
    func publish(_ topic: String, _ payload: [UInt8], qos: UInt8, retain: Bool = false, packetID: UInt16 = 1) async throws {
        try await self.client.send(MQTTTestPackets.publish(topic, payload: payload, qos: qos, retain: retain, packetID: packetID))
        switch qos {
        case 1:
            try await self.expect(MQTTTestPackets.puback(packetID))
        case 2:
            try await self.expect(MQTTTestPackets.pubrec(packetID))
            try await self.client.send(MQTTTestPackets.pubrel(packetID))
            try await self.expect(MQTTTestPackets.pubcomp(packetID))
        default:
            break
        }
    }

    func publish(_ topic: String, _ text: String, qos: UInt8, retain: Bool = false, packetID: UInt16 = 1) async throws {
        try await self.publish(topic, Array(text.utf8), qos: qos, retain: retain, packetID: packetID)
    }

    /// The next application message, acknowledged as its QoS requires (a PUBREL in between is answered too).
    func receivePublish(timeout: Duration = .seconds(10)) async throws -> (info: MQTTPublishInfo, payload: [UInt8]) {
        while true {
            let packet = try await self.client.receivePacket(timeout: timeout)
            switch MQTTTestPackets.type(of: packet) {
            case .publish:
                let publish = try MQTTTestPackets.decodePublish(packet)
                if let packetID = publish.info.packetID {
                    try await self.client.send(publish.info.qos == 1 ? MQTTTestPackets.puback(packetID) : MQTTTestPackets.pubrec(packetID))
                }
                return (publish.info, Array(publish.payload.readableBytesView))
            case .pubrel:
                let packetID = UInt16(packet[2]) << 8 | UInt16(packet[3])
                try await self.client.send(MQTTTestPackets.pubcomp(packetID))
            default:
                throw TestSupportError("\(self.name): unexpected packet \(ByteFormatting.hex(packet, limit: 16))")
            }
        }
    }

    /// `count` messages, by topic.
    func receivePublishes(
        _ count: Int, timeout: Duration = .seconds(10)
    ) async throws -> [String: (info: MQTTPublishInfo, payload: [UInt8])] {
        var byTopic: [String: (info: MQTTPublishInfo, payload: [UInt8])] = [:]
        for _ in 0..<count {
            let message = try await self.receivePublish(timeout: timeout)
            byTopic[message.info.topic] = message
        }
        return byTopic
    }

    private func expect(_ packet: [UInt8]) async throws {
        let received = try await self.client.receivePacket()
        guard received == packet else {
            throw TestSupportError(
                "\(self.name): expected \(ByteFormatting.hex(packet, limit: 8)), got \(ByteFormatting.hex(received, limit: 8))")
        }
    }

    func close() async {
        try? await self.client.send(MQTTTestPackets.disconnect)
        await self.client.close()
    }
}
