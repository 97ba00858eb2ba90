import BridgeConfig
import Testing

/// `auth` and `routes.<name>.auth` (edge authentication): decoding, overrides and the rules that name the key.
@Suite("Auth configuration")
struct AuthConfigurationTests {
    @Test("auth.jwt, auth.http and a route's auth decode from the file, relative paths against the file's directory")
    func decodes() throws {
        let fixture = try Fixture()
        let key = try fixture.file("Config/keys/2026-05.pem", "pem")
        let jwks = try fixture.file("Config/keys/jwks.json", "{}")
        let secret = try fixture.file("Config/keys/hmac.secret", "s")
        let loaded = fixture.load(
            """
            auth:
              jwt:
                keys: [keys/2026-05.pem, keys/jwks.json]
                secret_file: keys/hmac.secret
                issuer: https://auth.example.com
                audience: bridge
                leeway: 10s
                required_claims: [exp, sub]
                reload_interval: 5m
              http:
                url: http://127.0.0.1:9000/auth
                timeout: 500ms
                cache_ttl: 30s
                fail_open: true
                send_password: true
                headers: [X-WX-OpenID]
            routes:
              mp:
                path: /wss
                policy: miniprogram
                auth:
                  required: false
                  sources: [cookie, mqtt_password]
                  cookie: jwt
                  query_parameter: access_token
                  disconnect_on_expiry: true
                  client_id_pattern: "mp-{sub}-*"
                topic_policy:
                  subscribe: ["push/user/{sub}/#"]
            """)
        #expect(
            loaded?.auth.jwt
                == JWTAuthConfiguration(
                    keys: [fixture.root + "/Config/keys/2026-05.pem", fixture.root + "/Config/keys/jwks.json"],
                    secretFile: fixture.root + "/Config/keys/hmac.secret", issuer: "https://auth.example.com", audience: ["bridge"],
                    leeway: .seconds(10), requiredClaims: ["exp", "sub"], reloadInterval: .seconds(300)))
        #expect([key, jwks, secret].allSatisfy { $0.hasPrefix(fixture.root) })
        #expect(
            loaded?.auth.http
                == HTTPAuthConfiguration(
                    url: "http://127.0.0.1:9000/auth", timeout: .milliseconds(500), cacheTTL: .seconds(30), failOpen: true,
                    sendPassword: true,
                    headers: ["X-WX-OpenID"]))
        #expect(
            loaded?.route(named: "mp")?.auth
                == RouteAuthConfiguration(
                    required: false, sources: [.cookie, .mqttPassword], queryParameter: "access_token", cookie: "jwt",
                    disconnectOnExpiry: true,
                    clientIDPattern: "mp-{sub}-*"))
    }

    @Test("Defaults: no auth section → nothing; an auth section takes the documented defaults")
    func defaults() throws {
        let fixture = try Fixture()
        #expect(fixture.defaults.auth == AuthConfiguration())
        #expect(fixture.defaults.routes.allSatisfy { $0.auth == nil })
        let secret = try fixture.file("Config/hmac.secret", "s")
        let loaded = fixture.load(
            """
            auth:
              jwt:
                secret_file: hmac.secret
            routes:
              mp: { path: /wss, policy: miniprogram, auth: {} }
            """)
        #expect(loaded?.auth.jwt == JWTAuthConfiguration(secretFile: secret))
        #expect(loaded?.auth.jwt?.leeway == .seconds(30))
        #expect(loaded?.auth.jwt?.requiredClaims == ["exp"])
        #expect(loaded?.route(named: "mp")?.auth == RouteAuthConfiguration())
        #expect(RouteAuthConfiguration().sources == [.header, .query, .mqttPassword])
    }

    @Test("Environment variables and --set switch the sections on and set their keys")
    func overrides() throws {
        let fixture = try Fixture()
        let secret = try fixture.file("hmac.secret", "s")
        let loaded = fixture.load(
            "",
            environment: [
                "MQTT_WS_BRIDGE_AUTH_JWT_SECRET_FILE": secret, "MQTT_WS_BRIDGE_ROUTES_MINIPROGRAM_AUTH_SOURCES": "[mqtt_password]",
            ],
            set: ["auth.http.url=https://auth.example.com/check"])
        #expect(loaded?.auth.jwt?.secretFile == secret)
        #expect(loaded?.auth.http?.url == "https://auth.example.com/check")
        #expect(loaded?.route(named: "miniprogram")?.auth?.sources == [.mqttPassword])
        #expect(loaded?.route(named: "browser")?.auth == nil)
    }

    @Test("A route with auth needs auth.jwt or auth.http; the problems name the keys")
    func routeNeedsAChecker() throws {
        let fixture = try Fixture()
        var configuration = fixture.defaults
        configuration.routes[1].auth = RouteAuthConfiguration(sources: [.cookie, .cookie], queryParameter: "a&b")
        #expect(
            validationProblems(configuration) == [
                "routes.miniprogram.auth: needs auth.jwt or auth.http: there is nothing to check this route's tokens with",
                "routes.miniprogram.auth.sources: lists a source twice",
                "routes.miniprogram.auth.cookie: must name the cookie when sources lists cookie",
                "routes.miniprogram.auth.query_parameter: 'a&b' is not a plain query parameter name",
            ])
    }

    @Test("auth.jwt and auth.http rules: files readable, claims, leeway, reload interval, URL, timeout, header names")
    func sectionRules() throws {
        let fixture = try Fixture()
        var configuration = fixture.defaults
        configuration.auth.jwt = JWTAuthConfiguration(
            keys: [fixture.root + "/missing.pem"], issuer: "", leeway: .seconds(3600), requiredClaims: ["ok", "no spaces"],
            reloadInterval: .milliseconds(10))
        configuration.auth.http = HTTPAuthConfiguration(url: "ftp://x", timeout: .zero, cacheTTL: .seconds(-1), headers: ["bad header"])
        #expect(
            validationProblems(configuration) == [
                "auth.jwt.keys[0]: file '\(fixture.root)/missing.pem' does not exist",
                "auth.jwt.issuer: must not be empty (leave it out to accept any issuer)",
                "auth.jwt.leeway: must be between 0s and 10m (it only absorbs clock differences)",
                "auth.jwt.required_claims: 'no spaces' is not a claim name (letters, digits, _ - . :)",
                "auth.jwt.reload_interval: must be 0 (reload on SIGHUP only) or at least 1s",
                "auth.http.url: 'ftp://x' is not an http:// or https:// URL with a host",
                "auth.http.timeout: must be longer than zero",
                "auth.http.cache_ttl: must not be negative (0 turns the cache off)",
                "auth.http.headers: 'bad header' is not a header name",
            ])
        configuration.auth = AuthConfiguration(jwt: JWTAuthConfiguration(), http: HTTPAuthConfiguration())
        #expect(
            validationProblems(configuration) == [
                "auth.jwt: needs keys (PEM or JWKS files) or secret_file: without a key no token can be verified",
                "auth.http.url: is required: the backend URL attempts are POSTed to (http:// or https://)",
            ])
    }

    @Test("A topic_policy placeholder needs the route's auth")
    func templatesNeedAuth() throws {
        let fixture = try Fixture()
        var configuration = fixture.defaults
        configuration.routes[1].topicPolicy = TopicPolicyConfiguration(publish: ["up/{sub}/+"], subscribe: ["push/#"])
        #expect(
            validationProblems(configuration) == [
                "routes.miniprogram.topic_policy.publish[0]: 'up/{sub}/+' has a placeholder, which needs routes.miniprogram.auth (identities come from tokens)"
            ])
        configuration.auth.http = HTTPAuthConfiguration(url: "http://127.0.0.1:1/auth")
        configuration.routes[1].auth = RouteAuthConfiguration()
        #expect(validationProblems(configuration) == [])
    }
}
