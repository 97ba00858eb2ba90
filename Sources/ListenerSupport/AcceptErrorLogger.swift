import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Behind NIO's `AcceptBackoffHandler` on each listening socket (the bridge's and the admin's): says why accepting
/// failed (usually the open-file limit), at most once per `interval`, instead of one line per attempt.
package final class AcceptErrorLogger: ChannelInboundHandler {
    package typealias InboundOut = any Channel
    package typealias InboundIn = any Channel

    private let listener: String
    private let logger: Logger
    private let interval: TimeAmount
    private var lastLogged: NIODeadline?
    private var suppressed = 0

    package init(listener: String, logger: Logger, interval: TimeAmount = .seconds(10)) {
        self.listener = listener
        self.logger = logger
        self.interval = interval
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let now = NIODeadline.now()
        if let last = self.lastLogged, now - last < self.interval {
            self.suppressed += 1
            return
        }
        var hint = ""
        if let error = error as? IOError, error.errnoCode == EMFILE || error.errnoCode == ENFILE {
            hint =
                "too many open files: raise the open-file limit (ulimit -n, LimitNOFILE=) or lower limits.max_connections / admin.max_connections"
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
