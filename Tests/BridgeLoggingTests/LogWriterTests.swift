import Logging
import MetricsTestKit
import Testing

@testable import BridgeLogging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The writer thread against a real pipe: the test decides when the "terminal" reads.
@Suite("Log writer: off the caller's thread, bounded, never silent about losses", .timeLimit(.minutes(1)))
struct LogWriterTests {
    @Test("lines arrive whole and in order; flush returns once they are written")
    func ordered() throws {
        let pipe = try Pipe()
        let writer = LogWriter(descriptor: pipe.writeEnd)
        for index in 0..<200 {
            writer.enqueue(Self.record("line \(index)"), format: .text)
        }
        #expect(writer.flush(timeout: .seconds(10)))
        let lines = pipe.readAvailable().split(separator: "\n")
        #expect(lines.count == 200)
        #expect(lines.enumerated().allSatisfy { index, line in line.hasSuffix(": line \(index)") })
    }

    @Test(
        "a stalled output: the caller never blocks, records beyond the queue are dropped and counted, and reported once the output drains")
    func stalled() async throws {
        let pipe = try Pipe()
        pipe.fill()  // the reader is asleep: the next write(2) blocks
        let metrics = TestMetrics()
        let writer = LogWriter(descriptor: pipe.writeEnd, capacity: 8)
        writer.countDrops(with: metrics)
        #expect(try metrics.expectCounter("mqtt_ws_bridge_log_lines_dropped_total").totalValue == 0)

        writer.enqueue(Self.record("first"), format: .json)
        try await Self.waitUntil("the writer takes the first record and blocks in write(2)") { writer.queuedCount == 0 }
        // 20 records against a stalled output: 8 fit in the queue, the rest are dropped rather than waited for.
        for index in 0..<20 {
            writer.enqueue(Self.record("queued \(index)"), format: .json)
        }
        #expect(writer.queuedCount == 8)
        #expect(try metrics.expectCounter("mqtt_ws_bridge_log_lines_dropped_total").totalValue == 12)
        #expect(!writer.flush(timeout: .milliseconds(50)), "nothing can be written while the reader sleeps")

        // The reader wakes up: everything queued arrives, then the report of what was lost, in the same format.
        var text = pipe.drainFiller()
        let deadline = ContinuousClock.now + .seconds(10)
        while !text.contains("log lines dropped"), ContinuousClock.now < deadline {
            text += pipe.readAvailable()
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(writer.flush(timeout: .seconds(10)))
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 10, "\(lines)")
        #expect(lines.first?.contains(#""msg":"first""#) == true)
        #expect(lines.dropFirst().prefix(8).enumerated().allSatisfy { index, line in line.contains(#""msg":"queued \#(index)""#) })
        #expect(
            lines.last?.contains(
                #""level":"warning","logger":"mqtt_ws_bridge.logging","msg":"log lines dropped: the output did not keep up","dropped":"12"}"#
            ) == true, "\(lines)")
    }

    static func record(_ message: String) -> LogRecord {
        LogRecord(seconds: 0, nanoseconds: 0, level: .info, label: "test", message: message, metadata: [:])
    }

    static func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A pipe whose read end the test reads without blocking.
final class Pipe {
    let readEnd: Int32
    let writeEnd: Int32
    /// Bytes the test wrote itself to fill the pipe; `drainFiller` reads them back and discards them.
    private var filler = 0

    init() throws {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw TestFailure("pipe: \(errno)") }
        readEnd = ends[0]
        writeEnd = ends[1]
        _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }

    /// Writes until the pipe is full, so the next blocking write(2) waits for a reader.
    func fill() {
        let flags = fcntl(writeEnd, F_GETFL)
        _ = fcntl(writeEnd, F_SETFL, flags | O_NONBLOCK)
        let chunk = [UInt8](repeating: UInt8(ascii: "."), count: 4096)
        while true {
            let written = chunk.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            filler += written
        }
        _ = fcntl(writeEnd, F_SETFL, flags)
    }

    /// Reads the filler bytes back (waiting for them if needed) and returns whatever came after them.
    func drainFiller() -> String {
        var bytes: [UInt8] = []
        while bytes.count < filler {
            bytes += readBytes()
        }
        let rest = Array(bytes[filler...])
        filler = 0
        return String(decoding: rest, as: UTF8.self)
    }

    func readAvailable() -> String {
        String(decoding: readBytes(), as: UTF8.self)
    }

    private func readBytes() -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            result += buffer[0..<count]
        }
        return result
    }
}
