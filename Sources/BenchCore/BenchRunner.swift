import Foundation
import Histogram
import NIOCore
import NIOPosix

/// Runs one scenario and returns its report. This is the generator's API: the `mqtt-ws-bench` command line and
/// the smoke tests both call it.
///
/// ```swift
/// var configuration = BenchConfiguration(scenario: .throughput, target: try BenchTarget(parsing: "wss://broker.example.com/mqtt"))
/// configuration.duration = .seconds(5)
/// let report = try await BenchRunner.run(configuration) { print($0) }
/// print(report.traffic?.deliveredPerSecond ?? 0)
/// ```
package enum BenchRunner {
    /// Runs `configuration` (validated first).
    ///
    /// - Parameter progress: called with one line per phase ("connecting 10 subscribers", "measuring 10 s", …).
    /// - Throws: `BenchUsageError` for an invalid configuration, an unresolvable host or an unusable CA file.
    ///   Connection failures do not throw: they are counted in the report, whose `ok` is then false.
    package static func run(
        _ configuration: BenchConfiguration,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> BenchReport {
        try configuration.validate()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads)
        do {
            let workers = try await LoopWorkers.make(on: group, topics: configuration.topics)
            let connector = try BenchConnector(configuration: configuration, group: group, workers: workers)
            let session = BenchSession(
                configuration: configuration, connector: connector, workers: workers,
                watcher: ProcessWatcher(processes: configuration.watchedProcesses), progress: progress)
            let report: BenchReport
            switch configuration.scenario {
            case .throughput, .latency:
                report = try await session.runTraffic()
            case .connect:
                report = try await session.runConnect()
            case .hold:
                report = try await session.runHold()
            case .storm:
                report = try await session.runStorm()
            }
            try await group.shutdownGracefully()
            return report
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }
}
