/// Why a test client call failed: the code under test misbehaved (or the test waited for the wrong thing).
///
/// `kind` lets a test tell "the server closed the connection" from "nothing arrived in time" without parsing
/// text; `description` is written for the person reading a failed test: it says what was awaited and what
/// had been received so far.
package struct TestClientError: Error, CustomStringConvertible, Sendable {
    package enum Kind: Sendable, Equatable {
        /// The TCP connection (or TLS handshake) could not be established.
        case connectFailed
        /// Nothing (or not enough) arrived before the deadline.
        case timedOut
        /// The connection closed before the awaited thing arrived.
        case connectionClosed
        /// The HTTP response was malformed, or a 101 failed RFC 6455 §4.1 validation.
        case handshakeFailed
        /// The peer sent something RFC 6455 (or the awaited message type) does not allow here.
        case protocolViolation
    }

    package let kind: Kind
    package let description: String

    package init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }
}
