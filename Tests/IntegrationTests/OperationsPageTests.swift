import BridgeTestSupport
import Foundation
import Testing

/// The operations page in a real browser: headless Chromium driven by Tests/Browser/operations_driver.py (which reuses
/// the dashboard driver's DevTools code), against a real bridge and Mosquitto. SKIP_BROWSER_TESTS=1 skips it.
@Suite("Operations page in headless Chromium", .timeLimit(.minutes(3)))
struct OperationsPageTests {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static let token = "ops-page-token-0123456789"

    @Test(
        "the page signs in with the token, shows the three sessions, live counts that grow on publish, and kicks a session",
        .enabled(if: !DashboardBrowserTests.skipped, "SKIP_BROWSER_TESTS=1"))
    func operatorView() async throws {
        let artifacts = Self.root + "/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts + "/operations.png"
        let driverLog = artifacts + "/operations-driver.log"
        try? FileManager.default.removeItem(atPath: screenshot)
        try? FileManager.default.removeItem(atPath: driverLog)

        try await BridgeHarness.with(configure: { $0.admin.token = Self.token }, admin: true) { bridge in
            let publisher = try await bridge.connectMQTT(clientID: "ops-311")
            let kicked = try await bridge.connectMQTT(clientID: "ops-5", version: .v5)
            let browser = try await bridge.connectMQTT(path: "/mqtt", subprotocols: ["mqtt"], clientID: "ops-browser", tls: false)
            // Served by the admin listener only: the public listener knows no /ops.
            let (publicAnswer, _) = try await bridge.connect(path: "/ops", subprotocols: nil, tls: false)
            #expect(publicAnswer.status == 404)

            let driver = try ChildProcess.spawn(
                executable: "/usr/bin/env",
                arguments: [
                    "python3", Self.root + "/Tests/Browser/operations_driver.py", "--url", "http://127.0.0.1:\(bridge.adminPort)/ops",
                    "--token", Self.token, "--sessions", "3", "--kick", "ops-5", "--screenshot", screenshot,
                    "--after-screenshot", artifacts + "/operations-after-kick.png",
                ],
                outputPath: driverLog)
            let output = DriverOutput(path: driverLog, process: driver)
            do {
                let rows = try await output.waitForLine("SESSIONS ", timeout: .seconds(90))
                let shown = try JSONDecoder().decode([String].self, from: Data(rows.dropFirst("SESSIONS ".count).utf8))
                #expect(Set(shown) == ["ops-311", "ops-5", "ops-browser"])

                try await output.waitForLine("COUNT ", timeout: .seconds(60))
                try await publisher.sendBinary(MQTTTestPackets.publish("ops/test", payload: Array("counted".utf8)))
                try await output.waitForLine("COUNTED ", timeout: .seconds(60))

                #expect(try await output.waitForLine("KICKED ", timeout: .seconds(60)) == "KICKED ops-5")
                #expect(try await kicked.receiveBinaryMessage() == [0xE0, 0x02, 0x98, 0x00], "DISCONNECT 0x98")
                #expect(try await kicked.expectClose().code == 1008)
                #expect(await driver.waitForExit(timeout: .seconds(60)) == 0, "driver output:\n\(output.text)")
            } catch {
                await driver.stop()
                Issue.record("\(error)\ndriver output:\n\(output.text)")
            }
            await publisher.closeTCP()
            await browser.closeTCP()
        }

        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "a PNG file")
        print("operations page screenshot: \(screenshot)")
    }
}
