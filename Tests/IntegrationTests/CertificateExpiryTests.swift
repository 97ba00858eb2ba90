import BridgeConfig
import BridgeLogging
import BridgeServer
import BridgeTestSupport
import Foundation
import Logging
import Testing

/// Certificate expiry is visible before clients see it: a gauge per pair and a warning in the last 14 days.
@Suite("Certificate expiry metric and warning")
struct CertificateExpiryTests {
    static let label = "mqtt_ws_bridge_certificate_expiry_timestamp_seconds"

    @Test("the gauge holds each pair's expiry and follows reloads")
    func expiryGauge() async throws {
        let files = try CertificateFixture()
        let first = try files.issue("first", notValidAfter: Date().addingTimeInterval(200 * 86_400))
        let second = try files.issue("second", notValidAfter: Date().addingTimeInterval(300 * 86_400))
        let alpha = try files.issue("alpha", names: ["alpha.test"], notValidAfter: Date().addingTimeInterval(100 * 86_400))
        try files.install(first)
        var configuration = BridgeConfiguration()
        configuration.listeners = [ListenerConfiguration(name: "wss", address: "127.0.0.1", port: 0)]
        files.useLiveFiles(
            in: &configuration,
            sni: [
                SNICertificateConfiguration(
                    name: "alpha", serverNames: ["alpha.test"], certificatePath: alpha.certificate, keyPath: alpha.key)
            ])

        let metrics = RecordingMetricsFactory()
        let logger = Logger(label: "mqtt_ws_bridge") {
            StructuredLogHandler(label: $0, level: .info, format: .text, sink: LogSink(collecting: true))
        }
        let server = try BridgeServer(configuration: configuration, logger: logger, metricsFactory: metrics)
        #expect(metrics.value(Self.label, [("listener", "wss"), ("name", "default")]) == first.notValidAfter)
        #expect(metrics.value(Self.label, [("listener", "wss"), ("name", "alpha")]) == alpha.notValidAfter)
        #expect(server.certificates.map(\.notValidAfter.timeIntervalSince1970) == [first.notValidAfter, alpha.notValidAfter])

        try files.install(second)
        await server.reloadCertificates()
        #expect(metrics.value(Self.label, [("listener", "wss"), ("name", "default")]) == second.notValidAfter)

        // A refused pair leaves the gauge on the pair in use.
        try files.install(certificate: first.certificate)
        #expect(await !server.reloadCertificates().isSuccess)
        #expect(metrics.value(Self.label, [("listener", "wss"), ("name", "default")]) == second.notValidAfter)
    }

    @Test("a certificate with less than 14 days left is logged as a warning, one with more is not")
    func expiryWarning() async throws {
        let files = try CertificateFixture()
        let soon = try files.issue("soon", notValidAfter: Date().addingTimeInterval(3 * 86_400 + 3_600))
        let later = try files.issue("later", notValidAfter: Date().addingTimeInterval(60 * 86_400))
        try files.install(later)
        var configuration = BridgeConfiguration()
        configuration.listeners = [ListenerConfiguration(name: "wss", address: "127.0.0.1", port: 0)]
        files.useLiveFiles(in: &configuration)

        let logs = LogSink(collecting: true)
        let logger = Logger(label: "mqtt_ws_bridge") { StructuredLogHandler(label: $0, level: .debug, format: .text, sink: logs) }
        let server = try BridgeServer(configuration: configuration, logger: logger, metricsFactory: RecordingMetricsFactory())
        #expect(!logs.collected.contains { $0.contains("expires soon") })

        try files.install(soon)
        await server.reloadCertificates()
        let warning = try #require(logs.collected.first { $0.contains("certificate expires soon") })
        #expect(warning.contains("warning"), "\(warning)")
        #expect(warning.contains("days_left=3"), "\(warning)")
        #expect(warning.contains("serial=\(soon.serial)"), "\(warning)")
    }
}
