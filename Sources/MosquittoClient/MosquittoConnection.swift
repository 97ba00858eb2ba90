/// One MQTT session with the broker through libmosquitto: connect once, publish, disconnect.
///
/// A connection is **single-use**. Once it closes — `disconnect()`, a refused or timed-out connect, or a lost
/// connection — it stays closed and every later call fails with `.unavailable`; make a new one (the
/// `MosquittoPublisherPool` does that, with backoff). This keeps libmosquitto from reconnecting behind the caller's back
/// and resending messages whose publishers were already told they failed.
///
/// Nothing here blocks the calling thread: the blocking libmosquitto calls (DNS in connect, joining the network thread)
/// run on the connection's own serial queue, the network loop on libmosquitto's own thread. All methods are safe to
/// call from any task, concurrently. Releasing the last reference closes the connection (politely, in the background).
package final class MosquittoConnection: Sendable {
    private let core: ConnectionCore

    /// Creates the libmosquitto client (initialising the library on first use). Does not touch the network.
    /// Throws `.invalidConfiguration` for options libmosquitto would refuse (TLS files that cannot be read, a bad
    /// port or keep-alive…) and `.unavailable` after `MosquittoLibrary.shutdown()`.
    package init(options: MosquittoConnectionOptions) throws(MosquittoError) {
        core = try ConnectionCore(options: options)
    }

    deinit {
        core.close(MosquittoError(kind: .unavailable, reason: "the connection was released"))
    }

    package var options: MosquittoConnectionOptions { core.options }

    /// The client identifier sent in CONNECT (the generated one when `options.clientID` is nil).
    package var clientID: String { core.clientID }

    /// True between a successful CONNACK and the connection's end (or `disconnect()`).
    package var isConnected: Bool { core.isConnected }

    /// Dials and returns when the broker accepted the connection (CONNACK success).
    ///
    /// Throws `.unreachable` (e.g. `Connection refused`), `.tls`, `.notAuthorized` (`Connection Refused: not
    /// authorised.` / `Not authorized`), `.refused` (other CONNACK codes), `.timeout` (`no CONNACK within 5s`, after
    /// `options.connectTimeout`), `.connectionLost` (closed before CONNACK), `.cancelled`. After any failure the
    /// connection is closed. May be called once.
    package func connect() async throws(MosquittoError) {
        try await core.connect()
    }

    /// Publishes and returns when the message is done with, as far as this client can know:
    /// QoS 0 once written to the socket, QoS 1 after PUBACK, QoS 2 after PUBCOMP.
    ///
    /// Throws before sending (`.invalidTopic`, `.invalidMessage`, `.unavailable` when not connected — nothing was
    /// sent, retrying is safe) or after (`.timeout` after `options.ackTimeout`, `.connectionLost`, `.notAuthorized` or
    /// `.rejected` for an MQTT 5 failure reason code, `.cancelled`; the message may or may not have been delivered).
    @discardableResult
    package func publish(_ message: MosquittoMessage) async throws(MosquittoError) -> MosquittoPublishReceipt {
        try await core.publish(message)
    }

    /// Stops new publishes, waits for the ones in flight (each bounded by `ackTimeout`), sends DISCONNECT, and returns
    /// once libmosquitto's thread has stopped. Safe to call at any time, any number of times.
    package func disconnect() async {
        await core.disconnect()
    }

    /// Suspends until the connection is closed for whatever reason and returns that reason (`.connectionLost`
    /// when the broker went away, `.unavailable` after `disconnect()`); `.cancelled` if the waiting task is cancelled.
    package func waitUntilClosed() async -> MosquittoError {
        await core.waitUntilClosed()
    }
}
