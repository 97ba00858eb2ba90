import MQTTWire
import NIOCore
import Testing

/// Client-side decoders, against the encoders (round trip) and hand-written 5.0 packets with properties.
@Suite struct DecoderTests {
    static func encode(_ write: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var buffer = ByteBuffer()
        write(&buffer)
        return buffer
    }

    @Test(arguments: MQTTProtocolVersion.allCases)
    func connectRoundTrip(version: MQTTProtocolVersion) throws {
        let packet = Self.encode {
            MQTTPacket.writeConnect(
                version: version,
                clientID: "client-é",
                username: "user",
                password: "pass",
                keepAlive: 45,
                cleanStart: false,
                will: .init(topic: "will/topic", payload: ByteBuffer(string: "gone"), qos: 2, retain: true),
                to: &$0
            )
        }
        let info = try MQTTConnectInfo(parsing: packet)
        #expect(
            info
                == MQTTConnectInfo(
                    protocolName: version.protocolName,
                    version: version,
                    protocolLevelByte: version.rawValue,
                    clientID: "client-é",
                    username: "user",
                    password: MQTTPassword(Array("pass".utf8)),
                    keepAlive: 45,
                    cleanStart: false,
                    will: .init(topic: "will/topic", qos: 2, retain: true)
                )
        )
        let minimal = try MQTTConnectInfo(
            parsing: Self.encode { MQTTPacket.writeConnect(version: version, clientID: "", to: &$0) }
        )
        #expect(minimal.clientID == "")
        #expect(minimal.will == nil)
        #expect(minimal.username == nil)
        #expect(!minimal.hasPassword)
        #expect(minimal.cleanStart)
    }

    @Test(arguments: MQTTProtocolVersion.allCases)
    func publishRoundTrip(version: MQTTProtocolVersion) throws {
        for qos: UInt8 in 0...2 {
            for retain in [false, true] {
                let packetID: UInt16? = qos > 0 ? 0xBEEF : nil
                let payload = ByteBuffer(bytes: (0..<1_000).map { UInt8(truncatingIfNeeded: $0) })
                let packet = Self.encode {
                    MQTTPacket.writePublish(
                        topic: "sensors/温度",
                        payload: payload,
                        qos: qos,
                        retain: retain,
                        dup: qos > 0,
                        packetID: packetID,
                        version: version,
                        to: &$0
                    )
                }
                let decoded = try MQTTPacket.Publish(parsing: packet, version: version)
                #expect(decoded.topic == "sensors/温度")
                #expect(decoded.qos == qos)
                #expect(decoded.retain == retain)
                #expect(decoded.dup == (qos > 0))
                #expect(decoded.packetID == packetID)
                #expect(decoded.payload == payload)
                #expect(try MQTTPublishInfo(parsing: packet, version: version) == decoded.info)
            }
        }
        let empty = try MQTTPacket.Publish(
            parsing: Self.encode {
                MQTTPacket.writePublish(topic: "e", payload: ByteBuffer(), version: version, to: &$0)
            },
            version: version
        )
        #expect(empty.payload.readableBytes == 0)
    }

    @Test(arguments: MQTTProtocolVersion.allCases)
    func subscribeRoundTrip(version: MQTTProtocolVersion) throws {
        let packet = Self.encode {
            MQTTPacket.writeSubscribe(
                packetID: 9,
                filters: [("a/+/c", 2), ("#", 0), ("$SYS/x", 1)],
                version: version,
                to: &$0
            )
        }
        let info = try MQTTSubscribeInfo(parsing: packet, version: version)
        #expect(info.packetID == 9)
        #expect(info.filters.map(\.topicFilter) == ["a/+/c", "#", "$SYS/x"])
        #expect(info.filters.map(\.qos) == [2, 0, 1])
        #expect(try MQTTFixedHeader.peek(in: packet, maximumPacketSize: .max).map { try $0.validateFlags() } != nil)

        let unsubscribe = Self.encode {
            MQTTPacket.writeUnsubscribe(packetID: 9, topicFilters: ["a/#"], version: version, to: &$0)
        }
        let header = try #require(try MQTTFixedHeader.peek(in: unsubscribe, maximumPacketSize: .max))
        #expect(header.type == .unsubscribe)
        try header.validateFlags()
    }

    @Test(arguments: MQTTProtocolVersion.allCases)
    func acknowledgementRoundTrip(version: MQTTProtocolVersion) throws {
        for type in [MQTTPacketType.puback, .pubrec, .pubrel, .pubcomp] {
            let packet = Self.encode { MQTTPacket.writeAcknowledgement(type, packetID: 0xABCD, to: &$0) }
            let decoded = try MQTTPacket.Acknowledgement(parsing: packet, version: version)
            #expect(decoded == MQTTPacket.Acknowledgement(type: type, packetID: 0xABCD))
            try #require(try MQTTFixedHeader.peek(in: packet, maximumPacketSize: .max)).validateFlags()
        }
    }

    @Test(arguments: MQTTProtocolVersion.allCases)
    func brokerPacketsRoundTrip(version: MQTTProtocolVersion) throws {
        let connack = Self.encode {
            MQTTPacket.writeConnack(sessionPresent: true, returnCode: 5, version: version, to: &$0)
        }
        #expect(
            try MQTTPacket.Connack(parsing: connack, version: version) == .init(sessionPresent: true, returnCode: 5)
        )

        let unavailable = MQTTPacket.connackServerUnavailable(version: version, allocator: ByteBufferAllocator())
        #expect(
            try MQTTPacket.Connack(parsing: unavailable, version: version).returnCode
                == (version == .v5 ? 0x88 : 0x03)
        )

        let suback = Self.encode {
            MQTTPacket.writeSuback(packetID: 3, returnCodes: [0, 1, 2, 0x80], version: version, to: &$0)
        }
        #expect(
            try MQTTPacket.Suback(parsing: suback, version: version)
                == .init(packetID: 3, returnCodes: [0, 1, 2, 0x80])
        )

        let unsuback = Self.encode {
            MQTTPacket.writeUnsuback(packetID: 4, reasonCodes: [0, 0x11], version: version, to: &$0)
        }
        #expect(
            try MQTTPacket.Unsuback(parsing: unsuback, version: version)
                == .init(packetID: 4, reasonCodes: version == .v5 ? [0, 0x11] : [])
        )

        let disconnect = MQTTPacket.disconnect(reasonCode: 0x8B, version: version, allocator: ByteBufferAllocator())
        #expect(
            try MQTTPacket.Disconnect(parsing: disconnect, version: version).reasonCode == (version == .v5 ? 0x8B : 0)
        )
    }

    @Test func mqtt5PacketsWithProperties() throws {
        // CONNACK: session present, success, assigned client identifier "id1" + topic alias maximum 10.
        let connack = hex("20 0C 01 00 09 12 00 03 69 64 31 22 00 0A")
        #expect(try MQTTPacket.Connack(parsing: connack, version: .v5) == .init(sessionPresent: true, returnCode: 0))

        // SUBACK with a reason string.
        let suback = hex("90 09 00 05 04 1F 00 01 72 01 87")
        #expect(try MQTTPacket.Suback(parsing: suback, version: .v5) == .init(packetID: 5, returnCodes: [1, 0x87]))

        // PUBACK: short form, reason code only, reason code + properties.
        #expect(try MQTTPacket.Acknowledgement(parsing: hex("40 02 00 07"), version: .v5).reasonCode == 0)
        #expect(try MQTTPacket.Acknowledgement(parsing: hex("40 03 00 07 10"), version: .v5).reasonCode == 0x10)
        #expect(
            try MQTTPacket.Acknowledgement(parsing: hex("50 08 00 07 80 04 1F 00 01 65"), version: .v5)
                == .init(type: .pubrec, packetID: 7, reasonCode: 0x80)
        )

        // DISCONNECT from a broker: reason 0x8E (session taken over) with a reason string; also the empty form.
        #expect(try MQTTPacket.Disconnect(parsing: hex("E0 06 8E 04 1F 00 01 78"), version: .v5).reasonCode == 0x8E)
        #expect(try MQTTPacket.Disconnect(parsing: hex("E0 00"), version: .v5).reasonCode == 0)
        #expect(try MQTTPacket.Disconnect(parsing: hex("E0 01 04"), version: .v5).reasonCode == 4)
    }

    @Test func malformedClientSidePackets() {
        expectWireError(.malformedPacket, "reserved connect acknowledge flag set") {
            _ = try MQTTPacket.Connack(parsing: hex("20 02 02 00"), version: .v3_1_1)
        }
        expectWireError(.malformedPacket, "1 unexpected bytes after the CONNACK") {
            _ = try MQTTPacket.Connack(parsing: hex("20 03 00 00 00"), version: .v3_1_1)
        }
        expectWireError(.malformedPacket, "PUBREL with fixed header flags 0, expected 2") {
            _ = try MQTTPacket.Acknowledgement(parsing: hex("60 02 00 01"), version: .v3_1_1)
        }
        expectWireError(.malformedPacket, "unexpected bytes after the PUBACK") {
            _ = try MQTTPacket.Acknowledgement(parsing: hex("40 03 00 01 00"), version: .v3_1_1)
        }
        expectWireError(.unexpectedPacketType, "expected a publish acknowledgement, got SUBACK") {
            _ = try MQTTPacket.Acknowledgement(parsing: hex("90 03 00 01 00"), version: .v3_1_1)
        }
        expectWireError(.malformedPacket, "SUBACK without a return code") {
            _ = try MQTTPacket.Suback(parsing: hex("90 02 00 01"), version: .v3_1_1)
        }
        expectWireError(.malformedPacket, "unexpected bytes after the DISCONNECT") {
            _ = try MQTTPacket.Disconnect(parsing: hex("E0 01 00"), version: .v3_1_1)
        }
        expectWireError(.unexpectedPacketType, "expected a CONNACK packet, got PINGRESP") {
            _ = try MQTTPacket.Connack(parsing: hex("D0 00"), version: .v5)
        }
    }
}
