/// Everything that can be wrong with a PROXY protocol header or with the connection that carries it.
///
/// A code for decisions (all of them mean "close the connection" on the inbound side) plus one line for the log.
/// A struct over a private enum so that codes can be added without breaking callers' `switch`es.
public struct ProxyProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case notProxyProtocol
            case headerTooLarge
            case invalidV1Header
            case unsupportedVersion
            case unsupportedCommand
            case unsupportedAddressFamily
            case malformedV2Header
            case checksumMismatch
            case untrustedPeer
            case missingHeader
            case connectionClosedBeforeHeader
            case notEncodable
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The bytes start with neither the v1 (`PROXY`) nor the v2 signature.
        public static let notProxyProtocol = Code(.notProxyProtocol)
        /// A v1 line without CRLF within 107 bytes, or a v2 header longer than the configured maximum.
        package static let headerTooLarge = Code(.headerTooLarge)
        /// A v1 line that does not follow the grammar: tokens, spacing, addresses, ports, bare CR or LF.
        package static let invalidV1Header = Code(.invalidV1Header)
        /// A v2 version nibble other than 2, or a protocol version the configuration does not accept.
        package static let unsupportedVersion = Code(.unsupportedVersion)
        /// A v2 command other than LOCAL (0) and PROXY (1).
        package static let unsupportedCommand = Code(.unsupportedCommand)
        /// A v2 family/transport byte that is not one of 0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32.
        package static let unsupportedAddressFamily = Code(.unsupportedAddressFamily)
        /// A v2 address block shorter than its family needs, a truncated TLV or SSL sub-TLV, an oversized unique id.
        package static let malformedV2Header = Code(.malformedV2Header)
        /// A v2 header whose PP2_TYPE_CRC32C value does not match the header.
        package static let checksumMismatch = Code(.checksumMismatch)
        /// A PROXY header from a peer outside the trusted proxies, or any connection from one when those are refused.
        package static let untrustedPeer = Code(.untrustedPeer)
        /// A trusted peer sent something else first, and the configuration requires a header from trusted peers.
        package static let missingHeader = Code(.missingHeader)
        /// The peer closed (or half-closed) the connection before a decision could be made. Often a load
        /// balancer's TCP health check: worth a debug line, not an alarm.
        package static let connectionClosedBeforeHeader = Code(.connectionClosedBeforeHeader)
        /// The encoder was given something the v2 format cannot carry (mixed address kinds, too long a path, …).
        public static let notEncodable = Code(.notEncodable)

        public var description: String {
            switch self.base {
            case .notProxyProtocol: "notProxyProtocol"
            case .headerTooLarge: "headerTooLarge"
            case .invalidV1Header: "invalidV1Header"
            case .unsupportedVersion: "unsupportedVersion"
            case .unsupportedCommand: "unsupportedCommand"
            case .unsupportedAddressFamily: "unsupportedAddressFamily"
            case .malformedV2Header: "malformedV2Header"
            case .checksumMismatch: "checksumMismatch"
            case .untrustedPeer: "untrustedPeer"
            case .missingHeader: "missingHeader"
            case .connectionClosedBeforeHeader: "connectionClosedBeforeHeader"
            case .notEncodable: "notEncodable"
            }
        }
    }

    /// What went wrong, for the caller's decisions.
    public var code: Code
    /// What went wrong, for people: one line, e.g. "PROXY v1: source port '070' has a leading zero".
    public var description: String

    public init(code: Code, description: String) {
        self.code = code
        self.description = description
    }
}

extension ProxyProtocolError {
    static func v1(_ reason: String) -> ProxyProtocolError {
        ProxyProtocolError(code: .invalidV1Header, description: "PROXY v1: \(reason)")
    }

    static func v2(_ reason: String) -> ProxyProtocolError {
        ProxyProtocolError(code: .malformedV2Header, description: "PROXY v2: \(reason)")
    }
}
