/// The MQTT protocol versions the bridge recognises, by their protocol level byte.
///
/// The raw value is the CONNECT protocol level with the bridge bit (`0x80`, Mosquitto's `try_private`) masked off.
/// MQTT 3.1 travels with the protocol name "MQIsdp", 3.1.1 and 5.0 with "MQTT".
public enum MQTTProtocolVersion: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case v3_1 = 3
    case v3_1_1 = 4
    case v5 = 5

    /// "3.1", "3.1.1" or "5.0": the form used in logs and metric labels.
    public var description: String {
        switch self {
        case .v3_1: "3.1"
        case .v3_1_1: "3.1.1"
        case .v5: "5.0"
        }
    }

    /// The protocol name a CONNECT of this version carries: "MQIsdp" for 3.1, "MQTT" otherwise.
    package var protocolName: String {
        self == .v3_1 ? "MQIsdp" : "MQTT"
    }

    /// True for MQTT 5.0, whose packets carry properties and reason codes.
    @inlinable
    public var hasProperties: Bool { self == .v5 }
}
