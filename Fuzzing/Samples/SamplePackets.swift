import MQTTWire
import NIOCore

/// Real MQTT packets for the seed corpora: captures from real clients, and a session written by MQTTWire's encoders.
public enum SamplePackets {
    /// Captured from mosquitto_pub 2.x on loopback (the same bytes as MQTTWireTests' ConnectInfoTests).
    public static let connects: [(name: String, packet: ByteBuffer)] = [
        // mosquitto_pub -V mqttv31 -i mosq-pub-31 -k 30
        ("connect-31", hex("10 19 00 06 4d 51 49 73 64 70 03 02 00 1e 00 0b 6d 6f 73 71 2d 70 75 62 2d 33 31")),
        // mosquitto_pub -V mqttv311 -i client-1 -u alice -P s3cret --will-topic status/client-1 --will-payload offline
        //   --will-qos 1 --will-retain
        (
            "connect-311-will-credentials",
            hex(
                """
                10 3d 00 04 4d 51 54 54 04 ee 00 3c 00 08 63 6c 69 65 6e 74 2d 31 00 0f 73 74 61 74 75 73 2f 63 6c 69
                65 6e 74 2d 31 00 07 6f 66 66 6c 69 6e 65 00 05 61 6c 69 63 65 00 06 73 33 63 72 65 74
                """
            )
        ),
        // mosquitto_pub -V mqttv5 -u bob -P pw -D connect session-expiry-interval 3600 -D connect user-property a b
        //   --will-topic lwt/x --will-payload bye -D will will-delay-interval 5 -D will content-type text/plain
        (
            "connect-5-properties",
            hex(
                """
                10 44 00 04 4d 51 54 54 05 c6 00 3c 0f 11 00 00 0e 10 26 00 01 61 00 01 62 21 00 14 00 00 12 18 00 00
                00 05 03 00 0a 74 65 78 74 2f 70 6c 61 69 6e 00 05 6c 77 74 2f 78 00 03 62 79 65 00 03 62 6f 62 00 02
                70 77
                """
            )
        ),
        // mosquitto_pub -V mqttv5 with nothing else: receive maximum 20, empty client id.
        ("connect-5-minimal", hex("10 10 00 04 4d 51 54 54 05 02 00 3c 03 21 00 14 00 00")),
    ]

    /// PUBLISH and SUBSCRIBE packets with MQTT 5.0 properties, as mqtt.js 5 writes them.
    public static let withProperties: [(name: String, packet: ByteBuffer)] = [
        // PUBLISH QoS 1, topic "a/b", packet id 7, properties: topic alias 1, user property ("k", "v"), payload "hi".
        ("publish-5-alias-user-property", hex("32 15 00 03 61 2f 62 00 07 0b 23 00 01 26 00 01 6b 00 01 76 68 69")),
        // PUBLISH QoS 0 with an empty topic: relies on topic alias 1, payload "x".
        ("publish-5-alias-only", hex("30 07 00 00 03 23 00 01 78")),
        // SUBSCRIBE packet id 1, subscription identifier 5, "s/#" with no-local, retain-as-published, QoS 1.
        ("subscribe-5-options", hex("82 0a 00 01 02 0b 05 00 03 73 2f 23 0d")),
    ]

    /// A client's and a broker's side of a short session in every version, from MQTTWire's encoders.
    public static var session: [ByteBuffer] {
        var packets: [ByteBuffer] = connects.map(\.packet) + withProperties.map(\.packet)
        for version in MQTTProtocolVersion.allCases {
            var buffer = ByteBuffer()
            MQTTPacket.writeConnect(
                version: version, clientID: "wx-7f3a", username: "device", password: "token", keepAlive: 30,
                cleanStart: false, will: .init(topic: "status/wx-7f3a", payload: ByteBuffer(string: "gone"), qos: 1, retain: true),
                to: &buffer
            )
            MQTTPacket.writeConnack(sessionPresent: true, returnCode: 0, version: version, to: &buffer)
            MQTTPacket.writeSubscribe(packetID: 1, filters: [("push/user/42/#", 1), ("broadcast", 0)], version: version, to: &buffer)
            MQTTPacket.writeSuback(packetID: 1, returnCodes: [1, 0], version: version, to: &buffer)
            MQTTPacket.writePublish(topic: "push/user/42/x", payload: ByteBuffer(string: "{\"n\":1}"), version: version, to: &buffer)
            MQTTPacket.writePublish(
                topic: "telemetry/wx-7f3a", payload: ByteBuffer(string: "21.5"), qos: 1, retain: true, packetID: 2,
                version: version, to: &buffer
            )
            MQTTPacket.writePuback(packetID: 2, to: &buffer)
            MQTTPacket.writePublish(topic: "q2", payload: ByteBuffer(), qos: 2, dup: true, packetID: 3, version: version, to: &buffer)
            MQTTPacket.writePubrec(packetID: 3, to: &buffer)
            MQTTPacket.writePubrel(packetID: 3, to: &buffer)
            MQTTPacket.writePubcomp(packetID: 3, to: &buffer)
            MQTTPacket.writeUnsubscribe(packetID: 4, topicFilters: ["broadcast"], version: version, to: &buffer)
            MQTTPacket.writeUnsuback(packetID: 4, reasonCodes: version.hasProperties ? [0] : [], version: version, to: &buffer)
            MQTTPacket.writePingreq(to: &buffer)
            MQTTPacket.writePingresp(to: &buffer)
            MQTTPacket.writeDisconnect(version: version, to: &buffer)
            var accumulator = MQTTPacketAccumulator(maximumPacketSize: .max)
            accumulator.append(buffer)
            while let packet = try? accumulator.nextPacket() {
                packets.append(packet)
            }
        }
        return packets
    }

    /// A QoS 1 PUBLISH of 300 bytes, for the streaming path.
    public static var largePublish: ByteBuffer {
        var buffer = ByteBuffer()
        MQTTPacket.writePublish(
            topic: "bulk", payload: ByteBuffer(repeating: 0x5A, count: 300), qos: 1, packetID: 9, version: .v3_1_1, to: &buffer
        )
        return buffer
    }

    /// The bytes of `buffer`.
    public static func bytes(_ buffer: ByteBuffer) -> [UInt8] {
        Array(buffer.readableBytesView)
    }

    static func hex(_ text: String) -> ByteBuffer {
        ByteBuffer(bytes: text.split(whereSeparator: \.isWhitespace).compactMap { UInt8($0, radix: 16) })
    }
}
