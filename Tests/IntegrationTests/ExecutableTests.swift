import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// The `mqtt-ws-bridge` binary as users run it: exit codes, messages, real signals.
@Suite("mqtt-ws-bridge executable", .timeLimit(.minutes(2)))
struct ExecutableTests {
    /// The binary sits next to the test bundle in the build directory (`swift build --build-tests` builds both).
    static var binary: String {
        get throws {
            let testBundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            var directory = testBundle.deletingLastPathComponent()
            if directory.lastPathComponent == "MacOS" {  // Darwin bundle layout
                directory = directory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            }
            let path = directory.appendingPathComponent("mqtt-ws-bridge").path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestSupportError("\(path) not found: build it with `swift build --build-tests` (Scripts/test does)")
            }
            return path
        }
    }

    struct Run {
        var exitCode: Int32?
        var output: String
    }

    /// Runs the binary to completion (bounded) and returns its exit code and combined output.
    static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> Run {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("bridge-out-\(UUID().uuidString).txt").path
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MQTT_WS_BRIDGE_") }
        env.merge(environment) { _, new in new }
        let process = try ChildProcess.spawn(executable: try binary, arguments: arguments, environment: env, outputPath: output)
        let code = await process.waitForExit(timeout: .seconds(30))
        if code == nil { await process.stop() }
        return Run(exitCode: code, output: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    /// A config file for tests: ephemeral ports, the test certificates, the given broker port.
    static func writeConfig(brokerPort: Int = 1883, extra: String = "") throws -> String {
        let certificates = try BridgeHarness.certificates.get()
        let text = """
            listeners:
              wss:
                address: 127.0.0.1
                port: 0
                tls:
                  certificate: \(certificates.certificate)
                  key: \(certificates.key)
            upstream:
              host: 127.0.0.1
              port: \(brokerPort)
            shutdown:
              grace_period: 5s
            admin:
              address: 127.0.0.1
              port: 0
            \(extra)
            """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bridge-\(UUID().uuidString).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("--check-config accepts a valid file and exits 0")
    func checkConfigValid() async throws {
        let run = try await Self.run(["--config", try Self.writeConfig(), "--check-config"])
        #expect(run.exitCode == 0, "\(run.output)")
        #expect(run.output.contains("configuration OK"))
    }

    @Test("An invalid configuration exits 2 and names the key and the problem")
    func invalidConfig() async throws {
        let path = try Self.writeConfig(extra: "routes:\n  app:\n    path: /app\n    policy: pasthrough\n")
        let run = try await Self.run(["--config", path, "--check-config"])
        #expect(run.exitCode == 2)
        #expect(run.output.contains("routes.app.policy"))
        #expect(run.output.contains("did you mean 'passthrough'"))
        #expect(!run.output.contains("Fatal error"))
    }

    @Test("An environment override with a bad value exits 2 naming the variable")
    func badEnvironment() async throws {
        let run = try await Self.run(
            ["--config", try Self.writeConfig(), "--check-config"], environment: ["MQTT_WS_BRIDGE_UPSTREAM_PORT": "18a3"])
        #expect(run.exitCode == 2)
        #expect(run.output.contains("MQTT_WS_BRIDGE_UPSTREAM_PORT"))
    }

    @Test("A certificate file that is not PEM gives a clear message, not a stack trace")
    func unreadableCertificate() async throws {
        let bogus = FileManager.default.temporaryDirectory.appendingPathComponent("bogus-\(UUID().uuidString).crt").path
        try "not a certificate".write(toFile: bogus, atomically: true, encoding: .utf8)
        let run = try await Self.run([
            "--config", try Self.writeConfig(), "--check-config", "--set", "listeners.wss.tls.certificate=\(bogus)",
        ])
        #expect(run.exitCode == 2)
        #expect(run.output.contains("listeners.wss.tls.certificate"))
        #expect(run.output.contains(bogus))
    }

    @Test("SIGTERM drains: a connected client receives close 1001 and the process exits 0")
    func sigtermDrains() async throws {
        let broker = try await MosquittoProcess.start()
        try await BridgeProcess.with(arguments: ["--config", try Self.writeConfig(brokerPort: broker.port)], broker: broker) { bridge in
            let (response, client) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: bridge.port, path: "/wss", tls: try BridgeHarness.tls, subprotocols: nil)
            #expect(response.status == 101)
            let ws = try #require(client)
            try await ws.sendBinary(MQTTTestPackets.connect(clientID: "sigterm"))
            #expect(try await ws.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)

            bridge.process.send(SIGTERM)
            let close = try await ws.expectClose()
            #expect(close.code == 1001)
            #expect(await bridge.process.waitForExit(timeout: .seconds(10)) == 0)
            let log = bridge.log
            #expect(log.contains("draining"))
            #expect(log.contains("client_id=sigterm"))
            #expect(log.contains("mqtt_ws_bridge: stopped"), "the log writer's last lines are flushed before the process exits")
        }
    }

    @Test("Out of file descriptors: the bridge says why, pauses accepting, and recovers when clients leave")
    func fileDescriptorExhaustion() async throws {
        let broker = try await MosquittoProcess.start()
        // A hard limit of 48 descriptors: the bridge cannot raise it, and a few dozen connections exhaust it.
        try await BridgeProcess.with(
            arguments: ["--config", try Self.writeConfig(brokerPort: broker.port)], broker: broker,
            launcher: ["prlimit", "--nofile=48:48"]
        ) { bridge in
            var clients: [TestTCPClient] = []
            for _ in 0..<60 {
                if let client = try? await TestTCPClient.connect(host: "127.0.0.1", port: bridge.port, timeout: .seconds(2)) {
                    clients.append(client)
                }
            }
            try await Self.waitUntil { bridge.log.contains("cannot accept connections") }
            #expect(bridge.log.contains("too many open files"))
            #expect(bridge.log.contains("open-file limit is below"), "the start-up warning names limits.max_connections")
            for client in clients { await client.close() }

            // Descriptors are back: a new client is served.
            try await Self.waitUntil {
                guard
                    let (response, _) = try? await TestWebSocketClient.connect(
                        host: "127.0.0.1", port: bridge.port, path: "/wss", tls: try? BridgeHarness.tls, subprotocols: nil,
                        timeout: .seconds(2))
                else { return false }
                return response.status == 101
            }
            #expect(bridge.process.isRunning)
        }
    }

    static func waitUntil(timeout: Duration = .seconds(15), _ condition: () async -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("condition not met within \(timeout)")
    }

    /// Reads the bridge's log until its `listening` line for `listener` shows the bound port.
    static func waitForListeningPort(in path: String, listener: String, process: ChildProcess) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let log = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            for line in log.split(separator: "\n") where line.contains("listening") && line.contains("listener=\(listener)") {
                if let address = line.split(separator: " ").first(where: { $0.hasPrefix("address=") }),
                    let port = address.split(separator: ":").last.flatMap({ Int($0) })
                {
                    return port
                }
            }
            guard process.isRunning else { throw TestSupportError("mqtt-ws-bridge exited: \(log)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError("mqtt-ws-bridge did not log its listening address")
    }
}
