import CMosquitto

/// MQTT topic rules, checked by libmosquitto's own functions so the bridge agrees with the broker.
///
/// Every check first verifies the string the way Mosquitto does (`mosquitto_validate_utf8`: well-formed UTF-8, no
/// surrogates, no U+0000, no control characters, no non-characters), because the C functions behind the wildcard checks
/// and `mosquitto_topic_matches_sub2` stop at the first NUL byte — a Swift `String` such as `"a\u{0}#"` would otherwise
/// be judged by its prefix only.
public enum MQTTTopic {
    /// The longest topic or filter MQTT can carry: its length is a 16-bit field.
    package static let maximumLength = 65_535

    /// A topic a message may be published to: not empty, at most 65 535 bytes of valid UTF-8, no `+` or `#`.
    /// Throws `.invalidTopic` with a reason that names the rule.
    package static func validatePublishTopic(_ topic: String) throws(MosquittoError) {
        var topic = topic
        let problem = topic.withUTF8 { bytes -> MosquittoError? in
            if let problem = commonProblem(bytes, what: "topic") {
                return problem
            }
            let code = bytes.withMemoryRebound(to: CChar.self) { mosquitto_pub_topic_check2($0.baseAddress, $0.count) }
            guard code == MosquittoCode.success else {
                if bytes.contains(UInt8(ascii: "+")) || bytes.contains(UInt8(ascii: "#")) {
                    return invalid("a publish topic must not contain the wildcards + or #", code)
                }
                return invalid("topic rejected: \(String(cString: mosquitto_strerror(code)))", code)
            }
            return nil
        }
        if let problem {
            throw problem
        }
    }

    /// A subscription filter: not empty, at most 65 535 bytes of valid UTF-8, `+` only as a whole level,
    /// `#` only as the whole last level. Throws `.invalidTopic` with a reason that names the rule.
    package static func validateSubscriptionFilter(_ filter: String) throws(MosquittoError) {
        var filter = filter
        let problem = filter.withUTF8 { bytes -> MosquittoError? in
            if let problem = commonProblem(bytes, what: "subscription filter") {
                return problem
            }
            let code = bytes.withMemoryRebound(to: CChar.self) { mosquitto_sub_topic_check2($0.baseAddress, $0.count) }
            guard code == MosquittoCode.success else {
                return invalid(
                    "wildcard in an invalid position: + must fill a whole level and # must be the whole last level", code)
            }
            return nil
        }
        if let problem {
            throw problem
        }
    }

    /// Whether `topic` matches the subscription `filter` (`a/+/c` matches `a/b/c`; `#` does not match `$SYS/…`).
    /// False when either is invalid.
    package static func matches(filter: String, topic: String) -> Bool {
        do {
            try validateSubscriptionFilter(filter)
            try validatePublishTopic(topic)
        } catch {
            return false
        }
        var result = false
        let code = filter.withCString { filterPointer in
            topic.withCString { topicPointer in
                mosquitto_topic_matches_sub2(
                    filterPointer, filter.utf8.count, topicPointer, topic.utf8.count, &result)
            }
        }
        return code == MosquittoCode.success && result
    }

    /// Whether every topic the subscription filter `requested` can match is also matched by `allowed`
    /// (`push/#` covers `push/user/+` and `push`; `push/+` does not cover `push/#`). False when either is
    /// invalid. libmosquitto 2.0 has no call for this (its matcher refuses wildcards in the topic), so it
    /// compares levels: `#` covers the rest, `+` covers one level except `#`, literals must be equal, and
    /// a leading wildcard never covers `$`-topics (MQTT 3.1.1 §4.7.2).
    package static func filter(_ allowed: String, covers requested: String) -> Bool {
        do {
            try validateSubscriptionFilter(allowed)
            try validateSubscriptionFilter(requested)
        } catch {
            return false
        }
        let allowedLevels = allowed.split(separator: "/", omittingEmptySubsequences: false)
        let requestedLevels = requested.split(separator: "/", omittingEmptySubsequences: false)
        if requested.hasPrefix("$"), let first = allowedLevels.first, first == "+" || first == "#" {
            return false
        }
        var index = 0
        while true {
            if index == allowedLevels.count { return index == requestedLevels.count }
            if allowedLevels[index] == "#" { return true }
            if index == requestedLevels.count { return false }
            if requestedLevels[index] == "#" { return false }
            if allowedLevels[index] != "+" && allowedLevels[index] != requestedLevels[index] { return false }
            index += 1
        }
    }

    /// Whether `bytes` is a valid MQTT UTF-8 string as Mosquitto judges it (`mosquitto_validate_utf8`): well-formed,
    /// at most 65 535 bytes, no surrogate halves (e.g. from a JSON `\uD800`), no U+0000, no control characters.
    /// Check raw bytes with this *before* turning them into a `String`, which would silently repair them.
    public static func isValidUTF8(_ bytes: some Collection<UInt8>) -> Bool {
        guard bytes.count <= maximumLength else { return false }
        if let verdict = bytes.withContiguousStorageIfAvailable({ validate(UnsafeBufferPointer(rebasing: $0[...])) }) {
            return verdict
        }
        return Array(bytes).withUnsafeBufferPointer { validate($0) }
    }

    /// Validates raw bytes as a publish topic and returns them as a `String`; for topics that arrive as bytes.
    package static func publishTopic(fromUTF8 bytes: some Collection<UInt8>) throws(MosquittoError) -> String {
        guard isValidUTF8(bytes) else {
            if bytes.count > maximumLength {
                throw invalid("topic is \(bytes.count) bytes long, the maximum is \(maximumLength)", nil)
            }
            throw invalid("topic is not valid MQTT UTF-8 (malformed, surrogate, NUL or control character)", nil)
        }
        let topic = String(decoding: bytes, as: UTF8.self)
        try validatePublishTopic(topic)
        return topic
    }

    private static func commonProblem(_ bytes: UnsafeBufferPointer<UInt8>, what: String) -> MosquittoError? {
        guard !bytes.isEmpty else {
            return invalid("\(what) is empty", nil)
        }
        guard bytes.count <= maximumLength else {
            return invalid("\(what) is \(bytes.count) bytes long, the maximum is \(maximumLength)", nil)
        }
        guard validate(bytes) else {
            return invalid(
                "\(what) is not valid MQTT UTF-8 (malformed, surrogate, NUL or control character)",
                MosquittoCode.malformedUTF8)
        }
        return nil
    }

    private static func validate(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard bytes.count <= maximumLength else { return false }
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return true }
        return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            mosquitto_validate_utf8($0, Int32(bytes.count)) == MosquittoCode.success
        }
    }

    private static func invalid(_ reason: String, _ code: Int32?) -> MosquittoError {
        MosquittoError(kind: .invalidTopic, reason: reason, mosquittoCode: code)
    }
}
