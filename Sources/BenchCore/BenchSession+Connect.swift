import Foundation
import NIOCore

extension BenchSession {
    /// connect: C connections, K at a time; each is closed (DISCONNECT) as soon as its CONNACK arrives.
    func runConnect() async throws -> BenchReport {
        let configuration = self.configuration
        self.progress(
            "opening \(configuration.connections) connections, \(configuration.concurrency) at a time, to \(configuration.target)")
        let roles = (0..<configuration.connections).map { BenchClientRole.idle(index: $0) }
        let watchStart = self.watcher.sample()
        let processStart = ResourceUsage.processCPUNanoseconds()
        let threadStart = try await self.workers.onEach { _ in ResourceUsage.currentThreadCPUNanoseconds() }
        let (opened, peaks) = await self.samplingPeaks {
            await self.openConnections(roles: roles, concurrency: configuration.concurrency, disconnectEach: true)
        }
        let threadEnd = try await self.workers.onEach { _ in ResourceUsage.currentThreadCPUNanoseconds() }
        let processEnd = ResourceUsage.processCPUNanoseconds()
        let watchEnd = self.watcher.sample()

        let established = Int(opened.handshakes.totalCount)
        let generator = self.generatorUsage(
            wallSeconds: opened.elapsedSeconds, processCPU: (processStart, processEnd), threadCPU: (threadStart, threadEnd))
        let watched = self.watched(start: watchStart, end: watchEnd, peaks: peaks, connectionsMade: established)
        await self.workers.disconnectAll(timeout: .seconds(10))
        var errors = opened.errors
        for snapshot in try await self.workers.snapshots(takingLatency: false) {
            errors.merge(snapshot.errors)
        }
        var report = self.makeReport(
            errors: errors,
            connections: BenchReport.Connections(attempted: roles.count, established: established, failed: roles.count - established),
            generator: generator, watched: watched, problems: opened.gaveUp ? [self.gaveUpMessage] : [])
        report.connect = BenchReport.Connect(
            elapsedSeconds: Self.round(opened.elapsedSeconds),
            connectionsPerSecond: Self.round(opened.elapsedSeconds > 0 ? Double(established) / opened.elapsedSeconds : 0),
            handshake: LatencySummary(nanoseconds: opened.handshakes))
        return report
    }

    /// hold: N idle connections, K handshakes at a time; held for H once all are up, then disconnected.
    /// The watched processes' RSS is sampled before the first connection and at the end of the hold.
    func runHold() async throws -> BenchReport {
        let configuration = self.configuration
        let roles = try self.idleRoles(scenario: "hold", what: "connections")
        let watchBefore = self.watcher.sample()
        let processStart = ResourceUsage.processCPUNanoseconds()
        let threadStart = try await self.workers.onEach { _ in ResourceUsage.currentThreadCPUNanoseconds() }
        let opened = await self.openConnections(roles: roles, concurrency: configuration.concurrency)
        let threadEnd = try await self.workers.onEach { _ in ResourceUsage.currentThreadCPUNanoseconds() }
        let processEnd = ResourceUsage.processCPUNanoseconds()
        let held = opened.connections.count
        self.progress(
            "holding \(held) connections for \(Self.format(configuration.holdDuration)) (ramp took \(opened.elapsedSeconds.formatted1) s)")
        if let readyFile = configuration.readyFile {
            _ = FileManager.default.createFile(atPath: readyFile, contents: Data("\(held)\n".utf8))
        }
        let holdStart = ContinuousClock.now
        let (_, peaks) = try await self.samplingPeaks {
            try await Task.sleep(for: configuration.holdDuration)
        }
        let holdSeconds = (ContinuousClock.now - holdStart).seconds
        let watchHeld = self.watcher.sample()
        let errorsDuringHold = try await self.workers.snapshots(takingLatency: false).reduce(into: ErrorTally()) { $0.merge($1.errors) }
        let dropped = errorsDuringHold.counts[.closed] ?? 0

        let errors = try await self.disconnectAll(timeout: .seconds(30), errorsSoFar: opened.errors)
        let generator = self.generatorUsage(
            wallSeconds: opened.elapsedSeconds, processCPU: (processStart, processEnd), threadCPU: (threadStart, threadEnd))
        let watched = self.watched(start: watchBefore, end: watchHeld, peaks: peaks, connectionsHeld: held)
        var report = self.makeReport(
            errors: errors,
            connections: BenchReport.Connections(attempted: roles.count, established: held, failed: roles.count - held),
            generator: generator, watched: watched,
            problems: (opened.gaveUp ? [self.gaveUpMessage] : [])
                + (dropped > 0 ? ["\(dropped) connections were closed by the server during the hold"] : []))
        report.hold = BenchReport.Hold(
            held: held, rampSeconds: Self.round(opened.elapsedSeconds), holdSeconds: Self.round(holdSeconds), dropped: dropped,
            handshake: LatencySummary(nanoseconds: opened.handshakes))
        return report
    }

    /// The roles of `configuration.connections` idle clients (hold, storm), once the open-file limit is raised and
    /// known to fit them: a run that would fail half-way at `ulimit -n` is refused before it starts.
    func idleRoles(scenario: String, what: String) throws(BenchUsageError) -> [BenchClientRole] {
        let configuration = self.configuration
        let limit = ResourceUsage.raiseOpenFileLimit()
        if limit > 0 && UInt64(configuration.connections) + 64 > limit {
            throw BenchUsageError(
                "\(scenario): \(configuration.connections) \(what) need as many file descriptors, but this process may open only \(limit) (ulimit -n)"
            )
        }
        self.progress(
            "opening \(configuration.connections) idle \(what), \(configuration.concurrency) at a time, to \(configuration.target)")
        return (0..<configuration.connections).map { BenchClientRole.idle(index: $0) }
    }

    /// Ends the run's connections (DISCONNECT, then close, within `timeout`) and returns every error of the run:
    /// `errorsSoFar` (those of setting up) and what each worker counted.
    func disconnectAll(timeout: TimeAmount, errorsSoFar: ErrorTally) async throws -> ErrorTally {
        self.progress("disconnecting")
        await self.workers.disconnectAll(timeout: timeout)
        var errors = errorsSoFar
        for snapshot in try await self.workers.snapshots(takingLatency: false) {
            errors.merge(snapshot.errors)
        }
        return errors
    }
}
