/// Decides what a route's clients may publish and subscribe to.
///
/// The relay only asks; the implementation (allow lists matched with libmosquitto) is built by the
/// server from `routes.<name>.topic_policy`, so the relay does not link libmosquitto. A route without a
/// policy has no authorizer and its client→broker bytes are never parsed beyond the fixed header.
public protocol TopicAuthorizer: Sendable {
    /// Whether a client may publish to `topic` (a topic name, no wildcards).
    func mayPublish(to topic: String) -> Bool
    /// Whether a client may subscribe to `filter` (may contain `+` and `#`).
    func maySubscribe(to filter: String) -> Bool
}
