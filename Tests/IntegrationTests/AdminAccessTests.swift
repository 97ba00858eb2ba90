import ClientAddress
import NIOHTTP1
import SessionRegistry
import Testing

@testable import BridgeAdmin

/// Who may call what on the admin listener, and how the sessions API reads its query string.
@Suite("Admin listener: tokens and session queries")
struct AdminAccessTests {
    static let admin = "admin-token-0123456789"
    static let publish = "publish-token-0123456789"

    private func head(_ authorization: String?, _ uri: String = "/api/v1/sessions") -> HTTPRequestHead {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: uri)
        if let authorization { head.headers.add(name: "Authorization", value: authorization) }
        return head
    }

    @Test("admin scope: missing → 401 with the challenge, wrong → 401 invalid_token, right → through; the publish token does not open it")
    func adminScope() {
        let access = AdminAccess(adminToken: Self.admin, publishToken: Self.publish)
        #expect(access.verdict(authorization: nil, scope: .admin) == .missing)
        #expect(access.verdict(authorization: "Bearer \(Self.admin)x", scope: .admin) == .invalid)
        #expect(access.verdict(authorization: "Bearer \(Self.publish)", scope: .admin) == .invalid)
        #expect(access.verdict(authorization: "Bearer \(Self.admin)", scope: .admin) == .allowed)
        #expect(access.verdict(authorization: "bearer  \(Self.admin) ", scope: .admin) == .allowed)
        let missing = access.refusal(head(nil), scope: .admin)
        #expect(missing?.status == .unauthorized)
        #expect(missing?.headers.contains { $0 == ("WWW-Authenticate", #"Bearer realm="mqtt-ws-bridge""#) } == true)
        let missingText = String(decoding: missing?.body ?? [], as: UTF8.self)
        #expect(missingText.contains("admin.token"))
        let wrong = access.refusal(head("Bearer nope"), scope: .admin)
        #expect(wrong?.headers.contains { $0.0 == "WWW-Authenticate" && $0.1.contains(#"error="invalid_token""#) } == true)
        #expect(access.refusal(head("Bearer \(Self.admin)"), scope: .admin) == nil)
    }

    @Test("publish scope takes either token; with no token configured for a scope it is open")
    func publishScopeAndOpenScopes() {
        let both = AdminAccess(adminToken: Self.admin, publishToken: Self.publish)
        #expect(both.verdict(authorization: "Bearer \(Self.admin)", scope: .publish) == .allowed)
        #expect(both.verdict(authorization: "Bearer \(Self.publish)", scope: .publish) == .allowed)
        #expect(both.verdict(authorization: "Bearer other-token-0123456789", scope: .publish) == .invalid)
        let adminOnly = AdminAccess(adminToken: Self.admin, publishToken: nil)
        #expect(adminOnly.verdict(authorization: nil, scope: .publish) == .missing, "admin.token protects publishing too")
        #expect(adminOnly.verdict(authorization: "Bearer \(Self.admin)", scope: .publish) == .allowed)
        let publishOnly = AdminAccess(adminToken: nil, publishToken: Self.publish)
        #expect(publishOnly.verdict(authorization: nil, scope: .admin) == .allowed && !publishOnly.isProtected(.admin))
        #expect(publishOnly.verdict(authorization: nil, scope: .publish) == .missing)
        let open = AdminAccess(adminToken: nil, publishToken: nil)
        #expect(
            open.verdict(authorization: nil, scope: .admin) == .allowed && open.verdict(authorization: "x", scope: .publish) == .allowed)
    }

    @Test("the comparison is BearerToken's constant-time one: every length and position of a difference is refused")
    func constantTimeComparison() {
        let expected = Array(Self.admin.utf8)
        #expect(BearerToken.constantTimeEqual(expected, expected))
        for index in expected.indices {
            var offered = expected
            offered[index] ^= 0x01
            #expect(!BearerToken.constantTimeEqual(offered, expected), "difference at \(index)")
        }
        #expect(!BearerToken.constantTimeEqual(Array(expected.dropLast()), expected))
        #expect(!BearerToken.constantTimeEqual(expected + [0], expected))
        #expect(!BearerToken.constantTimeEqual([], expected))
        // 256 offered bytes longer than the expected token: the loop walks the expected length only.
        #expect(!BearerToken.constantTimeEqual(expected + [UInt8](repeating: 0, count: 256), expected))
    }

    @Test("session queries: filters, limit and cursor parsed; values percent-decoded")
    func query() throws {
        let query = try SessionQuery(
            uri:
                "/api/v1/sessions?client_id=wx%2F1&username=al+ice&sub=u-1&address=10.0.0.0/8&route=mini&broker=mq:1883&limit=5&cursor=17&reason=bye%20now"
        )
        #expect(
            query.filter
                == SessionFilter(
                    clientID: "wx/1", username: "al+ice", subject: "u-1", address: try IPAddressRange("10.0.0.0/8"), route: "mini",
                    broker: "mq:1883"))
        #expect(query.limit == 5 && query.cursor == 17 && query.reason == "bye now")
        let plain = try SessionQuery(uri: "/api/v1/sessions")
        #expect(plain.filter == SessionFilter() && plain.limit == SessionQuery.defaultLimit && plain.cursor == nil)
        #expect(plain.reason == SessionQuery.defaultReason)
    }

    @Test(
        "bad session queries are 400s naming the parameter",
        arguments: [
            ("clientid=a", "clientid"), ("client_id=a&client_id=b", "client_id"), ("client_id=", "client_id"),
            ("address=10.0.0.1/8", "address"), ("address=nowhere", "address"), ("limit=0", "limit"), ("limit=1001", "limit"),
            ("limit=ten", "limit"), ("cursor=-1", "cursor"), ("reason=" + String(repeating: "x", count: 101), "reason"),
        ])
    func badQuery(query: String, field: String) {
        #expect(throws: SessionQuery.Problem.self) { try SessionQuery(uri: "/api/v1/sessions?" + query) }
        do {
            _ = try SessionQuery(uri: "/api/v1/sessions?" + query)
        } catch {
            #expect(error.field == field, "\(error.message)")
        }
    }
}
