import MQTTWire
import NIOCore
import Testing

@testable import EdgeAuth

/// Finding the token: header, query, cookie, CONNECT password; and keeping it out of logs.
@Suite("Token sources and redaction")
struct TokenSourceTests {
    static func request(_ uri: String = "/wss", _ headers: [(String, String)] = []) -> UpgradeRequest {
        UpgradeRequest(method: "GET", uri: uri, headers: headers.map { (name: $0.0, value: $0.1) })
    }

    static func find(
        _ request: UpgradeRequest, sources: [TokenSource] = [.header, .query, .cookie], parameter: String = "token", cookie: String? = "jwt"
    )
        -> Result<BearerToken?, AuthFailure>
    {
        TokenExtraction.token(in: request, sources: sources, queryParameter: parameter, cookie: cookie)
    }

    @Test("Authorization: Bearer, case-insensitive scheme, spaces trimmed; other schemes ignored")
    func header() throws {
        #expect(
            try Self.find(Self.request("/", [("Authorization", "Bearer abc.def.ghi")])).get() == BearerToken("abc.def.ghi", source: .header)
        )
        #expect(try Self.find(Self.request("/", [("authorization", "bearer   abc ")])).get()?.value == "abc")
        #expect(try Self.find(Self.request("/", [("Authorization", "Basic dXNlcjpwYXNz")])).get() == nil)
        #expect(try Self.find(Self.request("/", [("Authorization", "Bearer")])).get() == nil)
        let twice = Self.find(Self.request("/", [("Authorization", "Bearer a"), ("authorization", "Bearer b")]))
        #expect(throws: AuthFailure(.malformed, "several bearer tokens")) { try twice.get() }
    }

    @Test("Query parameter: decoded, by the configured name; duplicates and bad escapes are malformed")
    func query() throws {
        #expect(try Self.find(Self.request("/wss?v=1&token=abc.def%2Eghi")).get() == BearerToken("abc.def.ghi", source: .query))
        #expect(try Self.find(Self.request("/wss?access_token=x"), parameter: "access_token").get()?.value == "x")
        #expect(try Self.find(Self.request("/wss?token=")).get() == nil)
        #expect(try Self.find(Self.request("/wss?tokens=x")).get() == nil)
        #expect(throws: AuthFailure(.malformed, "several token parameters")) { try Self.find(Self.request("/wss?token=a&token=b")).get() }
        #expect(throws: AuthFailure(.malformed, "bad escape in query")) { try Self.find(Self.request("/wss?token=%zz")).get() }
    }

    @Test("Cookie: the named cookie among others, quotes removed, the first of several")
    func cookie() throws {
        let request = Self.request("/", [("Cookie", "a=1; jwt=\"abc.def.ghi\"; b=2"), ("Cookie", "jwt=second")])
        #expect(try Self.find(request).get() == BearerToken("abc.def.ghi", source: .cookie))
        #expect(try Self.find(Self.request("/", [("Cookie", "xjwt=1; jwtx=2")])).get() == nil)
        #expect(try Self.find(request, cookie: nil).get() == nil)
    }

    @Test("Sources are tried in the route's order; mqtt_password is not in the request")
    func order() throws {
        let request = Self.request("/wss?token=from-query", [("Authorization", "Bearer from-header"), ("Cookie", "jwt=from-cookie")])
        #expect(try Self.find(request, sources: [.query, .header]).get()?.source == .query)
        #expect(try Self.find(request, sources: [.cookie, .query]).get()?.source == .cookie)
        #expect(try Self.find(request, sources: [.header]).get()?.value == "from-header")
        #expect(try Self.find(request, sources: [.mqttPassword]).get() == nil)
    }

    @Test("The CONNECT's password, as MQTTWire parses it, is a token; a password that is not UTF-8 is malformed")
    func connectPassword() throws {
        func connect(password: [UInt8]?) throws -> MQTTConnectInfo {
            var buffer = ByteBuffer()
            MQTTPacket.writeConnect(
                version: .v3_1_1, clientID: "c", username: "jwt", password: password.map { String(decoding: $0, as: UTF8.self) },
                to: &buffer)
            return try MQTTConnectInfo(parsing: buffer)
        }
        #expect(
            try TokenExtraction.token(in: connect(password: Array("abc.def.ghi".utf8))).get()
                == BearerToken("abc.def.ghi", source: .mqttPassword))
        #expect(try TokenExtraction.token(in: connect(password: nil)).get() == nil)
        var binary = try connect(password: nil)
        binary.password = MQTTPassword([0xFF, 0xFE])
        #expect(throws: AuthFailure(.malformed, "password is not UTF-8")) { try TokenExtraction.token(in: binary).get() }
    }

    @Test("A token shaped like a JWT goes to local verification; others only to the callout")
    func jwtShape() {
        #expect(BearerToken("eyJh.eyJz.c2ln", source: .header).looksLikeJWT)
        #expect(!BearerToken("opaque-session-key", source: .header).looksLikeJWT)
        #expect(!BearerToken("a.b.c.d", source: .header).looksLikeJWT)
        #expect(!BearerToken("a+b/c.d.e", source: .header).looksLikeJWT)
    }

    @Test("The token query parameter is removed from URIs for logging; the rest is kept")
    func redactedURI() {
        #expect(QueryParameters.removing("token", from: "/wss?token=eyJ.x.y") == "/wss")
        #expect(QueryParameters.removing("token", from: "/wss?v=2&token=eyJ.x.y&lang=zh") == "/wss?v=2&lang=zh")
        #expect(QueryParameters.removing("token", from: "/wss?%74oken=eyJ&v=1") == "/wss?v=1")
        #expect(QueryParameters.removing("token", from: "/wss?token=a&token=b") == "/wss")
        #expect(QueryParameters.removing("token", from: "/wss?tokens=1") == "/wss?tokens=1")
        #expect(QueryParameters.removing("token", from: "/wss") == "/wss")
        #expect(QueryParameters.removing("jwt", from: "/wss?jwt=x#frag") == "/wss#frag")
    }

    @Test("Types that hold a token print without it")
    func redactedDescriptions() {
        let secret = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
        let request = Self.request("/wss?token=\(secret)", [("Authorization", "Bearer \(secret)")])
        let token = BearerToken(secret, source: .query)
        var dumpedRequest = ""
        dump(request, to: &dumpedRequest)
        var dumpedToken = ""
        dump(token, to: &dumpedToken)
        for text in [
            "\(request)", String(reflecting: request), dumpedRequest, "\(token)", String(reflecting: token), dumpedToken, "\([token])",
        ] {
            #expect(!text.contains("eyJ"), "\(text)")
        }
        #expect("\(request)" == "GET /wss [Authorization]")
        #expect("\(token)" == "<redacted token from query>")
    }
}
