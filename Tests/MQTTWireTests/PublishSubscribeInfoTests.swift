import MQTTWire
import NIOCore
import Testing

@Suite struct PublishInfoTests {
    @Test func mqtt311QoS0() throws {
        let info = try MQTTPublishInfo(parsing: hex("30 07 00 03 61 2F 62 68 69"), version: .v3_1_1)
        #expect(info == MQTTPublishInfo(topic: "a/b", qos: 0))
    }

    @Test func mqtt311QoS2RetainDup() throws {
        // flags 1101: DUP, QoS 2, RETAIN; packet identifier 0x0102; empty payload.
        let info = try MQTTPublishInfo(parsing: hex("3D 07 00 03 61 2F 62 01 02"), version: .v3_1_1)
        #expect(info == MQTTPublishInfo(topic: "a/b", qos: 2, retain: true, dup: true, packetID: 0x0102))
    }

    @Test func mqtt5TopicAliasWithEmptyTopic() throws {
        let info = try MQTTPublishInfo(parsing: hex("30 07 00 00 03 23 00 05 78"), version: .v5)
        #expect(info.topic == "")
        #expect(info.topicAlias == 5)
        #expect(info.packetID == nil)
    }

    @Test func mqtt5AmongOtherProperties() throws {
        let properties =
            "02 00 00 00 3C" + "26 00 01 6B 00 01 76" + "0B 81 01" + "23 00 02" + "03 00 04 74 65 78 74"
        let packet = hex("32 26 00 03 74 2F 31 00 07 19" + properties + "68 65 6C 6C 6F")
        let info = try MQTTPublishInfo(parsing: packet, version: .v5)
        #expect(info == MQTTPublishInfo(topic: "t/1", qos: 1, packetID: 7, topicAlias: 2))
        let decoded = try MQTTPacket.Publish(parsing: packet, version: .v5)
        #expect(decoded.info == info)
        #expect(decoded.payload == ByteBuffer(string: "hello"))
    }

    @Test func sameBytesReadAs311HaveNoProperties() throws {
        // In 3.1.1 the byte after the topic is payload, not a property length.
        let info = try MQTTPublishInfo(parsing: hex("30 07 00 01 74 03 23 00 05"), version: .v3_1_1)
        #expect(info.topic == "t")
        #expect(info.topicAlias == nil)
    }

    @Test func malformed() {
        let cases: [(String, MQTTProtocolVersion, String)] = [
            ("36 05 00 01 74 00 01", .v3_1_1, "PUBLISH with QoS 3"),
            ("38 03 00 01 74", .v3_1_1, "PUBLISH with QoS 0 and DUP set"),
            ("32 05 00 01 74 00 00", .v3_1_1, "PUBLISH with packet identifier 0"),
            ("32 04 00 01 74 00", .v3_1_1, "truncated packet identifier"),
            ("30 02 00 00", .v3_1_1, "PUBLISH with an empty topic name"),
            ("30 03 00 00 00", .v5, "PUBLISH with an empty topic name"),
            ("30 06 00 00 03 23 00 00", .v5, "PUBLISH with topic alias 0"),
            ("30 02 00 05", .v3_1_1, "truncated topic name"),
            ("30 03 00 01 FF", .v3_1_1, "topic name is not valid UTF-8"),
            ("30 03 00 01 74", .v5, "truncated properties"),
            ("30 05 00 01 74 01 23", .v5, "truncated property 0x23"),
        ]
        for (packet, version, reason) in cases {
            expectWireError(.malformedPacket, reason) {
                _ = try MQTTPublishInfo(parsing: hex(packet), version: version)
            }
        }
        expectWireError(.unexpectedPacketType) {
            _ = try MQTTPublishInfo(parsing: hex("C0 00"), version: .v3_1_1)
        }
    }
}

@Suite struct SubscribeInfoTests {
    @Test func mqtt311() throws {
        let info = try MQTTSubscribeInfo(
            parsing: hex("82 0C 00 01 00 03 61 2F 23 01 00 01 62 00"),
            version: .v3_1_1
        )
        #expect(info.packetID == 1)
        #expect(info.filters == [.init(topicFilter: "a/#", options: 1), .init(topicFilter: "b", options: 0)])
        #expect(info.filters.map(\.qos) == [1, 0])
    }

    @Test func mqtt5WithPropertiesAndOptions() throws {
        // Subscription identifier 129 + user property; options: QoS 2, No Local, Retain As Published, handling 2.
        let properties = "0B 81 01" + "26 00 01 6B 00 01 76"
        let packet = hex("82 17 12 34 0A" + properties + "00 03 24 53 59 2E" + "00 01 78 01")
        let info = try MQTTSubscribeInfo(parsing: packet, version: .v5)
        #expect(info.packetID == 0x1234)
        #expect(info.filters.map(\.topicFilter) == ["$SY", "x"])
        #expect(info.filters.map(\.options) == [0x2E, 0x01])
        #expect(info.filters.first?.qos == 2)
    }

    @Test func malformed() {
        let cases: [(String, MQTTProtocolVersion, String)] = [
            ("80 06 00 01 00 01 61 00", .v3_1_1, "SUBSCRIBE with fixed header flags 0, expected 2"),
            ("82 06 00 00 00 01 61 00", .v3_1_1, "SUBSCRIBE with packet identifier 0"),
            ("82 02 00 01", .v3_1_1, "SUBSCRIBE without a topic filter"),
            ("82 03 00 01 00", .v5, "SUBSCRIBE without a topic filter"),
            ("82 06 00 01 00 01 61 03", .v3_1_1, "subscription with QoS 3"),
            ("82 06 00 01 00 01 61 04", .v3_1_1, "reserved subscription option bit set"),
            ("82 07 00 01 00 00 01 61 40", .v5, "reserved subscription option bit set"),
            ("82 07 00 01 00 00 01 61 30", .v5, "subscription with retain handling 3"),
            ("82 05 00 01 00 01 61", .v3_1_1, "truncated subscription options"),
            ("82 05 00 01 00 00 00", .v3_1_1, "empty topic filter"),
            ("82 06 00 01 00 01 61 00 00", .v3_1_1, "buffer holds 9 bytes"),
            ("82 07 00 01 00 01 61 00 00", .v3_1_1, "truncated topic filter"),
        ]
        for (packet, version, reason) in cases {
            expectWireError(.malformedPacket, reason) {
                _ = try MQTTSubscribeInfo(parsing: hex(packet), version: version)
            }
        }
    }
}
