import BridgeConfig
import BridgeRelay
import MosquittoClient

/// A route's `topic_policy`, matched with libmosquitto (`mosquitto_topic_matches_sub` for topics,
/// `mosquitto_sub_topic_check` for filters). Built once at start-up; the filters are validated then.
struct TopicAllowList: TopicAuthorizer {
    /// nil: no restriction for that packet type.
    let publish: [String]?
    let subscribe: [String]?

    init(_ policy: TopicPolicyConfiguration, route: String) throws(StartupError) {
        for (key, filters) in [("publish", policy.publish), ("subscribe", policy.subscribe)] {
            for (index, filter) in (filters ?? []).enumerated() {
                do {
                    try MQTTTopic.validateSubscriptionFilter(filter)
                } catch {
                    throw StartupError("routes.\(route).topic_policy.\(key)[\(index)]: '\(filter)' is not a valid topic filter: \(error.reason)")
                }
            }
        }
        self.publish = policy.publish
        self.subscribe = policy.subscribe
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
