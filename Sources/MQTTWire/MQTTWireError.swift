/// Everything that can be wrong with MQTT bytes, as a code plus a one-line human-readable description.
///
/// A struct over a code rather than an enum so that codes can be added without breaking callers' `switch`es.
/// The relay maps `.packetTooLarge` to WebSocket close 1009 and every other code to 1002.
public struct MQTTWireError: Error, Hashable, CustomStringConvertible {
    /// What kind of failure this is; compare with the static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case variableByteIntegerTooLong
            case overlongVariableByteInteger
            case packetTooLarge
            case malformedPacket
            case unexpectedPacketType
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// A variable byte integer whose fourth byte still has the continuation bit set (more than 4 bytes).
        package static let variableByteIntegerTooLong = Code(.variableByteIntegerTooLong)
        /// A variable byte integer that uses more bytes than its value needs (e.g. `80 00` for 0).
        /// MQTT 5.0 §1.5.5 requires the minimum number of bytes and Mosquitto refuses such packets.
        package static let overlongVariableByteInteger = Code(.overlongVariableByteInteger)
        /// A packet (fixed header included) larger than the configured maximum.
        package static let packetTooLarge = Code(.packetTooLarge)
        /// A packet whose content does not follow the specification (truncated field, reserved bit set, bad UTF-8…).
        package static let malformedPacket = Code(.malformedPacket)
        /// A parser was given a packet of another type (e.g. a PUBLISH where a CONNECT was expected).
        package static let unexpectedPacketType = Code(.unexpectedPacketType)

        public var description: String {
            switch self.base {
            case .variableByteIntegerTooLong: "variableByteIntegerTooLong"
            case .overlongVariableByteInteger: "overlongVariableByteInteger"
            case .packetTooLarge: "packetTooLarge"
            case .malformedPacket: "malformedPacket"
            case .unexpectedPacketType: "unexpectedPacketType"
            }
        }
    }

    /// What went wrong, for the caller's decisions.
    public var code: Code
    /// What went wrong, for people: one line, e.g. "packet of 2097157 bytes exceeds the limit of 1048576".
    public var description: String

    package init(code: Code, description: String) {
        self.code = code
        self.description = description
    }
}

extension MQTTWireError {
    @usableFromInline
    static func malformed(_ reason: String) -> MQTTWireError {
        MQTTWireError(code: .malformedPacket, description: reason)
    }

    @usableFromInline
    static func tooLarge(packetLength: Int, limit: Int) -> MQTTWireError {
        MQTTWireError(
            code: .packetTooLarge,
            description: "packet of \(packetLength) bytes exceeds the limit of \(limit)"
        )
    }

    @usableFromInline
    static func unexpectedType(_ found: MQTTPacketType, expected: MQTTPacketType) -> MQTTWireError {
        MQTTWireError(
            code: .unexpectedPacketType,
            description: "expected a \(expected.description.uppercased()) packet, got \(found.description.uppercased())"
        )
    }
}
