import Foundation
import Logging
import MQTTWire
import NIOCore
import NIOPosix

/// Edge authentication for the bridge: who may open a session on a route, and which topics that session gets.
///
/// ## How the bridge uses it
/// 1. At start: `try await EdgeAuthenticator(jwt:callout:routes:…)` (key files are read and checked; a bad one is
///    a start-up error naming it), `run()` in the service group (the `reload_interval` timer), `reloadKeys()` from
///    the SIGHUP handler next to the certificate reload, `shutdown()` after the listeners have drained.
/// 2. At the upgrade, for a route that has settings here: `authenticateUpgrade` → 101, or 401/503 before it.
/// 3. At the CONNECT: `authorizeConnect` with the upgrade's outcome → relay, or CONNACK "not authorized" without
///    dialling the broker. The session's topic checks are built from `SessionAuthorization.topics`, and a
///    `disconnectAt` timer ends it when the token expires.
///
/// A token in the request is judged before the 101; the CONNECT's password only when no request source gave a
/// valid token. With both `auth.jwt` and `auth.http`, a token shaped like a JWT is verified locally and anything
/// else goes to the callout; with one of them, that one judges every token.
///
/// Every entry point may be called on an event loop: JWT verification is synchronous, the callout's answer comes
/// back on the caller's loop.
package final class EdgeAuthenticator: Sendable {
    /// Nil when `auth.jwt` is not configured.
    package let verifier: TokenVerifier?
    private let callout: AuthCallout?
    private let routes: [String: RouteAuthSettings]
    private let logger: Logger

    /// Checks the settings and loads the key files. `eventLoopGroup` carries the callout's connections.
    package init(
        jwt: JWTVerifierSettings?,
        callout: AuthCalloutSettings?,
        routes: [RouteAuthSettings],
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) async throws(EdgeAuthError) {
        try Self.checkRoutes(routes, hasJWT: jwt != nil, hasCallout: callout != nil)
        if let callout { try AuthCallout.validate(callout) }
        if let jwt {
            self.verifier = try await TokenVerifier(settings: jwt, logger: logger)
        } else {
            self.verifier = nil
        }
        self.callout = try callout.map { settings throws(EdgeAuthError) in
            try AuthCallout(settings: settings, eventLoopGroup: eventLoopGroup, logger: logger)
        }
        self.routes = Dictionary(routes.map { ($0.route, $0) }, uniquingKeysWith: { _, last in last })
        self.logger = logger
    }

    /// What `--check-config` runs: the same checks and key loading as `init`, without opening anything.
    package static func validate(
        jwt: JWTVerifierSettings?, callout: AuthCalloutSettings?, routes: [RouteAuthSettings]
    ) async throws(EdgeAuthError) {
        try Self.checkRoutes(routes, hasJWT: jwt != nil, hasCallout: callout != nil)
        if let callout { try AuthCallout.validate(callout) }
        if let jwt {
            let quiet = Logger(label: "mqtt_ws_bridge.check") { _ in SwiftLogNoOpLogHandler() }
            _ = try await TokenVerifier(settings: jwt, logger: quiet)
        }
    }

    private static func checkRoutes(_ routes: [RouteAuthSettings], hasJWT: Bool, hasCallout: Bool) throws(EdgeAuthError) {
        var problems: [EdgeAuthError.Problem] = []
        for route in routes {
            if !hasJWT && !hasCallout {
                problems.append(.init(key: "routes.\(route.route).auth", message: "needs auth.jwt or auth.http to check tokens with"))
            }
            if route.sources.isEmpty {
                problems.append(.init(key: "routes.\(route.route).auth.sources", message: "must list at least one source"))
            }
        }
        if !problems.isEmpty { throw EdgeAuthError(problems) }
    }

    /// The settings of a route that is authenticated; nil for a route without `auth`.
    package func settings(forRoute route: String) -> RouteAuthSettings? {
        self.routes[route]
    }

    // MARK: - The upgrade

    /// Judges the upgrade request of an authenticated route. A route not known here is refused (a wiring mistake
    /// must not open a route). The future completes on `eventLoop`; at once unless the callout is asked.
    package func authenticateUpgrade(
        route name: String, request: UpgradeRequest, clientAddress: String, on eventLoop: any EventLoop
    ) -> EventLoopFuture<UpgradeAuthOutcome> {
        guard let route = self.routes[name] else {
            return eventLoop.makeSucceededFuture(.refused(AuthFailure(.unavailable, "route has no auth settings")))
        }
        let forwarded = self.callout.map { CalloutRequest.forwardedHeaders(of: request, allowed: $0.forwardedHeaders) } ?? [:]
        let pending = { (failure: AuthFailure?, token: BearerToken?) in
            UpgradeAuthOutcome.awaitingConnect(
                PendingAuthentication(requestFailure: failure, requestToken: token, forwardedHeaders: forwarded))
        }
        let token: BearerToken?
        switch TokenExtraction.token(in: request, sources: route.sources, queryParameter: route.queryParameter, cookie: route.cookie) {
        case .failure(let failure):
            return eventLoop.makeSucceededFuture(route.acceptsPassword ? pending(failure, nil) : .refused(failure))
        case .success(let found):
            token = found
        }
        guard let token else {
            let outcome: UpgradeAuthOutcome =
                route.acceptsPassword ? pending(nil, nil) : route.required ? .refused(AuthFailure(.missing)) : .anonymous
            return eventLoop.makeSucceededFuture(outcome)
        }
        if let verifier = self.verifier, token.looksLikeJWT || self.callout == nil {
            switch verifier.verify(token) {
            case .success(let identity):
                return eventLoop.makeSucceededFuture(.authenticated(identity))
            case .failure(let failure):
                return eventLoop.makeSucceededFuture(route.acceptsPassword ? pending(failure, nil) : .refused(failure))
            }
        }
        // Only the callout can judge this token. With the password as a source, ask once the CONNECT is known.
        if route.acceptsPassword {
            return eventLoop.makeSucceededFuture(pending(nil, token))
        }
        var question = CalloutRequest(route: name, stage: .upgrade, clientAddress: clientAddress, headers: forwarded)
        question.token = token.value
        question.tokenSource = token.source
        return self.ask(question, token: token, on: eventLoop).map { result in
            switch result {
            case .success(let identity): .authenticated(identity)
            case .failure(let failure): .refused(failure)
            }
        }
    }

    // MARK: - The CONNECT

    /// Settles the session once its CONNECT has arrived: verifies the password's token if the upgrade was
    /// undecided, then checks `client_id_pattern` and fills in the topic templates. The future completes on `eventLoop`.
    package func authorizeConnect(
        route name: String, after upgrade: UpgradeAuthOutcome, connect: MQTTConnectInfo, clientAddress: String,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<ConnectAuthOutcome> {
        guard let route = self.routes[name] else {
            return eventLoop.makeSucceededFuture(.refused(AuthFailure(.unavailable, "route has no auth settings")))
        }
        let pending: PendingAuthentication
        switch upgrade {
        case .refused(let failure):
            return eventLoop.makeSucceededFuture(.refused(failure))
        case .authenticated(let identity):
            return eventLoop.makeSucceededFuture(self.settle(identity, route: route, connect: connect))
        case .anonymous:
            return eventLoop.makeSucceededFuture(self.settle(nil, route: route, connect: connect))
        case .awaitingConnect(let state):
            pending = state
        }

        let passwordToken: BearerToken?
        switch TokenExtraction.token(in: connect) {
        case .failure(let failure): return eventLoop.makeSucceededFuture(.refused(failure))
        case .success(let found): passwordToken = found
        }
        guard let token = passwordToken ?? pending.requestToken else {
            if let failure = pending.requestFailure {
                return eventLoop.makeSucceededFuture(.refused(failure))
            }
            let outcome: ConnectAuthOutcome =
                route.required ? .refused(AuthFailure(.missing)) : self.settle(nil, route: route, connect: connect)
            return eventLoop.makeSucceededFuture(outcome)
        }
        if let verifier = self.verifier, token.looksLikeJWT || self.callout == nil {
            switch verifier.verify(token) {
            case .success(let identity): return eventLoop.makeSucceededFuture(self.settle(identity, route: route, connect: connect))
            case .failure(let failure): return eventLoop.makeSucceededFuture(.refused(failure))
            }
        }
        var question = CalloutRequest(route: name, stage: .connect, clientAddress: clientAddress, headers: pending.forwardedHeaders)
        question.clientID = connect.clientID
        question.username = connect.username
        if token.source != .mqttPassword {
            question.token = token.value
            question.tokenSource = token.source
        }
        if self.callout?.settings.sendPassword == true {
            question.setPassword(connect.password)
            if token.source == .mqttPassword { question.tokenSource = .mqttPassword }
        }
        return self.ask(question, token: token, on: eventLoop).map { result in
            switch result {
            case .success(let identity): self.settle(identity, route: route, connect: connect)
            case .failure(let failure): .refused(failure)
            }
        }
    }

    /// The client id pattern and the topic templates, for an identity (nil: anonymous) and its CONNECT.
    func settle(_ identity: AuthIdentity?, route: RouteAuthSettings, connect: MQTTConnectInfo) -> ConnectAuthOutcome {
        var identity = identity
        identity?.clientID = connect.clientID
        identity?.username = connect.username
        // A session let in by `fail_open` has nobody's identity: it gets only what anonymous sessions get.
        let known = identity?.method == .failOpen ? nil : identity
        let values = IdentityValues(identity: known, clientID: connect.clientID, username: connect.username)
        if let pattern = route.clientIDPattern, let failure = pattern.check(connect.clientID, values: values) {
            return .refused(failure)
        }
        var topics: TopicGrant?
        if let policy = route.topicPolicy {
            switch policy.grant(for: values) {
            case .success(let grant): topics = grant
            case .failure(let failure): return .refused(failure)
            }
        }
        let fromCallout = identity.map { $0.calloutPublish != nil || $0.calloutSubscribe != nil } ?? false
        if let identity, fromCallout {
            topics = TopicGrant(
                publish: identity.calloutPublish ?? topics?.publish, subscribe: identity.calloutSubscribe ?? topics?.subscribe)
        }
        var disconnectAt: Date?
        if route.disconnectOnExpiry, let expiry = identity?.expiresAt {
            disconnectAt = expiry.addingTimeInterval((self.verifier?.settings.leeway ?? .zero).timeInterval)
        }
        return .accepted(
            SessionAuthorization(
                identity: identity, topics: topics, topicsArePerSession: fromCallout || route.topicPolicy?.isPerSession == true,
                disconnectAt: disconnectAt))
    }

    /// The callout's decision as an identity or a failure; `fail_open` turns "unavailable" into an anonymous identity.
    private func ask(
        _ question: CalloutRequest, token: BearerToken, on eventLoop: any EventLoop
    ) -> EventLoopFuture<Result<AuthIdentity, AuthFailure>> {
        guard let callout = self.callout else {
            return eventLoop.makeSucceededFuture(.failure(AuthFailure(.unavailable, "no auth.http to judge this token")))
        }
        return callout.decide(question, on: eventLoop).map { decision in
            switch decision {
            case .allow(let answer):
                return .success(
                    AuthIdentity(
                        method: .callout, subject: answer.sub, source: token.source, calloutPublish: answer.publish,
                        calloutSubscribe: answer.subscribe))
            case .deny:
                return .failure(AuthFailure(.denied))
            case .unavailable:
                guard callout.settings.failOpen else { return .failure(AuthFailure(.unavailable)) }
                self.logger.warning(
                    "auth callout unavailable: letting the attempt in (auth.http.fail_open)", metadata: ["route": "\(question.route)"])
                return .success(AuthIdentity(method: .failOpen, source: token.source))
            }
        }
    }

    /// `uri` as it may be logged: without the route's token query parameter (`token` for a route without auth,
    /// so a token a client sends anyway does not reach the log either).
    package func loggableURI(_ uri: String, route: String) -> String {
        QueryParameters.removing(self.routes[route]?.queryParameter ?? "token", from: uri)
    }

    // MARK: - Keys and lifecycle

    /// Re-reads the key files (see `TokenVerifier.reload`); an empty report without `auth.jwt`.
    @discardableResult
    package func reloadKeys() async -> KeyReloadReport {
        await self.verifier?.reload(trigger: .request) ?? KeyReloadReport(entries: [])
    }

    /// Runs the `reload_interval` timer until the task is cancelled (returns at once without one).
    package func run() async {
        await self.verifier?.maintain()
    }

    /// Closes the callout's connections. Call once, after the listeners have drained.
    package func shutdown() async throws {
        try await self.callout?.shutdown()
    }
}
