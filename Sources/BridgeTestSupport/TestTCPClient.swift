import NIOCore
import NIOPosix

/// A byte-level TCP (optionally TLS) client: MQTT straight to Mosquitto, or raw bytes to any port
/// (e.g. a half-sent HTTP request to test the bridge's handshake timeout). No parsing at all.
package final class TestTCPClient: Sendable {
    struct State: Sendable {
        var received: [UInt8] = []
        var totalReceived = 0
        var closed = false
        var errors: [String] = []

        var summary: String {
            "\(received.count) bytes unread"
                + (received.isEmpty ? "" : " (\(ByteFormatting.hex(received, limit: 32)))")
                + ", \(totalReceived) received in total" + (closed ? ", TCP closed" : "")
                + (errors.isEmpty ? "" : ", errors: " + errors.joined(separator: "; "))
        }
    }

    private let channel: any Channel
    private let state: WaitableState<State>

    private init(channel: any Channel, state: WaitableState<State>) {
        self.channel = channel
        self.state = state
    }

    /// - Parameter receiveBufferSize: `SO_RCVBUF` (bytes) for a client with a tiny TCP window; nil: the default.
    package static func connect(
        host: String, port: Int, tls: TestTLS? = nil, timeout: Duration = .seconds(5), receiveBufferSize: Int? = nil
    ) async throws -> TestTCPClient {
        let state = WaitableState(State())
        let channel = try await ClientChannel.open(
            host: host, port: port, tls: tls, timeout: timeout, receiveBufferSize: receiveBufferSize
        ) { pipeline in
            try pipeline.addHandler(ByteCollector(state: state))
        }
        return TestTCPClient(channel: channel, state: state)
    }

    package func send(_ bytes: [UInt8]) async throws {
        do {
            try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
        } catch {
            throw TestClientError(.connectionClosed, "could not send \(bytes.count) bytes: \(error); \(summary)")
        }
    }

    /// Exactly `count` bytes (the rest stays buffered for the next call).
    package func receive(count: Int, timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await take(timeout: timeout, awaiting: "\(count) bytes") { received in
            received.count >= count ? count : nil
        }
    }

    /// Whatever is buffered or arrives next (at least one byte).
    package func receiveAvailable(timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        try await take(timeout: timeout, awaiting: "any bytes") { received in
            received.isEmpty ? nil : received.count
        }
    }

    private func take(timeout: Duration, awaiting: String, _ ready: ([UInt8]) -> Int?) async throws -> [UInt8] {
        let outcome = try await state.wait(until: ContinuousClock.now + timeout) { state -> [UInt8]?? in
            if let count = ready(state.received) {
                defer { state.received.removeFirst(count) }
                return .some(Array(state.received.prefix(count)))
            }
            return state.closed ? .some(nil) : nil
        }
        switch outcome {
        case .some(.some(let bytes)):
            return bytes
        case .some(.none):
            throw TestClientError(.connectionClosed, "connection closed while waiting for \(awaiting); \(summary)")
        case .none:
            throw TestClientError(.timedOut, "timed out after \(timeout.shortDescription) waiting for \(awaiting); \(summary)")
        }
    }

    /// Waits until the peer closes the connection; bytes that arrive meanwhile stay readable.
    package func expectClosed(timeout: Duration = .seconds(5)) async throws {
        let closed = try await state.wait(until: ContinuousClock.now + timeout) { $0.closed ? true : nil }
        guard closed != nil else {
            throw TestClientError(.timedOut, "timed out after \(timeout.shortDescription) waiting for the peer to close; \(summary)")
        }
    }

    /// Stops reading from the socket (autoRead off): a slow reader.
    package func pauseReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: false).get()
    }

    package func resumeReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: true).get()
    }

    package var isClosed: Bool { state.read { $0.closed } }
    package var summary: String { state.read { $0.summary } }

    package func close() async {
        try? await channel.close()
    }

    deinit {
        channel.close(promise: nil)
    }
}

/// Appends every received byte to the client's state.
private final class ByteCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let state: WaitableState<TestTCPClient.State>

    init(state: WaitableState<TestTCPClient.State>) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        state.update { state in
            state.received.append(contentsOf: bytes)
            state.totalReceived += bytes.count
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.update { $0.closed = true }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let text = String(describing: error)
        state.update { $0.errors.append(text) }
        context.close(promise: nil)
    }
}
