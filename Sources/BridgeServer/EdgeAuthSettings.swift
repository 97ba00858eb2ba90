import BridgeConfig
import EdgeAuth

/// The one place where the configuration (`auth`, `routes.<name>.auth`, `routes.<name>.topic_policy`) becomes
/// EdgeAuth's own settings, so that EdgeAuth never imports the YAML schema.
///
/// ## Wiring still to do (the integration step)
/// - Start-up (async, before the server is built): `EdgeAuthenticator(jwt:callout:routes:eventLoopGroup:logger:)`
///   from `EdgeAuthSettings(configuration)`; `--check-config` runs `EdgeAuthenticator.validate` with the same settings.
/// - Service group: `run()` (the `reload_interval` timer); SIGHUP: `reloadKeys()` next to `reloadCertificates()`;
///   after the drain: `shutdown()` (closes the callout's connections).
/// - Front end, for a route in `routes`: after the route/method/origin/subprotocol checks and before the 101,
///   `authenticateUpgrade(route:request:clientAddress:on: context.eventLoop)` with
///   `UpgradeRequest(method:uri:headers: head.headers)`; `.refused(f)` → 401 with `WWW-Authenticate: f.wwwAuthenticate`
///   (503 without it when `f.isServiceUnavailable`); anything else → 101, and the outcome goes to the session.
/// - Relay, once the CONNECT is parsed (`MQTTConnectInfo`, which now carries the password) and before dialling:
///   `authorizeConnect(route:after:connect:clientAddress:on:)`; `.refused(f)` → CONNACK 0x05 / 0x87 (0x03 / 0x88 when
///   `f.isServiceUnavailable`), close 1008, no dial; `.accepted(s)` → the session's `TopicAuthorizer` is
///   `TopicAllowList(grant: s.topics)` when `s.topicsArePerSession`, else the route's shared one; a timer at
///   `s.timeUntilDisconnect()` ends the session (MQTT 5: DISCONNECT 0xA0 first, then close 1008).
/// - Access log and metrics: `AuthIdentity.subject` and `AuthFailure.label`; URIs through `loggableURI(_:route:)`.
/// Until then `refuseUnwiredAuth` keeps a configuration with `routes.<name>.auth` from starting a bridge that
/// would not enforce it.
struct EdgeAuthSettings {
    var jwt: JWTVerifierSettings?
    var callout: AuthCalloutSettings?
    var routes: [RouteAuthSettings]

    /// Template and pattern errors name the key, as the other start-up errors do.
    init(_ configuration: BridgeConfiguration) throws(StartupError) {
        self.jwt = configuration.auth.jwt.map { jwt in
            JWTVerifierSettings(
                keyFiles: jwt.keys, secretFile: jwt.secretFile, issuer: jwt.issuer, audiences: jwt.audience, leeway: jwt.leeway,
                requiredClaims: jwt.requiredClaims, reloadInterval: jwt.reloadInterval)
        }
        self.callout = configuration.auth.http.map { http in
            AuthCalloutSettings(
                url: http.url, timeout: http.timeout, cacheTTL: http.cacheTTL, failOpen: http.failOpen, sendPassword: http.sendPassword,
                headers: http.headers)
        }
        var routes: [RouteAuthSettings] = []
        for route in configuration.routes {
            guard let auth = route.auth else { continue }
            let key = "routes.\(route.name)"
            var settings = RouteAuthSettings(
                route: route.name, required: auth.required, sources: auth.sources.map(Self.source), queryParameter: auth.queryParameter,
                cookie: auth.cookie, disconnectOnExpiry: auth.disconnectOnExpiry)
            do {
                settings.clientIDPattern = try auth.clientIDPattern.map { pattern throws(TemplateError) in try ClientIDPattern(pattern) }
            } catch {
                throw StartupError("\(key).auth.client_id_pattern: \(error)")
            }
            do {
                settings.topicPolicy = try route.topicPolicy.map { policy throws(TemplateError) in
                    try TopicPolicyTemplate(publish: policy.publish, subscribe: policy.subscribe)
                }
            } catch {
                throw StartupError("\(key).topic_policy.\(error)")
            }
            routes.append(settings)
        }
        self.routes = routes
    }

    private static func source(_ source: AuthTokenSource) -> TokenSource {
        switch source {
        case .header: .header
        case .query: .query
        case .cookie: .cookie
        case .mqttPassword: .mqttPassword
        }
    }

    /// Edge authentication is built and tested, but not yet wired into the front end and the relay: a bridge
    /// started with `routes.<name>.auth` would let every client in. Refuse to start instead.
    static func refuseUnwiredAuth(_ configuration: BridgeConfiguration) throws(StartupError) {
        if let route = configuration.routes.first(where: { $0.auth != nil }) {
            throw StartupError(
                "routes.\(route.name).auth: edge authentication is not wired into the front end and the relay yet (issue 13); remove the section for now"
            )
        }
    }
}
