import MQTTWire
import NIOCore

/// MQTT packets as byte arrays for tests, built with MQTTWire's encoders.
package enum MQTTTestPackets {
    package static func connect(
        clientID: String, version: MQTTProtocolVersion = .v3_1_1, username: String? = nil, password: String? = nil,
        keepAlive: UInt16 = 60, cleanStart: Bool = true, will: MQTTPacket.WillMessage? = nil
    ) -> [UInt8] {
        build {
            MQTTPacket.writeConnect(
                version: version, clientID: clientID, username: username, password: password, keepAlive: keepAlive,
                cleanStart: cleanStart, will: will, to: &$0)
        }
    }

    package static func subscribe(_ filter: String, qos: UInt8 = 0, packetID: UInt16 = 1, version: MQTTProtocolVersion = .v3_1_1) -> [UInt8]
    {
        build { MQTTPacket.writeSubscribe(packetID: packetID, filters: [(filter, qos)], version: version, to: &$0) }
    }

    package static func publish(
        _ topic: String, payload: [UInt8], qos: UInt8 = 0, retain: Bool = false, packetID: UInt16? = nil,
        version: MQTTProtocolVersion = .v3_1_1
    ) -> [UInt8] {
        build {
            MQTTPacket.writePublish(
                topic: topic, payload: ByteBuffer(bytes: payload), qos: qos, retain: retain,
                packetID: qos == 0 ? nil : (packetID ?? 1), version: version, to: &$0)
        }
    }

    package static func puback(_ packetID: UInt16) -> [UInt8] { build { MQTTPacket.writePuback(packetID: packetID, to: &$0) } }
    package static func pubrec(_ packetID: UInt16) -> [UInt8] { build { MQTTPacket.writePubrec(packetID: packetID, to: &$0) } }
    package static func pubrel(_ packetID: UInt16) -> [UInt8] { build { MQTTPacket.writePubrel(packetID: packetID, to: &$0) } }
    package static func pubcomp(_ packetID: UInt16) -> [UInt8] { build { MQTTPacket.writePubcomp(packetID: packetID, to: &$0) } }
    package static let pingreq: [UInt8] = [0xC0, 0x00]
    package static let pingresp: [UInt8] = [0xD0, 0x00]
    package static let disconnect: [UInt8] = [0xE0, 0x00]
    package static let connackAccepted: [UInt8] = [0x20, 0x02, 0x00, 0x00]

    /// The packet type of a whole packet.
    package static func type(of packet: [UInt8]) -> MQTTPacketType? {
        packet.first.map { MQTTPacketType(firstByte: $0) }
    }

    /// Decodes a PUBLISH received by a client.
    package static func decodePublish(_ packet: [UInt8], version: MQTTProtocolVersion = .v3_1_1) throws -> MQTTPacket.Publish {
        try MQTTPacket.Publish(parsing: ByteBuffer(bytes: packet), version: version)
    }

    private static func build(_ body: (inout ByteBuffer) -> Void) -> [UInt8] {
        var buffer = ByteBuffer()
        body(&buffer)
        return Array(buffer.readableBytesView)
    }
}

extension TestTCPClient {
    /// Reads exactly one MQTT control packet (fixed header included).
    package func receivePacket(timeout: Duration = .seconds(5)) async throws -> [UInt8] {
        var packet = try await self.receive(count: 1, timeout: timeout)
        var remaining = 0
        var multiplier = 1
        for _ in 0..<4 {
            let byte = try await self.receive(count: 1, timeout: timeout)[0]
            packet.append(byte)
            remaining += Int(byte & 0x7F) * multiplier
            multiplier *= 128
            if byte & 0x80 == 0 { break }
        }
        if remaining > 0 {
            packet += try await self.receive(count: remaining, timeout: timeout)
        }
        return packet
    }
}
