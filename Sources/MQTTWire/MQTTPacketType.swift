/// The MQTT control packet type: the high nibble of a packet's first byte.
///
/// All sixteen values exist so that any first byte maps to a case; `reserved` (0) is forbidden on the wire and
/// `auth` (15) only exists in MQTT 5.0. Whether a type is valid in context is for the caller to decide.
public enum MQTTPacketType: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case reserved = 0
    case connect = 1
    case connack = 2
    case publish = 3
    case puback = 4
    case pubrec = 5
    case pubrel = 6
    case pubcomp = 7
    case subscribe = 8
    case suback = 9
    case unsubscribe = 10
    case unsuback = 11
    case pingreq = 12
    case pingresp = 13
    case disconnect = 14
    case auth = 15

    /// The type encoded in the high nibble of `firstByte`. Total: every byte maps to a case.
    @inlinable
    package init(firstByte: UInt8) {
        // Every nibble 0...15 has a case, so this cannot fail; the fallback only satisfies the optional initialiser.
        self = MQTTPacketType(rawValue: firstByte >> 4) ?? .reserved
    }

    /// The lowercase name ("publish", "pingreq"…), stable because it is used as a metrics label.
    public var description: String {
        switch self {
        case .reserved: "reserved"
        case .connect: "connect"
        case .connack: "connack"
        case .publish: "publish"
        case .puback: "puback"
        case .pubrec: "pubrec"
        case .pubrel: "pubrel"
        case .pubcomp: "pubcomp"
        case .subscribe: "subscribe"
        case .suback: "suback"
        case .unsubscribe: "unsubscribe"
        case .unsuback: "unsuback"
        case .pingreq: "pingreq"
        case .pingresp: "pingresp"
        case .disconnect: "disconnect"
        case .auth: "auth"
        }
    }

    /// The fixed-header flags the specification requires for this type, or nil for PUBLISH (whose flags carry
    /// DUP, QoS and RETAIN) and for `reserved`, which has no valid flags at all.
    ///
    /// PUBREL, SUBSCRIBE and UNSUBSCRIBE must carry `0b0010`; every other type `0b0000`.
    package var requiredFlags: UInt8? {
        switch self {
        case .publish, .reserved: nil
        case .pubrel, .subscribe, .unsubscribe: 0b0010
        default: 0
        }
    }
}
