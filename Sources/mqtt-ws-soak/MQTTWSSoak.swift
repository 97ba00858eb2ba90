import ArgumentParser
import Foundation

/// `mqtt-ws-soak`: the client side of Benchmarks/soak (docs/RELIABILITY.md, "Soak and faults").
/// Exit status: 0 the run met its promise, 1 it did not (loss, duplication at QoS 2, timeout), 2 bad options.
@main
struct MQTTWSSoak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt-ws-soak",
        abstract: "Soak and fault clients for mqtt-ws-bridge (driven by Benchmarks/soak).",
        subcommands: [Persistent.self]
    )
}

struct Persistent: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Numbered QoS 2 messages to a QoS 2 and a QoS 1 persistent subscriber; counts lost and duplicated.",
        discussion: """
            The caller injects the faults (restarts the bridge or the broker) while this runs; SIGUSR1 cuts the
            subscribers' connections. Prints one JSON line; exit 1 if QoS 2 lost or duplicated anything, QoS 1 lost
            anything, or the run timed out.
            """
    )

    @Option(help: "Where the subscribers connect (ws://, wss:// or mqtt://).") var url: String
    @Option(help: "Where the publisher connects (default: --url).") var publisherURL: String?
    @Option(help: "CA certificate for wss.") var caFile: String?
    @Option(help: "TLS server name (SNI and verification).") var serverName: String = "localhost"
    @Option(help: "Messages to publish.") var count: Int = 50_000
    @Option(help: "Messages per second.") var rate: Double = 500
    // At most 20: Mosquitto (2.0.11, max_inflight_messages 20) answers an MQTT 3.1.1 QoS 2 PUBLISH beyond that with
    // an ordinary PUBREC and drops the message (3.1.1 has no reason code to say "quota exceeded").
    @Option(help: "QoS 2 messages in flight at most (keep it within the broker's max_inflight_messages).")
    var window: Int = 10
    @Option(help: "Payload bytes (at least 8: the sequence number).") var payload: Int = 64
    @Option(help: "Give up after this many seconds.") var timeout: Int = 600
    @Option(help: "Seconds to keep listening for duplicates once everything arrived.") var settle: Int = 2
    @Option(help: "File to write the number published so far into (for the fault schedule).") var progressFile: String?

    func validate() throws {
        guard self.count > 0, self.rate > 0, self.window > 0, self.window < 60_000, self.timeout > 0 else {
            throw ValidationError("--count, --rate, --timeout must be positive and --window within 1..<60000")
        }
    }

    func run() throws {
        let soak = PersistentSoak(
            settings: .init(
                subscriberURL: self.url, publisherURL: self.publisherURL ?? self.url, caFile: self.caFile,
                serverName: self.serverName, count: self.count, rate: self.rate, window: self.window,
                payloadSize: self.payload, timeout: .seconds(self.timeout), settle: .seconds(self.settle),
                progressFile: self.progressFile))
        let report: PersistentSoak.Report
        do {
            report = try soak.run()
        } catch {
            FileHandle.standardError.write(Data("mqtt-ws-soak: \(error)\n".utf8))
            throw ExitCode(2)
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = .sortedKeys
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
        if !report.ok {
            throw ExitCode(1)
        }
    }
}
