import Foundation

/// The result of one run: what `--json` prints (one object, snake_case keys) and what the human summary shows.
///
/// Sections that do not apply to the scenario are absent (null), so a script can tell "not measured" from zero.
package struct BenchReport: Sendable, Codable {
    /// The settings the run used.
    package struct Settings: Sendable, Codable, Hashable {
        package var threads: Int
        package var mqttVersion: String
        package var publishers: Int?
        package var subscribers: Int?
        package var topics: Int?
        package var qos: Int?
        package var payloadBytes: Int?
        package var warmupSeconds: Double?
        package var durationSeconds: Double?
        /// Total messages per second over all publishers; null = unlimited.
        package var rateTotal: Double?
        package var inflight: Int?
        package var closedLoop: Bool?
        package var maxOutstanding: Int?
        package var connections: Int?
        package var concurrency: Int?
        package var holdSeconds: Double?
        package var sourceAddresses: Int?
        package var jitterSeconds: Double?
        package var retryDelaySeconds: Double?
        package var reconnectTimeoutSeconds: Double?
    }

    package struct Errors: Sendable, Codable, Hashable {
        package var total: UInt64
        /// Count per `BenchClientError.Kind` raw value.
        package var byKind: [String: UInt64]
        /// The first distinct messages.
        package var messages: [String]

        package init(_ tally: ErrorTally) {
            self.total = tally.total
            self.byKind = Dictionary(uniqueKeysWithValues: tally.counts.map { ($0.key.rawValue, $0.value) })
            self.messages = tally.messages
        }
    }

    package struct Connections: Sendable, Codable, Hashable {
        package var attempted: Int
        package var established: Int
        package var failed: Int
    }

    /// throughput and latency: the messages of the measurement window, plus loss over the whole run.
    package struct Traffic: Sendable, Codable, Hashable {
        package var windowSeconds: Double
        package var published: UInt64
        package var delivered: UInt64
        package var publishedPerSecond: Double
        package var deliveredPerSecond: Double
        package var deliveredBytesPerSecond: Double
        /// Over the whole run (warm-up and drain included).
        package var publishedTotal: UInt64
        package var deliveredTotal: UInt64
        /// Each published message times the subscribers of its topic.
        package var expectedDeliveries: UInt64
        /// Expected deliveries that never arrived (after the drain); needs stamped payloads to be exact.
        package var lost: UInt64
        package var duplicated: UInt64
        /// QoS 1: PUBACKs received by publishers over the whole run.
        package var acknowledged: UInt64
        /// Paced runs: messages that could not be sent on schedule (backpressure): the target rate was not met.
        package var rateSkipped: UInt64
        /// True when every expected message arrived before the drain timeout.
        package var drained: Bool
    }

    package struct Connect: Sendable, Codable, Hashable {
        package var elapsedSeconds: Double
        package var connectionsPerSecond: Double
        /// From the start of the TCP connect to CONNACK (TLS and the upgrade included).
        package var handshake: LatencySummary?
    }

    package struct Hold: Sendable, Codable, Hashable {
        package var held: Int
        package var rampSeconds: Double
        package var holdSeconds: Double
        /// Connections the server closed during the hold.
        package var dropped: UInt64
        package var handshake: LatencySummary?
    }

    /// storm: N sessions cut at once (TCP reset from the clients) and reconnecting; times are from the cut.
    package struct Storm: Sendable, Codable, Hashable {
        /// Sessions established before the cut (and then cut).
        package var sessions: Int
        package var rampSeconds: Double
        /// Sessions back (CONNACK received) before the reconnect timeout.
        package var reconnected: Int
        /// Seconds from the cut until 99% / all of `sessions` were back; null when they never were.
        package var secondsTo99Percent: Double?
        package var secondsToAll: Double?
        /// Reconnect attempts, successful or not.
        package var attempts: UInt64
        /// Failed attempts by kind: http_429 (the per-address admission), http_other (another refused upgrade),
        /// reset (closed or reset during the handshake), mqtt_refused (a CONNACK refusal), connect (TCP connect refused or
        /// failed), tls, timeout, protocol.
        package var refusals: [String: UInt64]
        /// Of the successful reconnects: TCP connect start → WebSocket upgrade done (TLS included), and
        /// upgrade done → CONNACK (the broker session behind the proxy).
        package var transportHandshake: LatencySummary?
        package var connack: LatencySummary?
    }

    /// The generator's own CPU use: a saturated generator measures itself, not the server.
    package struct Generator: Sendable, Codable, Hashable {
        package var threads: Int
        package var wallSeconds: Double
        package var cpuSeconds: Double
        /// cpuSeconds / wallSeconds.
        package var cores: Double
        /// Per event-loop thread: CPU time / wall time (Linux only).
        package var threadBusy: [Double]?
        /// True when an event loop was busy more than 90% of the time (or, without per-thread figures, the
        /// process used more than 90% of all its threads).
        package var saturated: Bool
        /// The machine's 1-minute load average when the run started and ended (Linux), for judging noise.
        package var loadAverageStart: Double?
        package var loadAverageEnd: Double?
    }

    /// A watched process (the proxy, the broker) over the measurement window.
    package struct Watched: Sendable, Codable, Hashable {
        package var label: String
        package var pids: [Int32]
        package var cpuSeconds: Double
        /// throughput/latency: CPU seconds per million delivered messages.
        package var cpuSecondsPerMillionMessages: Double?
        package var rssKibStart: UInt64
        package var rssKibEnd: UInt64
        package var rssKibPeak: UInt64
        /// hold: (RSS while holding − RSS before connecting) / connections held.
        package var rssKibPerConnection: Double?
        /// connect: CPU seconds per thousand connections.
        package var cpuSecondsPerThousandConnections: Double?
        /// read/write-family system calls during the window (all threads; see `ProcessWatcher.Sample`), and per
        /// delivered message (throughput/latency) or per connection (connect). send/recv-family calls (nginx's
        /// upstream side, libwebsockets) are not counted, so compare only programs that use read/write.
        package var readWriteSyscalls: UInt64?
        package var readWriteSyscallsPerMessage: Double?
        /// Context switches during the window (all threads), and per delivered message or per connection.
        package var contextSwitches: UInt64?
        package var contextSwitchesPerMessage: Double?
        package var missingPids: [Int32]
    }

    package var tool = "mqtt-ws-bench"
    package var formatVersion = 1
    package var scenario: BenchScenario
    package var target: String
    package var transport: BenchTarget.Transport
    /// The subprotocol offered; null = none (WeChat style).
    package var subprotocol: String?
    package var startedAt: String
    package var settings: Settings
    /// False when anything in `problems` happened; the exit code is then 1.
    package var ok: Bool
    package var problems: [String]
    package var errors: Errors
    package var connections: Connections
    package var traffic: Traffic?
    package var latency: LatencySummary?
    package var connect: Connect?
    package var hold: Hold?
    package var storm: Storm?
    package var generator: Generator
    package var watched: [Watched]

    /// One line of JSON.
    package func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses a line written by `jsonLine()`.
    package static func decode(json: String) throws -> BenchReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(BenchReport.self, from: Data(json.utf8))
    }
}
