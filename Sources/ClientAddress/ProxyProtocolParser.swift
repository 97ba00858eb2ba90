import NIOCore

/// A single-step decoder for PROXY protocol v1 and v2 headers at the start of a connection.
///
/// `parse` looks at the readable bytes of a buffer and either returns a header (and moves the reader index past
/// it, leaving whatever followed), returns nil with the buffer untouched (call again when more bytes arrived), or
/// throws. It never needs more than `maximumHeaderSize` bytes (107 for v1) to decide, so the caller can buffer
/// safely: anything longer is an error, not a reason to wait.
///
/// Validation follows haproxy's proxy-protocol.txt strictly, because a header is only ever accepted from our own
/// trusted proxies and anything unexpected means a misconfiguration or an attack:
/// - v1: `PROXY` SP (`TCP4` | `TCP6`) SP src SP dst SP srcport SP dstport CRLF, single spaces, canonical addresses
///   of the announced family, ports 0–65535 without leading zeros, CRLF within 107 bytes, no bare CR or LF.
///   `PROXY UNKNOWN` accepts anything up to the CRLF and carries no address.
/// - v2: version nibble 2, command LOCAL or PROXY, family/transport one of the seven defined combinations, an
///   address block at least as long as the family needs, well-formed TLVs (and SSL sub-TLVs), a correct CRC32c
///   when PP2_TYPE_CRC32C is present (at most one), a unique id of at most 128 bytes. For LOCAL the family byte
///   and the addresses are ignored, as the spec requires; the TLVs are still checked when they can be located.
public struct ProxyProtocolParser: Sendable {
    /// What the first bytes of a connection are.
    public enum Detection: Hashable, Sendable {
        /// Starts with `PROXY`.
        case proxyV1
        /// Starts with the 12-byte v2 signature (the version byte is checked by `parse`).
        case proxyV2
        /// Cannot be a PROXY header (for example a TLS ClientHello, 0x16, or an HTTP request).
        case notProxy
        /// The bytes so far are a prefix of a signature: wait for more (at most 12 bytes are ever needed).
        case needMoreBytes
    }

    /// The v2 signature: `\r\n\r\n\0\r\nQUIT\n`.
    package static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]
    /// The longest valid v1 line, CRLF included (`PROXY UNKNOWN` with two full IPv6 addresses and ports).
    public static let v1MaximumLength = 107
    /// The fixed part of a v2 header: signature, version/command, family, length.
    package static let v2FixedLength = 16

    static let v1Signature: [UInt8] = Array("PROXY".utf8)

    /// The largest v2 header accepted, fixed part included: a longer announced length is an error as soon as the
    /// 16 fixed bytes are in. Clamped to 16…65551 (the format's own maximum). v1 lines are limited to 107 bytes.
    public var maximumHeaderSize: Int {
        didSet { self.maximumHeaderSize = Self.clamp(self.maximumHeaderSize) }
    }
    /// The versions accepted; a header of another version is an `.unsupportedVersion` error.
    package var acceptedVersions: Set<ProxyProtocolHeader.Version>

    /// - Parameters:
    ///   - maximumHeaderSize: largest v2 header (default 4096: room for SSL details, ALPN, authority and a unique
    ///     id, while an address-only header is 28–232 bytes and the spec's own guideline is 536).
    ///   - acceptedVersions: default both.
    public init(maximumHeaderSize: Int = 4096, acceptedVersions: Set<ProxyProtocolHeader.Version> = [.v1, .v2]) {
        self.maximumHeaderSize = Self.clamp(maximumHeaderSize)
        self.acceptedVersions = acceptedVersions
    }

    private static func clamp(_ size: Int) -> Int {
        min(max(size, Self.v2FixedLength), Self.v2FixedLength + Int(UInt16.max))
    }

    /// Tells whether the readable bytes start with a PROXY header signature, without consuming anything.
    ///
    /// For a listener that accepts connections with and without a header. Never needs more than 12 bytes; an empty
    /// buffer is `.needMoreBytes`.
    public static func detect(_ buffer: ByteBuffer) -> Detection {
        let view = buffer.readableBytesView
        guard let first = view.first else {
            return .needMoreBytes
        }
        let signature: [UInt8]
        let detection: Detection
        switch first {
        case Self.v2Signature[0]:
            signature = Self.v2Signature
            detection = .proxyV2
        case Self.v1Signature[0]:
            signature = Self.v1Signature
            detection = .proxyV1
        default:
            return .notProxy
        }
        let compared = min(view.count, signature.count)
        guard view.prefix(compared).elementsEqual(signature.prefix(compared)) else {
            return .notProxy
        }
        return compared == signature.count ? detection : .needMoreBytes
    }

    /// Decodes the header at the start of the readable bytes.
    ///
    /// - Returns: the header, with the reader index moved just past it (the bytes that follow stay readable); or nil
    ///   with the buffer untouched when the bytes so far are a valid but incomplete header.
    /// - Throws: `ProxyProtocolError` for anything that is not, or cannot become, a valid header of an accepted
    ///   version. The buffer is then untouched too; the connection should be closed.
    public func parse(_ buffer: inout ByteBuffer) throws(ProxyProtocolError) -> ProxyProtocolHeader? {
        switch Self.detect(buffer) {
        case .needMoreBytes:
            return nil
        case .notProxy:
            throw ProxyProtocolError(
                code: .notProxyProtocol,
                description: "no PROXY protocol signature: the connection starts with \(Self.hexPreview(buffer))"
            )
        case .proxyV1:
            guard self.acceptedVersions.contains(.v1) else {
                throw Self.versionRefused(.v1)
            }
            return try Self.parseV1(&buffer)
        case .proxyV2:
            guard self.acceptedVersions.contains(.v2) else {
                throw Self.versionRefused(.v2)
            }
            return try self.parseV2(&buffer)
        }
    }

    private static func versionRefused(_ version: ProxyProtocolHeader.Version) -> ProxyProtocolError {
        ProxyProtocolError(
            code: .unsupportedVersion,
            description: "PROXY protocol \(version) header, but only \(version == .v1 ? "v2" : "v1") is accepted"
        )
    }

    /// The first 16 readable bytes in hex, for error messages about what arrived instead of a header.
    static func hexPreview(_ buffer: ByteBuffer) -> String {
        let view = buffer.readableBytesView
        let hex = view.prefix(16).map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }
        return hex.joined(separator: " ") + (view.count > 16 ? " …" : "")
    }
}
