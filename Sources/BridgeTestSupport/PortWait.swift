import NIOCore
import NIOPosix

/// Waiting for a child process's listener (Mosquitto, HAProxy).
enum PortWait {
    /// Polls a TCP connect until it succeeds, the deadline passes, or `stillAlive` says the process died.
    static func untilAccepting(
        host: String, port: Int, timeout: Duration, name: String, stillAlive: @Sendable () -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard stillAlive() else { throw TestSupportError("\(name) exited during start-up (port \(port) taken?)") }
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(200))
                .connect(host: host, port: port).get()
            {
                try? await channel.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError("\(name) did not accept connections on \(host):\(port) within \(timeout)")
    }
}
