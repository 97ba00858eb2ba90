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
        let arguments = [
            "--config", try ExecutableTests.writeConfig(brokerPort: broker.port),
            "--set", "listeners.wss.tls.certificate=\(files.liveCertificate)", "--set", "listeners.wss.tls.key=\(files.liveKey)",
        ]
        try await BridgeProcess.with(arguments: arguments, broker: broker) { bridge in
            let session = try await CertificateProbe.session(port: bridge.port, tls: files.tls(), clientID: "hup")
            #expect(session.peerCertificateSerial == first.serial)

            try files.install(second)
            bridge.process.send(SIGHUP)
            try await CertificateReloadTests.waitUntil("SIGHUP is handled") { bridge.log.contains("certificate reload finished") }
            #expect(bridge.log.contains("SIGHUP: reloading certificates"))
            #expect(bridge.log.contains("previous_serial=\(first.serial)"))
            #expect(try await CertificateProbe.servedSerial(port: bridge.port, tls: files.tls()) == second.serial)
            #expect(try await CertificateProbe.ping(session))
            #expect(bridge.process.isRunning)

            // A new certificate without its key: refused, logged, the second pair stays.
            try files.install(certificate: third.certificate)
            bridge.process.send(SIGHUP)
            try await CertificateReloadTests.waitUntil("the refusal is logged") { bridge.log.contains("certificate refused") }
            #expect(bridge.log.contains("file=\(files.liveKey)"))
            #expect(try await CertificateProbe.servedSerial(port: bridge.port, tls: files.tls()) == second.serial)
            #expect(try await CertificateProbe.ping(session))

            bridge.process.send(SIGTERM)
            #expect(try await session.expectClose().code == 1001)
            #expect(await bridge.process.waitForExit(timeout: .seconds(10)) == 0)
        }
    }
}
