import Logging
import NIOConcurrencyHelpers

/// Log lines captured in memory, shared by every `Logger` made with `logger(label:)`.
final class LogStore: Sendable {
    struct Entry: Sendable, CustomStringConvertible {
        var label: String
        var level: Logger.Level
        var message: String
        /// Handler metadata and per-call metadata, flattened to strings.
        var metadata: [String: String]

        var description: String {
            let fields = self.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            return "[\(self.label)] \(self.level) \(self.message) \(fields)"
        }
    }

    private let storage = NIOLockedValueBox<[Entry]>([])

    var entries: [Entry] { self.storage.withLockedValue { $0 } }

    func entries(label: String) -> [Entry] { self.entries.filter { $0.label == label } }

    fileprivate func append(_ entry: Entry) { self.storage.withLockedValue { $0.append(entry) } }

    /// A logger at `trace` that records into this store, so nothing is filtered out.
    func logger(label: String) -> Logger {
        var logger = Logger(label: label) { label in RecordingLogHandler(store: self, label: label) }
        logger.logLevel = .trace
        return logger
    }
}

/// Writes every event into a `LogStore`.
struct RecordingLogHandler: LogHandler {
    let store: LogStore
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = self.metadata
        merged.merge(event.metadata ?? [:]) { _, new in new }
        self.store.append(
            LogStore.Entry(
                label: self.label, level: event.level, message: event.message.description,
                metadata: merged.mapValues { "\($0)" }))
    }
}
