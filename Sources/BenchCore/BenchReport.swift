import Foundation

/// The result of one run: what `--json` prints (one object, snake_case keys) and what the human summary shows.
///
/// Sections that do not apply to the scenario are absent (null), so a script can tell "not measured" from zero.
public struct BenchReport: Sendable, Codable {
    /// The settings the run used.
    public struct Settings: Sendable, Codable, Hashable {
        public var threads: Int
        public var mqttVersion: String
        public var publishers: Int?
        public var subscribers: Int?
        public var topics: Int?
        public var qos: Int?
        public var payloadBytes: Int?
        public var warmupSeconds: Double?
        public var durationSeconds: Double?
        /// Total messages per second over all publishers; null = unlimited.
        public var rateTotal: Double?
        public var inflight: Int?
        public var closedLoop: Bool?
        public var maxOutstanding: Int?
        public var connections: Int?
        public var concurrency: Int?
        public var holdSeconds: Double?
        public var sourceAddresses: Int?
        public var jitterSeconds: Double?
        public var retryDelaySeconds: Double?
        public var reconnectTimeoutSeconds: Double?
    }

    public struct Errors: Sendable, Codable, Hashable {
        public var total: UInt64
        /// Count per `BenchClientError.Kind` raw value.
        public var byKind: [String: UInt64]
        /// The first distinct messages.
        public var messages: [String]

        public init(_ tally: ErrorTally) {
            self.total = tally.total
            self.byKind = Dictionary(uniqueKeysWithValues: tally.counts.map { ($0.key.rawValue, $0.value) })
            self.messages = tally.messages
        }
    }

    public struct Connections: Sendable, Codable, Hashable {
        public var attempted: Int
        public var established: Int
        public var failed: Int
    }

    /// throughput and latency: the messages of the measurement window, plus loss over the whole run.
    public struct Traffic: Sendable, Codable, Hashable {
        public var windowSeconds: Double
        public var published: UInt64
        public var delivered: UInt64
        public var publishedPerSecond: Double
        public var deliveredPerSecond: Double
        public var deliveredBytesPerSecond: Double
        /// Over the whole run (warm-up and drain included).
        public var publishedTotal: UInt64
        public var deliveredTotal: UInt64
        /// Each published message times the subscribers of its topic.
        public var expectedDeliveries: UInt64
        /// Expected deliveries that never arrived (after the drain); needs stamped payloads to be exact.
        public var lost: UInt64
        public var duplicated: UInt64
        /// QoS 1: PUBACKs received by publishers over the whole run.
        public var acknowledged: UInt64
        /// Paced runs: messages that could not be sent on schedule (backpressure): the target rate was not met.
        public var rateSkipped: UInt64
        /// True when every expected message arrived before the drain timeout.
        public var drained: Bool
    }

    public struct Connect: Sendable, Codable, Hashable {
        public var elapsedSeconds: Double
        public var connectionsPerSecond: Double
        /// From the start of the TCP connect to CONNACK (TLS and the upgrade included).
        public var handshake: LatencySummary?
    }

    public struct Hold: Sendable, Codable, Hashable {
        public var held: Int
        public var rampSeconds: Double
        public var holdSeconds: Double
        /// Connections the server closed during the hold.
        public var dropped: UInt64
        public var handshake: LatencySummary?
    }

    /// storm: N sessions cut at once (TCP reset from the clients) and reconnecting; times are from the cut.
    public struct Storm: Sendable, Codable, Hashable {
        /// Sessions established before the cut (and then cut).
        public var sessions: Int
        public var rampSeconds: Double
        /// Sessions back (CONNACK received) before the reconnect timeout.
        public var reconnected: Int
        /// Seconds from the cut until 99% / all of `sessions` were back; null when they never were.
        public var secondsTo99Percent: Double?
        public var secondsToAll: Double?
        /// Reconnect attempts, successful or not.
        public var attempts: UInt64
        /// Failed attempts by kind: http_429 (the per-address admission), http_other (another refused upgrade),
        /// reset (closed or reset during the handshake), mqtt_refused (a CONNACK refusal), connect (TCP connect refused or
        /// failed), tls, timeout, protocol.
        public var refusals: [String: UInt64]
        /// Of the successful reconnects: TCP connect start → WebSocket upgrade done (TLS included), and
        /// upgrade done → CONNACK (the broker session behind the proxy).
        public var transportHandshake: LatencySummary?
        public var connack: LatencySummary?
    }

    /// The generator's own CPU use: a saturated generator measures itself, not the server.
    public struct Generator: Sendable, Codable, Hashable {
        public var threads: Int
        public var wallSeconds: Double
        public var cpuSeconds: Double
        /// cpuSeconds / wallSeconds.
        public var cores: Double
        /// Per event-loop thread: CPU time / wall time (Linux only).
        public var threadBusy: [Double]?
        /// True when an event loop was busy more than 90% of the time (or, without per-thread figures, the
        /// process used more than 90% of all its threads).
        public var saturated: Bool
        /// The machine's 1-minute load average when the run started and ended (Linux), for judging noise.
        public var loadAverageStart: Double?
        public var loadAverageEnd: Double?
    }

    /// A watched process (the proxy, the broker) over the measurement window.
    public struct Watched: Sendable, Codable, Hashable {
        public var label: String
        public var pids: [Int32]
        public var cpuSeconds: Double
        /// throughput/latency: CPU seconds per million delivered messages.
        public var cpuSecondsPerMillionMessages: Double?
        public var rssKibStart: UInt64
        public var rssKibEnd: UInt64
        public var rssKibPeak: UInt64
        /// hold: (RSS while holding − RSS before connecting) / connections held.
        public var rssKibPerConnection: Double?
        /// connect: CPU seconds per thousand connections.
        public var cpuSecondsPerThousandConnections: Double?
        /// read/write-family system calls during the window (all threads; see `ProcessWatcher.Sample`), and per
        /// delivered message (throughput/latency) or per connection (connect). send/recv-family calls (nginx's
        /// upstream side, libwebsockets) are not counted, so compare only programs that use read/write.
        public var readWriteSyscalls: UInt64?
        public var readWriteSyscallsPerMessage: Double?
        /// Context switches during the window (all threads), and per delivered message or per connection.
        public var contextSwitches: UInt64?
        public var contextSwitchesPerMessage: Double?
        public var missingPids: [Int32]
    }

    public var tool = "mqtt-ws-bench"
    public var formatVersion = 1
    public var scenario: BenchScenario
    public var target: String
    public var transport: BenchTarget.Transport
    /// The subprotocol offered; null = none (WeChat style).
    public var subprotocol: String?
    public var startedAt: String
    public var settings: Settings
    /// False when anything in `problems` happened; the exit code is then 1.
    public var ok: Bool
    public var problems: [String]
    public var errors: Errors
    public var connections: Connections
    public var traffic: Traffic?
    public var latency: LatencySummary?
    public var connect: Connect?
    public var hold: Hold?
    public var storm: Storm?
    public var generator: Generator
    public var watched: [Watched]

    /// One line of JSON.
    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses a line written by `jsonLine()`.
    public static func decode(json: String) throws -> BenchReport {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(BenchReport.self, from: Data(json.utf8))
    }
}
