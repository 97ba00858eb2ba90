/// A violation of RFC 6455 (or of this endpoint's limits) detected while reading frames.
/// It carries the close code to answer with, so callers never have to map errors themselves.
public struct WebSocketProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var closeCode: WebSocketCloseCode
    /// One line, safe to put in a close frame's reason (ASCII, well under 123 bytes) and in logs.
    public var reason: String

    public init(_ closeCode: WebSocketCloseCode, _ reason: String) {
        self.closeCode = closeCode
        self.reason = reason
    }

    public var description: String { "\(closeCode): \(reason)" }
}
