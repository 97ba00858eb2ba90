/// The value of a PP2_TYPE_SSL TLV: how the client reached the proxy over TLS.
///
/// Wire form: 1 byte of `client` flags, a 4-byte `verify` result in network order, then sub-TLVs (version, CN,
/// cipher, signature and key algorithms).
public struct ProxyProtocolSSLInfo: Hashable, Sendable {
    /// The PP2_CLIENT_* bits.
    package struct ClientFlags: OptionSet, Hashable, Sendable {
        package var rawValue: UInt8

        package init(rawValue: UInt8) {
            self.rawValue = rawValue
        }

        /// PP2_CLIENT_SSL: the client connected over SSL/TLS.
        package static let ssl = ClientFlags(rawValue: 0x01)
        /// PP2_CLIENT_CERT_CONN: the client presented a certificate on this connection.
        package static let certificateOnConnection = ClientFlags(rawValue: 0x02)
        /// PP2_CLIENT_CERT_SESS: the client presented a certificate at least once in this TLS session.
        package static let certificateInSession = ClientFlags(rawValue: 0x04)
    }

    package var client: ClientFlags
    /// 0 when the client presented a certificate and it was verified; non-zero otherwise.
    package var verify: UInt32
    /// The sub-TLVs in wire order (unknown kinds kept).
    package var subTLVs: [ProxyProtocolTLV]

    package init(client: ClientFlags, verify: UInt32, subTLVs: [ProxyProtocolTLV]) {
        self.client = client
        self.verify = verify
        self.subTLVs = subTLVs
    }

    /// TLS details of a client without a certificate (`client = .ssl`, `verify = 1`: nothing was verified), with
    /// the sub-TLVs for the values given.
    public init(
        version: String?,
        cipher: String?,
        signatureAlgorithm: String? = nil,
        keyAlgorithm: String? = nil,
        commonName: String? = nil
    ) {
        var subTLVs: [ProxyProtocolTLV] = []
        let fields: [(ProxyProtocolTLV.Kind, String?)] = [
            (.sslVersion, version), (.sslCommonName, commonName), (.sslCipher, cipher),
            (.sslSignatureAlgorithm, signatureAlgorithm), (.sslKeyAlgorithm, keyAlgorithm),
        ]
        for case (let kind, let text?) in fields {
            subTLVs.append(ProxyProtocolTLV(kind: kind, value: Array(text.utf8)))
        }
        self.init(client: .ssl, verify: 1, subTLVs: subTLVs)
    }

    /// Parses the value of a PP2_TYPE_SSL TLV.
    ///
    /// - Throws: `.malformedV2Header` when the value is shorter than 5 bytes or a sub-TLV is truncated.
    package init(tlvValue value: [UInt8]) throws(ProxyProtocolError) {
        guard value.count >= 5 else {
            throw .v2("SSL TLV of \(value.count) bytes is shorter than its 5-byte client/verify prefix")
        }
        self.client = ClientFlags(rawValue: value[0])
        self.verify = UInt32(value[1]) << 24 | UInt32(value[2]) << 16 | UInt32(value[3]) << 8 | UInt32(value[4])
        self.subTLVs = try ProxyProtocolTLV.parseList(value[5...], context: "SSL sub-TLVs")
    }

    /// The first sub-TLV of `kind`, decoded as UTF-8.
    package func string(_ kind: ProxyProtocolTLV.Kind) -> String? {
        self.subTLVs.first { $0.kind == kind }?.stringValue
    }

    /// PP2_SUBTYPE_SSL_VERSION, e.g. "TLSv1.3".
    package var version: String? { self.string(.sslVersion) }
    /// PP2_SUBTYPE_SSL_CN: the client certificate's Common Name.
    package var commonName: String? { self.string(.sslCommonName) }
    /// PP2_SUBTYPE_SSL_CIPHER, e.g. "ECDHE-RSA-AES128-GCM-SHA256".
    package var cipher: String? { self.string(.sslCipher) }
    /// PP2_SUBTYPE_SSL_SIG_ALG, e.g. "RSA-SHA256".
    package var signatureAlgorithm: String? { self.string(.sslSignatureAlgorithm) }
    /// PP2_SUBTYPE_SSL_KEY_ALG, e.g. "RSA2048".
    package var keyAlgorithm: String? { self.string(.sslKeyAlgorithm) }

    /// The TLV value: flags, verify, sub-TLVs.
    var encodedValue: [UInt8] {
        var bytes: [UInt8] = [
            self.client.rawValue,
            UInt8(truncatingIfNeeded: self.verify >> 24), UInt8(truncatingIfNeeded: self.verify >> 16),
            UInt8(truncatingIfNeeded: self.verify >> 8), UInt8(truncatingIfNeeded: self.verify),
        ]
        for tlv in self.subTLVs {
            bytes += tlv.encoded
        }
        return bytes
    }
}
