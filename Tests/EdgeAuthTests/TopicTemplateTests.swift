import Testing

@testable import EdgeAuth

/// Identity into policy: topic templates and the client id pattern, including identities that try to widen access.
@Suite("Topic templates and client id pattern")
struct TopicTemplateTests {
    static func identity(sub: String?, claims: [String: ClaimValue] = [:]) -> AuthIdentity {
        AuthIdentity(method: .jwt, subject: sub, claims: claims.merging(sub.map { ["sub": .string($0)] } ?? [:]) { old, _ in old })
    }

    static func values(
        sub: String? = "42", claims: [String: ClaimValue] = [:], clientID: String? = "mp-42-a", username: String? = "u42"
    )
        -> IdentityValues
    {
        IdentityValues(
            identity: sub == nil && claims.isEmpty ? nil : identity(sub: sub, claims: claims), clientID: clientID, username: username)
    }

    static let policy: TopicPolicyTemplate = {
        do {
            return try TopicPolicyTemplate(
                publish: ["up/{sub}/+", "devices/{client_id}/state", "tenants/{claim:tenant}/{username}/log"],
                subscribe: ["push/user/{sub}/#", "push/broadcast", "push/uid/{claim:uid}/#"])
        } catch {
            fatalError("\(error)")
        }
    }()

    @Test("Placeholders are filled in per session: sub, client_id, username, string and integer claims")
    func substitution() throws {
        let grant = try Self.policy.grant(for: Self.values(claims: ["tenant": .string("acme"), "uid": .integer(7)])).get()
        #expect(grant.publish == ["up/42/+", "devices/mp-42-a/state", "tenants/acme/u42/log"])
        #expect(grant.subscribe == ["push/user/42/#", "push/broadcast", "push/uid/7/#"])
        #expect(Self.policy.isPerSession)
        #expect(Self.policy.needsIdentity)
        #expect(try !TopicPolicyTemplate(publish: ["a/b"], subscribe: nil).isPerSession)
    }

    @Test("A value with a wildcard, a slash, NUL, or nothing at all is refused: a token cannot widen its access")
    func wideningValuesAreRefused() {
        for sub in ["+", "#", "a/b", "..//", "x\u{0}y", "", "a+b", "ab#"] {
            let result = Self.policy.grant(for: Self.values(sub: sub, claims: ["tenant": .string("acme"), "uid": .integer(7)]))
            #expect(throws: AuthFailure(.unusableIdentity, "{sub} is not usable in a topic")) { try result.get() }
        }
        for tenant: ClaimValue in [.string("a/b"), .string("#"), .bool(true), .array([.string("a")]), .number(1.5), .null] {
            let result = Self.policy.grant(for: Self.values(claims: ["tenant": tenant, "uid": .integer(7)]))
            #expect((try? result.get()) == nil, "\(tenant)")
        }
        let missingClaim = Self.policy.grant(for: Self.values(claims: ["uid": .integer(7)]))
        #expect(throws: AuthFailure(.unusableIdentity, "{claim:tenant} is missing or not text")) { try missingClaim.get() }
        let badClientID = Self.policy.grant(for: Self.values(claims: ["tenant": .string("a"), "uid": .integer(1)], clientID: "a/#"))
        #expect(throws: AuthFailure(.unusableIdentity, "{client_id} is not usable in a topic")) { try badClientID.get() }
    }

    @Test("An identity value cannot move a filter into $-topics; a template that starts with $ itself may")
    func dollarTopics() throws {
        let leading = try TopicPolicyTemplate(publish: nil, subscribe: ["{sub}/#"])
        #expect(try leading.grant(for: Self.values(sub: "alice")).get().subscribe == ["alice/#"])
        #expect(throws: AuthFailure(.unusableIdentity, "identity not usable at the start of a topic")) {
            try leading.grant(for: Self.values(sub: "$SYS")).get()
        }
        let system = try TopicPolicyTemplate(publish: nil, subscribe: ["$share/{sub}/jobs"])
        #expect(try system.grant(for: Self.values(sub: "g1")).get().subscribe == ["$share/g1/jobs"])
    }

    @Test("An anonymous session gets the entries that need no identity; absent lists stay absent")
    func anonymous() throws {
        let grant = try Self.policy.grant(for: IdentityValues(identity: nil, clientID: "c1", username: nil)).get()
        #expect(grant.publish == ["devices/c1/state"])
        #expect(grant.subscribe == ["push/broadcast"])
        let onlySubscribe = try TopicPolicyTemplate(publish: nil, subscribe: ["push/{sub}/#"])
        #expect(try onlySubscribe.grant(for: IdentityValues(identity: nil)).get() == TopicGrant(publish: nil, subscribe: []))
    }

    @Test("Templates that do not parse name the list and index")
    func parseErrors() {
        let cases: [(String, String)] = [
            (
                "push/{user}/#",
                "subscribe[0]: 'push/{user}/#': unknown placeholder {user} (use {sub}, {client_id}, {username} or {claim:NAME})"
            ),
            ("push/{sub/#", "subscribe[0]: 'push/{sub/#': '{' without '}'"),
            ("push/sub}/#", "subscribe[0]: 'push/sub}/#': '}' without '{'"),
            ("push/{claim:}/#", "subscribe[0]: 'push/{claim:}/#': {claim:} needs a claim name"),
        ]
        for (filter, message) in cases {
            #expect(throws: TemplateError(message)) { try TopicPolicyTemplate(publish: nil, subscribe: [filter]) }
        }
    }

    @Test("client_id_pattern: placeholders literal, * any run; {client_id} cannot be used")
    func clientIDPattern() throws {
        let pattern = try ClientIDPattern("mp-{sub}-*")
        let values = Self.values(sub: "42")
        for accepted in ["mp-42-", "mp-42-abc", "mp-42-x-y"] {
            #expect(pattern.check(accepted, values: values) == nil, "\(accepted)")
        }
        for refused in ["mp-43-a", "xmp-42-a", "mp-42", "mp-4-2-a", "", "MP-42-a"] {
            #expect(pattern.check(refused, values: values) == AuthFailure(.clientIDNotAllowed), "\(refused)")
        }
        // A * in the subject is a character, not a wildcard.
        let star = Self.values(sub: "4*")
        #expect(pattern.check("mp-4*-a", values: star) == nil)
        #expect(pattern.check("mp-4x-a", values: star) == AuthFailure(.clientIDNotAllowed))
        #expect(
            pattern.check("mp-a-b", values: Self.values(sub: "a/b")) == AuthFailure(.unusableIdentity, "{sub} is not usable in a topic"))
        #expect(throws: TemplateError.self) { try ClientIDPattern("x-{client_id}") }

        #expect(ClientIDPattern.matches(Array("abc".utf8), [Array("a".utf8), nil, Array("c".utf8)]))
        #expect(ClientIDPattern.matches(Array("aXbYc".utf8), [Array("a".utf8), nil, Array("b".utf8), nil, Array("c".utf8)]))
        #expect(!ClientIDPattern.matches(Array("acb".utf8), [Array("a".utf8), nil, Array("c".utf8)]))
        #expect(ClientIDPattern.matches(Array("anything".utf8), [nil]))
        #expect(ClientIDPattern.matches([], [nil, nil]))
    }
}
