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
public struct LogRecord: Sendable {
    /// Wall-clock time, UTC.
    public var seconds: Int
    public var nanoseconds: Int
    public var level: Logger.Level
    public var label: String
    public var message: String
    public var metadata: Logger.Metadata

    public init(seconds: Int, nanoseconds: Int, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) {
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
