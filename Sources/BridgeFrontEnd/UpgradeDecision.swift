import BridgeRelay
import EdgeAuth
import NIOHTTP1
import TextTrimming
import WebSocketTransport

/// The front end's answer to one HTTP request head: refuse it with a status, or accept it as a WebSocket upgrade on
/// one of the routes. A plain function of its inputs, decided without a channel; `WebSocketUpgradeHandler` performs it.
///
/// The checks run in this order, and the first that fails is the answer: route (404) → method (405) → `Upgrade:
/// websocket` (426) → HTTP/1.1 (400) → `Connection: Upgrade` (400) → `Sec-WebSocket-Version: 13` (400, 426) →
/// `Sec-WebSocket-Key` (400) → `Host` (400) → no body (400) → origin (403) → subprotocol policy (400) → admission (429).
///
/// Admission (per-address limits) is the one step with a side effect: admitting takes from the client's allowance.
/// It is injected as `admit` and consulted last, at most once, and only for a request that passed every other check,
/// so refused requests never use up an allowance. Everything before it depends only on the head and the route table:
/// `UpgradeDecision(head, routes: routes) { .admitted(key: "") }` is a pure function (what a fuzz target calls).
public enum UpgradeDecision: Sendable {
    case refuse(UpgradeRefusal)
    case accept(UpgradeAcceptance)

    public init(_ head: HTTPRequestHead, routes: RouteTable, admit: () -> ClientAdmission.Decision) {
        switch Self.check(head, routes: routes) {
        case .refused(let refusal):
            self = .refuse(refusal)
        case .valid(let request):
            self = Self.admitting(request, admit: admit)
        }
    }

    private enum Check {
        case refused(UpgradeRefusal)
        case valid(ValidRequest)
    }

    /// What the checks found in a request that passed them.
    private struct ValidRequest {
        var route: RouteTable.Route
        var key: String
        var offered: [String]
        var echo: String?
        var headers: HTTPHeaders
    }

    /// Everything but admission: the route the request may upgrade on, or why not.
    private static func check(_ head: HTTPRequestHead, routes: RouteTable) -> Check {
        let path = requestPath(of: head.uri)
        guard let route = routes[path] else {
            return .refused(UpgradeRefusal(404, "no WebSocket endpoint at \(path)", result: "not_found", route: nil))
        }
        let name = route.settings.name
        let headers = head.headers
        guard head.method == .GET else {
            return .refused(
                UpgradeRefusal(
                    405, "method \(head.method.rawValue) not allowed; a WebSocket handshake is a GET", result: "method_not_allowed",
                    route: name, headers: [("Allow", "GET")]))
        }
        guard headers.containsToken("websocket", in: "Upgrade") else {
            return .refused(
                UpgradeRefusal(
                    426, "this is an MQTT over WebSocket endpoint: connect with a WebSocket client (ws:// or wss://)",
                    result: "upgrade_required", route: name,
                    headers: [("Upgrade", "websocket"), ("Connection", "Upgrade, close"), ("Sec-WebSocket-Version", "13")]))
        }
        guard head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) else {
            return .refused(UpgradeRefusal(400, "a WebSocket handshake needs HTTP/1.1", result: "bad_request", route: name))
        }
        guard headers.containsToken("upgrade", in: "Connection") else {
            return .refused(UpgradeRefusal(400, "the Connection header must include Upgrade", result: "bad_request", route: name))
        }
        let versions = headers["Sec-WebSocket-Version"]
        guard let version = versions.first, versions.count == 1 else {
            return .refused(UpgradeRefusal(400, "missing Sec-WebSocket-Version", result: "bad_request", route: name))
        }
        guard version.trimmingASCIIWhitespace() == "13" else {
            return .refused(
                UpgradeRefusal(
                    426, "unsupported Sec-WebSocket-Version \(version); this server speaks 13", result: "unsupported_version",
                    route: name, headers: [("Sec-WebSocket-Version", "13")]))
        }
        let keys = headers["Sec-WebSocket-Key"]
        guard keys.count == 1, let key = keys.first.map({ String($0.trimmingASCIIWhitespace()) }), WebSocketHandshake.isValidKey(key) else {
            return .refused(UpgradeRefusal(400, "missing or invalid Sec-WebSocket-Key", result: "bad_request", route: name))
        }
        guard !headers["Host"].isEmpty else {
            return .refused(UpgradeRefusal(400, "missing Host header", result: "bad_request", route: name))
        }
        if !headers["Transfer-Encoding"].isEmpty || headers["Content-Length"].contains(where: { $0 != "0" }) {
            return .refused(UpgradeRefusal(400, "a WebSocket handshake has no body", result: "bad_request", route: name))
        }
        if let origins = route.origins, let reason = origins.refusal(for: headers.first(name: "Origin")) {
            return .refused(UpgradeRefusal(403, reason, result: "origin_forbidden", route: name))
        }
        let offered = WebSocketHandshake.tokens(in: headers["Sec-WebSocket-Protocol"])
        switch route.settings.negotiateSubprotocol(offered: offered) {
        case .refuse(let reason):
            return .refused(UpgradeRefusal(400, reason, result: "subprotocol_refused", route: name))
        case .accept(let echo):
            return .valid(ValidRequest(route: route, key: key, offered: offered, echo: echo, headers: headers))
        }
    }

    /// The last step: the client's allowance, then what the 101 needs.
    private static func admitting(_ request: ValidRequest, admit: () -> ClientAdmission.Decision) -> UpgradeDecision {
        let route = request.route
        let name = route.settings.name
        switch admit() {
        case .admitted(let admissionKey):
            return .accept(
                UpgradeAcceptance(
                    route: route, acceptValue: WebSocketHandshake.acceptValue(forKey: request.key),
                    subprotocol: SubprotocolOffer(
                        offered: request.offered, routeAnswer: request.echo,
                        forwardsBrokerAnswer: route.settings.policy == .passthrough),
                    compression: route.compression.flatMap {
                        PerMessageDeflate.negotiate(offers: request.headers["Sec-WebSocket-Extensions"], settings: $0)
                    },
                    admissionKey: admissionKey, host: request.headers.first(name: "Host")))
        case .tooManySessions(let limit):
            return .refuse(
                UpgradeRefusal(
                    429, "too many sessions from your address (limit \(limit))", result: "too_many_sessions", route: name,
                    headers: [("Retry-After", "10")]))
        case .rateLimited(let retryAfter):
            return .refuse(
                UpgradeRefusal(
                    429, "too many new connections from your address; retry in \(retryAfter) s", result: "rate_limited", route: name,
                    headers: [("Retry-After", "\(retryAfter)")]))
        }
    }
}

/// A refused request: the status, a one-line reason (the response body and the log) and the headers the refusal adds.
public struct UpgradeRefusal: Equatable, Sendable {
    public var status: Int
    public var reason: String
    /// The `result` label of `mqtt_ws_bridge_handshakes_total`, e.g. `subprotocol_refused`.
    public var result: String
    /// The route the request asked for; nil when it matched none.
    public var route: String?
    /// Headers besides the standard refusal headers (`Allow`, `Upgrade`, `Retry-After`, ...), in order.
    public var headers: [HeaderField]

    public struct HeaderField: Hashable, Sendable {
        public var name: String
        public var value: String

        package init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    package init(_ status: Int, _ reason: String, result: String, route: String?, headers: [(String, String)] = []) {
        self.status = status
        self.reason = reason
        self.result = result
        self.route = route
        self.headers = headers.map { HeaderField(name: $0.0, value: $0.1) }
    }
}

/// An accepted upgrade: what the 101 and the session need.
public struct UpgradeAcceptance: Sendable {
    public var route: RouteTable.Route
    /// The `Sec-WebSocket-Accept` value for the client's key.
    public var acceptValue: String
    /// The client's offer and the route's own answer; the relay decides the 101's value (`UpgradeAnswer`).
    public var subprotocol: SubprotocolOffer
    /// The negotiated permessage-deflate parameters; nil without compression.
    public var compression: PerMessageDeflate.Agreement?
    /// Release with `ClientAdmission.release(_:)` when the connection ends.
    public var admissionKey: String
    /// The `Host` header, for the AUTHORITY of an outbound PROXY protocol header.
    public var host: String?
    /// Edge authentication's outcome on a route with `auth`, set by the step after this decision
    /// (`UpgradeAuthentication`); the session takes it to the CONNECT.
    package var auth: UpgradeAuthOutcome? = nil
}

/// The path of a request target, without query or fragment; absolute-form targets are reduced to their path.
func requestPath(of uri: String) -> String {
    var target = Substring(uri)
    if let scheme = target.range(of: "://") {
        let afterScheme = target[scheme.upperBound...]
        target = afterScheme.firstIndex(of: "/").map { afterScheme[$0...] } ?? "/"
    }
    if let end = target.firstIndex(where: { $0 == "?" || $0 == "#" }) {
        target = target[..<end]
    }
    return target.isEmpty ? "/" : String(target)
}
