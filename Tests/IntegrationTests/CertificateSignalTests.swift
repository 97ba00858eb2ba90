import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// `kill -HUP` on the real binary, as an operator does after a renewal.
@Suite("Certificate reload on SIGHUP (executable)", .timeLimit(.minutes(2)))
struct CertificateSignalTests {
    @Test("SIGHUP swaps the certificate for new clients, keeps the open session, refuses a bad pair, and the process keeps running")
    func sighupReloads() async throws {
        let files = try CertificateFixture()
        let first = try files.issue("first")
        let second = try files.issue("second")
        let third = try files.issue("third")
        try files.install(first)

        let broker = try await MosquittoProcess.start()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("bridge-hup-\(UUID().uuidString).txt").path
        let configuration = try ExecutableTests.writeConfig(brokerPort: broker.port)
        let process = try ChildProcess.spawn(
            executable: try ExecutableTests.binary,
            arguments: [
                "--config", configuration,
                "--set", "listeners.wss.tls.certificate=\(files.liveCertificate)", "--set", "listeners.wss.tls.key=\(files.liveKey)",
            ],
            environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MQTT_WS_BRIDGE_") }, outputPath: output)
        func log() -> String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }
        do {
            let port = try await ExecutableTests.waitForListeningPort(in: output, listener: "wss", process: process)
            let session = try await CertificateProbe.session(port: port, tls: files.tls(), clientID: "hup")
            #expect(session.peerCertificateSerial == first.serial)

            try files.install(second)
            process.send(SIGHUP)
            try await CertificateReloadTests.waitUntil("SIGHUP is handled") { log().contains("certificate reload finished") }
            #expect(log().contains("SIGHUP: reloading certificates"))
            #expect(log().contains("previous_serial=\(first.serial)"))
            #expect(try await CertificateProbe.servedSerial(port: port, tls: files.tls()) == second.serial)
            #expect(try await CertificateProbe.ping(session))
            #expect(process.isRunning)

            // A new certificate without its key: refused, logged, the second pair stays.
            try files.install(certificate: third.certificate)
            process.send(SIGHUP)
            try await CertificateReloadTests.waitUntil("the refusal is logged") { log().contains("certificate refused") }
            #expect(log().contains("file=\(files.liveKey)"))
            #expect(try await CertificateProbe.servedSerial(port: port, tls: files.tls()) == second.serial)
            #expect(try await CertificateProbe.ping(session))

            process.send(SIGTERM)
            #expect(try await session.expectClose().code == 1001)
            #expect(await process.waitForExit(timeout: .seconds(10)) == 0)
        } catch {
            Issue.record("bridge output:\n\(log())")
            await process.stop()
            await broker.stop()
            throw error
        }
        await process.stop()
        await broker.stop()
    }
}
