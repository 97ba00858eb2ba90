import NIOCore

/// A decoded PROXY protocol header (v1 text line or v2 binary block): who the proxy says the client is.
///
/// For the address to use, read `sourceAddress` (or `sourceIP`): it is non-nil only for a PROXY command with a
/// TCP/UDP source. LOCAL (v2 health checks), v1 `UNKNOWN` and v2 `UNSPEC` headers mean "use the real connection's
/// addresses", and then both are nil.
public struct ProxyProtocolHeader: Hashable, Sendable {
    public enum Version: Hashable, Sendable, CustomStringConvertible {
        /// The human-readable line (`PROXY TCP4 …\r\n`).
        case v1
        /// The binary block starting with `\r\n\r\n\0\r\nQUIT\n`.
        case v2

        public var description: String {
            switch self {
            case .v1: "v1"
            case .v2: "v2"
            }
        }
    }

    public enum Command: Hashable, Sendable {
        /// The proxy opened the connection on its own behalf (health check): use the real endpoints. v2 only.
        case local
        /// The connection is relayed for a client: the addresses (if any) are the client's. Every v1 header.
        case proxy
    }

    /// The v1 protocol token / v2 family-and-transport byte.
    public enum TransportProtocol: Hashable, Sendable, CustomStringConvertible {
        /// v1 `UNKNOWN`, v2 `0x00`, and every LOCAL header: no usable addresses.
        case unspecified
        /// v1 `TCP4`, v2 `0x11`.
        case tcp4
        /// v2 `0x12`.
        case udp4
        /// v1 `TCP6`, v2 `0x21`.
        case tcp6
        /// v2 `0x22`.
        case udp6
        /// v2 `0x31`.
        case unixStream
        /// v2 `0x32`.
        case unixDatagram

        public var description: String {
            switch self {
            case .unspecified: "UNSPEC"
            case .tcp4: "TCP4"
            case .udp4: "UDP4"
            case .tcp6: "TCP6"
            case .udp6: "UDP6"
            case .unixStream: "UNIX_STREAM"
            case .unixDatagram: "UNIX_DGRAM"
            }
        }
    }

    /// One end of the proxied connection.
    public enum Endpoint: Hashable, Sendable, CustomStringConvertible {
        case ip(IPAddress, port: UInt16)
        /// A Unix socket path: the 108-byte field without its trailing NUL padding (an abstract socket name starts
        /// with a NUL byte, which is kept).
        case unix(path: [UInt8])

        /// A NIO socket address for an IP endpoint; nil for Unix paths.
        package var socketAddress: SocketAddress? {
            guard case .ip(let address, let port) = self else {
                return nil
            }
            return address.socketAddress(port: Int(port))
        }

        /// `1.2.3.4:56324`, `[2001:db8::1]:443`, `unix:/run/app.sock`.
        public var description: String {
            switch self {
            case .ip(let address, let port):
                address.family == .v4 ? "\(address):\(port)" : "[\(address)]:\(port)"
            case .unix(let path):
                "unix:" + String(decoding: path, as: UTF8.self)
            }
        }
    }

    public var version: Version
    package var command: Command
    public var transport: TransportProtocol
    /// The client's end; nil when `transport` is `.unspecified`.
    public var source: Endpoint?
    /// The end the client connected to (the proxy's listener); nil when `transport` is `.unspecified`.
    public var destination: Endpoint?
    /// Every v2 TLV in wire order, unknown kinds and NOOP padding included; empty for v1.
    public var tlvs: [ProxyProtocolTLV]

    public init(
        version: Version,
        command: Command,
        transport: TransportProtocol,
        source: Endpoint?,
        destination: Endpoint?,
        tlvs: [ProxyProtocolTLV] = []
    ) {
        self.version = version
        self.command = command
        self.transport = transport
        self.source = source
        self.destination = destination
        self.tlvs = tlvs
    }

    // MARK: Views

    /// The client's IP address, when the header carries one for a PROXY command; otherwise nil (use the peer).
    package var sourceIP: IPAddress? {
        guard self.command == .proxy, case .ip(let address, _)? = self.source else {
            return nil
        }
        return address
    }

    /// The client's IP address and port as a NIO address, when the header carries one; otherwise nil (use the peer).
    package var sourceAddress: SocketAddress? {
        self.command == .proxy ? self.source?.socketAddress : nil
    }

    /// The address the client connected to, when the header carries one; otherwise nil (use the local address).
    package var destinationAddress: SocketAddress? {
        self.command == .proxy ? self.destination?.socketAddress : nil
    }

    /// The first TLV of `kind`.
    package func firstTLV(_ kind: ProxyProtocolTLV.Kind) -> ProxyProtocolTLV? {
        self.tlvs.first { $0.kind == kind }
    }

    /// PP2_TYPE_AUTHORITY as text: the host name (TLS SNI) the client asked the proxy for.
    package var authority: String? { self.firstTLV(.authority)?.stringValue }
    /// PP2_TYPE_ALPN bytes.
    package var alpn: [UInt8]? { self.firstTLV(.alpn)?.value }
    /// PP2_TYPE_UNIQUE_ID bytes.
    package var uniqueID: [UInt8]? { self.firstTLV(.uniqueID)?.value }
    /// PP2_TYPE_NETNS as text.
    package var networkNamespace: String? { self.firstTLV(.networkNamespace)?.stringValue }
    /// PP2_TYPE_SSL, decoded (the parser has already checked that it decodes).
    package var ssl: ProxyProtocolSSLInfo? {
        guard let tlv = self.firstTLV(.ssl) else {
            return nil
        }
        return try? ProxyProtocolSSLInfo(tlvValue: tlv.value)
    }
}
