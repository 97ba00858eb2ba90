import FuzzSupport
import MQTTWire
import NIOCore
import SamplePackets

/// The readers of whole client packets the relay inspects — CONNECT, SUBSCRIBE, PUBLISH — and, for the price of a
/// call, the broker-side decoders the load generator and tests use.
///
/// Input: 1 control byte; bit 0 clear: the rest is the packet as is; bit 0 set: the next byte is the packet's first
/// byte and the rest its body, with the remaining length written by the harness (so mutations reach the field
/// readers instead of stopping at a length that no longer matches).
///
/// Invariants:
/// - a failure is an `MQTTWireError` with a description;
/// - a packet that parses re-encodes (MQTTWire's encoders) to one that parses to the same information;
/// - what a reader accepts follows the specification's rules it documents (packet identifier present exactly with
///   QoS > 0 and never 0, QoS below 3, at least one non-empty topic filter, a topic or a topic alias);
/// - `MQTTPacket.Publish` and `MQTTPublishInfo` agree.
enum MQTTPacketsFuzz: FuzzTarget {
    static func test(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let control = input.byte()
        var packet = ByteBuffer()
        if control & 1 == 0 {
            packet.writeBytes(input.rest())
        } else {
            let firstByte = input.byte()
            let body = input.rest()
            packet.writeInteger(firstByte)
            _ = MQTTVariableByteInteger.write(body.count, to: &packet)
            packet.writeBytes(body)
        }

        checkConnect(packet)
        for version in MQTTProtocolVersion.allCases {
            checkPublish(packet, version)
            checkSubscribe(packet, version)
            _ = expectWireError { try MQTTPacket.Connack(parsing: packet, version: version) }
            _ = expectWireError { try MQTTPacket.Suback(parsing: packet, version: version) }
            _ = expectWireError { try MQTTPacket.Unsuback(parsing: packet, version: version) }
            _ = expectWireError { try MQTTPacket.Acknowledgement(parsing: packet, version: version) }
            _ = expectWireError { try MQTTPacket.Disconnect(parsing: packet, version: version) }
        }
        _ = expectWireError { try MQTTFixedHeader.peek(in: packet, maximumPacketSize: 1 << 16)?.validateFlags() }
    }

    /// The parsed value, or nil after checking that the error says what went wrong.
    static func expectWireError<T>(_ parse: () throws -> T) -> T? {
        do {
            return try parse()
        } catch let error as MQTTWireError {
            fuzzCheck(!error.description.isEmpty, "an MQTTWireError (\(error.code)) without a description")
        } catch {
            fuzzCheck(false, "a reader threw \(error), not an MQTTWireError")
        }
        return nil
    }

    static func checkConnect(_ packet: ByteBuffer) {
        guard let info = expectWireError({ try MQTTConnectInfo(parsing: packet) }) else {
            return
        }
        fuzzCheck(info.protocolName == "MQTT" || info.protocolName == "MQIsdp", "protocol name \(info.protocolName)")
        fuzzCheck(info.isBridge == (info.protocolLevelByte & 0x80 != 0), "bridge bit and level byte disagree")
        guard let version = info.version else {
            return  // an unknown level: the broker refuses it, and there is no encoder for it
        }
        // The encoder writes the password as text: a binary one (MQTT allows it) is compared by its presence only.
        let textPassword = info.password?.string
        var encoded = ByteBuffer()
        MQTTPacket.writeConnect(
            version: version, clientID: info.clientID, username: info.username,
            password: info.hasPassword ? (textPassword ?? "") : nil,
            keepAlive: info.keepAlive, cleanStart: info.cleanStart,
            will: info.will.map { MQTTPacket.WillMessage(topic: $0.topic, payload: ByteBuffer(), qos: $0.qos, retain: $0.retain) },
            isBridge: info.isBridge, to: &encoded
        )
        var again = expectWireError { try MQTTConnectInfo(parsing: encoded) }
        if info.hasPassword, textPassword == nil {
            again?.password = info.password
        }
        fuzzCheck(again == info, "CONNECT \(info) re-encoded parses as \(String(describing: again))")
    }

    static func checkPublish(_ packet: ByteBuffer, _ version: MQTTProtocolVersion) {
        let info = expectWireError { try MQTTPublishInfo(parsing: packet, version: version) }
        let publish = expectWireError { try MQTTPacket.Publish(parsing: packet, version: version) }
        fuzzCheck(info == publish?.info, "MQTTPublishInfo \(String(describing: info)) but Publish \(String(describing: publish))")
        guard let publish, let info else {
            return
        }
        fuzzCheck(info.qos < 3 && !(info.qos == 0 && info.dup), "accepted QoS \(info.qos) with DUP \(info.dup)")
        fuzzCheck(
            (info.packetID != nil) == (info.qos > 0) && info.packetID != 0,
            "packet id \(String(describing: info.packetID)) with QoS \(info.qos)")
        fuzzCheck(!info.topic.isEmpty || info.topicAlias != nil, "a PUBLISH with neither topic nor topic alias")
        fuzzCheck(info.topicAlias != 0, "topic alias 0 accepted")
        guard info.topicAlias == nil else {
            return  // the encoder writes no properties
        }
        var encoded = ByteBuffer()
        MQTTPacket.writePublish(
            topic: info.topic, payload: publish.payload, qos: info.qos, retain: info.retain, dup: info.dup,
            packetID: info.packetID, version: version, to: &encoded
        )
        let again = expectWireError { try MQTTPacket.Publish(parsing: encoded, version: version) }
        fuzzCheck(again == publish, "PUBLISH \(publish) re-encoded parses as \(String(describing: again))")
    }

    static func checkSubscribe(_ packet: ByteBuffer, _ version: MQTTProtocolVersion) {
        guard let info = expectWireError({ try MQTTSubscribeInfo(parsing: packet, version: version) }) else {
            return
        }
        fuzzCheck(info.packetID != 0 && !info.filters.isEmpty, "SUBSCRIBE id \(info.packetID) with \(info.filters.count) filters")
        for filter in info.filters {
            fuzzCheck(!filter.topicFilter.isEmpty && filter.qos < 3, "accepted filter \(filter)")
        }
        var encoded = ByteBuffer()
        MQTTPacket.writeSubscribe(
            packetID: info.packetID, filters: info.filters.map { ($0.topicFilter, $0.qos) }, version: version, to: &encoded
        )
        let again = expectWireError { try MQTTSubscribeInfo(parsing: encoded, version: version) }
        // The encoder writes the QoS only: the other option bits (5.0) are compared through the QoS.
        let expected = MQTTSubscribeInfo(
            packetID: info.packetID, filters: info.filters.map { MQTTSubscribeInfo.Filter(topicFilter: $0.topicFilter, options: $0.qos) }
        )
        fuzzCheck(again == expected, "SUBSCRIBE \(info) re-encoded parses as \(String(describing: again))")
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        var seeds: [(name: String, bytes: [UInt8])] = []
        let named = SamplePackets.connects + SamplePackets.withProperties
        for (name, packet) in named {
            let bytes = SamplePackets.bytes(packet)
            seeds.append(("\(name)", [0] + bytes))
            // Framed: first byte, then the body without its length.
            if let header = try? MQTTFixedHeader.peek(in: packet, maximumPacketSize: .max) {
                seeds.append(("\(name)-framed", [1, bytes[0]] + bytes[header.headerLength...]))
            }
        }
        for (index, packet) in SamplePackets.session.enumerated() {
            guard let header = try? MQTTFixedHeader.peek(in: packet, maximumPacketSize: .max),
                [.connect, .publish, .subscribe].contains(header.type)
            else { continue }
            seeds.append(("session-\(index)-\(header.type)", [0] + SamplePackets.bytes(packet)))
        }
        return seeds
    }
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    FuzzEntry.initialize(MQTTPacketsFuzz.self)
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.test(MQTTPacketsFuzz.self, data, size)
}
