/// The client's side of the subprotocol negotiation, as the front end decided it for the route.
public struct SubprotocolOffer: Hashable, Sendable {
    /// The values of the client's `Sec-WebSocket-Protocol`, in its order and spelling.
    public var offered: [String]
    /// The route's own answer (nil: the 101 carries no `Sec-WebSocket-Protocol`).
    public var routeAnswer: String?
    /// A passthrough route: towards a `ws` broker the client's offer is forwarded and the broker's answer is the
    /// client's. Otherwise (a mini-program route) the bridge makes its own offer and keeps the route's answer.
    public var forwardsBrokerAnswer: Bool

    package init(offered: [String], routeAnswer: String?, forwardsBrokerAnswer: Bool) {
        self.offered = offered
        self.routeAnswer = routeAnswer
        self.forwardsBrokerAnswer = forwardsBrokerAnswer
    }
}

/// How the front end answers an accepted upgrade, as the relay decided it (`ClientSessionHandler.answerUpgrade`).
package enum UpgradeAnswer: Hashable, Sendable {
    /// 101 Switching Protocols with this `Sec-WebSocket-Protocol` (nil: no header); then the connection is the session's.
    case switchProtocols(subprotocol: String?)
    /// The broker could not be reached before the 101 (the `ws` kind): HTTP 502. `reason` is for the log.
    case badGateway(reason: String)
}
