import MQTTWire
import NIOCore

/// Everything one run needs, validated. Built from the command line by `BenchOptions`, or directly by tests and
/// other programs that embed the generator.
package struct BenchConfiguration: Sendable {
    /// How TLS (`wss://`) is verified.
    package struct TLS: Sendable, Hashable {
        /// PEM file with the certificates to trust; nil uses the system trust store.
        package var caFile: String?
        /// Skip certificate verification entirely (self-signed test servers).
        package var insecure: Bool
        /// SNI and the name checked against the certificate; nil uses the target host (an IP literal is not sent
        /// as SNI, and is then checked against the certificate's IP addresses).
        package var serverName: String?

        package init(caFile: String? = nil, insecure: Bool = false, serverName: String? = nil) {
            self.caFile = caFile
            self.insecure = insecure
            self.serverName = serverName
        }
    }

    /// A process whose CPU time and memory are sampled during the run (Linux `/proc`), e.g. the proxy under test.
    package struct WatchedProcess: Sendable, Hashable, Codable {
        /// A name for the report, e.g. "bridge" or "nginx".
        package var label: String
        /// All processes that make up the program (nginx: master and workers); their figures are summed.
        package var pids: [Int32]

        package init(label: String, pids: [Int32]) {
            self.label = label
            self.pids = pids
        }
    }

    package var scenario: BenchScenario
    package var target: BenchTarget
    package var tls: TLS
    /// The `Sec-WebSocket-Protocol` value offered; nil offers none (what WeChat's `wx.connectSocket` does).
    package var subprotocol: String?
    package var mqttVersion: MQTTProtocolVersion
    package var username: String?
    package var password: String?

    /// Event-loop threads of the generator.
    package var threads: Int
    package var publishers: Int
    package var subscribers: Int
    /// Publisher p publishes to topic p % topics; subscriber s subscribes to topic s % topics.
    package var topics: Int
    /// 0 or 1, for PUBLISH and SUBSCRIBE alike.
    package var qos: UInt8
    /// Application payload bytes per message. From `LatencyStamp.length` bytes on, each payload carries a send
    /// timestamp and a sequence number, which gives latency, loss and duplicate counts.
    package var payloadSize: Int
    /// Traffic before the measurement window starts (connections up, caches warm, queues in steady state).
    package var warmup: Duration
    /// The measurement window.
    package var duration: Duration
    /// Total messages per second over all publishers; nil publishes as fast as writability (and the QoS 1
    /// window) allows.
    package var rate: Double?
    /// Unacknowledged QoS 1 PUBLISHes allowed per publisher.
    package var inflight: Int
    /// Publishers pause while more than this many deliveries are outstanding (published × subscribers of the
    /// topic, minus delivered), over all connections; nil: no limit. See `OutstandingWindow`.
    package var maxOutstanding: Int?
    /// Each publisher sends its next message only once every subscriber got the previous ones: the latency is
    /// then the time one message takes end to end, unloaded (e.g. 1 MiB messages). Needs `threads == 1`, so that
    /// publishers and subscribers share one event loop and its counters.
    package var closedLoop: Bool

    /// connect: connections to make; hold: connections to hold.
    package var connections: Int
    /// connect/hold: handshakes in progress at once.
    package var concurrency: Int
    /// hold: how long the connections are held once all are up.
    package var holdDuration: Duration
    /// storm: each client waits a random time in [0, jitter) before its first reconnect (0: all at once).
    package var jitter: Duration
    /// storm: a refused or failed reconnect is retried after this delay (randomised 0.5-1.5×, like real clients).
    package var retryDelay: Duration
    /// storm: how long after the cut the clients keep trying; sessions not back by then are counted as lost.
    package var reconnectTimeout: Duration
    /// Bind connections to these local addresses in turn; nil lets the kernel choose.
    package var sourceAddresses: SourceAddressList?
    /// storm: the reconnects come from these addresses instead (e.g. one address: users behind a carrier NAT, whose
    /// sessions arrived over hours but come back all at once); nil: `sourceAddresses`.
    package var reconnectSourceAddresses: SourceAddressList?

    /// MQTT keep-alive sent in CONNECT; idle (hold) connections send PINGREQ at this interval. 0 disables it.
    package var keepAlive: UInt16
    /// Per connection, from the TCP connect to the CONNACK (and SUBACK).
    package var connectTimeout: Duration
    /// After publishers stop: how long to wait for the last messages before counting the rest as lost.
    package var drainTimeout: Duration
    /// Topics are "<prefix>/<index>". A per-run default keeps runs from seeing each other's messages.
    package var topicPrefix: String
    /// Client ids are "<prefix>-<role><index>".
    package var clientIDPrefix: String
    /// Processes sampled during the measurement (CPU seconds, RSS).
    package var watchedProcesses: [WatchedProcess]
    /// hold: a file created once all connections are up (for scripts that sample memory while they are held).
    package var readyFile: String?
    /// Upper bound of one write batch (many PUBLISHes encoded into one buffer, one flush).
    package var batchBytes: Int
    /// Stop opening connections after this many failed (a server that refuses everything, or times out every
    /// handshake, should not keep a 20,000-connection run going for minutes).
    package var maxFailures: Int

    package init(scenario: BenchScenario, target: BenchTarget) {
        self.scenario = scenario
        self.target = target
        self.tls = TLS()
        self.subprotocol = "mqtt"
        self.mqttVersion = .v3_1_1
        self.username = nil
        self.password = nil
        self.threads = BenchConfiguration.defaultThreadCount
        self.publishers = 10
        self.subscribers = 10
        self.topics = 10
        self.qos = 0
        self.payloadSize = 64
        self.warmup = .seconds(2)
        self.duration = .seconds(10)
        self.rate = scenario == .latency ? 5000 : nil
        self.inflight = 64
        self.closedLoop = false
        self.maxOutstanding = nil
        self.connections = 1000
        self.concurrency = scenario == .hold || scenario == .storm ? 100 : 20
        self.holdDuration = .seconds(10)
        self.jitter = .zero
        self.retryDelay = .seconds(1)
        self.reconnectTimeout = .seconds(120)
        self.sourceAddresses = nil
        self.reconnectSourceAddresses = nil
        self.keepAlive = 60
        self.connectTimeout = .seconds(10)
        self.drainTimeout = .seconds(5)
        let runID = BenchConfiguration.makeRunID()
        self.topicPrefix = "mqtt-ws-bench/\(runID)"
        self.clientIDPrefix = "bench-\(runID)"
        self.watchedProcesses = []
        self.readyFile = nil
        self.batchBytes = 64 * 1024
        self.maxFailures = 100
    }

    /// One event loop per core: the generator should not be the bottleneck.
    package static var defaultThreadCount: Int { System.coreCount }

    /// Checks the combination of values; the message names the option.
    package func validate() throws(BenchUsageError) {
        func require(_ condition: Bool, _ message: @autoclosure () -> String) throws(BenchUsageError) {
            if !condition { throw BenchUsageError(message()) }
        }
        try require(self.threads >= 1 && self.threads <= 1024, "--threads must be 1-1024")
        try require(self.qos <= 1, "--qos must be 0 or 1")
        try require(self.connectTimeout > .zero, "--connect-timeout must be longer than zero")
        try require(self.batchBytes >= 1024, "--batch-bytes must be at least 1KiB")
        try require(self.maxFailures >= 1, "--max-failures must be at least 1")
        if let subprotocol = self.subprotocol {
            try require(
                !subprotocol.isEmpty && subprotocol.allSatisfy { $0.isASCII && !$0.isWhitespace && $0 != "," },
                "--subprotocol must be one token (e.g. mqtt)")
        }
        if self.target.transport == .mqtt {
            try require(self.subprotocol == nil || self.subprotocol == "mqtt", "--subprotocol applies to ws:// and wss:// targets only")
        }
        if self.tls.caFile != nil || self.tls.insecure || self.tls.serverName != nil {
            try require(self.target.transport.usesTLS, "--ca-file, --insecure and --sni apply to wss:// targets only")
        }
        try require(!(self.tls.insecure && self.tls.caFile != nil), "--insecure and --ca-file exclude each other")
        switch self.scenario {
        case .throughput, .latency:
            try require(self.publishers >= 1 && self.publishers <= 100_000, "--publishers must be 1-100000")
            try require(self.subscribers >= 0 && self.subscribers <= 100_000, "--subscribers must be 0-100000")
            try require(self.topics >= 1 && self.topics <= 100_000, "--topics must be 1-100000")
            try require(self.payloadSize >= 0 && self.payloadSize <= 256 * 1024 * 1024 - 1024, "--payload must be 0-255MiB")
            try require(self.duration > .zero, "--duration must be longer than zero")
            try require(self.warmup >= .zero, "--warmup must not be negative")
            try require(self.inflight >= 1 && self.inflight <= 32_768, "--inflight must be 1-32768")
            if let rate = self.rate {
                try require(rate > 0 && rate <= 1e9, "--rate must be positive (or 0/unlimited)")
            }
            if let maxOutstanding = self.maxOutstanding {
                try require(maxOutstanding >= 1, "--max-outstanding must be at least 1")
                try require(self.subscribers >= 1, "--max-outstanding needs at least one subscriber")
            }
            if self.closedLoop {
                try require(self.threads == 1, "--closed-loop needs --threads 1 (publishers and subscribers on one event loop)")
                try require(self.subscribers >= 1, "--closed-loop needs at least one subscriber")
            }
            if self.scenario == .latency {
                try require(self.subscribers >= 1, "latency needs at least one subscriber")
                try require(
                    self.payloadSize >= LatencyStamp.length,
                    "latency needs --payload of at least \(LatencyStamp.length) bytes (the send timestamp travels in it)")
            }
        case .connect, .hold, .storm:
            try require(self.connections >= 1 && self.connections <= 1_000_000, "--connections must be 1-1000000")
            try require(self.concurrency >= 1 && self.concurrency <= 100_000, "--concurrency must be 1-100000")
            try require(self.holdDuration >= .zero, "--hold must not be negative")
            if self.scenario == .storm {
                try require(self.jitter >= .zero, "--jitter must not be negative")
                try require(self.retryDelay > .zero, "--retry-delay must be longer than zero")
                try require(self.reconnectTimeout > .zero, "--reconnect-timeout must be longer than zero")
            }
        }
        for process in self.watchedProcesses {
            try require(
                !process.pids.isEmpty && process.pids.allSatisfy { $0 > 0 }, "--watch \(process.label): needs at least one positive PID")
        }
    }

    /// The per-publisher rate, or nil when unlimited.
    package var ratePerPublisher: Double? {
        self.rate.map { $0 / Double(self.publishers) }
    }

    /// How many subscribers subscribe to topic `index` (subscriber s uses topic s % topics).
    package func subscribers(ofTopic index: Int) -> Int {
        self.subscribers / self.topics + (index < self.subscribers % self.topics ? 1 : 0)
    }

    /// Whether payloads carry a `LatencyStamp` (timestamp, publisher, sequence).
    package var stampsPayloads: Bool { self.payloadSize >= LatencyStamp.length }

    static func makeRunID() -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<6).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }
}
