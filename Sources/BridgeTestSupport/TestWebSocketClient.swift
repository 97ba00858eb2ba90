import NIOCore
import NIOPosix
import NIOWebSocket

/// A WebSocket client for tests that behaves like a browser or a WeChat mini-program by default and can be made
/// to misbehave on purpose (unmasked frames, bad headers, raw bytes).
///
/// Built on NIOWebSocket's frame decoder/encoder and its own HTTP handling, so it shares no code with the
/// bridge's WebSocket implementation: a bug there cannot hide itself in its own tests.
///
/// Every receive has a timeout and fails with a message that says what was awaited and what arrived instead.
package final class TestWebSocketClient: Sendable {
    /// Behaviour that real clients have and a test may want to switch off.
    package struct Options: Sendable {
        /// Answer every ping with a pong carrying the same payload (browsers do). Pings are recorded either way.
        package var answerPings: Bool
        /// Answer the server's close frame with a close frame echoing its code (browsers do), unless we already sent one.
        package var answerClose: Bool
        /// Frames from the server larger than this fail the connection (the decoder holds a whole frame in memory).
        package var maximumFrameSize: Int

        package init(answerPings: Bool = true, answerClose: Bool = true, maximumFrameSize: Int = 1 << 26) {
            self.answerPings = answerPings
            self.answerClose = answerClose
            self.maximumFrameSize = maximumFrameSize
        }
    }

    /// The 101 response this connection was upgraded with.
    package let response: HTTPHandshakeResponse
    /// With TLS: the serial number of the certificate the server presented, upper-case hex as
    /// `openssl x509 -noout -serial` prints it (to tell which certificate a server chose, e.g. after a reload or by SNI).
    package let peerCertificateSerial: String?
    /// This end of the TCP connection, `ip:port` as the bridge's access log writes an IPv4 client: what a server behind
    /// a proxy must still see as the client's address (PROXY protocol).
    package var localAddress: String? {
        guard let address = channel.localAddress, let ip = address.ipAddress, let port = address.port else { return nil }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }
    private let channel: any Channel
    private let state: WaitableState<WebSocketConnectionState>

    private init(
        response: HTTPHandshakeResponse, peerCertificateSerial: String?, channel: any Channel,
        state: WaitableState<WebSocketConnectionState>
    ) {
        self.response = response
        self.peerCertificateSerial = peerCertificateSerial
        self.channel = channel
        self.state = state
    }

    // MARK: - Connecting

    /// Opens TCP (+TLS) and sends a `GET path` upgrade request with a random `Sec-WebSocket-Key`,
    /// `Sec-WebSocket-Version: 13` and, only when `subprotocols` is non-nil, `Sec-WebSocket-Protocol` with them
    /// joined by `", "` (WeChat sends none: pass `nil`).
    ///
    /// - `extraHeaders` are appended; one whose name matches a standard header (`Host`, `Upgrade`, `Connection`,
    ///   `Sec-WebSocket-Key`, `Sec-WebSocket-Version`, `Sec-WebSocket-Protocol`) replaces it in place instead.
    /// - `omitHeaders` drops standard headers by name (case-insensitive), to craft incomplete requests.
    ///
    /// Returns the response and, for a valid 101, a connected client. A 101 is validated per RFC 6455 §4.1
    /// (`Upgrade`, `Connection`, `Sec-WebSocket-Accept`, no unrequested extension) and throws `.handshakeFailed`
    /// when wrong. The subprotocol is *not* validated: tests assert `response.values("Sec-WebSocket-Protocol")`.
    /// For any other status the body is read (Content-Length, chunked, or until close), the connection is
    /// closed and `client` is nil.
    package static func connect(
        host: String, port: Int, path: String, tls: TestTLS? = nil,
        subprotocols: [String]? = ["mqtt"], extraHeaders: [(String, String)] = [], omitHeaders: Set<String> = [],
        timeout: Duration = .seconds(5), options: Options = Options()
    ) async throws -> (response: HTTPHandshakeResponse, client: TestWebSocketClient?) {
        let deadline = ContinuousClock.now + timeout
        let request = UpgradeRequest(
            host: host, port: port, path: path, subprotocols: subprotocols,
            extraHeaders: extraHeaders, omitHeaders: omitHeaders
        )
        let state = WaitableState(WebSocketConnectionState())
        let channel = try await openChannel(host: host, port: port, tls: tls, timeout: timeout, state: state, options: options)
        do {
            try await sendRequest(request.bytes, on: channel, state: state)
            let response = try await awaitResponse(state: state, deadline: deadline, timeout: timeout, awaiting: "GET \(path)")
            guard response.status == 101 else {
                try? await channel.close()
                return (response, nil)
            }
            if let problem = request.problem(with: response) {
                throw TestClientError(.handshakeFailed, "invalid 101 response: \(problem):\n\(response.rawHead)")
            }
            // The 101 came through TLS, so the handshake is complete and the peer certificate is known.
            let serial = tls == nil ? nil : await PeerCertificate.serial(on: channel)
            return (response, TestWebSocketClient(response: response, peerCertificateSerial: serial, channel: channel, state: state))
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Sends exactly `bytes` (a hand-made, possibly malformed request) and returns the server's response;
    /// the connection is closed afterwards, whatever the status. Throws `.connectionClosed` when the server
    /// closes without a complete response (what a server may do with garbage).
    package static func rawRequest(
        host: String, port: Int, tls: TestTLS? = nil, bytes: [UInt8], timeout: Duration = .seconds(5)
    ) async throws -> HTTPHandshakeResponse {
        let deadline = ContinuousClock.now + timeout
        let state = WaitableState(WebSocketConnectionState())
        let channel = try await openChannel(host: host, port: port, tls: tls, timeout: timeout, state: state, options: Options())
        defer { channel.close(promise: nil) }
        try await sendRequest(bytes, on: channel, state: state)
        return try await awaitResponse(state: state, deadline: deadline, timeout: timeout, awaiting: "the raw request")
    }

    private static func openChannel(
        host: String, port: Int, tls: TestTLS?, timeout: Duration,
        state: WaitableState<WebSocketConnectionState>, options: Options
    ) async throws -> any Channel {
        try await ClientChannel.open(host: host, port: port, tls: tls, timeout: timeout) { pipeline in
            try pipeline.addHandler(HandshakeResponseReader(state: state), name: HandshakeResponseReader.name)
            try pipeline.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: options.maximumFrameSize)))
            try pipeline.addHandler(WebSocketFrameEncoder())
            try pipeline.addHandler(FrameCollector(state: state, options: options))
        }
    }

    /// Writes the request; if the connection is already gone (a TLS handshake can fail that fast), says why.
    private static func sendRequest(
        _ bytes: [UInt8], on channel: any Channel, state: WaitableState<WebSocketConnectionState>
    ) async throws {
        do {
            try await ClientChannel.writeRaw(bytes, on: channel, below: HandshakeResponseReader.name)
        } catch {
            let errors = state.read { $0.errors }
            guard !errors.isEmpty else { throw error }
            throw TestClientError(.connectFailed, "connection failed before the request was sent: \(errors.joined(separator: "; "))")
        }
    }

    private static func awaitResponse(
        state: WaitableState<WebSocketConnectionState>, deadline: ContinuousClock.Instant, timeout: Duration, awaiting: String
    ) async throws -> HTTPHandshakeResponse {
        let outcome = try await state.wait(until: deadline) { state -> Result<HTTPHandshakeResponse, TestClientError>? in
            if let response = state.response { return .success(response) }
            if let failure = state.handshakeFailure { return .failure(failure) }
            if state.tcpClosed {
                return .failure(TestClientError(.connectionClosed, "connection closed before a response; errors: \(state.errors)"))
            }
            return nil
        }
        guard let outcome else {
            let received = state.read { $0.handshakeBytes }
            throw TestClientError(
                .timedOut,
                "timed out after \(timeout.shortDescription) waiting for the response to \(awaiting); received \(received.count) bytes"
                    + (received.isEmpty ? "" : ":\n" + String(decoding: received, as: UTF8.self))
            )
        }
        return try outcome.get()
    }

    // MARK: - Sending

    /// One masked binary frame (fin set) with `payload`.
    package func sendBinary(_ payload: [UInt8]) async throws {
        try await sendFrames([OutgoingFrame(opcode: .binary, payload: payload)])
    }

    /// `payload` as one fragmented binary message: a binary frame and continuation frames of at most
    /// `fragmentSize` bytes each, written together (e.g. an MQTT packet split across frames).
    package func sendBinary(_ payload: [UInt8], fragmentSize: Int) async throws {
        precondition(fragmentSize > 0, "fragmentSize must be positive")
        var frames: [OutgoingFrame] = []
        var start = 0
        repeat {
            let end = min(start + fragmentSize, payload.count)
            let opcode: WebSocketOpcode = frames.isEmpty ? .binary : .continuation
            frames.append(OutgoingFrame(opcode: opcode, payload: Array(payload[start..<end]), fin: end == payload.count))
            start = end
        } while start < payload.count
        try await sendFrames(frames)
    }

    /// Any single frame: text, continuation, ping, close, unmasked or with reserved bits (to test refusals).
    package func sendFrame(
        opcode: WebSocketOpcode, payload: [UInt8], fin: Bool = true, masked: Bool = true, reservedBits: UInt8 = 0
    ) async throws {
        try await sendFrames([OutgoingFrame(opcode: opcode, payload: payload, fin: fin, masked: masked, reservedBits: reservedBits)])
    }

    /// Several frames with a single flush, so they usually reach the server in one read.
    /// Sending a close frame marks the connection as closing (no automatic close reply afterwards).
    package func sendFrames(_ frames: [OutgoingFrame]) async throws {
        if frames.contains(where: { $0.opcode == .connectionClose }) {
            state.update { $0.closeSent = true }
        }
        let webSocketFrames = frames.map { frame in
            WebSocketFrame(
                fin: frame.fin, rsv1: frame.reservedBits & 0x40 != 0, rsv2: frame.reservedBits & 0x20 != 0,
                rsv3: frame.reservedBits & 0x10 != 0, opcode: frame.opcode,
                maskKey: frame.masked ? .random() : nil, data: ByteBuffer(bytes: frame.payload)
            )
        }
        let writes = webSocketFrames.map { channel.write($0) }
        channel.flush()
        do {
            for write in writes { try await write.get() }
        } catch {
            throw TestClientError(.connectionClosed, "could not send \(frames.count) frame(s): \(error); \(state.read { $0.summary })")
        }
    }

    /// Arbitrary bytes on the socket (below TLS framing but above TCP): half frames, garbage, several frames at once.
    package func sendRaw(_ bytes: [UInt8]) async throws {
        try await ClientChannel.writeRaw(bytes, on: channel, below: HandshakeResponseReader.name)
    }

    // MARK: - Receiving

    /// The next frame of any kind (pings included; they were already answered if `answerPings`).
    /// Throws `.timedOut`, or `.connectionClosed` when the connection closed and no frame is left.
    package func receiveFrame(timeout: Duration = .seconds(5)) async throws -> ReceivedFrame {
        try await nextFrame(deadline: ContinuousClock.now + timeout, timeout: timeout, awaiting: "a frame")
    }

    /// The next complete binary message (a binary frame and its continuations), skipping pings and pongs.
    /// A text frame throws `.protocolViolation`; a close frame throws `.connectionClosed` and stays queued,
    /// so `expectClose` can still read it.
    package func receiveBinaryMessage(timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        var message: [UInt8]?
        while true {
            let frame = try await nextFrame(
                deadline: deadline, timeout: timeout, awaiting: "a binary message",
                leaveQueued: { $0.opcode == .connectionClose }
            )
            switch frame.opcode {
            case .ping, .pong:
                continue
            case .connectionClose:
                throw TestClientError(.connectionClosed, "expected a binary message, got close: \(frame); \(summary)")
            case .binary where message == nil:
                message = frame.payload
            case .continuation where message != nil:
                message?.append(contentsOf: frame.payload)
            default:
                throw TestClientError(.protocolViolation, "expected a binary message, got \(frame); \(summary)")
            }
            if frame.fin, let message { return message }
        }
    }

    /// Waits for the server's close frame, then for the server to close TCP (RFC 6455 §7.1.1: the server closes
    /// first). Data frames on the way are skipped and kept in `skippedDataFrames`. Throws if TCP closes without
    /// a close frame, or the close frame arrives but TCP stays open past the timeout.
    @discardableResult
    package func expectClose(timeout: Duration = .seconds(5)) async throws -> (code: UInt16?, reason: String) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let frame = try await nextFrame(deadline: deadline, timeout: timeout, awaiting: "a close frame")
            switch frame.opcode {
            case .connectionClose:
                try await expectTCPClose(deadline: deadline, timeout: timeout, awaiting: "TCP close after the close frame (\(frame))")
                return frame.close
            case .ping, .pong:
                continue
            default:
                state.update { $0.skippedDataFrames.append(frame) }
            }
        }
    }

    /// Waits until the server has closed the TCP connection, without taking any frame.
    package func expectTCPClose(timeout: Duration = .seconds(5)) async throws {
        try await expectTCPClose(deadline: ContinuousClock.now + timeout, timeout: timeout, awaiting: "the TCP connection to close")
    }

    private func expectTCPClose(deadline: ContinuousClock.Instant, timeout: Duration, awaiting: String) async throws {
        let closed = try await state.wait(until: deadline) { $0.tcpClosed ? true : nil }
        guard closed != nil else {
            throw TestClientError(.timedOut, "timed out after \(timeout.shortDescription) waiting for \(awaiting); \(summary)")
        }
    }

    private func nextFrame(
        deadline: ContinuousClock.Instant, timeout: Duration, awaiting: String,
        leaveQueued: (ReceivedFrame) -> Bool = { _ in false }
    ) async throws -> ReceivedFrame {
        let outcome = try await state.wait(until: deadline) { state -> ReceivedFrame?? in
            if let first = state.pending.first {
                if !leaveQueued(first) { state.pending.removeFirst() }
                return .some(first)
            }
            return state.tcpClosed ? .some(nil) : nil
        }
        switch outcome {
        case .some(.some(let frame)):
            return frame
        case .some(.none):
            throw TestClientError(.connectionClosed, "connection closed while waiting for \(awaiting); \(summary)")
        case .none:
            throw TestClientError(.timedOut, "timed out after \(timeout.shortDescription) waiting for \(awaiting); \(summary)")
        }
    }

    // MARK: - Closing

    /// The closing handshake as a browser does it: sends a close frame (unless one was already sent), waits for the
    /// server's close frame, then closes TCP. Returns the server's close (nil if it closed TCP without one).
    /// Throws `.timedOut` if neither arrives in time (TCP is closed anyway).
    @discardableResult
    package func close(
        code: UInt16 = 1000, reason: String = "", timeout: Duration = .seconds(5)
    ) async throws -> (code: UInt16?, reason: String)? {
        let alreadySent = state.update { state -> Bool in
            defer { state.closeSent = true }
            return state.closeSent
        }
        if !alreadySent {
            let frame = OutgoingFrame.close(code: code, reason: reason)
            try? await sendFrames([frame])
        }
        defer { channel.close(promise: nil) }
        let reply = try await state.wait(until: ContinuousClock.now + timeout) { state -> ReceivedFrame?? in
            if let close = state.closeReceived { return .some(close) }
            return state.tcpClosed ? .some(nil) : nil
        }
        guard let reply else {
            throw TestClientError(
                .timedOut, "timed out after \(timeout.shortDescription) waiting for the server's close frame; \(summary)"
            )
        }
        return reply.map(\.close)
    }

    /// Closes the TCP connection at once, without a close frame (a client that vanishes).
    package func closeTCP() async {
        try? await channel.close()
    }

    // MARK: - Flow control and inspection

    /// Stops reading from the socket (autoRead off: NIO drops its read interest at once), so the server's writes
    /// back up in the kernel buffers and then in the server: a slow client. Sending still works.
    package func pauseReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: false).get()
    }

    /// Reads again after `pauseReading()`.
    package func resumeReading() async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: true).get()
    }

    /// Whether the TCP connection is closed (by either side).
    package var isTCPClosed: Bool { state.read { $0.tcpClosed } }
    /// Payloads of every ping received so far.
    package var receivedPings: [[UInt8]] { state.read { $0.pings } }
    /// Data frames `expectClose` skipped.
    package var skippedDataFrames: [ReceivedFrame] { state.read { $0.skippedDataFrames } }
    /// The server's close frame, once received (whether or not a `receive…` call took it).
    package var receivedClose: ReceivedFrame? { state.read { $0.closeReceived } }
    /// Errors the connection reported (TLS, invalid frames from the server).
    package var errors: [String] { state.read { $0.errors } }
    /// What arrived so far, for custom failure messages.
    package var summary: String { state.read { $0.summary } }

    deinit {
        channel.close(promise: nil)
    }
}
