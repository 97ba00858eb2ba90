import MosquittoClient
import Testing

/// `MQTTTopic.filter(_:covers:)`: whether every topic a requested filter can match is allowed.
@Suite struct TopicCoverageTests {
    @Test(arguments: [
        ("push/#", "push/#", true), ("push/#", "push/+/x", true), ("push/#", "push", true), ("push/#", "push/a/b/c", true),
        ("push/+", "push/a", true), ("push/+", "push/+", true), ("push/+", "push/#", false), ("push/+", "push/a/b", false),
        ("push/+", "push", false), ("a/b", "a/b", true), ("a/b", "a/+", false), ("a/b", "a/b/c", false), ("a/b", "a", false),
        ("#", "anything/at/all", true), ("#", "$SYS/broker/load", false), ("+/x", "$SYS/x", false),
        ("$SYS/#", "$SYS/broker", true), ("+/+", "a/b", true), ("+/+", "a/#", false), ("a/#", "b", false),
        ("a/#/b", "a/x/b", false), ("a/b", "a/#/b", false),
    ])
    func coverage(allowed: String, requested: String, expected: Bool) {
        #expect(MQTTTopic.filter(allowed, covers: requested) == expected)
    }
}
