import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// `Config/bridge.yaml` and `Config/mosquitto.conf` work together exactly as shipped: the real `mqtt-ws-bridge`
/// binary from the build directory and `mosquitto -c Config/mosquitto.conf`, no copies, no edits.
///
/// Mosquitto's file listens on 1883 and Mosquitto cannot be told otherwise from outside the file, so both run in
/// a private network namespace (Tests/Scripts/private_network.py) where 1883 and 8443 are always free, whatever
/// runs on this machine; the script forwards ephemeral ports on the host's loopback to them. Inside, no port needs
/// overriding; only the certificate paths are set, through the documented `MQTT_WS_BRIDGE_*` variables (the shipped
/// defaults name `.dev/certs`, which `make run` creates, and a test must not depend on that).
/// Where no namespace can be made (Ubuntu's AppArmor restriction, Docker's seccomp profile) the test is cancelled
/// with that reason; it never depends on port 1883 being free.
@Suite("The shipped Config/bridge.yaml and Config/mosquitto.conf, run together", .timeLimit(.minutes(2)))
struct ShippedConfigTests {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The `mqtt-ws-bridge` executable built next to this test bundle (`swift build --build-tests` builds both).
    static func bridgeExecutable() throws -> String {
        let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var directory = URL(fileURLWithPath: testBinary).deletingLastPathComponent()
        // On Linux the tests run from <bin>/mqtt-ws-bridgePackageTests.xctest; elsewhere from inside a bundle.
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("mqtt-ws-bridge").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory.deleteLastPathComponent()
        }
        throw TestSupportError("no mqtt-ws-bridge executable next to \(testBinary): run `swift build --build-tests`")
    }

    @Test("Mosquitto and the bridge from the shipped files relay both ways; the bridge drains and Mosquitto persists")
    func shippedFilesWorkTogether() async throws {
        let work = FileManager.default.temporaryDirectory.path + "/shipped-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: work + "/mosquitto/data", withIntermediateDirectories: true)
        // Started as root, Mosquitto drops to its own user, which must be able to write the persistence file.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: work + "/mosquitto/data")
        defer { try? FileManager.default.removeItem(atPath: work) }

        let certificates = try BridgeHarness.certificates.get()
        // The caller's environment minus any MQTT_WS_BRIDGE_* a developer may have set: only ours count.
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MQTT_WS_BRIDGE_") }
        environment["MQTT_WS_BRIDGE_LISTENERS_WSS_TLS_CERTIFICATE"] = certificates.certificate
        environment["MQTT_WS_BRIDGE_LISTENERS_WSS_TLS_KEY"] = certificates.key
        environment["MQTT_WS_BRIDGE_STATIC_FILES_ENABLED"] = "true"  // as `make run` does

        let spec: [String: Any] = [
            "forward": ["mqtt": 1883, "wss": 8443],
            "processes": [
                [
                    "name": "mosquitto",
                    "argv": [try MosquittoProcess.executablePath(), "-c", Self.repositoryRoot + "/Config/mosquitto.conf"],
                    "cwd": work + "/mosquitto", "output": work + "/mosquitto.log", "ready_port": 1883,
                ],
                [
                    "name": "bridge", "argv": [try Self.bridgeExecutable(), "--config", Self.repositoryRoot + "/Config/bridge.yaml"],
                    "cwd": work, "env": environment, "output": work + "/bridge.log", "ready_port": 8443,
                ],
            ],
        ]
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: work + "/spec.json"))
        let helper = try ChildProcess.spawn(
            executable: "/usr/bin/env",
            arguments: ["python3", Self.repositoryRoot + "/Tests/Scripts/private_network.py", work + "/spec.json"],
            outputPath: work + "/helper.log")
        let output = HelperOutput(path: work + "/helper.log", process: helper)
        func logs() -> String {
            ["helper", "bridge", "mosquitto"].map { name in
                "--- \(name):\n" + ((try? String(contentsOfFile: "\(work)/\(name).log", encoding: .utf8)) ?? "<none>")
            }.joined(separator: "\n")
        }

        let ready: String
        do {
            ready = try await output.waitForLine(["READY", "UNAVAILABLE"], timeout: .seconds(60))
        } catch {
            await helper.stop()
            Issue.record("\(error)\n\(logs())")
            return
        }
        if ready.hasPrefix("UNAVAILABLE") {
            await helper.stop()
            try Test.cancel(Comment(rawValue: String(ready.dropFirst("UNAVAILABLE ".count))))
        }

        do {
            let mqttPort = try output.forwardedPort("mqtt")
            let wssPort = try output.forwardedPort("wss")
            let tls = TestTLS(trustRootsPEMPath: certificates.caCertificate, serverName: "localhost")

            // WeChat-style: /wss, no subprotocol offered and none answered, TLS with the development certificate.
            let (response, client) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: wssPort, path: "/wss", tls: tls, subprotocols: nil)
            #expect(response.status == 101)
            #expect(response.values("Sec-WebSocket-Protocol").isEmpty)
            let miniProgram = try #require(client)
            try await miniProgram.sendBinary(MQTTTestPackets.connect(clientID: "shipped-miniprogram"))
            #expect(try await miniProgram.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            try await miniProgram.sendBinary(MQTTTestPackets.subscribe("shipped/#", qos: 1, packetID: 5))
            #expect(try await miniProgram.receiveBinaryMessage() == [0x90, 0x03, 0x00, 0x05, 0x01])

            // A backend on Mosquitto's shipped TCP listener pushes; the mini-program receives it through the bridge.
            let backend = try await TestTCPClient.connect(host: "127.0.0.1", port: mqttPort)
            try await backend.send(MQTTTestPackets.connect(clientID: "shipped-backend"))
            #expect(try await backend.receivePacket() == MQTTTestPackets.connackAccepted)
            try await backend.send(MQTTTestPackets.subscribe("up/#", qos: 0, packetID: 1))
            #expect(try await backend.receivePacket() == [0x90, 0x03, 0x00, 0x01, 0x00])
            let push = MQTTTestPackets.publish("shipped/push", payload: Array("from the backend".utf8))
            try await backend.send(push)
            #expect(try await miniProgram.receiveBinaryMessage() == push)

            // Browser route with the mqtt subprotocol, publishing the other way.
            let (browserResponse, browserClient) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: wssPort, path: "/mqtt", tls: tls, subprotocols: ["mqtt"])
            #expect(browserResponse.values("Sec-WebSocket-Protocol") == ["mqtt"])
            let browser = try #require(browserClient)
            try await browser.sendBinary(MQTTTestPackets.connect(clientID: "shipped-browser"))
            #expect(try await browser.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)
            let up = MQTTTestPackets.publish("up/browser", payload: Array("from the browser".utf8))
            try await browser.sendBinary(up)
            #expect(try await backend.receivePacket() == up)

            // The dashboard from the shipped default directory (../Dashboard relative to Config/).
            let page = try await RawHTTP.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", port: wssPort, tls: true)
            #expect(page.status == 200)
            #expect(String(decoding: page.body, as: UTF8.self).contains("mqtt-ws-bridge dashboard"))

            try await miniProgram.sendBinary(MQTTTestPackets.disconnect)
            try await browser.sendBinary(MQTTTestPackets.disconnect)
            await backend.close()

            helper.send(SIGTERM)
            let exit = await helper.waitForExit(timeout: .seconds(30))
            #expect(exit == 0, "\(logs())")
            #expect(output.lines.contains("EXITED bridge 0"), "the bridge drains and exits 0 on SIGTERM\n\(logs())")
            #expect(output.lines.contains("EXITED mosquitto 0"), "\(logs())")
        } catch {
            await helper.stop()
            Issue.record("\(error)\n\(logs())")
            return
        }
        // persistence true + persistence_location data/ (relative to the working directory, as the file says).
        #expect(FileManager.default.fileExists(atPath: work + "/mosquitto/data/mosquitto.db"), "\(logs())")
        let bridgeLog = (try? String(contentsOfFile: work + "/bridge.log", encoding: .utf8)) ?? ""
        #expect(bridgeLog.contains("client_id=shipped-miniprogram"), "one access line per session\n\(bridgeLog)")
    }
}

/// The helper script's output file, read as it grows.
private struct HelperOutput {
    let path: String
    let process: ChildProcess

    var lines: [String] {
        ((try? String(contentsOfFile: self.path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func waitForLine(_ prefixes: [String], timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let line = self.lines.first(where: { line in prefixes.contains { line.hasPrefix($0) } }) { return line }
            if let failure = self.lines.first(where: { $0.hasPrefix("FAILED") }) {
                throw TestSupportError("private_network.py: \(failure)")
            }
            if !self.process.isRunning { throw TestSupportError("private_network.py exited (status \(self.process.exitCode ?? -1))") }
            guard ContinuousClock.now < deadline else { throw TestSupportError("no \(prefixes) from private_network.py within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// `LISTEN <name> 127.0.0.1:<port>` → port.
    func forwardedPort(_ name: String) throws -> Int {
        guard let line = self.lines.first(where: { $0.hasPrefix("LISTEN \(name) ") }),
            let port = line.split(separator: ":").last.flatMap({ Int($0) })
        else {
            throw TestSupportError("no forwarded port for \(name)")
        }
        return port
    }
}
