import BridgeTestSupport

/// Hand-written MQTT 5 packets for the test peers, independent of libmosquitto so the tests check what really goes
/// over the wire.
enum RawMQTT {
    struct Packet: Sendable {
        var header: UInt8
        var body: [UInt8]
        var type: UInt8 { header >> 4 }
    }

    /// A PUBLISH as the subscriber received it.
    struct Publish: Sendable, Equatable {
        var topic: String
        var payload: [UInt8]
        var qos: Int
        var retain: Bool
        var userProperties: [MosquittoUserPropertyPair] = []
        var contentType: String?
        var messageExpiryInterval: UInt32?
        var payloadFormat: UInt8?
        var responseTopic: String?
        var correlationData: [UInt8]?
    }

    struct MosquittoUserPropertyPair: Sendable, Equatable {
        var name: String
        var value: String
    }

    static func readPacket(_ socket: TestSocket, timeout: Duration) throws -> Packet {
        let header = try socket.receive(exactly: 1, timeout: timeout)[0]
        var length = 0
        var multiplier = 1
        for _ in 0..<4 {
            let byte = try socket.receive(exactly: 1, timeout: timeout)[0]
            length += Int(byte & 0x7F) * multiplier
            multiplier *= 128
            if byte & 0x80 == 0 { break }
        }
        let body = length == 0 ? [] : try socket.receive(exactly: length, timeout: timeout)
        return Packet(header: header, body: body)
    }

    /// MQTT 5 CONNECT, clean start, keep-alive 60 s, no properties.
    static func connect(clientID: String) -> [UInt8] {
        HandEncodedMQTT.packet(0x10, HandEncodedMQTT.string("MQTT") + [5, 0x02, 0, 60, 0] + HandEncodedMQTT.string(clientID))
    }

    /// MQTT 5 SUBSCRIBE, packet id 1, requested QoS 2.
    static func subscribe(filter: String) -> [UInt8] {
        HandEncodedMQTT.packet(0x82, [0, 1, 0] + HandEncodedMQTT.string(filter) + [0x02])
    }

    /// MQTT 5 CONNACK success.
    static let connackAccepted: [UInt8] = [0x20, 0x03, 0x00, 0x00, 0x00]

    static func parsePublish(_ packet: Packet) throws -> Publish {
        guard packet.type == 3 else { throw TestSupportError("expected PUBLISH, got packet type \(packet.type)") }
        var reader = Reader(bytes: packet.body)
        let qos = Int((packet.header >> 1) & 0x03)
        var publish = Publish(topic: try reader.string(), payload: [], qos: qos, retain: packet.header & 0x01 == 1)
        if qos > 0 { _ = try reader.take(2) }
        let propertiesLength = try reader.variableByteInteger()
        var properties = Reader(bytes: try reader.take(propertiesLength))
        while !properties.isAtEnd {
            let identifier = try properties.variableByteInteger()
            switch identifier {
            case 0x01: publish.payloadFormat = try properties.take(1)[0]
            case 0x02: publish.messageExpiryInterval = try properties.uint32()
            case 0x03: publish.contentType = try properties.string()
            case 0x08: publish.responseTopic = try properties.string()
            case 0x09: publish.correlationData = try properties.binary()
            case 0x0B: _ = try properties.variableByteInteger()
            case 0x23: _ = try properties.take(2)
            case 0x26: publish.userProperties.append(.init(name: try properties.string(), value: try properties.string()))
            default: throw TestSupportError("unexpected PUBLISH property \(identifier)")
            }
        }
        publish.payload = reader.rest()
        return publish
    }

    struct Reader {
        var bytes: [UInt8]
        var offset = 0
        var isAtEnd: Bool { offset >= bytes.count }

        mutating func take(_ count: Int) throws -> [UInt8] {
            guard offset + count <= bytes.count else { throw TestSupportError("packet too short") }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }

        mutating func uint16() throws -> Int {
            let two = try take(2)
            return Int(two[0]) << 8 | Int(two[1])
        }

        mutating func uint32() throws -> UInt32 {
            try take(4).reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func string() throws -> String {
            String(decoding: try take(try uint16()), as: UTF8.self)
        }

        mutating func binary() throws -> [UInt8] {
            try take(try uint16())
        }

        mutating func variableByteInteger() throws -> Int {
            var value = 0
            var multiplier = 1
            for _ in 0..<4 {
                let byte = try take(1)[0]
                value += Int(byte & 0x7F) * multiplier
                multiplier *= 128
                if byte & 0x80 == 0 { return value }
            }
            throw TestSupportError("variable byte integer too long")
        }

        mutating func rest() -> [UInt8] {
            defer { offset = bytes.count }
            return Array(bytes[offset...])
        }
    }
}

/// A subscriber written by hand: CONNECT + SUBSCRIBE over a plain socket, then reads PUBLISH packets back.
struct RawSubscriber: Sendable {
    let socket: TestSocket

    /// Returns once the broker has answered SUBACK, so anything published afterwards is delivered.
    static func subscribe(port: Int, filter: String, timeout: Duration = .seconds(5)) async throws -> RawSubscriber {
        try await offload {
            let socket = try TestSocket.connect(port: port)
            do {
                try socket.send(RawMQTT.connect(clientID: "raw-sub-\(UInt16.random(in: 0...UInt16.max))"))
                let connack = try RawMQTT.readPacket(socket, timeout: timeout)
                guard connack.type == 2, connack.body.count >= 2, connack.body[1] == 0 else {
                    throw TestSupportError("subscriber CONNACK refused: \(connack.body)")
                }
                try socket.send(RawMQTT.subscribe(filter: filter))
                let suback = try RawMQTT.readPacket(socket, timeout: timeout)
                guard suback.type == 9, let code = suback.body.last, code <= 2 else {
                    throw TestSupportError("SUBSCRIBE refused: \(suback.body)")
                }
                return RawSubscriber(socket: socket)
            } catch {
                socket.close()
                throw error
            }
        }
    }

    func nextPublish(timeout: Duration = .seconds(5)) async throws -> RawMQTT.Publish {
        try await offload {
            try RawMQTT.parsePublish(try RawMQTT.readPacket(socket, timeout: timeout))
        }
    }

    func close() {
        socket.close()
    }
}
