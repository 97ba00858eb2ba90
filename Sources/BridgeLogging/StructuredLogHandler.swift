import Logging

/// A swift-log handler that writes one line per event, in `LogFormat.text` (logfmt) or `.json`, to a `LogSink`.
///
/// The caller's thread only captures the event (time, level, merged metadata) and queues it; formatting and the
/// `write(2)` happen on the sink's writer thread, so an event loop that logs never waits for standard output.
package struct StructuredLogHandler: LogHandler {
    package var logLevel: Logger.Level
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: LogFormat
    private let sink: LogSink

    package init(label: String, level: Logger.Level, format: LogFormat, sink: LogSink = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.format = format
        self.sink = sink
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        sink.write(LogRecord(level: event.level, label: label, message: "\(event.message)", metadata: merged), format: format)
    }
}
