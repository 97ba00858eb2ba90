import CoreMetrics
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes log lines to a file descriptor (standard output) from a thread of its own, so that logging never blocks
/// the thread that logs: an event loop hands its record to a bounded queue and goes on.
///
/// When the output cannot keep up (a stalled pipe, a slow terminal, a log collector that stopped reading), the queue
/// fills and further records are dropped, not waited for: the bridge keeps relaying and memory stays bounded by
/// `capacity` records. Every dropped record counts in `mqtt_ws_bridge_log_lines_dropped_total` (`countDrops(with:)`),
/// and once the output takes lines again the writer says how many were lost, in a line of the same format.
///
/// `flush(timeout:)` waits until everything logged so far is written: the executable calls it before exiting, so the
/// drain's last access lines and "stopped" are never lost.
package final class LogWriter: @unchecked Sendable {
    /// Records waiting for the writer thread: at most this many, then new ones are dropped.
    package let capacity: Int
    private let descriptor: Int32
    /// Guards everything below, and wakes the writer (records queued) and flushers (records written).
    private let condition = NSCondition()
    private var queue: [(record: LogRecord, format: LogFormat)] = []
    /// Records dropped since the writer last reported it.
    private var unreportedDrops = 0
    /// Records accepted into the queue since the start, and records written (or given up on) since the start.
    private var accepted = 0
    private var finished = 0
    private var droppedCounter: CoreMetrics.Counter?
    private var started = false

    /// The process's standard output: one writer, so lines from every logger stay whole and in order.
    package static let standardOutput = LogWriter(descriptor: STDOUT_FILENO)

    /// - Parameter descriptor: where lines go (`STDOUT_FILENO` for the bridge, a pipe in tests); never closed here.
    package init(descriptor: Int32, capacity: Int = 16_384) {
        self.descriptor = descriptor
        self.capacity = max(1, capacity)
    }

    /// From now on, dropped records also count in `mqtt_ws_bridge_log_lines_dropped_total` of `factory` (created at
    /// once, so the series exists at 0).
    package func countDrops(with factory: any MetricsFactory) {
        let counter = CoreMetrics.Counter(label: "mqtt_ws_bridge_log_lines_dropped_total", factory: factory)
        condition.withLock { droppedCounter = counter }
    }

    /// Records waiting for the writer thread now.
    var queuedCount: Int {
        condition.withLock { queue.count }
    }

    /// Queues `record`, to be written in `format`, or drops it when the queue is full. Never blocks on the output.
    package func enqueue(_ record: LogRecord, format: LogFormat) {
        condition.lock()
        if !started {
            started = true
            startThread()
        }
        guard queue.count < capacity else {
            unreportedDrops += 1
            let counter = droppedCounter
            condition.unlock()
            counter?.increment()
            return
        }
        queue.append((record, format))
        accepted += 1
        condition.signal()
        condition.unlock()
    }

    /// Waits until every record queued before this call has been written, at most `timeout`; returns whether it
    /// got there (false: the output is stalled).
    @discardableResult
    package func flush(timeout: Duration) -> Bool {
        let (seconds, attoseconds) = timeout.components
        let deadline = Date(timeIntervalSinceNow: Double(seconds) + Double(attoseconds) / 1e18)
        condition.lock()
        defer { condition.unlock() }
        let target = accepted
        while finished < target {
            guard condition.wait(until: deadline) else { return finished >= target }
        }
        return true
    }

    private func startThread() {
        let thread = Thread { [self] in self.run() }
        thread.name = "mqtt_ws_bridge.log"
        thread.start()
    }

    /// The writer thread: takes everything queued, writes it with as few `write(2)` calls as the output allows,
    /// reports drops, repeats. It lives as long as the process.
    private func run() {
        // The drop report is written in the format of the lines around it.
        var lastFormat = LogFormat.text
        while true {
            condition.lock()
            while queue.isEmpty && unreportedDrops == 0 {
                condition.wait()
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            let drops = unreportedDrops
            unreportedDrops = 0
            condition.unlock()

            var bytes: [UInt8] = []
            for (record, format) in batch {
                bytes += format.line(record)
                bytes.append(UInt8(ascii: "\n"))
                lastFormat = format
            }
            if drops > 0 {
                bytes += lastFormat.line(Self.dropReport(drops))
                bytes.append(UInt8(ascii: "\n"))
            }
            let written = writeAll(bytes)

            condition.lock()
            finished += batch.count
            let counter = droppedCounter
            condition.broadcast()
            condition.unlock()
            if !written {
                // The output is gone (closed pipe, full disk): these lines are lost too.
                counter?.increment(by: Int64(batch.count))
            }
        }
    }

    /// The line that says what was lost, written once the output takes lines again.
    static func dropReport(_ count: Int) -> LogRecord {
        LogRecord(
            level: .warning, label: "mqtt_ws_bridge.logging",
            message: "log lines dropped: the output did not keep up",
            metadata: ["dropped": "\(count)"])
    }

    /// `write(2)` until all of `bytes` is out (blocking: this thread exists to wait here); false on an error.
    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let count = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if count < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += count
            }
            return true
        }
    }
}
