import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit: raised to the hard limit at start-up (each session needs two descriptors:
/// client and broker), with a warning when even that cannot hold `limits.max_connections`.
enum OpenFileLimit {
    static func raise(toFit maxConnections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(openFiles, &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(openFiles, &raised) == 0 { limit = raised }
        }
        let needed = UInt64(2 * maxConnections + 256)
        if maxConnections > 0, UInt64(limit.rlim_cur) < needed {
            logger.warning(
                "the open-file limit is below what limits.max_connections needs (two descriptors per session)",
                metadata: ["open_file_limit": "\(limit.rlim_cur)", "needed": "\(needed)", "limits.max_connections": "\(maxConnections)"])
        }
    }
}

/// `RLIMIT_NOFILE` as `getrlimit` takes it: an enum in Glibc, a plain constant in Musl and Darwin.
#if canImport(Glibc)
private let openFiles = Int32(RLIMIT_NOFILE.rawValue)
#else
private let openFiles = RLIMIT_NOFILE
#endif
