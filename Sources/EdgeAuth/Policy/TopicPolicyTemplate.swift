/// A route's `topic_policy` with identity placeholders (`subscribe: ["push/user/{sub}/#"]`, `publish: ["up/{sub}/+"]`),
/// parsed once; `grant(for:)` fills it in for one session.
package struct TopicPolicyTemplate: Sendable, Hashable {
    /// nil: no restriction for that packet type (as in `topic_policy`).
    let publish: [IdentityTemplate]?
    let subscribe: [IdentityTemplate]?

    /// Throws for a template that does not parse, naming the list and index (`subscribe[0]: …`).
    package init(publish: [String]?, subscribe: [String]?) throws(TemplateError) {
        self.publish = try Self.parse(publish, list: "publish")
        self.subscribe = try Self.parse(subscribe, list: "subscribe")
    }

    private static func parse(_ filters: [String]?, list: String) throws(TemplateError) -> [IdentityTemplate]? {
        guard let filters else { return nil }
        var templates: [IdentityTemplate] = []
        for (index, filter) in filters.enumerated() {
            do {
                templates.append(try IdentityTemplate(filter, wildcards: false))
            } catch {
                throw TemplateError("\(list)[\(index)]: \(error.message)")
            }
        }
        return templates
    }

    /// Whether any entry has a placeholder, i.e. whether each session gets its own lists.
    package var isPerSession: Bool {
        [self.publish, self.subscribe].contains { $0?.contains(where: \.hasPlaceholders) == true }
    }

    /// Whether any entry needs a verified identity (`{sub}`, `{claim:…}`); such a route needs `auth`.
    package var needsIdentity: Bool {
        [self.publish, self.subscribe].contains { list in
            list?.contains { $0.placeholders.contains(where: \.needsIdentity) } == true
        }
    }

    /// The lists for one session. Entries that need an identity are left out for an anonymous session (they grant
    /// nothing to nobody); any value that is missing or unusable refuses the session. A filled-in filter may start
    /// with `$` only if the template itself does, so an identity value can never reach `$SYS`-style topics.
    func grant(for values: IdentityValues) -> Result<TopicGrant, AuthFailure> {
        var lists: [[String]?] = []
        for templates in [self.publish, self.subscribe] {
            guard let templates else {
                lists.append(nil)
                continue
            }
            var filters: [String] = []
            for template in templates {
                if values.identity == nil && template.placeholders.contains(where: \.needsIdentity) { continue }
                switch template.filled(with: values) {
                case .failure(let failure):
                    return .failure(failure)
                case .success(let filter):
                    if filter.hasPrefix("$") && !template.startsWithLiteralDollar {
                        return .failure(AuthFailure(.unusableIdentity, "identity not usable at the start of a topic"))
                    }
                    filters.append(filter)
                }
            }
            lists.append(filters)
        }
        return .success(TopicGrant(publish: lists[0], subscribe: lists[1]))
    }
}

/// One session's topic allow lists, placeholders filled in: what the session's `TopicAuthorizer` is built from
/// (the server's libmosquitto-backed allow list validates and matches them; EdgeAuth does not match topics itself).
package struct TopicGrant: Sendable, Hashable {
    /// nil: no restriction; empty: nothing allowed.
    package var publish: [String]?
    package var subscribe: [String]?

    package init(publish: [String]?, subscribe: [String]?) {
        self.publish = publish
        self.subscribe = subscribe
    }
}
