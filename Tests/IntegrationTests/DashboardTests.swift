import BridgeConfig
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// The repository root, found from this file's path (Tests/IntegrationTests/<file>).
private let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// `static_files`: the bridge answering plain HTTP requests from a directory, next to its WebSocket routes.
@Suite("Static files (static_files)", .timeLimit(.minutes(2)))
struct StaticFileTests {
    @Test("GET / answers index.html with exact type, no-cache, nosniff and a CSP that allows WebSockets to this host only")
    func servesIndex() async throws {
        try await BridgeHarness.with(configure: { $0.staticFiles = .init(enabled: true, directory: repositoryRoot + "/Dashboard") }) {
            bridge in
            let response = try await RawHTTP.send(
                "GET / HTTP/1.1\r\nHost: 127.0.0.1:\(bridge.wssPort)\r\n\r\n", port: bridge.wssPort, tls: true)
            #expect(response.status == 200)
            #expect(response.value("Content-Type") == "text/html; charset=utf-8")
            #expect(response.value("Cache-Control") == "no-cache")
            #expect(response.value("X-Content-Type-Options") == "nosniff")
            #expect(response.value("Connection") == "close")
            let csp = try #require(response.value("Content-Security-Policy"))
            #expect(csp.contains("default-src 'none'"))
            #expect(csp.contains("script-src 'self'"))
            #expect(csp.contains("connect-src 'self' wss://127.0.0.1:\(bridge.wssPort) ws://127.0.0.1:\(bridge.wssPort)"))
            #expect(csp.contains("frame-ancestors 'none'"))
            #expect(!csp.contains("unsafe"))
            let index = try Array(Data(contentsOf: URL(fileURLWithPath: repositoryRoot + "/Dashboard/index.html")))
            #expect(response.body == index)
            #expect(response.value("Content-Length") == "\(index.count)")

            let script = try await RawHTTP.send("GET /mqtt-client.js?v=1 HTTP/1.1\r\nHost: x\r\n\r\n", port: bridge.wsPort)
            #expect(script.status == 200)
            #expect(script.value("Content-Type") == "text/javascript; charset=utf-8")
        }
    }

    @Test("HEAD has the GET headers and no body; a matching If-None-Match answers 304")
    func headAndConditional() async throws {
        try await BridgeHarness.with(configure: { $0.staticFiles = .init(enabled: true, directory: repositoryRoot + "/Dashboard") }) {
            bridge in
            let get = try await RawHTTP.send("GET /style.css HTTP/1.1\r\nHost: h\r\n\r\n", port: bridge.wsPort)
            let head = try await RawHTTP.send("HEAD /style.css HTTP/1.1\r\nHost: h\r\n\r\n", port: bridge.wsPort)
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(head.value("Content-Length") == "\(get.body.count)")
            #expect(head.value("Content-Type") == "text/css; charset=utf-8")
            let etag = try #require(get.value("ETag"))
            #expect(head.value("ETag") == etag)

            let notModified = try await RawHTTP.send(
                "GET /style.css HTTP/1.1\r\nHost: h\r\nIf-None-Match: W/\"x\", \(etag)\r\n\r\n", port: bridge.wsPort)
            #expect(notModified.status == 304)
            #expect(notModified.body.isEmpty)
            let changed = try await RawHTTP.send(
                "GET /style.css HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"other\"\r\n\r\n", port: bridge.wsPort)
            #expect(changed.status == 200)
        }
    }

    @Test("Only files inside the directory: no traversal, no dot files, no symbolic links that lead outside, no FIFOs")
    func confinedToDirectory() async throws {
        let site = try SiteFixture()
        try await BridgeHarness.with(configure: { $0.staticFiles = .init(enabled: true, directory: site.directory) }) { bridge in
            for path in ["/", "/sub/", "/sub/page.html", "/link-inside", "/caf%C3%A9.txt"] {
                let response = try await RawHTTP.send("GET \(path) HTTP/1.1\r\nHost: h\r\n\r\n", port: bridge.wsPort)
                #expect(response.status == 200, "\(path)")
            }
            let refused = [
                "/../outside/secret.txt", "/%2e%2e/outside/secret.txt", "/..%2foutside%2fsecret.txt", "/sub/../../outside/secret.txt",
                "//outside/secret.txt", "/.hidden", "/sub/.env", "/link-outside", "/link-to-dir/secret.txt", "/fifo", "/sub",
                "/index.html%00", "/%zz", "/%ff", "http://h/../outside/secret.txt", "/missing.html",
            ]
            for path in refused {
                let response = try await RawHTTP.send("GET \(path) HTTP/1.1\r\nHost: h\r\n\r\n", port: bridge.wsPort)
                #expect(response.status == 404, "\(path)")
                #expect(!String(decoding: response.body, as: UTF8.self).contains("SECRET"), "\(path)")
            }
            let log = bridge.logs.collected.joined(separator: "\n")
            #expect(log.contains("static file left out") && log.contains("/link-outside"))
        }
    }

    @Test("Routes are unaffected: plain GET on a route is 426, a WebSocket upgrade on a route relays, one elsewhere is 404")
    func routesUnaffected() async throws {
        try await BridgeHarness.with(configure: { $0.staticFiles = .init(enabled: true, directory: repositoryRoot + "/Dashboard") }) {
            bridge in
            let plain = try await RawHTTP.send("GET /mqtt HTTP/1.1\r\nHost: h\r\n\r\n", port: bridge.wsPort)
            #expect(plain.status == 426)
            let client = try await bridge.connectMQTT(path: "/mqtt", subprotocols: ["mqtt"], clientID: "static-on")
            try await client.close()
            let (response, _) = try await bridge.connect(path: "/index.html", subprotocols: ["mqtt"])
            #expect(response.status == 404)
            let post = try await RawHTTP.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", port: bridge.wsPort)
            #expect(post.status == 404)
        }
    }

    @Test("Off by default: GET / is the front end's usual 404")
    func offByDefault() async throws {
        try await BridgeHarness.with { bridge in
            #expect(bridge.configuration.staticFiles.enabled == false)
            let response = try await RawHTTP.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n", port: bridge.wsPort)
            #expect(response.status == 404)
            #expect(String(decoding: response.body, as: UTF8.self).contains("no WebSocket endpoint"))
        }
    }

    @Test("A directory larger than static_files.max_size: the reason is logged at start, and pages answer 500")
    func overSizeLimit() async throws {
        let site = try SiteFixture()
        try await BridgeHarness.with(configure: { $0.staticFiles = .init(enabled: true, directory: site.directory, maxSize: 1024) }) {
            bridge in
            let response = try await RawHTTP.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n", port: bridge.wsPort)
            #expect(response.status == 500)
            #expect(String(decoding: response.body, as: UTF8.self).contains("static_files.directory could not be loaded"))
            #expect(!String(decoding: response.body, as: UTF8.self).contains(site.directory), "no server paths to clients")
            #expect(bridge.logs.collected.contains { $0.contains("static files not loaded") && $0.contains("static_files.max_size") })
        }
    }
}

/// The real dashboard in a real browser: headless Chromium (Debian's `chromium`, installed by Scripts/install-deps)
/// driven over the DevTools protocol by Tests/Browser/dashboard_driver.py. Set SKIP_BROWSER_TESTS=1 to skip it
/// on a machine without Chromium; otherwise a missing Chromium fails with instructions.
@Suite("Dashboard in headless Chromium", .timeLimit(.minutes(3)))
struct DashboardBrowserTests {
    static let skipped = ProcessInfo.processInfo.environment["SKIP_BROWSER_TESTS"] == "1"

    @Test(
        "The page connects to /mqtt, subscribes, shows pushed messages live (text, binary, QoS 0/1/2, retained) and publishes",
        .enabled(if: !skipped, "SKIP_BROWSER_TESTS=1"))
    func dashboardShowsPushedMessages() async throws {
        let artifacts = repositoryRoot + "/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts + "/dashboard.png"
        let driverLog = artifacts + "/dashboard-driver.log"
        try? FileManager.default.removeItem(atPath: screenshot)
        try? FileManager.default.removeItem(atPath: driverLog)

        try await BridgeHarness.with(configure: { $0.staticFiles = .init(enabled: true, directory: repositoryRoot + "/Dashboard") }) {
            bridge in
            // A retained message from before the page existed: delivered on subscribe, flagged retained.
            let publisher = try await bridge.directClient(clientID: "dashboard-test-publisher")
            try await publisher.send(
                MQTTTestPackets.publish("dashboard-test/retained", payload: Array("kept by the broker".utf8), retain: true))
            try await publisher.send(MQTTTestPackets.pingreq)  // the broker handles a client's packets in order:
            #expect(try await publisher.receivePacket() == MQTTTestPackets.pingresp)  // PINGRESP ⇒ retained stored

            let subscriber = try await bridge.directClient(clientID: "dashboard-test-subscriber")
            try await subscriber.send(MQTTTestPackets.subscribe("dashboard-test/from-browser", qos: 1, packetID: 1))
            #expect(try await subscriber.receivePacket() == [0x90, 0x03, 0x00, 0x01, 0x01])

            let url = "https://127.0.0.1:\(bridge.wssPort)/?topic=dashboard-test/%23&qos=2&connect=1&clientId=dashboard-browser-test"
            let driver = try ChildProcess.spawn(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", repositoryRoot + "/Tests/Browser/dashboard_driver.py", "--url", url, "--filter", "dashboard-test/#",
                    "--messages", "4", "--publish-topic", "dashboard-test/from-browser", "--publish-payload", "hello from Chromium",
                    "--screenshot", screenshot,
                ],
                outputPath: driverLog)
            let output = DriverOutput(path: driverLog, process: driver)

            do {
                try await output.waitForLine("SUBSCRIBED", timeout: .seconds(90))
                // Live pushes, after the page subscribed: QoS 0 text, QoS 1 binary, QoS 2 text (full flows on both sides).
                try await publisher.send(MQTTTestPackets.publish("dashboard-test/text", payload: Array("pushed live: 你好 🚀".utf8)))
                try await publisher.send(
                    MQTTTestPackets.publish("dashboard-test/binary", payload: [0x00, 0xFF, 0xFE, 0x80], qos: 1, packetID: 10))
                #expect(try await publisher.receivePacket() == MQTTTestPackets.puback(10))
                try await publisher.send(
                    MQTTTestPackets.publish("dashboard-test/qos2", payload: Array("exactly once".utf8), qos: 2, packetID: 11))
                #expect(try await publisher.receivePacket() == MQTTTestPackets.pubrec(11))
                try await publisher.send(MQTTTestPackets.pubrel(11))
                #expect(try await publisher.receivePacket() == MQTTTestPackets.pubcomp(11))

                let messagesLine = try await output.waitForLine("MESSAGES ", timeout: .seconds(60))
                let shown = try JSONDecoder().decode([ShownMessage].self, from: Data(messagesLine.dropFirst("MESSAGES ".count).utf8))
                #expect(shown.count == 4)
                let byTopic = Dictionary(shown.map { ($0.topic, $0) }, uniquingKeysWith: { first, _ in first })
                #expect(
                    byTopic["dashboard-test/retained"]
                        == ShownMessage(topic: "dashboard-test/retained", qos: 0, retained: true, hex: false, payload: "kept by the broker")
                )
                #expect(
                    byTopic["dashboard-test/text"]
                        == ShownMessage(topic: "dashboard-test/text", qos: 0, retained: false, hex: false, payload: "pushed live: 你好 🚀"))
                #expect(
                    byTopic["dashboard-test/binary"]
                        == ShownMessage(topic: "dashboard-test/binary", qos: 1, retained: false, hex: true, payload: "00 ff fe 80"))
                #expect(
                    byTopic["dashboard-test/qos2"]
                        == ShownMessage(topic: "dashboard-test/qos2", qos: 2, retained: false, hex: false, payload: "exactly once"))
                #expect(shown.first?.topic == "dashboard-test/qos2", "newest first")

                // The page's own publish (QoS 1) reaches a plain MQTT subscriber.
                let fromBrowser = try await subscriber.receivePacket(timeout: .seconds(60))
                let publish = try MQTTTestPackets.decodePublish(fromBrowser)
                #expect(publish.info.topic == "dashboard-test/from-browser")
                #expect(String(decoding: publish.payload.readableBytesView, as: UTF8.self) == "hello from Chromium")
                if let packetID = publish.info.packetID { try await subscriber.send(MQTTTestPackets.puback(packetID)) }

                let status = await driver.waitForExit(timeout: .seconds(60))
                #expect(status == 0, "driver output:\n\(output.text)")
            } catch {
                await driver.stop()
                Issue.record("\(error)\ndriver output:\n\(output.text)")
            }
            await publisher.close()
            await subscriber.close()
        }

        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG file")
        print("dashboard screenshot: \(screenshot)")
    }

    @Test("A refused CONNACK is shown with its reason, and the page is disconnected", .enabled(if: !skipped, "SKIP_BROWSER_TESTS=1"))
    func refusedConnectionIsExplained() async throws {
        let artifacts = repositoryRoot + "/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts + "/dashboard-refused.png"
        let driverLog = artifacts + "/dashboard-refused-driver.log"
        try? FileManager.default.removeItem(atPath: driverLog)
        // Anonymous clients are refused: Mosquitto answers CONNACK 5 (not authorized), through the bridge unchanged.
        let broker = try await MosquittoProcess.start(extraConfig: "allow_anonymous false")
        do {
            try await self.showRefusal(broker: broker, screenshot: screenshot, driverLog: driverLog)
        } catch {
            await broker.stop()
            throw error
        }
        await broker.stop()
        print("dashboard screenshot (refused): \(screenshot)")
    }

    private func showRefusal(broker: MosquittoProcess, screenshot: String, driverLog: String) async throws {
        try await BridgeHarness.with(
            configure: { $0.staticFiles = .init(enabled: true, directory: repositoryRoot + "/Dashboard") }, broker: broker
        ) { bridge in
            let url = "https://127.0.0.1:\(bridge.wssPort)/?connect=1&clientId=dashboard-refused"
            let driver = try ChildProcess.spawn(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", repositoryRoot + "/Tests/Browser/dashboard_driver.py", "--url", url,
                    "--expect-error", "connection refused by the broker", "--screenshot", screenshot,
                ],
                outputPath: driverLog)
            let output = DriverOutput(path: driverLog, process: driver)
            do {
                let error = try await output.waitForLine("ERROR ", timeout: .seconds(90))
                #expect(error == "ERROR connection refused by the broker: not authorized (CONNACK return code 5)")
                #expect(try await output.waitForLine("STATE ", timeout: .seconds(10)) == "STATE disconnected")
                #expect(await driver.waitForExit(timeout: .seconds(60)) == 0, "driver output:\n\(output.text)")
            } catch {
                await driver.stop()
                Issue.record("\(error)\ndriver output:\n\(output.text)")
            }
        }
    }

    /// One `#messages` entry as the driver reads it from the DOM.
    struct ShownMessage: Decodable, Equatable {
        var topic: String
        var qos: Int
        var retained: Bool
        var hex: Bool
        var payload: String
    }
}

/// The driver's output file, read as it grows (the dashboard and operations page drivers).
struct DriverOutput {
    let path: String
    let process: ChildProcess

    var text: String { (try? String(contentsOfFile: self.path, encoding: .utf8)) ?? "<no output>" }

    /// The first line starting with `prefix`; fails at once if the driver reports FAILED or exits.
    @discardableResult
    func waitForLine(_ prefix: String, timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lines = self.text.split(separator: "\n").map(String.init)
            if let line = lines.first(where: { $0.hasPrefix(prefix) }) { return line }
            if let failure = lines.first(where: { $0.hasPrefix("FAILED") }) { throw TestSupportError("driver: \(failure)") }
            if !self.process.isRunning {
                throw TestSupportError("the driver exited (status \(self.process.exitCode ?? -1)) before '\(prefix)'")
            }
            guard ContinuousClock.now < deadline else { throw TestSupportError("no '\(prefix)' from the driver within \(timeout)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// One HTTP/1.1 request on its own connection (the bridge closes after every non-101 answer).
enum RawHTTP {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        func value(_ name: String) -> String? {
            self.headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    static func send(_ request: String, port: Int, tls: Bool = false) async throws -> Response {
        let client = try await TestTCPClient.connect(host: "127.0.0.1", port: port, tls: tls ? TestTLS() : nil, timeout: .seconds(15))
        try await client.send(Array(request.utf8))
        // Generous: a passing test does not wait, and a machine busy compiling can stall the loop for seconds.
        try await client.expectClosed(timeout: .seconds(15))
        let bytes = try await client.receiveAvailable()
        guard let end = bytes.firstRange(of: Array("\r\n\r\n".utf8)) else {
            throw TestSupportError("no response head in \(bytes.count) bytes")
        }
        let lines = String(decoding: bytes[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw TestSupportError("bad status line: \(lines[0])") }
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Response(status: status, headers: headers, body: Array(bytes[end.upperBound...]))
    }
}

/// A directory to serve, with a secret next to it and every kind of entry that must not be served.
private final class SiteFixture {
    let root: String
    var directory: String { self.root + "/site" }

    init() throws {
        self.root = FileManager.default.temporaryDirectory.path + "/static-files-" + UUID().uuidString
        let files = FileManager.default
        for directory in ["/site/sub", "/outside"] {
            try files.createDirectory(atPath: self.root + directory, withIntermediateDirectories: true)
        }
        try "<!doctype html><title>t</title>".write(toFile: self.root + "/site/index.html", atomically: true, encoding: .utf8)
        try "sub index".write(toFile: self.root + "/site/sub/index.html", atomically: true, encoding: .utf8)
        try "sub page".write(toFile: self.root + "/site/sub/page.html", atomically: true, encoding: .utf8)
        try "accented name".write(toFile: self.root + "/site/café.txt", atomically: true, encoding: .utf8)
        try "SECRET dot file".write(toFile: self.root + "/site/.hidden", atomically: true, encoding: .utf8)
        try "SECRET=1".write(toFile: self.root + "/site/sub/.env", atomically: true, encoding: .utf8)
        try "SECRET outside".write(toFile: self.root + "/outside/secret.txt", atomically: true, encoding: .utf8)
        try String(repeating: "x", count: 2048).write(toFile: self.root + "/site/big.txt", atomically: true, encoding: .utf8)
        try files.createSymbolicLink(atPath: self.root + "/site/link-inside", withDestinationPath: "index.html")
        try files.createSymbolicLink(atPath: self.root + "/site/link-outside", withDestinationPath: "../outside/secret.txt")
        try files.createSymbolicLink(atPath: self.root + "/site/link-to-dir", withDestinationPath: self.root + "/outside")
        guard mkfifo(self.root + "/site/fifo", 0o644) == 0 else { throw TestSupportError("mkfifo failed: \(errno)") }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: self.root)
    }
}
