import ArgumentParser
import BenchCore
import Foundation

/// `mqtt-ws-bench`: load generator for MQTT over WebSocket (and plain MQTT, for comparison).
/// Exit codes: 0 run without errors, 1 the run had errors (failed connections, protocol errors, QoS 1 loss),
/// 2 invalid options or configuration.
@main
struct MQTTWSBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt-ws-bench",
        abstract: "Load generator for MQTT over WebSocket (ws://, wss://) and MQTT over TCP (mqtt://).",
        discussion: """
            Scenarios:
              throughput  P publishers → S subscribers on T topics, QoS 0/1, as fast as possible (or --rate)
              latency     the same at a moderate fixed rate (default 5000 msg/s in total): end-to-end percentiles
              connect     C connections, K at a time, TCP (+TLS) + upgrade + CONNECT/CONNACK: connections/s
              hold        C idle connections held for --hold: watch the server's memory (--watch)
              storm       C idle sessions, all cut at once (TCP reset), all reconnecting at once or over --jitter,
                          retrying refusals: time until 99% and all are back, handshake times, refusals by kind

            Examples:
              mqtt-ws-bench throughput wss://mqtt.example.com/mqtt -P 10 -S 10 --duration 30s
              mqtt-ws-bench latency wss://localhost:8443/wss --no-subprotocol --ca-file ca.crt
              mqtt-ws-bench connect wss://localhost:8443/wss --insecure -C 5000 -K 50
              mqtt-ws-bench hold ws://127.0.0.1:8080/mqtt -C 20000 --source-ips 127.0.0.1-127.0.0.10 --watch bridge=1234
              mqtt-ws-bench storm wss://localhost:8443/wss --insecure -C 9000 --source-ips 127.0.0.1-127.0.0.20 --jitter 5s

            Exit status: 0 no errors, 1 the run had errors (failed connections, protocol errors, QoS 1 loss), 2 bad options.
            """,
        version: "0.1.0"
    )

    @OptionGroup var options: BenchOptions

    func run() async throws {
        let configuration: BenchConfiguration
        do {
            configuration = try self.options.makeConfiguration()
        } catch {
            printError("mqtt-ws-bench: \(error)")
            throw ExitCode(2)
        }
        let quiet = self.options.quiet
        let report: BenchReport
        do {
            report = try await BenchRunner.run(configuration) { line in
                if !quiet { printError("mqtt-ws-bench: \(line)") }
            }
        } catch {
            printError("mqtt-ws-bench: \(error)")
            throw ExitCode(2)
        }
        if self.options.json {
            print(report.jsonLine())
            printError(report.humanSummary())
        } else {
            print(report.humanSummary())
        }
        if !report.ok {
            printError("mqtt-ws-bench: the run had errors: \(report.problems.joined(separator: "; "))")
            throw ExitCode(1)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
