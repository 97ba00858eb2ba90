/// A message to publish. The MQTT 5 properties (`userProperties` … `correlationData`) need a connection with
/// `protocolVersion == .v5`; on MQTT 3.1.1 a message carrying any of them is refused with `.invalidMessage` rather
/// than sent without them.
public struct MosquittoMessage: Sendable, Hashable {
    /// Quality of service.
    public enum QoS: Int, Sendable, Hashable, CaseIterable {
        /// `publish` returns once the PUBLISH is written to the socket.
        case atMostOnce = 0
        /// `publish` returns after the broker's PUBACK.
        case atLeastOnce = 1
        /// `publish` returns after the broker's PUBCOMP.
        case exactlyOnce = 2
    }

    /// MQTT 5 payload format indicator.
    package enum PayloadFormat: UInt8, Sendable, Hashable {
        case unspecifiedBytes = 0
        case utf8 = 1
    }

    public var topic: String
    public var payload: [UInt8]
    public var qos: QoS
    public var retain: Bool
    /// MQTT 5 user properties, in order; names may repeat.
    public var userProperties: [MosquittoUserProperty]
    /// MQTT 5 content type (a MIME type by convention).
    public var contentType: String?
    /// MQTT 5 message expiry interval, seconds.
    public var messageExpiryInterval: UInt32?
    package var payloadFormat: PayloadFormat?
    /// MQTT 5 response topic (request/response).
    package var responseTopic: String?
    /// MQTT 5 correlation data (request/response), at most 65 535 bytes.
    package var correlationData: [UInt8]?

    package init(
        topic: String,
        payload: [UInt8],
        qos: QoS = .atMostOnce,
        retain: Bool = false,
        userProperties: [MosquittoUserProperty] = [],
        contentType: String? = nil,
        messageExpiryInterval: UInt32? = nil,
        payloadFormat: PayloadFormat? = nil,
        responseTopic: String? = nil,
        correlationData: [UInt8]? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.userProperties = userProperties
        self.contentType = contentType
        self.messageExpiryInterval = messageExpiryInterval
        self.payloadFormat = payloadFormat
        self.responseTopic = responseTopic
        self.correlationData = correlationData
    }

    /// Whether any MQTT 5-only field is set.
    package var hasProperties: Bool {
        !userProperties.isEmpty || contentType != nil || messageExpiryInterval != nil || payloadFormat != nil
            || responseTopic != nil || correlationData != nil
    }
}

/// One MQTT 5 user property (a name/value pair of UTF-8 strings).
public struct MosquittoUserProperty: Sendable, Hashable {
    public var name: String
    public var value: String

    package init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// What the broker said about a publish that succeeded.
package struct MosquittoPublishReceipt: Sendable, Hashable {
    /// libmosquitto's message id (also assigned to QoS 0 messages). Unique among a connection's messages in flight;
    /// different pool members count independently.
    package var messageID: Int32
    /// The MQTT 5 PUBACK/PUBREC reason code, < 0x80 (0 for QoS 0 and MQTT 3.1.1).
    package var reasonCode: UInt8

    package init(messageID: Int32, reasonCode: UInt8) {
        self.messageID = messageID
        self.reasonCode = reasonCode
    }

    /// MQTT 5 reason 0x10: the broker accepted the message, but no subscription matched it.
    package var noMatchingSubscribers: Bool { reasonCode == 0x10 }
}
