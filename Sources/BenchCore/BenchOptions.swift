import ArgumentParser
import Foundation
import MQTTWire

/// The command line of `mqtt-ws-bench`, turned into a `BenchConfiguration` by `makeConfiguration()`.
///
/// Values are read as text and parsed by `BenchValueParsing`, so that `10s`, `500ms`, `1MiB`, `5k` work and
/// errors name the option.
package struct BenchOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("throughput, latency, connect, hold or storm.", valueName: "scenario"))
    package var scenario: String

    @Argument(help: ArgumentHelp("mqtt://host[:port], ws://host[:port]/path or wss://host[:port]/path.", valueName: "url"))
    package var url: String

    // Transport.
    @Option(name: .customLong("ca-file"), help: ArgumentHelp("wss: PEM file with the CA certificates to trust.", valueName: "path"))
    package var caFile: String?

    @Flag(help: "wss: do not verify the server certificate.")
    package var insecure = false

    @Option(help: ArgumentHelp("wss: server name for SNI and certificate checks (default: the URL's host).", valueName: "name"))
    package var sni: String?

    @Option(help: ArgumentHelp("ws/wss: the Sec-WebSocket-Protocol to offer.", valueName: "token"))
    package var subprotocol: String = "mqtt"

    @Flag(name: .customLong("no-subprotocol"), help: "ws/wss: offer no Sec-WebSocket-Protocol (what WeChat's wx.connectSocket does).")
    package var noSubprotocol = false

    @Option(name: .customLong("mqtt-version"), help: ArgumentHelp("3.1.1 or 5.", valueName: "version"))
    package var mqttVersion: String = "3.1.1"

    @Option(help: "MQTT user name.")
    package var username: String?

    @Option(help: "MQTT password.")
    package var password: String?

    // Load shape.
    @Option(help: ArgumentHelp("Event-loop threads (default: one per core).", valueName: "n"))
    package var threads: Int?

    @Option(name: [.customShort("P"), .long], help: ArgumentHelp("throughput/latency: publishers.", valueName: "n"))
    package var publishers: Int = 10

    @Option(name: [.customShort("S"), .long], help: ArgumentHelp("throughput/latency: subscribers.", valueName: "n"))
    package var subscribers: Int = 10

    @Option(
        name: [.customShort("T"), .long],
        help: ArgumentHelp("throughput/latency: topics; publisher/subscriber i uses topic i % T.", valueName: "n"))
    package var topics: Int = 10

    @Option(help: ArgumentHelp("throughput/latency: 0 or 1.", valueName: "qos"))
    package var qos: Int = 0

    @Option(
        help: ArgumentHelp(
            "throughput/latency: payload size (e.g. 64, 16KiB, 1MiB); from 24 B on it carries a timestamp.", valueName: "size"))
    package var payload: String = "64"

    @Option(help: ArgumentHelp("throughput/latency: traffic before the measurement (e.g. 2s).", valueName: "duration"))
    package var warmup: String = "2s"

    @Option(help: ArgumentHelp("throughput/latency: measurement window (e.g. 10s).", valueName: "duration"))
    package var duration: String = "10s"

    @Option(help: ArgumentHelp("Total msg/s over all publishers, or unlimited (default: unlimited; latency: 5000).", valueName: "rate"))
    package var rate: String?

    @Option(help: ArgumentHelp("QoS 1: unacknowledged PUBLISHes per publisher.", valueName: "n"))
    package var inflight: Int = 64

    @Option(
        name: .customLong("max-outstanding"),
        help: ArgumentHelp(
            "throughput/latency: publishers pause while more than n deliveries are outstanding (default: no limit).", valueName: "n"))
    package var maxOutstanding: Int?

    @Flag(
        name: .customLong("closed-loop"),
        help: "throughput/latency: send the next message only after every subscriber got the previous one (implies --threads 1).")
    package var closedLoop = false

    @Option(
        name: [.customShort("C"), .long],
        help: ArgumentHelp("connect: connections to make; hold: connections to hold; storm: sessions to cut and reconnect.", valueName: "n")
    )
    package var connections: Int = 1000

    @Option(
        name: [.customShort("K"), .long],
        help: ArgumentHelp(
            "connect/hold/storm: handshakes in progress at once (default: connect 20, hold and storm's first ramp 100).", valueName: "n"))
    package var concurrency: Int?

    @Option(help: ArgumentHelp("hold: how long to hold the connections once all are up.", valueName: "duration"))
    package var hold: String = "10s"

    @Option(help: ArgumentHelp("storm: spread the reconnects randomly over this window (default 0: all at once).", valueName: "duration"))
    package var jitter: String = "0s"

    @Option(
        name: .customLong("retry-delay"),
        help: ArgumentHelp("storm: retry a refused reconnect after this delay (randomised 0.5-1.5×).", valueName: "duration"))
    package var retryDelay: String = "1s"

    @Option(
        name: .customLong("reconnect-timeout"),
        help: ArgumentHelp("storm: give up on sessions not back this long after the cut.", valueName: "duration"))
    package var reconnectTimeout: String = "120s"

    @Option(
        name: .customLong("reconnect-source-ips"),
        help: ArgumentHelp("storm: reconnect from these addresses instead (e.g. 127.0.0.1: a carrier NAT).", valueName: "list"))
    package var reconnectSourceIPs: String?

    @Option(
        name: .customLong("source-ips"),
        help: ArgumentHelp("Bind connections to these local addresses in turn, e.g. 127.0.0.1-127.0.0.20.", valueName: "list"))
    package var sourceIPs: String?

    @Option(
        name: .customLong("keep-alive"),
        help: ArgumentHelp("MQTT keep-alive in seconds (idle connections ping at this interval).", valueName: "seconds"))
    package var keepAlive: Int = 60

    @Option(name: .customLong("connect-timeout"), help: ArgumentHelp("Per connection, until CONNACK (and SUBACK).", valueName: "duration"))
    package var connectTimeout: String = "10s"

    @Option(
        name: .customLong("drain-timeout"),
        help: ArgumentHelp("After publishing stops, how long to wait for the last messages.", valueName: "duration"))
    package var drainTimeout: String = "5s"

    @Option(
        name: .customLong("topic-prefix"),
        help: ArgumentHelp("Topics are <prefix>/<i> (default: mqtt-ws-bench/<run id>).", valueName: "prefix"))
    package var topicPrefix: String?

    @Option(
        name: .customLong("client-id-prefix"),
        help: ArgumentHelp("Client ids are <prefix>-p<i>, -s<i>, -c<i> (default: bench-<run id>).", valueName: "prefix"))
    package var clientIDPrefix: String?

    @Option(
        name: .customLong("batch-bytes"),
        help: ArgumentHelp("Largest write batch of a publisher (many PUBLISHes, one flush).", valueName: "size"))
    package var batchBytes: String = "64KiB"

    @Option(name: .customLong("max-failures"), help: ArgumentHelp("Stop opening connections after this many failed.", valueName: "n"))
    package var maxFailures: Int = 100

    // Measurement.
    @Option(help: ArgumentHelp("Sample a process's CPU and RSS (Linux): label=PID[,PID…]; repeatable.", valueName: "label=pids"))
    package var watch: [String] = []

    @Option(name: .customLong("ready-file"), help: ArgumentHelp("hold: create this file once all connections are up.", valueName: "path"))
    package var readyFile: String?

    @Flag(help: "Print the report as one JSON object on stdout (the summary goes to stderr).")
    package var json = false

    @Flag(name: .shortAndLong, help: "No progress lines.")
    package var quiet = false

    package init() {}

    /// Validates and converts the options.
    package func makeConfiguration() throws(BenchUsageError) -> BenchConfiguration {
        guard let scenario = BenchScenario(rawValue: self.scenario.lowercased()) else {
            throw BenchUsageError("unknown scenario \"\(self.scenario)\" (throughput, latency, connect, hold, storm)")
        }
        let target = try BenchTarget(parsing: self.url)
        var configuration = BenchConfiguration(scenario: scenario, target: target)
        configuration.tls = BenchConfiguration.TLS(caFile: self.caFile, insecure: self.insecure, serverName: self.sni)
        configuration.subprotocol = self.noSubprotocol || target.transport == .mqtt ? nil : self.subprotocol
        switch self.mqttVersion {
        case "3.1.1", "4": configuration.mqttVersion = .v3_1_1
        case "5", "5.0": configuration.mqttVersion = .v5
        case "3.1", "3": configuration.mqttVersion = .v3_1
        default: throw BenchUsageError("--mqtt-version must be 3.1, 3.1.1 or 5, got \"\(self.mqttVersion)\"")
        }
        configuration.username = self.username
        configuration.password = self.password
        configuration.closedLoop = self.closedLoop
        configuration.maxOutstanding = self.maxOutstanding
        if let threads = self.threads {
            configuration.threads = threads
        } else if self.closedLoop {
            configuration.threads = 1
        }
        configuration.publishers = self.publishers
        configuration.subscribers = self.subscribers
        configuration.topics = self.topics
        guard (0...1).contains(self.qos) else {
            throw BenchUsageError("--qos must be 0 or 1")
        }
        configuration.qos = UInt8(self.qos)
        configuration.payloadSize = try BenchValueParsing.size(self.payload, option: "--payload")
        configuration.warmup = try BenchValueParsing.duration(self.warmup, option: "--warmup")
        configuration.duration = try BenchValueParsing.duration(self.duration, option: "--duration")
        if let rate = self.rate {
            configuration.rate = try BenchValueParsing.rate(rate, option: "--rate")
        }
        configuration.inflight = self.inflight
        configuration.connections = self.connections
        if let concurrency = self.concurrency {
            configuration.concurrency = concurrency
        }
        configuration.holdDuration = try BenchValueParsing.duration(self.hold, option: "--hold")
        configuration.jitter = try BenchValueParsing.duration(self.jitter, option: "--jitter")
        configuration.retryDelay = try BenchValueParsing.duration(self.retryDelay, option: "--retry-delay")
        configuration.reconnectTimeout = try BenchValueParsing.duration(self.reconnectTimeout, option: "--reconnect-timeout")
        if let sourceIPs = self.sourceIPs {
            configuration.sourceAddresses = try SourceAddressList(parsing: sourceIPs)
        }
        if let reconnectSourceIPs = self.reconnectSourceIPs {
            configuration.reconnectSourceAddresses = try SourceAddressList(parsing: reconnectSourceIPs)
        }
        guard (0...Int(UInt16.max)).contains(self.keepAlive) else {
            throw BenchUsageError("--keep-alive must be 0-65535 seconds")
        }
        configuration.keepAlive = UInt16(self.keepAlive)
        configuration.connectTimeout = try BenchValueParsing.duration(self.connectTimeout, option: "--connect-timeout")
        configuration.drainTimeout = try BenchValueParsing.duration(self.drainTimeout, option: "--drain-timeout")
        if let topicPrefix = self.topicPrefix {
            configuration.topicPrefix = topicPrefix
        }
        if let clientIDPrefix = self.clientIDPrefix {
            configuration.clientIDPrefix = clientIDPrefix
        }
        configuration.batchBytes = try BenchValueParsing.size(self.batchBytes, option: "--batch-bytes")
        configuration.watchedProcesses = []
        for watch in self.watch {
            configuration.watchedProcesses.append(try Self.parseWatch(watch))
        }
        configuration.readyFile = self.readyFile
        configuration.maxFailures = self.maxFailures
        try configuration.validate()
        return configuration
    }

    /// `label=PID[,PID…]`.
    static func parseWatch(_ text: String) throws(BenchUsageError) -> BenchConfiguration.WatchedProcess {
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty else {
            throw BenchUsageError("--watch \"\(text)\": expected label=PID[,PID…]")
        }
        var pids: [Int32] = []
        for item in parts[1].split(separator: ",") {
            guard let pid = Int32(item.trimmingCharacters(in: .whitespaces)), pid > 0 else {
                throw BenchUsageError("--watch \"\(text)\": \"\(item)\" is not a PID")
            }
            pids.append(pid)
        }
        return BenchConfiguration.WatchedProcess(label: String(parts[0]), pids: pids)
    }
}
