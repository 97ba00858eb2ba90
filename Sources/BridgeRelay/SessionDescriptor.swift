import NIOCore

/// What the front end knows about a session when it hands the connection over.
package struct SessionDescriptor: Sendable {
    /// The client's address as the access log shows it.
    package var clientAddress: String
    package var listener: String
    package var route: String
    /// The `Sec-WebSocket-Protocol` value answered in the 101, or nil when none was (set by the session when it
    /// gives the answer: `ClientSessionHandler.answerUpgrade`).
    package var subprotocol: String?
    /// Bytes the broker connection must start with (a PROXY protocol v2 header), if any.
    package var upstreamPrelude: ByteBuffer?

    package init(clientAddress: String, listener: String, route: String, subprotocol: String?, upstreamPrelude: ByteBuffer? = nil) {
        self.clientAddress = clientAddress
        self.listener = listener
        self.route = route
        self.subprotocol = subprotocol
        self.upstreamPrelude = upstreamPrelude
    }
}
