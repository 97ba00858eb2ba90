import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One log event as the caller saw it: everything that must be captured on the caller's thread (the time, the
/// merged metadata, which may come from task-local metadata providers). Turning it into text happens later, on the
/// writer's thread.
package struct LogRecord: Sendable {
    /// Wall-clock time, UTC.
    package var seconds: Int
    package var nanoseconds: Int
    package var level: Logger.Level
    package var label: String
    package var message: String
    package var metadata: Logger.Metadata

    package init(seconds: Int, nanoseconds: Int, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
    }

    /// A record stamped with the current wall-clock time.
    init(level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        self.init(
            seconds: Int(now.tv_sec), nanoseconds: Int(now.tv_nsec), level: level, label: label, message: message,
            metadata: metadata)
    }
}
