#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore

/// Behind NIO's `AcceptBackoffHandler` on each listening socket: says why accepting failed (usually the
/// open-file limit), at most once per `interval`, instead of one line per attempt.
final class AcceptErrorLogger: ChannelInboundHandler {
    typealias InboundIn = any Channel

    private let listener: String
    private let logger: Logger
    private let interval: TimeAmount
    private var lastLogged: NIODeadline?
    private var suppressed = 0

    init(listener: String, logger: Logger, interval: TimeAmount = .seconds(10)) {
        self.listener = listener
        self.logger = logger
        self.interval = interval
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let now = NIODeadline.now()
        if let last = self.lastLogged, now - last < self.interval {
            self.suppressed += 1
            return
        }
        var hint = ""
        if let error = error as? IOError, error.errnoCode == EMFILE || error.errnoCode == ENFILE {
            hint = "too many open files: raise the open-file limit (ulimit -n, LimitNOFILE=) or lower limits.max_connections"
        }
        self.logger.error(
            "cannot accept connections; pausing accepts for 100 ms",
            metadata: [
                "listener": "\(self.listener)", "error": "\(error)", "hint": "\(hint)",
                "similar_errors_since_last_line": "\(self.suppressed)",
            ])
        self.lastLogged = now
        self.suppressed = 0
    }
}

/// The process's open-file limit: raised to the hard limit at start-up (each session needs two descriptors:
/// client and broker), with a warning when even that cannot hold `limits.max_connections`.
enum OpenFileLimit {
    static func raise(toFit maxConnections: Int, logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        let needed = UInt64(2 * maxConnections + 256)
        if maxConnections > 0, UInt64(limit.rlim_cur) < needed {
            logger.warning(
                "the open-file limit is below what limits.max_connections needs (two descriptors per session)",
                metadata: ["open_file_limit": "\(limit.rlim_cur)", "needed": "\(needed)", "limits.max_connections": "\(maxConnections)"])
        }
    }
}
