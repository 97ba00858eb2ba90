import BridgeRelay
import EdgeAuth
import NIOCore
import NIOHTTP1

/// The upgrade's edge-authentication step, for a route with `auth`: after `UpgradeDecision` accepted the request
/// (admission included, so a client's failed attempts use up its connection rate) and before the 101.
///
/// A token from the request (header, query, cookie) is verified here, on the connection's event loop: ES256 and RS256
/// cost tens of microseconds (docs/PERFORMANCE.md), less than the TLS handshake the same loop just did for this
/// connection, and a hop to a thread pool and back would cost about as much as it saves while holding the request
/// across threads. Only a token that the auth callout must judge leaves the loop (an HTTP request, asynchronous).
enum UpgradeAuthentication {
    /// What to do with the request.
    enum Verdict {
        /// Go on to the 101; the session takes the outcome to the CONNECT.
        case proceed(UpgradeAuthOutcome)
        case refuse(UpgradeRefusal)
    }

    /// Judges the request of a route with `auth`.
    /// Counts the result; completes on `eventLoop` (at once, unless the callout is asked), never with an error.
    static func judge(
        _ head: HTTPRequestHead, auth: RouteEdgeAuth, clientAddress: String, metrics: BridgeMetrics.Route, on eventLoop: any EventLoop
    ) -> EventLoopFuture<Verdict> {
        let request = UpgradeRequest(method: head.method.rawValue, uri: head.uri, headers: head.headers)
        return auth.authenticator.authenticateUpgrade(route: auth.route, request: request, clientAddress: clientAddress, on: eventLoop)
            .map { outcome in
                switch outcome {
                case .refused(let failure):
                    metrics.authentication(stage: "upgrade", result: "refused")
                    metrics.authenticationRefused(stage: "upgrade", reason: failure.label)
                    return .refuse(UpgradeRefusal(failure, route: auth.route))
                case .authenticated:
                    metrics.authentication(stage: "upgrade", result: "accepted")
                case .anonymous:
                    metrics.authentication(stage: "upgrade", result: "anonymous")
                case .awaitingConnect:
                    metrics.authentication(stage: "upgrade", result: "deferred")
                }
                return .proceed(outcome)
            }
            .recover { _ in .refuse(UpgradeRefusal(AuthFailure(.unavailable), route: auth.route)) }  // never left waiting
    }
}

extension UpgradeRefusal {
    /// A refusal by edge authentication: 401 with `WWW-Authenticate: Bearer …` (RFC 6750 §3), or 503 when the auth
    /// callout is unavailable (the client did nothing wrong; it may retry). The reason is `AuthFailure`'s short text,
    /// never anything from the token.
    init(_ failure: AuthFailure, route: String) {
        if let challenge = failure.wwwAuthenticate {
            self.init(401, failure.reason, result: "unauthorized", route: route, headers: [("WWW-Authenticate", challenge)])
        } else {
            self.init(503, failure.reason, result: "auth_unavailable", route: route, headers: [("Retry-After", "5")])
        }
    }
}
