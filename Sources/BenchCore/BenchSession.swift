import Foundation
import Histogram
import NIOCore

/// The parts of a run shared by the scenarios.
struct BenchSession: Sendable {
    let configuration: BenchConfiguration
    let connector: BenchConnector
    let workers: LoopWorkers
    let watcher: ProcessWatcher
    let progress: @Sendable (String) -> Void
    let startedAt = Date()
    let loadAverageAtStart = ProcessWatcher.loadAverage()

    /// What `openConnections` returns.
    struct Opened: Sendable {
        var connections: [BenchConnection] = []
        var errors = ErrorTally()
        var handshakes = LoopWorker.makeHistogram()
        var elapsedSeconds: Double = 0
        /// True when `maxFailures` stopped the opening early.
        var gaveUp = false
    }

    /// Opens a connection per role, `concurrency` at a time; failures are tallied, not thrown.
    /// With `disconnectEach`, every connection is closed (DISCONNECT) as soon as it is ready: the connect scenario.
    func openConnections(roles: [BenchClientRole], concurrency: Int, indexOffset: Int = 0, disconnectEach: Bool = false) async -> Opened {
        var opened = Opened()
        let start = ContinuousClock.now
        let connector = self.connector
        await withTaskGroup(of: Result<(BenchConnection, UInt64), BenchClientError>.self) { group in
            var next = 0
            func addNext() {
                let index = next
                next += 1
                let role = roles[index]
                group.addTask {
                    let startedAt = NIODeadline.now().uptimeNanoseconds
                    do {
                        let connection = try await connector.connect(role: role, index: indexOffset + index).get()
                        if disconnectEach {
                            try? await connection.disconnect().get()
                        }
                        return .success((connection, connection.readyAt &- startedAt))
                    } catch {
                        return .failure(BenchClientHandler.classify(error))
                    }
                }
            }
            for _ in 0..<min(concurrency, roles.count) {
                addNext()
            }
            for await result in group {
                switch result {
                case .success(let (connection, handshake)):
                    _ = opened.handshakes.record(min(max(handshake, 1_000), 600_000_000_000))
                    if !disconnectEach {
                        opened.connections.append(connection)
                    }
                case .failure(let error):
                    opened.errors.record(error)
                }
                if opened.errors.total >= UInt64(self.configuration.maxFailures) {
                    opened.gaveUp = next < roles.count
                    continue  // let the connections in progress finish, start no more
                }
                if next < roles.count {
                    addNext()
                }
            }
        }
        opened.elapsedSeconds = (ContinuousClock.now - start).seconds
        return opened
    }

    /// Samples the watched processes every 200 ms while `body` runs; returns the peak RSS per label.
    func samplingPeaks<T: Sendable>(_ body: () async throws -> T) async rethrows -> (T, [String: UInt64]) {
        let watcher = self.watcher
        guard !watcher.processes.isEmpty else {
            return (try await body(), [:])
        }
        let sampler = Task<[String: UInt64], Never> {
            var peaks: [String: UInt64] = [:]
            while !Task.isCancelled {
                for (label, sample) in watcher.sample() {
                    peaks[label] = max(peaks[label] ?? 0, sample.rssKiB)
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return peaks
        }
        let result: T
        do {
            result = try await body()
        } catch {
            sampler.cancel()
            throw error
        }
        sampler.cancel()
        return (result, await sampler.value)
    }

    /// The generator's CPU use over a window, from process and per-thread CPU times.
    func generatorUsage(
        wallSeconds: Double, processCPU: (start: UInt64, end: UInt64),
        threadCPU: (start: [UInt64?], end: [UInt64?])
    ) -> BenchReport.Generator {
        let cpuSeconds = Double(processCPU.end &- processCPU.start) / 1e9
        var busy: [Double]?
        if threadCPU.start.count == threadCPU.end.count, wallSeconds > 0 {
            let fractions = zip(threadCPU.start, threadCPU.end).compactMap { start, end -> Double? in
                guard let start, let end else { return nil }
                return (Double(end &- start) / 1e9 / wallSeconds * 1000).rounded() / 1000
            }
            busy = fractions.count == threadCPU.start.count ? fractions : nil
        }
        let threads = self.configuration.threads
        let cores = wallSeconds > 0 ? cpuSeconds / wallSeconds : 0
        let saturated = busy.map { $0.contains { $0 > 0.9 } } ?? (cores > 0.9 * Double(threads))
        return BenchReport.Generator(
            threads: threads, wallSeconds: Self.round(wallSeconds), cpuSeconds: Self.round(cpuSeconds),
            cores: Self.round(cores), threadBusy: busy, saturated: saturated,
            loadAverageStart: self.loadAverageAtStart, loadAverageEnd: ProcessWatcher.loadAverage())
    }

    /// Watched-process figures between two samples.
    func watched(
        start: [String: ProcessWatcher.Sample], end: [String: ProcessWatcher.Sample], peaks: [String: UInt64],
        messages: UInt64? = nil, connectionsHeld: Int? = nil, connectionsMade: Int? = nil
    ) -> [BenchReport.Watched] {
        self.watcher.processes.map { process in
            let first = start[process.label]
            let last = end[process.label]
            let cpu = max(0, (last?.cpuSeconds ?? 0) - (first?.cpuSeconds ?? 0))
            let rssStart = first?.rssKiB ?? 0
            let rssEnd = last?.rssKiB ?? 0
            var entry = BenchReport.Watched(
                label: process.label, pids: process.pids, cpuSeconds: Self.round(cpu), cpuSecondsPerMillionMessages: nil,
                rssKibStart: rssStart, rssKibEnd: rssEnd, rssKibPeak: max(peaks[process.label] ?? 0, rssStart, rssEnd),
                rssKibPerConnection: nil, cpuSecondsPerThousandConnections: nil,
                missingPids: Array(Set((first?.missing ?? []) + (last?.missing ?? []))).sorted())
            if let first, let last {
                entry.readWriteSyscalls = last.readWriteSyscalls &- first.readWriteSyscalls
                entry.contextSwitches = last.contextSwitches &- first.contextSwitches
            }
            let units = messages ?? connectionsMade.map(UInt64.init)
            if let units, units > 0 {
                entry.readWriteSyscallsPerMessage = entry.readWriteSyscalls.map { Self.round(Double($0) / Double(units)) }
                entry.contextSwitchesPerMessage = entry.contextSwitches.map { Self.round(Double($0) / Double(units)) }
            }
            if let messages, messages > 0 {
                entry.cpuSecondsPerMillionMessages = Self.round(cpu / Double(messages) * 1e6)
            }
            if let connectionsHeld, connectionsHeld > 0 {
                entry.rssKibPerConnection = Self.round((Double(rssEnd) - Double(rssStart)) / Double(connectionsHeld))
            }
            if let connectionsMade, connectionsMade > 0 {
                entry.cpuSecondsPerThousandConnections = Self.round(cpu / Double(connectionsMade) * 1000)
            }
            return entry
        }
    }

    func settings() -> BenchReport.Settings {
        let configuration = self.configuration
        var settings = BenchReport.Settings(threads: configuration.threads, mqttVersion: configuration.mqttVersion.description)
        settings.sourceAddresses = configuration.sourceAddresses?.addresses.count
        switch configuration.scenario {
        case .throughput, .latency:
            settings.publishers = configuration.publishers
            settings.subscribers = configuration.subscribers
            settings.topics = configuration.topics
            settings.qos = Int(configuration.qos)
            settings.payloadBytes = configuration.payloadSize
            settings.warmupSeconds = configuration.warmup.seconds
            settings.durationSeconds = configuration.duration.seconds
            settings.rateTotal = configuration.rate
            settings.inflight = configuration.qos > 0 ? configuration.inflight : nil
            settings.closedLoop = configuration.closedLoop ? true : nil
            settings.maxOutstanding = configuration.maxOutstanding
        case .connect, .hold, .storm:
            settings.connections = configuration.connections
            settings.concurrency = configuration.concurrency
            settings.holdSeconds = configuration.scenario == .hold ? configuration.holdDuration.seconds : nil
            if configuration.scenario == .storm {
                settings.jitterSeconds = configuration.jitter.seconds
                settings.retryDelaySeconds = configuration.retryDelay.seconds
                settings.reconnectTimeoutSeconds = configuration.reconnectTimeout.seconds
            }
        }
        return settings
    }

    /// A report with the common fields filled in; the scenario adds its section.
    func makeReport(
        errors: ErrorTally, connections: BenchReport.Connections, generator: BenchReport.Generator,
        watched: [BenchReport.Watched], problems: [String]
    ) -> BenchReport {
        var problems = problems
        if !errors.isEmpty {
            let kinds = errors.counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key.rawValue)" }
            problems.insert("\(errors.total) connection errors (\(kinds.joined(separator: ", ")))", at: 0)
        }
        let formatter = ISO8601DateFormatter()
        return BenchReport(
            scenario: self.configuration.scenario, target: self.configuration.target.description,
            transport: self.configuration.target.transport,
            subprotocol: self.configuration.target.transport.isWebSocket ? self.configuration.subprotocol : nil,
            startedAt: formatter.string(from: self.startedAt), settings: self.settings(), ok: problems.isEmpty,
            problems: problems, errors: BenchReport.Errors(errors), connections: connections, traffic: nil, latency: nil,
            connect: nil, hold: nil, storm: nil, generator: generator, watched: watched)
    }

    var gaveUpMessage: String {
        "stopped opening connections after \(self.configuration.maxFailures) failures (--max-failures)"
    }

    static func round(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }
}
