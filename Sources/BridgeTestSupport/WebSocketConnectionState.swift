/// What one test WebSocket connection has seen so far. Written on the event loop, read by the test.
struct WebSocketConnectionState: Sendable {
    /// The response, once its head (and, for a non-101, its body) is complete.
    var response: HTTPHandshakeResponse?
    /// Why the response could not be read (malformed head, closed mid-response…).
    var handshakeFailure: TestClientError?
    /// Bytes received before the response was complete, for "timed out" messages.
    var handshakeBytes: [UInt8] = []

    /// Frames not yet taken by a `receive…` call, oldest first.
    var pending: [ReceivedFrame] = []
    /// One line per frame ever received (bounded), for failure messages.
    var log: [String] = []
    var receivedFrameCount = 0
    /// Payloads of every ping the server sent (answered automatically unless turned off).
    var pings: [[UInt8]] = []
    /// Data frames that `expectClose` skipped while waiting for the close frame.
    var skippedDataFrames: [ReceivedFrame] = []
    /// The server's close frame, as soon as it arrives (independent of `pending`).
    var closeReceived: ReceivedFrame?
    /// Whether we have sent a close frame (ours, or the automatic reply): never send a second one.
    var closeSent = false
    var tcpClosed = false
    /// Errors the pipeline reported (TLS, frame decoding), as text.
    var errors: [String] = []

    static let logLimit = 50

    mutating func record(_ frame: ReceivedFrame) {
        receivedFrameCount += 1
        log.append(frame.description)
        if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit) }
    }

    /// "received so far: …" for failure messages.
    var summary: String {
        var parts: [String] = []
        if receivedFrameCount == 0 {
            parts.append("no frames")
        } else {
            let omitted = receivedFrameCount - log.count
            parts.append(((omitted > 0 ? ["… \(omitted) earlier frames"] : []) + log).joined(separator: "; "))
        }
        if !pending.isEmpty { parts.append("\(pending.count) not yet taken") }
        if tcpClosed { parts.append("TCP closed") }
        if !errors.isEmpty { parts.append("errors: " + errors.joined(separator: "; ")) }
        return "received so far: " + parts.joined(separator: " | ")
    }
}
