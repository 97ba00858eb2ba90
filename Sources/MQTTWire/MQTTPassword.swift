/// The password field of a CONNECT, kept for edge authentication (a token sent as the MQTT password).
///
/// It never shows up in a log line by accident: `description`, `debugDescription` and the mirror (`dump`,
/// string interpolation of a containing struct) all print `<redacted>`. Only `bytes` and `string` reveal it.
public struct MQTTPassword: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The field as sent: MQTT calls it binary data, not a string.
    package let bytes: [UInt8]

    package init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The bytes as UTF-8 text (tokens are ASCII); nil when they are not valid UTF-8.
    public var string: String? {
        String(validating: self.bytes, as: UTF8.self)
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
