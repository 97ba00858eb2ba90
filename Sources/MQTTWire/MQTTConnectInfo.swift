import NIOCore

/// What the bridge learns from a client's CONNECT, for logs, metrics and upstream choice.
///
/// The CONNECT itself is forwarded untouched; this is a read-only inspection. The password is kept only for edge
/// authentication (a token in the password field) and is redacted wherever the value is printed or logged.
public struct MQTTConnectInfo: Sendable, Hashable {
    /// The will message's metadata; the payload is not kept.
    public struct Will: Sendable, Hashable {
        public var topic: String
        public var qos: UInt8
        public var retain: Bool

        package init(topic: String, qos: UInt8, retain: Bool) {
            self.topic = topic
            self.qos = qos
            self.retain = retain
        }
    }

    /// "MQTT" (3.1.1, 5.0) or "MQIsdp" (3.1).
    public var protocolName: String
    /// The version, from the protocol level with the bridge bit masked off; nil when the level is unknown or does
    /// not match the protocol name ("MQIsdp" must be level 3, "MQTT" level 4 or 5). The broker refuses such a
    /// CONNECT with a CONNACK of its own; the relay still forwards it.
    public var version: MQTTProtocolVersion?
    /// The protocol level byte as sent, bridge bit (0x80) included.
    public var protocolLevelByte: UInt8
    /// The 0x80 bit of the protocol level: a Mosquitto bridge connecting with `try_private`.
    public var isBridge: Bool
    /// The client identifier; may be empty (the broker assigns one or refuses, depending on version and settings).
    public var clientID: String
    public var username: String?
    /// Whether the CONNECT carries a password.
    public var hasPassword: Bool
    /// The password, for edge authentication only; prints as `<redacted>` (see `MQTTPassword`). Never log its bytes.
    public var password: MQTTPassword?
    /// Keep alive in seconds (0: disabled).
    public var keepAlive: UInt16
    /// Clean Session (3.x) / Clean Start (5.0).
    public var cleanStart: Bool
    public var will: Will?

    package init(
        protocolName: String,
        version: MQTTProtocolVersion?,
        protocolLevelByte: UInt8,
        clientID: String,
        username: String? = nil,
        hasPassword: Bool = false,
        password: MQTTPassword? = nil,
        keepAlive: UInt16,
        cleanStart: Bool,
        will: Will? = nil
    ) {
        self.protocolName = protocolName
        self.version = version
        self.protocolLevelByte = protocolLevelByte
        self.isBridge = protocolLevelByte & 0x80 != 0
        self.clientID = clientID
        self.username = username
        self.hasPassword = hasPassword || password != nil
        self.password = password
        self.keepAlive = keepAlive
        self.cleanStart = cleanStart
        self.will = will
    }

    /// Parses a whole CONNECT packet (fixed header included), as MQTT 3.1, 3.1.1 and 5.0 define it.
    ///
    /// MQTT 5.0 properties and will properties are skipped (their length is a variable byte integer; each property
    /// is length-checked). The checks are those a broker applies before looking at the contents: reserved flags,
    /// will flag consistency, password without user name (3.x), every field inside the packet, UTF-8 strings,
    /// no trailing bytes. For an unknown protocol level the payload layout is a guess (properties from level 5
    /// on), so the payload is read on a best-effort basis: if it does not parse, `clientID` is empty and
    /// `username`/`will` are nil rather than an error, since the broker will refuse the version anyway.
    ///
    /// - Throws: `.unexpectedPacketType` for another packet type; `.malformedPacket` with the precise reason
    ///   ("truncated client identifier", "protocol name 'XYZ' is not MQTT", "reserved connect flag set"…);
    ///   the fixed-header errors. Never traps, whatever the input.
    public init(parsing packet: ByteBuffer) throws(MQTTWireError) {
        var reader = try MQTTFieldReader(packet: packet, expecting: .connect)
        guard reader.header.flags == 0 else {
            throw .malformed("CONNECT with fixed header flags \(reader.header.flags), expected 0")
        }
        let nameBytes = try reader.readBinary("protocol name")
        let levelByte = try reader.readByte("protocol level")
        let flags = try reader.readByte("connect flags")
        let keepAlive = try reader.readUInt16("keep alive")

        guard let name = MQTTFieldReader.decodeUTF8(nameBytes), name == "MQTT" || name == "MQIsdp" else {
            let shown = String(decoding: nameBytes.readableBytesView.prefix(32), as: UTF8.self)
            throw .malformed("protocol name '\(shown)' is not MQTT")
        }
        let level = levelByte & 0x7F
        let version: MQTTProtocolVersion? =
            switch (name, level) {
            case ("MQIsdp", 3): .v3_1
            case ("MQTT", 4): .v3_1_1
            case ("MQTT", 5): .v5
            default: nil
            }

        let hasUsername = flags & 0x80 != 0
        let hasPassword = flags & 0x40 != 0
        let willRetain = flags & 0x20 != 0
        let willQoS = (flags >> 3) & 0b11
        let hasWill = flags & 0x04 != 0
        guard flags & 0x01 == 0 else {
            throw .malformed("reserved connect flag set")
        }
        if !hasWill && (willQoS != 0 || willRetain) {
            throw .malformed("will QoS or will retain set without the will flag")
        }
        if willQoS == 3 {
            throw .malformed("will QoS 3")
        }
        if hasPassword && !hasUsername && (version == .v3_1 || version == .v3_1_1) {
            throw .malformed("password flag set without the user name flag")
        }

        self.protocolName = name
        self.version = version
        self.protocolLevelByte = levelByte
        self.isBridge = levelByte & 0x80 != 0
        self.hasPassword = hasPassword
        self.keepAlive = keepAlive
        self.cleanStart = flags & 0x02 != 0
        self.clientID = ""
        self.username = nil
        self.password = nil
        self.will = nil

        let hasProperties = version.map(\.hasProperties) ?? (level >= 5)
        do {
            if hasProperties {
                try Self.skipProperties(&reader, "properties")
            }
            self.clientID = try reader.readString("client identifier")
            if hasWill {
                if hasProperties {
                    try Self.skipProperties(&reader, "will properties")
                }
                let topic = try reader.readString("will topic")
                _ = try reader.readBinary("will payload")
                self.will = Will(topic: topic, qos: willQoS, retain: willRetain)
            }
            if hasUsername {
                self.username = try reader.readString("user name")
            }
            if hasPassword {
                self.password = MQTTPassword(Array(try reader.readBinary("password").readableBytesView))
            }
            try reader.expectEnd(after: "CONNECT payload")
        } catch {
            guard version == nil else {
                throw error
            }
            self.clientID = ""
            self.username = nil
            self.password = nil
            self.will = nil
        }
    }

    private static func skipProperties(_ reader: inout MQTTFieldReader, _ field: StaticString) throws(MQTTWireError) {
        var properties = try reader.readProperties(field)
        while try properties.next() != nil {}
    }
}
