/// The answer to a client's `Sec-WebSocket-Protocol` offer on a route.
package enum SubprotocolDecision: Hashable, Sendable {
    /// Upgrade; put `echo` in the 101's `Sec-WebSocket-Protocol`, or no such header when nil.
    case accept(echo: String?)
    /// Answer 400 with this one-line reason.
    case refuse(reason: String)
}

extension RouteSettings {
    /// Applies the route's policy to the values the client offered (in the client's order).
    ///
    /// - `miniprogram`: no offer → accept without the header (WeChat fails a 101 that carries a
    ///   subprotocol it did not ask for); an offer → the first offered value the route supports is
    ///   echoed, exactly as the client spelled it (RFC 6455 §4.1: a client fails the connection if the
    ///   answer is not one of its offers).
    /// - `passthrough`: the first supported offered value is echoed; no offer is refused unless
    ///   `require_subprotocol` is false.
    /// Offers made only of values the route does not support are refused: answering without the header
    /// would make a browser fail the connection with a less helpful error.
    package func negotiateSubprotocol(offered: [String]) -> SubprotocolDecision {
        let supported = self.subprotocols.joined(separator: ", ")
        if offered.isEmpty {
            switch self.policy {
            case .miniprogram:
                return .accept(echo: nil)
            case .passthrough:
                if !self.requireSubprotocol { return .accept(echo: nil) }
                return .refuse(reason: "no Sec-WebSocket-Protocol offered; this route requires one of: \(supported)")
            }
        }
        if let match = offered.first(where: { offer in
            self.subprotocols.contains { $0.caseInsensitiveEquals(offer) }
        }) {
            return .accept(echo: match)
        }
        return .refuse(
            reason: "none of the offered subprotocols (\(offered.joined(separator: ", "))) is supported; this route accepts: \(supported)")
    }
}

extension String {
    /// ASCII case-insensitive comparison (header tokens are ASCII).
    func caseInsensitiveEquals(_ other: String) -> Bool {
        self.utf8.count == other.utf8.count
            && zip(self.utf8, other.utf8).allSatisfy { a, b in
                a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= UInt8(ascii: "a") && (a | 0x20) <= UInt8(ascii: "z"))
            }
    }
}
