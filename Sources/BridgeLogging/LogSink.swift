import NIOConcurrencyHelpers

/// Where `StructuredLogHandler`s send their records: standard output through a `LogWriter` (the bridge), or an
/// in-memory list of formatted lines (tests, which read them back at once).
package final class LogSink: Sendable {
    private enum Destination: Sendable {
        case writer(LogWriter)
        case collecting(LineCollector)
    }

    private final class LineCollector: Sendable {
        let lines = NIOLockedValueBox<[String]>([])
    }

    private let destination: Destination

    /// Standard output, written off the calling thread by one `LogWriter` for the whole process.
    package static let standardOutput = LogSink(writer: .standardOutput)

    package init(writer: LogWriter) {
        destination = .writer(writer)
    }

    /// `collecting: true` keeps formatted lines in memory (`collected`); false is standard output.
    package convenience init(collecting: Bool) {
        if collecting {
            self.init(collectingLines: ())
        } else {
            self.init(writer: .standardOutput)
        }
    }

    private init(collectingLines: Void) {
        destination = .collecting(LineCollector())
    }

    func write(_ record: LogRecord, format: LogFormat) {
        switch destination {
        case .writer(let writer):
            writer.enqueue(record, format: format)
        case .collecting(let collector):
            let line = String(decoding: format.line(record), as: UTF8.self)
            collector.lines.withLockedValue { $0.append(line) }
        }
    }

    /// The writer behind a standard-output sink: for `flush(timeout:)` and `countDrops(with:)`.
    package var writer: LogWriter? {
        guard case .writer(let writer) = destination else { return nil }
        return writer
    }

    /// Lines collected so far (collecting sinks only).
    package var collected: [String] {
        guard case .collecting(let collector) = destination else { return [] }
        return collector.lines.withLockedValue { $0 }
    }
}
