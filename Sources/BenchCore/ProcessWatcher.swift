import Foundation

/// Samples other processes' CPU time and resident memory from Linux's `/proc`: the proxy under test and the
/// broker, so that a run reports CPU-seconds per million messages and RSS per connection for each of them.
///
/// CPU time is `utime + stime` of `/proc/PID/stat` (all threads of the process; clock ticks, usually 10 ms);
/// memory is `VmRSS` of `/proc/PID/status`. Figures of several PIDs (nginx's master and workers) are summed.
package struct ProcessWatcher: Sendable {
    /// One reading of one watched program.
    package struct Sample: Sendable, Hashable, Codable {
        package var cpuSeconds: Double
        package var rssKiB: UInt64
        /// read(2)/write(2)-family system calls so far (`syscr` + `syscw` of `/proc/PID/io`, all threads: read,
        /// readv, write, writev…; the send/recv family is not counted). Per message they show how well a relay
        /// batches — exact for SwiftNIO programs, which use only the read/write family on TCP sockets.
        package var readWriteSyscalls: UInt64 = 0
        /// Voluntary + involuntary context switches of all threads (`/proc/PID/task/*/status`).
        package var contextSwitches: UInt64 = 0
        /// PIDs that could not be read (exited, or not Linux).
        package var missing: [Int32]
    }

    package let processes: [BenchConfiguration.WatchedProcess]
    private let ticksPerSecond: Double

    package init(processes: [BenchConfiguration.WatchedProcess]) {
        self.processes = processes
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        self.ticksPerSecond = ticks > 0 ? Double(ticks) : 100
    }

    /// Reads every watched program now.
    package func sample() -> [String: Sample] {
        var samples: [String: Sample] = [:]
        for process in self.processes {
            var sample = Sample(cpuSeconds: 0, rssKiB: 0, missing: [])
            for pid in process.pids {
                guard let ticks = Self.cpuTicks(pid: pid), let rss = Self.residentKiB(pid: pid) else {
                    sample.missing.append(pid)
                    continue
                }
                sample.cpuSeconds += Double(ticks) / self.ticksPerSecond
                sample.rssKiB += rss
                sample.readWriteSyscalls += Self.readWriteSyscalls(pid: pid) ?? 0
                sample.contextSwitches += Self.contextSwitches(pid: pid)
            }
            samples[process.label] = sample
        }
        return samples
    }

    /// utime + stime in clock ticks, from the fields after the command name (which may contain spaces and
    /// parentheses, hence the search for the last ')').
    static func cpuTicks(pid: Int32) -> UInt64? {
        guard let text = Self.readSmallFile("/proc/\(pid)/stat"),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    /// `syscr + syscw` from `/proc/PID/io` (needs the same user or root).
    static func readWriteSyscalls(pid: Int32) -> UInt64? {
        guard let text = Self.readSmallFile("/proc/\(pid)/io") else { return nil }
        var total: UInt64 = 0
        for line in text.split(separator: "\n") where line.hasPrefix("syscr:") || line.hasPrefix("syscw:") {
            total += line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.flatMap { UInt64($0) } ?? 0
        }
        return total
    }

    /// Context switches summed over the process's threads.
    static func contextSwitches(pid: Int32) -> UInt64 {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return 0 }
        var total: UInt64 = 0
        for task in tasks {
            guard let text = Self.readSmallFile("/proc/\(pid)/task/\(task)/status") else { continue }
            for line in text.split(separator: "\n") where line.contains("ctxt_switches:") {
                total += line.split(whereSeparator: { $0 == " " || $0 == "\t" }).last.flatMap { UInt64($0) } ?? 0
            }
        }
        return total
    }

    static func residentKiB(pid: Int32) -> UInt64? {
        guard let text = Self.readSmallFile("/proc/\(pid)/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let number = line.dropFirst("VmRSS:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return number.flatMap { UInt64($0) }
        }
        return nil
    }

    /// The 1-minute load average (`/proc/loadavg`), or nil: a load above the core count while measuring means
    /// other programs competed for the CPU and the figures are not comparable.
    package static func loadAverage() -> Double? {
        guard let text = Self.readSmallFile("/proc/loadavg"), let first = text.split(separator: " ").first else { return nil }
        return Double(first)
    }

    /// Reads a file to its end with plain read(2): `/proc` files report a size of 0, which Foundation's
    /// whole-file readers trust.
    static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 { return nil }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
