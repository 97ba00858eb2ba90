#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time of this process and of the calling thread (`getrusage`), so that a report shows whether the generator
/// itself was the bottleneck.
package enum ResourceUsage {
    /// User + system CPU time of the whole process, in nanoseconds.
    package static func processCPUNanoseconds() -> UInt64 {
        var usage = rusage()
        #if os(Linux)
        let who = __rusage_who_t(RUSAGE_SELF.rawValue)
        #else
        let who = RUSAGE_SELF
        #endif
        guard getrusage(who, &usage) == 0 else { return 0 }
        return nanoseconds(usage)
    }

    /// User + system CPU time of the calling thread, in nanoseconds; nil where `RUSAGE_THREAD` does not exist.
    package static func currentThreadCPUNanoseconds() -> UInt64? {
        #if os(Linux)
        var usage = rusage()
        // RUSAGE_THREAD (1, Linux ≥ 2.6.26): glibc only declares it with _GNU_SOURCE, so Swift does not see it.
        let rusageThread: __rusage_who_t = 1
        guard getrusage(rusageThread, &usage) == 0 else { return nil }
        return nanoseconds(usage)
        #else
        return nil
        #endif
    }

    private static func nanoseconds(_ usage: rusage) -> UInt64 {
        let user = UInt64(usage.ru_utime.tv_sec) * 1_000_000_000 + UInt64(usage.ru_utime.tv_usec) * 1_000
        let system = UInt64(usage.ru_stime.tv_sec) * 1_000_000_000 + UInt64(usage.ru_stime.tv_usec) * 1_000
        return user + system
    }

    /// Raises the soft limit on open files to the hard limit (idle-connection runs need one per connection) and
    /// returns the resulting soft limit.
    @discardableResult
    package static func raiseOpenFileLimit() -> UInt64 {
        var limit = rlimit()
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 0 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 {
                return UInt64(raised.rlim_cur)
            }
        }
        return UInt64(limit.rlim_cur)
    }
}
