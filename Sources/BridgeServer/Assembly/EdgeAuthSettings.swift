import BridgeConfig
import BridgeRelay
import EdgeAuth

/// The one place where the configuration (`auth`, `routes.<name>.auth`, `routes.<name>.topic_policy`) becomes
/// EdgeAuth's own settings, so that EdgeAuth never imports the YAML schema.
///
/// How the bridge uses edge authentication (see `BridgeServer.makeEdgeAuthenticator`): the authenticator is built once
/// at start-up (key files read and checked), the front end judges the upgrade (`UpgradeAuthentication`: 401/503 before
/// the 101), `ConnectAuthHandler` judges the CONNECT before the session may dial, SIGHUP and `reload_interval` reload
/// the keys, and the callout's connections close after the drain.
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

    /// The routes' edge authentication for the front end and the relay, each session's topic lists matched with
    /// libmosquitto (`TopicAllowList`). A route with `auth` needs the authenticator (`BridgeServer.makeEdgeAuthenticator`):
    /// without it the bridge would let every client in, so it does not start.
    static func routeAuth(
        _ configuration: BridgeConfiguration, authenticator: EdgeAuthenticator?
    ) throws(StartupError) -> [String: RouteEdgeAuth] {
        let routes = configuration.routes.filter { $0.auth != nil }
        guard let first = routes.first else { return [:] }
        guard let authenticator else {
            throw StartupError(
                "routes.\(first.name).auth: the bridge was started without its edge authenticator (BridgeServer.makeEdgeAuthenticator)")
        }
        var result: [String: RouteEdgeAuth] = [:]
        for route in routes {
            result[route.name] = RouteEdgeAuth(authenticator: authenticator, route: route.name) { grant in
                try TopicAllowList(grant: grant)
            }
        }
        return result
    }
}
