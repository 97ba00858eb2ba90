import BridgeConfig
import BridgeRelay
import EdgeAuth
import MosquittoClient

/// A route's `topic_policy`, or one session's lists from edge authentication, matched with libmosquitto
/// (`mosquitto_topic_matches_sub` for topics, `mosquitto_sub_topic_check` for filters). The filters are validated
/// when it is built: at start-up for a route, at the CONNECT for a session.
struct TopicAllowList: TopicAuthorizer {
    /// nil: no restriction for that packet type.
    let publish: [String]?
    let subscribe: [String]?

    /// Throws the first filter that is not valid, with its list (`publish`/`subscribe`) and index.
    init(publish: [String]?, subscribe: [String]?) throws(InvalidFilter) {
        for (list, filters) in [("publish", publish), ("subscribe", subscribe)] {
            for (index, filter) in (filters ?? []).enumerated() {
                do {
                    try MQTTTopic.validateSubscriptionFilter(filter)
                } catch {
                    throw InvalidFilter(list: list, index: index, filter: filter, reason: error.reason)
                }
            }
        }
        self.publish = publish
        self.subscribe = subscribe
    }

    init(_ policy: TopicPolicyConfiguration, route: String) throws(StartupError) {
        do {
            try self.init(publish: policy.publish, subscribe: policy.subscribe)
        } catch {
            throw StartupError("routes.\(route).topic_policy.\(error)")
        }
    }

    /// A session's own lists (placeholders filled in from its token, or the auth callout's lists).
    init(grant: TopicGrant) throws(InvalidFilter) {
        try self.init(publish: grant.publish, subscribe: grant.subscribe)
    }

    struct InvalidFilter: Error, CustomStringConvertible {
        let list: String
        let index: Int
        let filter: String
        let reason: String

        var description: String { "\(self.list)[\(self.index)]: '\(self.filter)' is not a valid topic filter: \(self.reason)" }
    }

    func mayPublish(to topic: String) -> Bool {
        guard let publish else { return true }
        return publish.contains { MQTTTopic.matches(filter: $0, topic: topic) }
    }

    func maySubscribe(to filter: String) -> Bool {
        guard let subscribe else { return true }
        return subscribe.contains { MQTTTopic.filter($0, covers: filter) }
    }

    /// The allow lists of every route that has a policy, by route name.
    static func forRoutes(_ routes: [RouteConfiguration]) throws(StartupError) -> [String: any TopicAuthorizer] {
        var result: [String: any TopicAuthorizer] = [:]
        for route in routes {
            if let policy = route.topicPolicy {
                result[route.name] = try TopicAllowList(policy, route: route.name)
            }
        }
        return result
    }
}
