import MosquittoClient

/// The body of `POST /api/v1/publish`, read into a `MosquittoMessage`:
///
/// ```json
/// {"topic": "push/user/42", "payload": "hello", "qos": 1, "retain": false,
///  "user_properties": {"source": "billing"}, "content_type": "text/plain", "message_expiry": 3600}
/// ```
///
/// - `topic` (required): checked by libmosquitto (`mosquitto_validate_utf8`, `mosquitto_pub_topic_check`) on the bytes
///   as sent — no wildcards, not empty, valid UTF-8 without U+0000.
/// - `payload` (UTF-8 text) or `payload_base64` (binary, standard base64): exactly one. An empty payload is allowed
///   (with `retain: true` it clears the topic's retained message).
/// - `qos`: 0 (default), 1 or 2. `retain`: false (default) or true.
/// - `user_properties` (MQTT 5): an object of string values, or an array of `{"name": …, "value": …}` objects when a
///   name repeats. `content_type` (MQTT 5): a string. `message_expiry` (MQTT 5): seconds, 0-4294967295.
///
/// Unknown fields are refused (a misspelt `retian` must not be silently ignored); `null` counts as absent for the
/// optional fields.
enum PublishRequest {
    static let fields = [
        "topic", "payload", "payload_base64", "qos", "retain", "user_properties", "content_type", "message_expiry",
    ]

    static func parse(_ body: [UInt8]) throws(PublishRequestError) -> MosquittoMessage {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            let message = body.allSatisfy { [0x20, 0x09, 0x0A, 0x0D].contains($0) }
                ? "the body is empty; send a JSON object such as {\"topic\": \"a/b\", \"payload\": \"hello\"}"
                : error.description
            throw PublishRequestError(message, field: error.field.map { $0.split(separator: ".").first.map(String.init) ?? $0 })
        }
        guard case .object(let members) = value else {
            throw PublishRequestError("the body must be a JSON object, not \(value.kindDescription)")
        }
        var byName: [String: JSONValue] = [:]
        for member in members {
            let name = member.displayName
            guard fields.contains(name), member.name == Array(name.utf8) else {
                throw PublishRequestError(
                    "unknown field \"\(name)\" (known fields: \(fields.joined(separator: ", ")))", field: name)
            }
            guard byName[name] == nil else {
                throw PublishRequestError("field \"\(name)\" is given more than once", field: name)
            }
            if case .null = member.value { continue }
            byName[name] = member.value
        }

        let topic = try readTopic(byName["topic"])
        let payload = try readPayload(text: byName["payload"], base64: byName["payload_base64"])
        var message = MosquittoMessage(topic: topic, payload: payload)
        if let qos = byName["qos"] {
            guard case .number(let text) = qos, let level = Int(text), let value = MosquittoMessage.QoS(rawValue: level) else {
                throw PublishRequestError("qos: must be 0, 1 or 2", field: "qos")
            }
            message.qos = value
        }
        if let retain = byName["retain"] {
            guard case .bool(let flag) = retain else {
                throw PublishRequestError("retain: must be true or false, not \(retain.kindDescription)", field: "retain")
            }
            message.retain = flag
        }
        if let properties = byName["user_properties"] {
            message.userProperties = try readUserProperties(properties)
        }
        if let contentType = byName["content_type"] {
            message.contentType = try readMQTTString(contentType, field: "content_type")
        }
        if let expiry = byName["message_expiry"] {
            guard case .number(let text) = expiry, let seconds = UInt32(text) else {
                throw PublishRequestError(
                    "message_expiry: must be a whole number of seconds from 0 to 4294967295", field: "message_expiry")
            }
            message.messageExpiryInterval = seconds
        }
        return message
    }

    private static func readTopic(_ value: JSONValue?) throws(PublishRequestError) -> String {
        guard let value else { throw PublishRequestError("topic: required", field: "topic") }
        guard case .string(let bytes) = value else {
            throw PublishRequestError("topic: must be a string, not \(value.kindDescription)", field: "topic")
        }
        do {
            return try MQTTTopic.publishTopic(fromUTF8: bytes)
        } catch {
            // libmosquitto's reasons mostly name the topic already ("topic is empty").
            let message = error.reason.hasPrefix("topic ") ? error.reason : "topic: \(error.reason)"
            throw PublishRequestError(message, field: "topic", result: .invalidTopic)
        }
    }

    private static func readPayload(text: JSONValue?, base64: JSONValue?) throws(PublishRequestError) -> [UInt8] {
        switch (text, base64) {
        case (nil, nil):
            throw PublishRequestError("payload: required (or payload_base64 for binary data)", field: "payload")
        case (.some, .some):
            throw PublishRequestError("payload, payload_base64: give one of them, not both", field: "payload_base64")
        case (let text?, nil):
            guard case .string(let bytes) = text else {
                throw PublishRequestError("payload: must be a string, not \(text.kindDescription)", field: "payload")
            }
            guard String(validating: bytes, as: UTF8.self) != nil else {
                throw PublishRequestError(
                    "payload: must be valid UTF-8 text; send binary data as payload_base64", field: "payload")
            }
            return bytes
        case (nil, let encoded?):
            guard case .string(let bytes) = encoded, let decoded = Base64.decode(bytes) else {
                throw PublishRequestError(
                    "payload_base64: must be a standard base64 string (A-Z a-z 0-9 + /, optional = padding)",
                    field: "payload_base64")
            }
            return decoded
        }
    }

    private static func readUserProperties(_ value: JSONValue) throws(PublishRequestError) -> [MosquittoUserProperty] {
        let field = "user_properties"
        var properties: [MosquittoUserProperty] = []
        switch value {
        case .object(let members):
            for member in members {
                let name = try mqttString(member.name, field: field, what: "property name")
                properties.append(MosquittoUserProperty(name: name, value: try readMQTTString(member.value, field: field)))
            }
        case .array(let elements):
            for element in elements {
                guard case .object(let members) = element, members.count == 2,
                    let name = members.first(where: { $0.name == Array("name".utf8) })?.value,
                    let value = members.first(where: { $0.name == Array("value".utf8) })?.value
                else {
                    throw PublishRequestError(
                        "user_properties: each element of the array must be {\"name\": \"…\", \"value\": \"…\"}", field: field)
                }
                properties.append(MosquittoUserProperty(
                    name: try readMQTTString(name, field: field), value: try readMQTTString(value, field: field)))
            }
        default:
            throw PublishRequestError(
                "user_properties: must be an object of strings, or an array of {\"name\", \"value\"} objects", field: field)
        }
        return properties
    }

    private static func readMQTTString(_ value: JSONValue, field: String) throws(PublishRequestError) -> String {
        guard case .string(let bytes) = value else {
            throw PublishRequestError("\(field): must be a string, not \(value.kindDescription)", field: field)
        }
        return try mqttString(bytes, field: field, what: "value")
    }

    /// MQTT strings: valid UTF-8, no U+0000 or control characters, at most 65 535 bytes (libmosquitto's rule).
    private static func mqttString(_ bytes: [UInt8], field: String, what: String) throws(PublishRequestError) -> String {
        guard MQTTTopic.isValidUTF8(bytes) else {
            throw PublishRequestError(
                "\(field): each \(what) must be valid UTF-8 of at most 65535 bytes without control characters", field: field)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A 400 for the publish API: what is wrong, and which field (when it is about one).
struct PublishRequestError: Error, Sendable, Equatable {
    var message: String
    var field: String?
    var result: PublishResult

    init(_ message: String, field: String? = nil, result: PublishResult = .badRequest) {
        self.message = message
        self.field = field
        self.result = result
    }
}
