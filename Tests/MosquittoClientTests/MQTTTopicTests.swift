import MosquittoClient
import Testing

@Suite("MQTT topic rules (libmosquitto's checks)")
struct MQTTTopicTests {
    @Test(
        "publish topics with wildcards, empty or too long are refused, with a reason",
        arguments: [
            ("a/+/b", "wildcards"),
            ("#", "wildcards"),
            ("+", "wildcards"),
            ("a/b#", "wildcards"),
            ("", "empty"),
            (String(repeating: "x", count: 65_536), "65536 bytes"),
            ("a\u{0}b", "UTF-8"),
            ("a\u{1}b", "UTF-8"),
        ])
    func invalidPublishTopics(topic: String, expectedReason: String) {
        let error = #expect(throws: MosquittoError.self) { try MQTTTopic.validatePublishTopic(topic) }
        #expect(error?.kind == .invalidTopic)
        #expect(error?.reason.contains(expectedReason) == true, "\(error?.reason ?? "")")
    }

    @Test("valid publish topics", arguments: ["a/b", "a", "/", "a//b", "$SYS/x", "ümlaut/😀", String(repeating: "x", count: 65_535)])
    func validPublishTopics(topic: String) throws {
        try MQTTTopic.validatePublishTopic(topic)
    }

    @Test("valid subscription filters", arguments: ["a/#", "#", "+", "a/+/b", "+/+", "a/b", "+/a/#"])
    func validSubscriptionFilters(filter: String) throws {
        try MQTTTopic.validateSubscriptionFilter(filter)
    }

    @Test("invalid subscription filters", arguments: ["a/#/b", "a/b#", "a/+b", "a#", "", "a\u{0}/#"])
    func invalidSubscriptionFilters(filter: String) {
        let error = #expect(throws: MosquittoError.self) { try MQTTTopic.validateSubscriptionFilter(filter) }
        #expect(error?.kind == .invalidTopic)
        #expect(error?.reason.isEmpty == false)
    }

    @Test(
        "matching",
        arguments: [
            ("a/+/c", "a/b/c", true),
            ("a/#", "b", false),
            ("a/#", "a", true),
            ("a/#", "a/b/c", true),
            ("+/+", "a/b", true),
            ("+", "a/b", false),
            ("#", "$SYS/broker", false),
            ("$SYS/#", "$SYS/broker", true),
            ("a/#/b", "a/x/b", false),
            ("a/#", "a/+", false),
            // A NUL would make the C function see only "a/b" on both sides.
            ("a/b\u{0}x", "a/b\u{0}y", false),
        ])
    func matching(filter: String, topic: String, expected: Bool) {
        #expect(MQTTTopic.matches(filter: filter, topic: topic) == expected)
    }

    @Test("raw bytes are checked before they become a String")
    func rawBytes() throws {
        #expect(MQTTTopic.isValidUTF8(Array("a/b/ü".utf8)))
        #expect(MQTTTopic.isValidUTF8([UInt8]()))
        #expect(!MQTTTopic.isValidUTF8([0x61, 0xED, 0xA0, 0x80]))  // U+D800, a lone surrogate (JSON "\uD800")
        #expect(!MQTTTopic.isValidUTF8([0xC0, 0xAF]))  // overlong "/"
        #expect(!MQTTTopic.isValidUTF8([0x61, 0xFF]))
        #expect(!MQTTTopic.isValidUTF8([0x61, 0x00, 0x62]))
        #expect(!MQTTTopic.isValidUTF8([0x61, 0xE2, 0x82]))  // truncated sequence
        #expect(!MQTTTopic.isValidUTF8([UInt8](repeating: 0x61, count: 65_536)))
        #expect(MQTTTopic.isValidUTF8(Array("x".utf8)[...]))  // any Collection

        #expect(try MQTTTopic.publishTopic(fromUTF8: Array("a/b".utf8)) == "a/b")
        let surrogate = #expect(throws: MosquittoError.self) { try MQTTTopic.publishTopic(fromUTF8: [0xED, 0xA0, 0x80]) }
        #expect(surrogate?.kind == .invalidTopic)
        let wildcard = #expect(throws: MosquittoError.self) { try MQTTTopic.publishTopic(fromUTF8: Array("a/#".utf8)) }
        #expect(wildcard?.kind == .invalidTopic)
    }
}
