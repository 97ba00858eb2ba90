import BridgeConfig
import BridgeServer
import BridgeTLS
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// Certificates change without a restart: new handshakes get the new pair, open sessions keep relaying, and a bad
/// pair is refused with a log line that names the file and the reason while the old one stays in service.
@Suite("Certificate reload", .timeLimit(.minutes(2)))
struct CertificateReloadTests {
    @Test("after a reload a live session still relays and a new client sees the new certificate")
    func reloadWithLiveSession() async throws {
        let files = try CertificateFixture()
        let first = try files.issue("first")
        let second = try files.issue("second")
        try files.install(first)

        try await BridgeHarness.with(configure: { files.useLiveFiles(in: &$0) }) { bridge in
            let old = try await CertificateProbe.session(port: bridge.wssPort, tls: files.tls(), clientID: "before-reload")
            #expect(old.peerCertificateSerial == first.serial)
            try await old.sendBinary(MQTTTestPackets.subscribe("reload/test"))
            #expect(MQTTTestPackets.type(of: try await old.receiveBinaryMessage()) == .suback)

            try files.install(second)
            let report = await bridge.server.reloadCertificates()
            #expect(report.outcome(listener: "wss") == .loaded(serial: second.serial, previousSerial: first.serial), "\(report)")
            #expect(report.isSuccess)
            #expect(bridge.server.certificates.map(\.serial) == [second.serial])

            // The session opened before the reload relays in both directions.
            #expect(try await CertificateProbe.ping(old))
            let new = try await CertificateProbe.session(port: bridge.wssPort, tls: files.tls(), clientID: "after-reload")
            #expect(new.peerCertificateSerial == second.serial)
            try await new.sendBinary(MQTTTestPackets.publish("reload/test", payload: Array("across".utf8)))
            let delivered = try MQTTTestPackets.decodePublish(try await old.receiveBinaryMessage())
            #expect(delivered.info.topic == "reload/test")
            #expect(Array(delivered.payload.readableBytesView) == Array("across".utf8))
            #expect(try await CertificateProbe.ping(new))

            // Same files again: checked, nothing swapped.
            #expect(await bridge.server.reloadCertificates().outcome(listener: "wss") == .unchanged(serial: second.serial))
            #expect(
                bridge.logs.collected.contains {
                    $0.contains("certificate reloaded") && $0.contains("serial=\(second.serial)")
                        && $0.contains("previous_serial=\(first.serial)")
                })

            try await old.close()
            try await new.close()
        }
    }

    @Test("a key that does not match the certificate is refused; the old pair stays until a good pair arrives")
    func mismatchedKeyRefused() async throws {
        let files = try CertificateFixture()
        let first = try files.issue("first")
        let second = try files.issue("second")
        try files.install(first)

        try await BridgeHarness.with(configure: { files.useLiveFiles(in: &$0) }) { bridge in
            let session = try await CertificateProbe.session(port: bridge.wssPort, tls: files.tls(), clientID: "mismatch")

            // A renewal that copied the new certificate but not its key yet.
            try files.install(certificate: second.certificate)
            let report = await bridge.server.reloadCertificates()
            guard case .refused(let reason, let kept) = report.outcome(listener: "wss") else {
                Issue.record("expected a refusal, got \(report)")
                return
            }
            #expect(kept == first.serial)
            #expect(reason.contains("listeners.wss.tls.key"), "\(reason)")
            #expect(reason.contains("does not match the certificate"), "\(reason)")
            #expect(!report.isSuccess)

            let line = try #require(bridge.logs.collected.first { $0.contains("certificate refused") })
            #expect(line.contains("file=\(files.liveKey)"), "\(line)")
            #expect(line.contains("does not match the certificate in '\(files.liveCertificate)'"), "\(line)")
            #expect(line.contains("serial_in_use=\(first.serial)"), "\(line)")

            #expect(try await CertificateProbe.servedSerial(port: bridge.wssPort, tls: files.tls()) == first.serial)
            #expect(try await CertificateProbe.ping(session))

            // The key arrives: the next reload takes the pair.
            try files.install(key: second.key)
            #expect(
                await bridge.server.reloadCertificates().outcome(listener: "wss")
                    == .loaded(serial: second.serial, previousSerial: first.serial))
            #expect(try await CertificateProbe.servedSerial(port: bridge.wssPort, tls: files.tls()) == second.serial)
            #expect(try await CertificateProbe.ping(session))
            try await session.close()
        }
    }

    @Test("expired, not yet valid and unreadable files are refused and the old certificate keeps being served")
    func invalidPairsRefused() async throws {
        let files = try CertificateFixture()
        let good = try files.issue("good")
        let expired = try files.issue(
            "expired", notValidBefore: Date().addingTimeInterval(-30 * 86_400), notValidAfter: Date().addingTimeInterval(-86_400))
        let future = try files.issue(
            "future", notValidBefore: Date().addingTimeInterval(86_400), notValidAfter: Date().addingTimeInterval(60 * 86_400))
        try files.install(good)

        try await BridgeHarness.with(configure: { files.useLiveFiles(in: &$0) }) { bridge in
            let cases: [(label: String, install: () throws -> Void, expected: String)] = [
                ("expired", { try files.install(expired) }, "expired on"),
                ("not yet valid", { try files.install(future) }, "is not valid yet (valid from"),
                (
                    "not PEM", { try "garbage".write(toFile: files.liveCertificate, atomically: true, encoding: .utf8) },
                    "is not a readable PEM certificate"
                ),
                ("missing key", { try FileManager.default.removeItem(atPath: files.liveKey) }, "No such file or directory"),
            ]
            for (label, install, expected) in cases {
                try install()
                let report = await bridge.server.reloadCertificates()
                guard case .refused(let reason, let kept) = report.outcome(listener: "wss") else {
                    Issue.record("\(label): expected a refusal, got \(report)")
                    continue
                }
                #expect(reason.contains(expected), "\(label): \(reason)")
                #expect(kept == good.serial, "\(label)")
                #expect(bridge.logs.collected.contains { $0.contains("certificate refused") && $0.contains(expected) }, "\(label)")
                #expect(try await CertificateProbe.servedSerial(port: bridge.wssPort, tls: files.tls()) == good.serial, "\(label)")
            }
        }
    }

    @Test("with reload_interval the bridge picks up changed files by itself and refuses a bad pair once")
    func timedReload() async throws {
        let files = try CertificateFixture()
        let first = try files.issue("first")
        let second = try files.issue("second")
        let third = try files.issue("third")
        try files.install(first)

        try await BridgeHarness.with(configure: { files.useLiveFiles(in: &$0, reloadInterval: .seconds(1)) }) { bridge in
            try files.install(second)
            try await Self.waitUntil("the timer loads the second certificate") { bridge.server.certificates.first?.serial == second.serial }
            #expect(try await CertificateProbe.servedSerial(port: bridge.wssPort, tls: files.tls()) == second.serial)

            // Half a renewal: refused (and logged) by the timer, then taken once the key arrives.
            try files.install(certificate: third.certificate)
            try await Self.waitUntil("the refusal is logged") {
                bridge.logs.collected.contains { $0.contains("certificate refused") && $0.contains("trigger=timer") }
            }
            #expect(bridge.server.certificates.first?.serial == second.serial)
            try files.install(key: third.key)
            try await Self.waitUntil("the timer loads the third certificate") { bridge.server.certificates.first?.serial == third.serial }
            let refusals = bridge.logs.collected.filter { $0.contains("certificate refused") }
            #expect(refusals.count == 1, "the same refused files are logged once, not at every check: \(refusals)")
        }
    }

    @Test("at start-up a bad pair is an error naming the key, the file and the reason")
    func startupRefusal() async throws {
        let files = try CertificateFixture()
        let first = try files.issue("first")
        let second = try files.issue("second")
        let expired = try files.issue(
            "expired", notValidBefore: Date().addingTimeInterval(-30 * 86_400), notValidAfter: Date().addingTimeInterval(-60))

        var configuration = BridgeConfiguration()
        configuration.listeners = [ListenerConfiguration(name: "wss", address: "127.0.0.1", port: 0)]
        files.useLiveFiles(in: &configuration)

        try files.install(certificate: first.certificate, key: second.key)
        let mismatch = #expect(throws: StartupError.self) { try BridgeServer.validate(configuration) }
        #expect(
            mismatch?.description
                == "listeners.wss.tls.key: the private key in '\(files.liveKey)' does not match the certificate in '\(files.liveCertificate)'"
        )

        try files.install(expired)
        let old = #expect(throws: StartupError.self) { try BridgeServer(configuration: configuration) }
        #expect(
            old?.description.hasPrefix("listeners.wss.tls.certificate: the certificate in '\(files.liveCertificate)' expired on ") == true,
            "\(String(describing: old))")

        try files.install(first)
        try BridgeServer.validate(configuration)
    }

    static func waitUntil(_ what: String, timeout: Duration = .seconds(10), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestSupportError("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
