import BridgeAdmin
import Foundation
import FuzzSupport
import MosquittoClient

/// The body of the admin listener's `POST /api/v1/publish`, read by `PublishRequest.parse` into a `MosquittoMessage`
/// (Foundation's JSON, our outline of member names and offsets, base64, libmosquitto's topic check).
///
/// Input: the request body.
///
/// Invariants, checked against Foundation's own reading of the body (`JSONSerialization`) and a base64 decoder of
/// this harness:
/// - accepted: the body is a JSON object of known fields; the topic is the `topic` string exactly, not empty, without
///   `+`, `#` or NUL, at most 65,535 bytes; the payload is exactly `payload`'s UTF-8 or `payload_base64` decoded
///   (never both); QoS 0-2 and `retain` as written (defaults 0 and false); the user properties, content type and
///   message expiry as written;
/// - refused: a one-line message; when it is about a field, the message names the field and the field is one of
///   the body's members; a body Foundation reads as an object is always refused with the field to fix;
/// - deterministic: the same body gives the same answer.
enum AdminPublishFuzz: FuzzTarget {
    static func test(_ body: [UInt8]) {
        let first = Result { () throws(PublishRequestError) in try PublishRequest.parse(body) }
        let second = Result { () throws(PublishRequestError) in try PublishRequest.parse(body) }
        fuzzCheck(first == second, "two readings of the same body differ: \(first) and \(second)")
        let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]

        switch first {
        case .success(let message):
            guard let object else {
                fuzzCheck(false, "accepted a body that Foundation does not read as a JSON object")
                return
            }
            checkAccepted(message, object: object)
        case .failure(let error):
            fuzzCheck(!error.message.isEmpty, "a refusal without a message")
            fuzzCheck(
                !error.message.contains(where: { $0 == "\r" || $0 == "\n" }),
                "refusal message is not one line: \(error.message.debugDescription)")
            if let field = error.field {
                fuzzCheck(
                    names(error.message, field), "the message \(error.message.debugDescription) does not name \(field.debugDescription)")
                if let object {
                    fuzzCheck(
                        object[field] != nil || PublishRequest.fields.contains(field),
                        "field \(field.debugDescription) is neither a member of the body nor a known field")
                }
            } else if object != nil {
                fuzzCheck(false, "a JSON object refused without naming a field: \(error.message)")
            }
        }
    }

    /// Whether a refusal names `field`: quoted as JSON text shows it, control characters written `\u{…}` (`"a\u{d}b"`,
    /// `""` for a member with an empty name, which is legal JSON and as unknown as any other), possibly followed by
    /// the path inside it (`"user_properties.k"`); a known field may also be named bare (`qos: must be 0, 1 or 2`).
    static func names(_ message: String, _ field: String) -> Bool {
        var quoted = "\""
        for scalar in field.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                quoted += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                quoted.unicodeScalars.append(scalar)
            }
        }
        return message.contains(quoted + "\"") || message.contains(quoted + ".")
            || (PublishRequest.fields.contains(field) && message.contains(field))
    }

    static func checkAccepted(_ message: MosquittoMessage, object: [String: Any]) {
        func present(_ name: String) -> Any? {
            object[name].flatMap { $0 is NSNull ? nil : $0 }
        }
        for name in object.keys {
            fuzzCheck(PublishRequest.fields.contains(name), "accepted an unknown field \(name.debugDescription)")
        }
        let topic = present("topic") as? String
        fuzzCheck(topic == message.topic, "topic \(message.topic.debugDescription), the body says \(String(describing: topic))")
        let topicBytes = Array(message.topic.utf8)
        fuzzCheck(
            !topicBytes.isEmpty && topicBytes.count <= 65535 && !topicBytes.contains(0)
                && !topicBytes.contains(UInt8(ascii: "+")) && !topicBytes.contains(UInt8(ascii: "#")),
            "accepted a topic that is not valid for publishing: \(message.topic.debugDescription)")

        switch (present("payload"), present("payload_base64")) {
        case (let text?, nil):
            let expected = (text as? String).map { Array($0.utf8) }
            fuzzCheck(expected == message.payload, "payload \(message.payload), the body says \(text)")
        case (nil, let encoded?):
            let decoded = (encoded as? String).flatMap(decodeBase64)
            fuzzCheck(
                decoded == message.payload,
                "payload_base64 \(encoded) decoded to \(message.payload), expected \(String(describing: decoded))")
        case (let text, let encoded):
            fuzzCheck(false, "accepted payload \(String(describing: text)) with payload_base64 \(String(describing: encoded))")
        }

        let qos = present("qos").map { ($0 as? NSNumber)?.intValue ?? -1 } ?? 0
        fuzzCheck(
            (0...2).contains(qos) && message.qos.rawValue == qos,
            "QoS \(message.qos.rawValue), the body says \(String(describing: present("qos")))")
        let retain = present("retain").map { ($0 as? Bool) ?? !message.retain } ?? false
        fuzzCheck(message.retain == retain, "retain \(message.retain), the body says \(String(describing: present("retain")))")

        if let value = present("user_properties") {
            if let properties = value as? [String: String] {
                fuzzCheck(
                    message.userProperties.count == properties.count
                        && message.userProperties.allSatisfy { properties[$0.name] == $0.value },
                    "user properties \(message.userProperties), the body says \(properties)")
            } else if let pairs = value as? [[String: String]] {
                fuzzCheck(
                    message.userProperties.map { [$0.name, $0.value] } == pairs.map { [$0["name"] ?? "", $0["value"] ?? ""] }
                        && pairs.allSatisfy { $0.count == 2 },
                    "user properties \(message.userProperties), the body says \(pairs)")
            } else {
                fuzzCheck(false, "accepted user_properties \(value)")
            }
        } else {
            fuzzCheck(message.userProperties.isEmpty, "user properties without user_properties")
        }
        for text in message.userProperties.flatMap({ [$0.name, $0.value] }) + [message.contentType].compactMap({ $0 }) {
            fuzzCheck(MQTTTopic.isValidUTF8(Array(text.utf8)), "accepted \(text.debugDescription), not a valid MQTT string")
        }
        fuzzCheck(message.contentType == present("content_type") as? String, "content type \(String(describing: message.contentType))")
        let expiry = present("message_expiry").map { ($0 as? NSNumber)?.int64Value ?? -1 }
        fuzzCheck(
            message.messageExpiryInterval.map(Int64.init) == expiry && (expiry ?? 0) >= 0 && (expiry ?? 0) <= Int64(UInt32.max),
            "message expiry \(String(describing: message.messageExpiryInterval)), the body says \(String(describing: present("message_expiry")))"
        )
    }

    /// Standard base64 (RFC 4648 §4), decoded here without Foundation: padding optional, at most two `=`, bits left
    /// over in the last character ignored (§3.5); nil for anything else.
    static func decodeBase64(_ text: String) -> [UInt8]? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var characters = Array(text.utf8)
        var padding = 0
        while characters.last == UInt8(ascii: "=") {
            characters.removeLast()
            padding += 1
        }
        guard padding <= 2, characters.count % 4 != 1, !(characters.isEmpty && padding > 0) else { return nil }
        var bytes: [UInt8] = []
        var bits: UInt32 = 0
        var count = 0
        for character in characters {
            guard let value = alphabet.firstIndex(of: character) else { return nil }
            bits = bits << 6 | UInt32(value)
            count += 6
            if count >= 8 {
                count -= 8
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(count)))
            }
        }
        return bytes
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        [
            ("readme-push", #"{"topic": "push/user/42", "payload": "hello mini-program", "qos": 1}"#),
            (
                "doc-all-fields",
                #"{"topic": "push/user/42", "payload": "hello", "qos": 1, "retain": false, "user_properties": {"source": "billing"}, "content_type": "text/plain", "message_expiry": 3600}"#
            ),
            ("binary-base64", #"{"topic": "devices/7/firmware", "payload_base64": "AAECA/7/gA", "qos": 2, "retain": true}"#),
            ("retained-clear", #"{"topic": "status/bridge", "payload": "", "retain": true}"#),
            (
                "repeated-property-names",
                #"{"topic": "t", "payload": "x", "user_properties": [{"name": "k", "value": "1"}, {"name": "k", "value": "2"}]}"#
            ),
            ("escapes-and-unicode", #"{"topic": "a\"\\\/\u00e9/中", "payload": "\b\f\n\r\t\u00e9\u4e2d\ud83d\ude00"}"#),
            ("nulls-as-absent", #"{"topic": "t", "payload": "x", "qos": null, "retain": null, "content_type": null}"#),
            ("negative-zero-qos", #"{"topic": "t", "payload": "x", "qos": -0}"#),
            ("string-qos", #"{"topic": "t", "payload": "x", "qos": "1"}"#),
            ("wildcard-topic", #"{"topic": "a/+/b", "payload": "x"}"#),
            ("duplicate-field", #"{"topic": "a", "topic": "b", "payload": "x"}"#),
            ("misspelt-retain", #"{"topic": "a", "payload": "x", "retian": true}"#),
            ("empty-member-name", #"{"topic": "a", "payload": "x", "": 1}"#),
            ("syntax-error-in-empty-member", #"{"topic": "a", "payload": "x", "": {"k": tru}}"#),
            ("both-payloads", #"{"topic": "a", "payload": "x", "payload_base64": "eA=="}"#),
            ("syntax-error-in-property", #"{"topic": "a", "payload": "x", "user_properties": {"k": tru}}"#),
            ("trailing-comma", #"{"topic": "a", "payload": "x",}"#),
            ("expiry-max", #"{"topic": "a", "payload": "x", "message_expiry": 4294967295}"#),
        ].map { ($0.0, Array($0.1.utf8)) }
    }
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    FuzzEntry.initialize(AdminPublishFuzz.self)
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.test(AdminPublishFuzz.self, data, size)
}
