import Logging
import NIOConcurrencyHelpers

/// A few persistent connections for the server-side publish API.
///
/// Each member keeps one connection up on its own: when it fails or is lost, the member makes a new one after a
/// backoff (`MosquittoReconnectPolicy`: 0.2 s doubling to 10 s, with jitter). `publish` picks a connected member round
/// robin and **never waits for a reconnect**: with no member connected it fails at once with `.unavailable`, so an
/// HTTP caller gets a fast 503 rather than a hung request.
///
/// Lifecycle: `start()` once, `shutdown()` once before exit (before `MosquittoLibrary.shutdown()`); shutdown lets
/// publishes in flight finish (bounded by `ackTimeout`), then disconnects every member.
package final class MosquittoPublisherPool: Sendable {
    private enum Phase {
        case idle, running, shutDown
    }

    private struct State {
        var phase = Phase.idle
        /// The connected connection of each member, nil while it is (re)connecting.
        var members: [MosquittoConnection?]
        var next = 0
        var tasks: [Task<Void, Never>] = []
    }

    package let options: MosquittoConnectionOptions
    package let size: Int
    package let reconnectPolicy: MosquittoReconnectPolicy
    private let logger: Logger
    private let state: NIOLockedValueBox<State>
    /// Where a member (re)connects, asked before each attempt; nil: `options.host` and `options.port`.
    private let broker: (@Sendable () -> (host: String, port: Int))?

    /// Validates `options` (throws `.invalidConfiguration`) but does not connect; call `start()`. `broker`, when given,
    /// says where each (re)connection goes instead of `options.host`/`options.port` (a pool's server that is up).
    /// With `options.clientID` set, member *i* uses `<clientID>-<i>` (the broker allows one session per client id);
    /// without it each connection gets a random one.
    package init(
        options: MosquittoConnectionOptions,
        size: Int = 2,
        reconnectPolicy: MosquittoReconnectPolicy = MosquittoReconnectPolicy(),
        logger: Logger = Logger(label: "mqtt-ws-bridge.mosquitto"),
        broker: (@Sendable () -> (host: String, port: Int))? = nil
    ) throws(MosquittoError) {
        guard size >= 1 else {
            throw MosquittoError(kind: .invalidConfiguration, reason: "publisher pool size must be at least 1")
        }
        try options.validate()
        self.options = options
        self.size = size
        self.reconnectPolicy = reconnectPolicy
        self.logger = logger
        self.broker = broker
        self.state = NIOLockedValueBox(State(members: Array(repeating: nil, count: size)))
    }

    /// Members currently connected (0…`size`).
    package var connectedCount: Int {
        state.withLockedValue { $0.members.reduce(0) { $0 + ($1?.isConnected == true ? 1 : 0) } }
    }

    /// Starts every member connecting in the background and returns at once. Later calls do nothing.
    package func start() {
        state.withLockedValue { state in
            guard case .idle = state.phase else { return }
            state.phase = .running
            state.tasks = (0..<size).map { index in
                Task { await self.runMember(index) }
            }
        }
    }

    /// Publishes through a connected member; see `MosquittoConnection.publish` for when it returns and what it throws.
    /// With no member connected (or before `start()`, after `shutdown()`) it throws `.unavailable` immediately.
    @discardableResult
    package func publish(_ message: MosquittoMessage) async throws(MosquittoError) -> MosquittoPublishReceipt {
        var attempts = 0
        while true {
            guard let connection = pickConnection() else {
                throw MosquittoError(
                    kind: .unavailable, reason: "no connection to the broker (0 of \(size) connected)")
            }
            do {
                return try await connection.publish(message)
            } catch {
                // .unavailable means nothing was sent (the member closed just now): another member may take it.
                attempts += 1
                guard error.kind == .unavailable, attempts < size else { throw error }
            }
        }
    }

    /// Stops reconnecting, lets publishes in flight finish, disconnects every member; returns when all are closed.
    package func shutdown() async {
        let tasks = state.withLockedValue { state -> [Task<Void, Never>] in
            state.phase = .shutDown
            defer { state.tasks = [] }
            return state.tasks
        }
        for task in tasks {
            task.cancel()
        }
        for task in tasks {
            await task.value
        }
    }

    private func pickConnection() -> MosquittoConnection? {
        state.withLockedValue { state in
            guard case .running = state.phase else { return nil }
            for offset in 0..<size {
                let index = (state.next + offset) % size
                if let connection = state.members[index], connection.isConnected {
                    state.next = (index + 1) % size
                    return connection
                }
            }
            return nil
        }
    }

    private func memberOptions(_ index: Int) -> MosquittoConnectionOptions {
        var options = self.options
        if let broker {
            (options.host, options.port) = broker()
        }
        if let clientID = options.clientID {
            options.clientID = "\(clientID)-\(index + 1)"
        }
        return options
    }

    /// One member: connect, serve until the connection ends, back off, repeat — until cancelled by `shutdown()`.
    private func runMember(_ index: Int) async {
        var backoff = ReconnectBackoff(policy: reconnectPolicy)
        var logger = self.logger
        logger[metadataKey: "mqtt_pool_member"] = "\(index + 1)"
        var failuresInARow = 0

        while !Task.isCancelled {
            do {
                let options = memberOptions(index)
                logger[metadataKey: "mqtt_broker"] = "\(options.host):\(options.port)"
                let connection = try MosquittoConnection(options: options)
                do {
                    try await connection.connect()
                    backoff.reset()
                    failuresInARow = 0
                    logger.info("connected to the broker", metadata: ["mqtt_client_id": "\(connection.clientID)"])
                    state.withLockedValue { $0.members[index] = connection }
                    let reason = await connection.waitUntilClosed()
                    state.withLockedValue { $0.members[index] = nil }
                    if reason.kind != .cancelled {
                        logger.warning("connection to the broker lost", metadata: ["reason": "\(reason)"])
                    }
                } catch {
                    failuresInARow += 1
                    // One warning per outage, then quieter: a broker that is down for an hour should not flood the log.
                    let level: Logger.Level = failuresInARow == 1 ? .warning : .debug
                    logger.log(level: level, "cannot connect to the broker", metadata: ["reason": "\(error)"])
                }
                await connection.disconnect()
            } catch {
                logger.error("cannot create a broker connection", metadata: ["reason": "\(error)"])
            }
            do {
                try await Task.sleep(for: backoff.nextDelay())
            } catch {
                break
            }
        }
    }
}
