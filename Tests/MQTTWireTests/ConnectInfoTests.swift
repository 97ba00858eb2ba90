import MQTTWire
import NIOCore
import Testing

@Suite struct ConnectInfoTests {
    // Captured from mosquitto_pub 2.x on loopback.

    /// `mosquitto_pub -V mqttv31 -i mosq-pub-31 -k 30`
    static let mosquitto31 = hex(
        "10 19 00 06 4d 51 49 73 64 70 03 02 00 1e 00 0b 6d 6f 73 71 2d 70 75 62 2d 33 31"
    )
    /// `mosquitto_pub -V mqttv311 -i client-1 -u alice -P s3cret --will-topic status/client-1
    /// --will-payload offline --will-qos 1 --will-retain`
    static let mosquitto311 = hex(
        """
        10 3d 00 04 4d 51 54 54 04 ee 00 3c 00 08 63 6c 69 65 6e 74 2d 31 00 0f 73 74 61 74 75 73 2f 63 6c 69 65
        6e 74 2d 31 00 07 6f 66 66 6c 69 6e 65 00 05 61 6c 69 63 65 00 06 73 33 63 72 65 74
        """
    )
    /// `mosquitto_pub -V mqttv5 -u bob -P pw -D connect session-expiry-interval 3600 -D connect user-property a b
    /// --will-topic lwt/x --will-payload bye -D will will-delay-interval 5 -D will content-type text/plain`
    /// (no client id: mosquitto_pub sends an empty one for 5.0 and lets the broker assign it)
    static let mosquitto5 = hex(
        """
        10 44 00 04 4d 51 54 54 05 c6 00 3c 0f 11 00 00 0e 10 26 00 01 61 00 01 62 21 00 14 00 00 12 18 00 00 00
        05 03 00 0a 74 65 78 74 2f 70 6c 61 69 6e 00 05 6c 77 74 2f 78 00 03 62 79 65 00 03 62 6f 62 00 02 70 77
        """
    )
    /// `mosquitto_pub -V mqttv5` with nothing else: receive maximum 20, empty client id.
    static let mosquitto5Minimal = hex("10 10 00 04 4d 51 54 54 05 02 00 3c 03 21 00 14 00 00")

    static let realWorldPackets = [mosquitto31, mosquitto311, mosquitto5, mosquitto5Minimal]

    @Test func mqtt31() throws {
        let info = try MQTTConnectInfo(parsing: Self.mosquitto31)
        #expect(info.protocolName == "MQIsdp")
        #expect(info.version == .v3_1)
        #expect(info.protocolLevelByte == 3)
        #expect(!info.isBridge)
        #expect(info.clientID == "mosq-pub-31")
        #expect(info.username == nil)
        #expect(!info.hasPassword)
        #expect(info.keepAlive == 30)
        #expect(info.cleanStart)
        #expect(info.will == nil)
    }

    @Test func mqtt311WithWillAndCredentials() throws {
        let info = try MQTTConnectInfo(parsing: Self.mosquitto311)
        #expect(
            info
                == MQTTConnectInfo(
                    protocolName: "MQTT",
                    version: .v3_1_1,
                    protocolLevelByte: 4,
                    clientID: "client-1",
                    username: "alice",
                    password: MQTTPassword(Array("s3cret".utf8)),
                    keepAlive: 60,
                    cleanStart: true,
                    will: .init(topic: "status/client-1", qos: 1, retain: true)
                )
        )
    }

    @Test func mqtt5WithPropertiesAndWillProperties() throws {
        let info = try MQTTConnectInfo(parsing: Self.mosquitto5)
        #expect(info.version == .v5)
        #expect(info.protocolLevelByte == 5)
        #expect(info.clientID == "")
        #expect(info.username == "bob")
        #expect(info.hasPassword)
        #expect(info.keepAlive == 60)
        #expect(info.cleanStart)
        #expect(info.will == .init(topic: "lwt/x", qos: 0, retain: false))

        let minimal = try MQTTConnectInfo(parsing: Self.mosquitto5Minimal)
        #expect(minimal.version == .v5)
        #expect(minimal.clientID == "")
        #expect(minimal.username == nil)
    }

    @Test func mqtt5WithEveryKindOfProperty() throws {
        let properties: [UInt8] =
            [0x11, 0x00, 0x00, 0x0E, 0x10]  // session expiry (four-byte)
            + [0x21, 0x00, 0x14]  // receive maximum (two-byte)
            + [0x17, 0x01]  // request problem information (byte)
            + [0x26] + str("key") + str("value")  // user property (string pair)
            + [0x15] + str("SCRAM-SHA-1") + [0x16] + bin([0, 1, 2, 0xFF])  // authentication method and data
        let willProperties: [UInt8] =
            [0x18, 0, 0, 0, 5] + [0x01, 0x01] + [0x02, 0, 0, 0, 60] + [0x03] + str("text/plain")
            + [0x08] + str("reply/to") + [0x09] + bin([0xAB, 0xCD])
        let body: [UInt8] =
            str("MQTT") + [0x05, 0b1111_0110, 0x00, 0x0A]
            + [UInt8(properties.count)] + properties
            + str("dev-42")
            + [UInt8(willProperties.count)] + willProperties + str("devices/42/state") + bin([0x00, 0xFF])
            + str("user") + bin([0xFF, 0xFE, 0x00])  // the password is binary: never decoded
        let info = try MQTTConnectInfo(parsing: packet(0x10, body))
        #expect(info.clientID == "dev-42")
        #expect(info.will == .init(topic: "devices/42/state", qos: 2, retain: true))
        #expect(info.username == "user")
        #expect(info.password?.bytes == [0xFF, 0xFE, 0x00])
        #expect(info.password?.string == nil)
        #expect(info.keepAlive == 10)
        #expect(info.cleanStart)
    }

    @Test func mqtt5PasswordWithoutUserName() throws {
        let body = str("MQTT") + [0x05, 0x42, 0x00, 0x3C, 0x00] + str("c") + bin([1, 2, 3])
        let info = try MQTTConnectInfo(parsing: packet(0x10, body))
        #expect(info.password?.bytes == [1, 2, 3])
        #expect(info.username == nil)
    }

    @Test("The password is kept but never printed: description, dump and interpolation show <redacted>")
    func passwordIsRedactedWhenPrinted() throws {
        let info = try MQTTConnectInfo(parsing: Self.mosquitto311)
        #expect(info.password?.string == "s3cret")
        var dumped = ""
        dump(info, to: &dumped)
        for text in [String(describing: info), String(reflecting: info), "\(info)", dumped] {
            #expect(!text.contains("s3cret"))
        }
        #expect(String(describing: info).contains("password: Optional(<redacted>)"))
    }

    @Test func mqtt311PasswordWithoutUserNameIsMalformed() {
        let body = str("MQTT") + [0x04, 0x42, 0x00, 0x3C] + str("c") + bin([1, 2, 3])
        expectWireError(.malformedPacket, "password flag set without the user name flag") {
            _ = try MQTTConnectInfo(parsing: packet(0x10, body))
        }
    }

    @Test func bridgeBit() throws {
        let info = try MQTTConnectInfo(parsing: packet(0x10, str("MQTT") + [0x84, 0x00, 0x00, 0x3C] + str("bridge-a")))
        #expect(info.isBridge)
        #expect(info.version == .v3_1_1)
        #expect(info.protocolLevelByte == 0x84)
        #expect(!info.cleanStart)

        let v31 = try MQTTConnectInfo(parsing: packet(0x10, str("MQIsdp") + [0x83, 0x02, 0x00, 0x3C] + str("b")))
        #expect(v31.isBridge)
        #expect(v31.version == .v3_1)

        let v5 = try MQTTConnectInfo(parsing: packet(0x10, str("MQTT") + [0x85, 0x02, 0x00, 0x3C, 0x00] + str("b")))
        #expect(v5.isBridge)
        #expect(v5.version == .v5)
    }

    @Test func unknownOrMismatchedLevelsParseWithoutAVersion() throws {
        // MQIsdp must be level 3, MQTT 4 or 5: the broker refuses the rest with a CONNACK of its own.
        let mismatched = try MQTTConnectInfo(
            parsing: packet(0x10, str("MQIsdp") + [0x04, 0x02, 0x00, 0x3C] + str("x"))
        )
        #expect(mismatched.version == nil)
        #expect(mismatched.clientID == "x")
        #expect(mismatched.protocolLevelByte == 4)

        let level3 = try MQTTConnectInfo(parsing: packet(0x10, str("MQTT") + [0x03, 0x02, 0x00, 0x3C] + str("y")))
        #expect(level3.version == nil)
        #expect(level3.clientID == "y")

        // A future level: read with the 5.0 layout when that works…
        let future = try MQTTConnectInfo(
            parsing: packet(0x10, str("MQTT") + [0x06, 0x02, 0x00, 0x3C, 0x00] + str("z"))
        )
        #expect(future.version == nil)
        #expect(future.clientID == "z")
        // …and when it does not, still no error: the header fields are known, the payload is not.
        let unknownLayout = try MQTTConnectInfo(parsing: packet(0x10, str("MQTT") + [0x87, 0x02, 0x00, 0x3C, 0xFF]))
        #expect(unknownLayout.version == nil)
        #expect(unknownLayout.isBridge)
        #expect(unknownLayout.clientID == "")
        #expect(unknownLayout.keepAlive == 60)
    }

    @Test func preciseReasons() {
        let cases: [(body: [UInt8], reason: String)] = [
            (str("XYZ") + [0x04, 0x02, 0x00, 0x3C] + str("c"), "protocol name 'XYZ' is not MQTT"),
            (str("mqtt") + [0x04, 0x02, 0x00, 0x3C] + str("c"), "protocol name 'mqtt' is not MQTT"),
            (str("MQTT") + [0x04, 0x03, 0x00, 0x3C] + str("c"), "reserved connect flag set"),
            (str("MQTT") + [0x04, 0x0A, 0x00, 0x3C] + str("c"), "will QoS or will retain set without the will flag"),
            (str("MQTT") + [0x04, 0x22, 0x00, 0x3C] + str("c"), "will QoS or will retain set without the will flag"),
            (str("MQTT") + [0x04, 0x1E, 0x00, 0x3C] + str("c") + str("w") + bin([]), "will QoS 3"),
            (str("MQTT") + [0x04, 0x02, 0x00, 0x3C, 0x00, 0x05, 0x61], "truncated client identifier"),
            (str("MQTT") + [0x04, 0x02, 0x00, 0x3C, 0x00], "truncated client identifier"),
            (str("MQTT") + [0x04, 0x02, 0x00], "truncated keep alive"),
            (str("MQTT") + [0x04], "truncated connect flags"),
            (str("MQTT"), "truncated protocol level"),
            ([0x00], "truncated protocol name"),
            (str("MQTT") + [0x04, 0x06, 0x00, 0x3C] + str("c") + str("w"), "truncated will payload"),
            (str("MQTT") + [0x04, 0x06, 0x00, 0x3C] + str("c"), "truncated will topic"),
            (str("MQTT") + [0x04, 0x82, 0x00, 0x3C] + str("c"), "truncated user name"),
            (str("MQTT") + [0x04, 0xC2, 0x00, 0x3C] + str("c") + str("u"), "truncated password"),
            (
                str("MQTT") + [0x04, 0x02, 0x00, 0x3C] + str("c") + [0x00],
                "1 unexpected bytes after the CONNECT payload"
            ),
            (
                str("MQTT") + [0x04, 0x02, 0x00, 0x3C] + [0x00, 0x02, 0xC3, 0x28],
                "client identifier is not valid UTF-8"
            ),
            (str("MQTT") + [0x04, 0x02, 0x00, 0x3C] + [0x00, 0x02, 0x61, 0x00], "client identifier contains U+0000"),
            (str("MQTT") + [0x04, 0x82, 0x00, 0x3C] + str("c") + [0x00, 0x01, 0xFF], "user name is not valid UTF-8"),
            (
                str("MQTT") + [0x04, 0x06, 0x00, 0x3C] + str("c") + [0x00, 0x01, 0x80] + bin([]),
                "will topic is not valid UTF-8"
            ),
            (str("MQTT") + [0x05, 0x02, 0x00, 0x3C, 0x03, 0x11, 0x00, 0x00] + str("c"), "truncated property 0x11"),
            (str("MQTT") + [0x05, 0x02, 0x00, 0x3C, 0x40] + str("c"), "truncated properties"),
            (str("MQTT") + [0x05, 0x02, 0x00, 0x3C, 0x02, 0x7F, 0x00] + str("c"), "unknown property identifier 0x7f"),
            (str("MQTT") + [0x05, 0x06, 0x00, 0x3C, 0x00] + str("c") + [0x09], "truncated will properties"),
        ]
        for (body, reason) in cases {
            expectWireError(.malformedPacket, reason) {
                _ = try MQTTConnectInfo(parsing: packet(0x10, body))
            }
        }
        expectWireError(.overlongVariableByteInteger) {
            _ = try MQTTConnectInfo(
                parsing: packet(0x10, str("MQTT") + [0x05, 0x02, 0x00, 0x3C, 0x80, 0x00] + str("c"))
            )
        }
    }

    @Test func fixedHeaderProblems() {
        expectWireError(.malformedPacket, "CONNECT with fixed header flags 1, expected 0") {
            _ = try MQTTConnectInfo(parsing: packet(0x11, str("MQTT") + [0x04, 0x02, 0x00, 0x3C] + str("c")))
        }
        expectWireError(.unexpectedPacketType, "expected a CONNECT packet, got PUBLISH") {
            _ = try MQTTConnectInfo(parsing: hex("30 03 00 01 61"))
        }
        expectWireError(.malformedPacket, "truncated fixed header") {
            _ = try MQTTConnectInfo(parsing: hex("10"))
        }
        expectWireError(.malformedPacket, "buffer holds 19 bytes but its fixed header announces 18") {
            _ = try MQTTConnectInfo(parsing: Self.mosquitto5Minimal + hex("00"))
        }
    }

    @Test func readerIndexIsHonoured() throws {
        var buffer = hex("FF FF") + Self.mosquitto311
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(try MQTTConnectInfo(parsing: buffer).clientID == "client-1")
    }

    /// A prefix of a CONNECT is never a CONNECT: whether the fixed header is kept (the length no longer matches)
    /// or rewritten to the prefix's length (a field is cut short), parsing throws — and never traps.
    @Test(arguments: realWorldPackets)
    func everyTruncationThrows(whole: ByteBuffer) throws {
        let wholeBytes = bytes(of: whole)
        let header = try #require(try MQTTFixedHeader.peek(in: whole, maximumPacketSize: .max))
        for length in 0..<wholeBytes.count {
            #expect(throws: MQTTWireError.self) {
                _ = try MQTTConnectInfo(parsing: ByteBuffer(bytes: wholeBytes[0..<length]))
            }
        }
        let body = Array(wholeBytes[header.headerLength...])
        for length in 0..<body.count {
            let error = #expect(throws: MQTTWireError.self) {
                _ = try MQTTConnectInfo(parsing: packet(0x10, Array(body[0..<length])))
            }
            #expect(error?.code == .malformedPacket)
        }
    }
}
