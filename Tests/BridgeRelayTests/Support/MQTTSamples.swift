import BridgeTestSupport

/// MQTT packets written out by hand (not with `MQTTWire`'s encoders), so the relay tests have independent inputs.
enum MQTTSample {
    static let password = "pa55-Wörd-never-logged"

    /// A CONNECT for protocol level 3 (3.1, "MQIsdp"), 4 (3.1.1) or 5 (5.0, empty properties).
    static func connect(
        level: UInt8 = 4, clientID: String = "wx-client-1", username: String? = "alice", password: String? = Self.password
    ) -> [UInt8] {
        var flags: UInt8 = 0x02  // clean session
        if username != nil { flags |= 0x80 }
        if password != nil { flags |= 0x40 }
        var body = HandEncodedMQTT.string(level == 3 ? "MQIsdp" : "MQTT") + [level, flags, 0x00, 0x3C]
        if level == 5 { body.append(0x00) }  // properties
        body += HandEncodedMQTT.string(clientID)
        if let username { body += HandEncodedMQTT.string(username) }
        if let password { body += HandEncodedMQTT.string(password) }
        return HandEncodedMQTT.packet(0x10, body)
    }

    /// A PUBLISH (3.1.1 layout) with `payload`; QoS 1 when `packetID` is given.
    static func publish(topic: String = "t/1", payload: [UInt8], packetID: UInt16? = nil) -> [UInt8] {
        var body = HandEncodedMQTT.string(topic)
        if let packetID { body += [UInt8(packetID >> 8), UInt8(packetID & 0xFF)] }
        body += payload
        return HandEncodedMQTT.packet(packetID == nil ? 0x30 : 0x32, body)
    }

    /// A PUBLISH whose whole packet is exactly `length` bytes long (length ≥ 132).
    static func publish(totalLength length: Int, fill: UInt8 = 0x5A) -> [UInt8] {
        let topic = HandEncodedMQTT.string("t/1")
        // Remaining length > 127 for the lengths used, so the header is 1 + 2 bytes up to 16 386.
        let headerLength = 1 + HandEncodedMQTT.variableByteInteger(length - 3).count
        let payload = [UInt8](repeating: fill, count: length - headerLength - topic.count)
        let result = HandEncodedMQTT.packet(0x30, topic + payload)
        precondition(result.count == length, "publish(totalLength:) miscounted")
        return result
    }

    static func subscribe(packetID: UInt16 = 1, filter: String = "t/#") -> [UInt8] {
        HandEncodedMQTT.packet(0x82, [UInt8(packetID >> 8), UInt8(packetID & 0xFF)] + HandEncodedMQTT.string(filter) + [0x01])
    }

    static let connackAccepted: [UInt8] = [0x20, 0x02, 0x00, 0x00]
    static let suback: [UInt8] = [0x90, 0x03, 0x00, 0x01, 0x01]
    static let pingreq: [UInt8] = [0xC0, 0x00]
    static let pingresp: [UInt8] = [0xD0, 0x00]
    static let disconnect: [UInt8] = [0xE0, 0x00]
    static let puback: [UInt8] = [0x40, 0x02, 0x00, 0x07]
}
