import Foundation
import JSONInspection
import MosquittoClient

/// The body of `POST /api/v1/publish`, read into a `MosquittoMessage`:
///
/// ```json
/// {"topic": "push/user/42", "payload": "hello", "qos": 1, "retain": false,
///  "user_properties": {"source": "billing"}, "content_type": "text/plain", "message_expiry": 3600}
/// ```
///
/// - `topic` (required): checked by libmosquitto (`mosquitto_validate_utf8`, `mosquitto_pub_topic_check`) on its
///   UTF-8 bytes — no wildcards, not empty, no U+0000. Foundation's parser refuses invalid UTF-8 and lone surrogate
///   escapes, so the topic is exactly what the client wrote.
/// - `payload` (UTF-8 text) or `payload_base64` (binary, standard base64): exactly one. An empty payload is allowed
///   (with `retain: true` it clears the topic's retained message).
/// - `qos`: 0 (default), 1 or 2, written exactly so (`-0`, `1.0`, `"1"` are refused). `retain`: false (default) or true.
/// - `user_properties` (MQTT 5): an object of string values (sent in the order written), or an array of
///   `{"name": …, "value": …}` objects when a name repeats. `content_type` (MQTT 5): a string. `message_expiry`
///   (MQTT 5): whole seconds, 0-4294967295, written as digits.
///
/// Refused rather than guessed at: unknown fields (a misspelt `retian` must not be silently ignored), a name given
/// twice in any object (parsers disagree on which one wins). `null` counts as absent for the optional fields.
///
/// Public for the `admin-publish` fuzz target (Fuzzing/), which drives `parse` with arbitrary bodies.
public enum PublishRequest {
    public static let fields = [
        "topic", "payload", "payload_base64", "qos", "retain", "user_properties", "content_type", "message_expiry",
    ]

    public static func parse(_ body: [UInt8]) throws(PublishRequestError) -> MosquittoMessage {
        guard !body.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
            throw PublishRequestError("the body is empty; send a JSON object such as {\"topic\": \"a/b\", \"payload\": \"hello\"}")
        }
        let value: Any
        do {
            value = try JSONText.parse(body)
        } catch {
            // The top-level field names the part of the body to fix (`user_properties`, not `user_properties.k`).
            throw PublishRequestError(error.description, field: error.topLevelMember)
        }
        guard value is [String: Any] else {
            throw PublishRequestError("the body must be a JSON object, not \(kind(of: body[...]))")
        }
        let outline = JSONOutline(body)
        if let (path, offset) = outline.duplicate, let first = path.first {
            throw PublishRequestError(
                "field \(JSONText.quoted(path.joined(separator: "."))) is given more than once (again at byte \(offset))", field: first)
        }

        var byName: [String: ArraySlice<UInt8>] = [:]
        for member in outline.members {
            guard fields.contains(member.name) else {
                throw PublishRequestError(
                    "unknown field \(JSONText.quoted(member.name)) (known fields: \(fields.joined(separator: ", ")))", field: member.name)
            }
            let value = body[member.value]
            if value.elementsEqual("null".utf8) { continue }
            byName[member.name] = value
        }

        let topic = try readTopic(byName["topic"])
        let payload = try readPayload(text: byName["payload"], base64: byName["payload_base64"])
        var message = MosquittoMessage(topic: topic, payload: payload)
        if let qos = byName["qos"] {
            guard let level = ["0", "1", "2"].firstIndex(where: { qos.elementsEqual($0.utf8) }) else {
                throw PublishRequestError("qos: must be 0, 1 or 2", field: "qos")
            }
            message.qos = MosquittoMessage.QoS(rawValue: level) ?? .atMostOnce
        }
        if let retain = byName["retain"] {
            guard let flag = JSONText.decode(Bool.self, from: retain) else {
                throw PublishRequestError("retain: must be true or false, not \(kind(of: retain))", field: "retain")
            }
            message.retain = flag
        }
        if let properties = byName["user_properties"] {
            message.userProperties = try readUserProperties(properties, order: outline.nestedNames["user_properties"] ?? [])
        }
        if let contentType = byName["content_type"] {
            message.contentType = try readMQTTString(contentType, field: "content_type")
        }
        if let expiry = byName["message_expiry"] {
            guard expiry.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                let seconds = UInt32(String(decoding: expiry, as: UTF8.self))
            else {
                throw PublishRequestError(
                    "message_expiry: must be a whole number of seconds from 0 to 4294967295", field: "message_expiry")
            }
            message.messageExpiryInterval = seconds
        }
        return message
    }

    private static func readTopic(_ value: ArraySlice<UInt8>?) throws(PublishRequestError) -> String {
        guard let value else { throw PublishRequestError("topic: required", field: "topic") }
        guard let text = JSONText.decode(String.self, from: value) else {
            throw PublishRequestError("topic: must be a string, not \(kind(of: value))", field: "topic")
        }
        do {
            return try MQTTTopic.publishTopic(fromUTF8: Array(text.utf8))
        } catch {
            // libmosquitto's reasons mostly name the topic already ("topic is empty").
            let message = error.reason.hasPrefix("topic ") ? error.reason : "topic: \(error.reason)"
            throw PublishRequestError(message, field: "topic", result: .invalidTopic)
        }
    }

    private static func readPayload(
        text: ArraySlice<UInt8>?, base64: ArraySlice<UInt8>?
    ) throws(PublishRequestError) -> [UInt8] {
        switch (text, base64) {
        case (nil, nil):
            throw PublishRequestError("payload: required (or payload_base64 for binary data)", field: "payload")
        case (.some, .some):
            throw PublishRequestError("payload, payload_base64: give one of them, not both", field: "payload_base64")
        case (let text?, nil):
            guard let string = JSONText.decode(String.self, from: text) else {
                throw PublishRequestError("payload: must be a string, not \(kind(of: text))", field: "payload")
            }
            return Array(string.utf8)
        case (nil, let encoded?):
            guard let string = JSONText.decode(String.self, from: encoded), let decoded = decodeBase64(string) else {
                throw PublishRequestError(
                    "payload_base64: must be a standard base64 string (A-Z a-z 0-9 + /, optional = padding)",
                    field: "payload_base64")
            }
            return decoded
        }
    }

    /// Standard base64 (RFC 4648 §4) through Foundation. Padding is optional: what Foundation requires is added
    /// (many encoders leave it out); more than two `=` is refused. Whitespace, the URL-safe alphabet and anything
    /// else outside the alphabet are refused by Foundation; bits left over in the last character are ignored, as
    /// RFC 4648 §3.5 allows.
    static func decodeBase64(_ text: String) -> [UInt8]? {
        var unpadded = Substring(text)
        while unpadded.hasSuffix("=") { unpadded.removeLast() }
        guard text.utf8.count - unpadded.utf8.count <= 2 else { return nil }
        let padding = (4 - unpadded.utf8.count % 4) % 4
        guard padding < 3, !unpadded.isEmpty || text.isEmpty else { return nil }  // one character holds no whole byte
        return Data(base64Encoded: unpadded + String(repeating: "=", count: padding)).map(Array.init)
    }

    private static func readUserProperties(
        _ value: ArraySlice<UInt8>, order: [String]
    ) throws(PublishRequestError) -> [MosquittoUserProperty] {
        let field = "user_properties"
        if let object = JSONText.decode([String: String].self, from: value) {
            var properties: [MosquittoUserProperty] = []
            for name in order {
                guard let text = object[name] else { continue }
                properties.append(
                    MosquittoUserProperty(
                        name: try mqttString(name, field: field, what: "property name"),
                        value: try mqttString(text, field: field, what: "value")))
            }
            return properties
        }
        if let pairs = JSONText.decode([[String: String]].self, from: value) {
            return try pairs.map { pair throws(PublishRequestError) in
                guard pair.count == 2, let name = pair["name"], let text = pair["value"] else {
                    throw PublishRequestError(
                        "user_properties: each element of the array must be {\"name\": \"…\", \"value\": \"…\"}", field: field)
                }
                return MosquittoUserProperty(
                    name: try mqttString(name, field: field, what: "property name"),
                    value: try mqttString(text, field: field, what: "value"))
            }
        }
        throw PublishRequestError(
            "user_properties: must be an object of strings, or an array of {\"name\", \"value\"} objects", field: field)
    }

    private static func readMQTTString(_ value: ArraySlice<UInt8>, field: String) throws(PublishRequestError) -> String {
        guard let text = JSONText.decode(String.self, from: value) else {
            throw PublishRequestError("\(field): must be a string, not \(kind(of: value))", field: field)
        }
        return try mqttString(text, field: field, what: "value")
    }

    /// MQTT strings: no U+0000 or control characters, at most 65 535 bytes (libmosquitto's rule).
    private static func mqttString(_ text: String, field: String, what: String) throws(PublishRequestError) -> String {
        guard MQTTTopic.isValidUTF8(Array(text.utf8)) else {
            throw PublishRequestError(
                "\(field): each \(what) must be valid UTF-8 of at most 65535 bytes without control characters", field: field)
        }
        return text
    }

    /// `a string`, `a number`…: for "must be …, not …" messages, from the value's first character.
    static func kind(of value: ArraySlice<UInt8>) -> String {
        switch value.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) {
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        default: "a number"
        }
    }
}

/// A 400 for the publish API: what is wrong, and which field (when it is about one).
public struct PublishRequestError: Error, Sendable, Equatable {
    public var message: String
    public var field: String?
    var result: PublishResult

    init(_ message: String, field: String? = nil, result: PublishResult = .badRequest) {
        self.message = message
        self.field = field
        self.result = result
    }
}
