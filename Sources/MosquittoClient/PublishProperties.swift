import CMosquitto

/// Builds the `mosquitto_property` list for one PUBLISH from a `MosquittoMessage`.
///
/// The caller owns the returned list and frees it with `mosquitto_property_free_all` after `mosquitto_publish_v5`
/// (which copies what it keeps). Every string is checked before it becomes a C string, since a NUL would silently cut
/// it short.
enum PublishProperties {
    static func make(for message: MosquittoMessage) throws(MosquittoError) -> OpaquePointer? {
        var list: OpaquePointer? = nil
        do {
            try add(message, to: &list)
        } catch {
            mosquitto_property_free_all(&list)
            throw error
        }
        return list
    }

    private static func add(_ message: MosquittoMessage, to list: inout OpaquePointer?) throws(MosquittoError) {
        if let format = message.payloadFormat {
            try check(
                mosquitto_property_add_byte(&list, identifier(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR), format.rawValue),
                "payload format indicator")
        }
        if let expiry = message.messageExpiryInterval {
            try check(
                mosquitto_property_add_int32(&list, identifier(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL), expiry),
                "message expiry interval")
        }
        if let contentType = message.contentType {
            try requireMQTTString(contentType, "content type")
            try check(
                mosquitto_property_add_string(&list, identifier(MQTT_PROP_CONTENT_TYPE), contentType), "content type")
        }
        if let responseTopic = message.responseTopic {
            do {
                try MQTTTopic.validatePublishTopic(responseTopic)
            } catch {
                throw MosquittoError(kind: .invalidMessage, reason: "response topic: \(error.reason)")
            }
            try check(
                mosquitto_property_add_string(&list, identifier(MQTT_PROP_RESPONSE_TOPIC), responseTopic),
                "response topic")
        }
        if let data = message.correlationData {
            guard data.count <= 65_535 else {
                throw MosquittoError(kind: .invalidMessage, reason: "correlation data is longer than 65535 bytes")
            }
            let code = data.withUnsafeBytes {
                mosquitto_property_add_binary(
                    &list, identifier(MQTT_PROP_CORRELATION_DATA), $0.baseAddress, UInt16(data.count))
            }
            try check(code, "correlation data")
        }
        for property in message.userProperties {
            try requireMQTTString(property.name, "user property name")
            try requireMQTTString(property.value, "user property \(property.name)")
            try check(
                mosquitto_property_add_string_pair(
                    &list, identifier(MQTT_PROP_USER_PROPERTY), property.name, property.value),
                "user property \(property.name)")
        }
    }

    private static func identifier(_ property: mqtt5_property) -> Int32 {
        Int32(property.rawValue)
    }

    private static func requireMQTTString(_ value: String, _ what: String) throws(MosquittoError) {
        guard MQTTTopic.isValidUTF8(Array(value.utf8)) else {
            throw MosquittoError(
                kind: .invalidMessage,
                reason: "\(what) is not a valid MQTT string (at most 65535 bytes, no NUL or control characters)")
        }
    }

    private static func check(_ code: Int32, _ what: String) throws(MosquittoError) {
        guard code == MosquittoCode.success else {
            throw MosquittoError(
                kind: .invalidMessage, reason: "\(what): \(String(cString: mosquitto_strerror(code)))",
                mosquittoCode: code)
        }
    }
}
