/// One Type-Length-Value entry of a PROXY protocol v2 header (also used for the sub-TLVs inside PP2_TYPE_SSL).
///
/// Values are kept as bytes: the spec defines most of them as strings, but they come from the network and are
/// decoded only when asked for (see the views on `ProxyProtocolHeader` and `ProxyProtocolSSLInfo`).
public struct ProxyProtocolTLV: Hashable, Sendable {
    /// The type byte. Known types are static members; any other byte is carried as is.
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt8

        public init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        /// PP2_TYPE_ALPN: the negotiated application protocol (TLS ALPN), bytes.
        package static let alpn = Kind(rawValue: 0x01)
        /// PP2_TYPE_AUTHORITY: the host name the client asked for; with TLS, the SNI server name. UTF-8.
        package static let authority = Kind(rawValue: 0x02)
        /// PP2_TYPE_CRC32C: a CRC32c of the whole header, 4 bytes in network order.
        public static let crc32c = Kind(rawValue: 0x03)
        /// PP2_TYPE_NOOP: padding, ignored.
        package static let noop = Kind(rawValue: 0x04)
        /// PP2_TYPE_UNIQUE_ID: an opaque connection id of up to 128 bytes chosen by the proxy.
        package static let uniqueID = Kind(rawValue: 0x05)
        /// PP2_TYPE_SSL: client TLS details (`ProxyProtocolSSLInfo`).
        package static let ssl = Kind(rawValue: 0x20)
        /// PP2_SUBTYPE_SSL_VERSION (inside SSL): e.g. "TLSv1.3". US-ASCII.
        package static let sslVersion = Kind(rawValue: 0x21)
        /// PP2_SUBTYPE_SSL_CN (inside SSL): the client certificate's subject Common Name. UTF-8.
        package static let sslCommonName = Kind(rawValue: 0x22)
        /// PP2_SUBTYPE_SSL_CIPHER (inside SSL): e.g. "ECDHE-RSA-AES128-GCM-SHA256". US-ASCII.
        package static let sslCipher = Kind(rawValue: 0x23)
        /// PP2_SUBTYPE_SSL_SIG_ALG (inside SSL): the server certificate's signature algorithm, e.g. "RSA-SHA256".
        package static let sslSignatureAlgorithm = Kind(rawValue: 0x24)
        /// PP2_SUBTYPE_SSL_KEY_ALG (inside SSL): the server certificate's key algorithm, e.g. "RSA2048".
        package static let sslKeyAlgorithm = Kind(rawValue: 0x25)
        /// PP2_TYPE_NETNS: the network namespace name. US-ASCII.
        package static let networkNamespace = Kind(rawValue: 0x30)

        public var description: String {
            switch self {
            case .alpn: "ALPN"
            case .authority: "AUTHORITY"
            case .crc32c: "CRC32C"
            case .noop: "NOOP"
            case .uniqueID: "UNIQUE_ID"
            case .ssl: "SSL"
            case .sslVersion: "SSL_VERSION"
            case .sslCommonName: "SSL_CN"
            case .sslCipher: "SSL_CIPHER"
            case .sslSignatureAlgorithm: "SSL_SIG_ALG"
            case .sslKeyAlgorithm: "SSL_KEY_ALG"
            case .networkNamespace: "NETNS"
            default: "0x" + String(self.rawValue, radix: 16)
            }
        }
    }

    /// The longest PP2_TYPE_UNIQUE_ID value the spec allows.
    package static let maximumUniqueIDLength = 128

    public var kind: Kind
    package var value: [UInt8]

    package init(kind: Kind, value: [UInt8]) {
        self.kind = kind
        self.value = value
    }

    /// The value as UTF-8 text; nil when it is not valid UTF-8.
    package var stringValue: String? {
        String(validating: self.value, as: UTF8.self)
    }

    /// PP2_TYPE_AUTHORITY carrying `hostName` (the TLS SNI server name, for example).
    public static func authority(_ hostName: String) -> ProxyProtocolTLV {
        ProxyProtocolTLV(kind: .authority, value: Array(hostName.utf8))
    }

    /// PP2_TYPE_ALPN carrying the protocol identifier bytes (e.g. `Array("http/1.1".utf8)`).
    public static func alpn(_ protocolID: [UInt8]) -> ProxyProtocolTLV {
        ProxyProtocolTLV(kind: .alpn, value: protocolID)
    }

    /// PP2_TYPE_UNIQUE_ID carrying `id` (at most 128 bytes, or the receiver refuses the header).
    public static func uniqueID(_ id: [UInt8]) -> ProxyProtocolTLV {
        ProxyProtocolTLV(kind: .uniqueID, value: id)
    }

    /// PP2_TYPE_SSL with the client's TLS details.
    public static func ssl(_ info: ProxyProtocolSSLInfo) -> ProxyProtocolTLV {
        ProxyProtocolTLV(kind: .ssl, value: info.encodedValue)
    }

    /// PP2_TYPE_NOOP of `count` zero bytes (padding).
    public static func noop(count: Int) -> ProxyProtocolTLV {
        ProxyProtocolTLV(kind: .noop, value: [UInt8](repeating: 0, count: count))
    }

    /// Parses a run of TLVs (the tail of a v2 header, or the sub-TLVs of an SSL TLV).
    ///
    /// - Throws: `.malformedV2Header` when fewer than 3 bytes are left for a TLV's type and length, or when a
    ///   length runs past the end of `bytes`.
    static func parseList(_ bytes: ArraySlice<UInt8>, context: String) throws(ProxyProtocolError) -> [ProxyProtocolTLV] {
        var tlvs: [ProxyProtocolTLV] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let left = bytes.endIndex - index
            guard left >= 3 else {
                throw .v2("truncated \(context): \(left) byte\(left == 1 ? "" : "s") left where a TLV needs at least 3")
            }
            let kind = Kind(rawValue: bytes[index])
            let length = Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            guard length <= left - 3 else {
                throw .v2("truncated \(context): \(kind) TLV announces \(length) bytes but only \(left - 3) follow")
            }
            tlvs.append(ProxyProtocolTLV(kind: kind, value: Array(bytes[(index + 3)..<(index + 3 + length)])))
            index += 3 + length
        }
        return tlvs
    }

    /// Type, 2-byte length, value: the wire form.
    var encoded: [UInt8] {
        [
            self.kind.rawValue, UInt8(truncatingIfNeeded: self.value.count >> 8),
            UInt8(truncatingIfNeeded: self.value.count),
        ]
            + self.value
    }
}
