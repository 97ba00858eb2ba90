import NIOCore

/// Writes PROXY protocol v2 headers, for the upstream side: the first bytes the bridge sends to a broker listener
/// that expects them (Mosquitto 2.1's `enable_proxy_protocol 2`), so that its logs and ACLs see the real client.
///
/// The output is what `ProxyProtocolParser` accepts: signature, `0x21` (v2, PROXY) or `0x20` (v2, LOCAL), the
/// family/transport byte, the length, the address block, then the TLVs in the order given and, when asked, a
/// PP2_TYPE_CRC32C TLV last, computed over the whole header as the spec describes (value zeroed while summing).
public enum ProxyProtocolV2 {
    /// A PROXY command for a TCP connection from `source` (the client) to `destination` (the address it reached).
    ///
    /// Two IPv4 addresses give family `0x11` (TCP over IPv4); two IPv6 addresses give `0x21`; one of each gives
    /// `0x21` with the IPv4 one written IPv4-mapped (`::ffff:a.b.c.d`), the only way to carry both. An IPv4-mapped
    /// pair is written as IPv4. Two Unix domain socket addresses give `0x31`.
    ///
    /// - Parameters:
    ///   - tlvs: e.g. `[.authority(sniHostName), .ssl(ProxyProtocolSSLInfo(version: "TLSv1.3", cipher: …))]`.
    ///     CRC32C TLVs in this list are dropped: use `checksum`.
    ///   - checksum: append a PP2_TYPE_CRC32C TLV.
    /// - Throws: `.notEncodable` for an IP address paired with a Unix path, a path over 108 bytes, a TLV value over
    ///   65535 bytes or a header over 65535 bytes after the fixed part. Nothing is written then.
    package static func encode(
        source: SocketAddress,
        destination: SocketAddress,
        tlvs: [ProxyProtocolTLV] = [],
        checksum: Bool = false,
        into buffer: inout ByteBuffer
    ) throws(ProxyProtocolError) {
        let header: ProxyProtocolHeader
        switch (source, destination) {
        case (.unixDomainSocket, .unixDomainSocket):
            header = ProxyProtocolHeader(
                version: .v2,
                command: .proxy,
                transport: .unixStream,
                source: .unix(path: Array((source.pathname ?? "").utf8)),
                destination: .unix(path: Array((destination.pathname ?? "").utf8)),
                tlvs: tlvs
            )
        default:
            guard let sourceIP = IPAddress(source), let destinationIP = IPAddress(destination),
                let sourcePort = source.port, let destinationPort = destination.port
            else {
                throw ProxyProtocolError(
                    code: .notEncodable,
                    description: "PROXY v2: cannot pair \(source) with \(destination) (an IP address and a Unix path)"
                )
            }
            let bothIPv4 = sourceIP.unmapped.family == .v4 && destinationIP.unmapped.family == .v4
            header = ProxyProtocolHeader(
                version: .v2,
                command: .proxy,
                transport: bothIPv4 ? .tcp4 : .tcp6,
                source: .ip(sourceIP, port: UInt16(truncatingIfNeeded: sourcePort)),
                destination: .ip(destinationIP, port: UInt16(truncatingIfNeeded: destinationPort)),
                tlvs: tlvs
            )
        }
        try Self.encode(header, checksum: checksum, into: &buffer)
    }

    /// A LOCAL command (a connection the bridge makes on its own behalf, e.g. a health check): no addresses.
    package static func encodeLocal(
        tlvs: [ProxyProtocolTLV] = [],
        checksum: Bool = false,
        into buffer: inout ByteBuffer
    ) throws(ProxyProtocolError) {
        let header = ProxyProtocolHeader(
            version: .v2,
            command: .local,
            transport: .unspecified,
            source: nil,
            destination: nil,
            tlvs: tlvs
        )
        try Self.encode(header, checksum: checksum, into: &buffer)
    }

    /// Any header in v2 form (its `version` is ignored): `command`, `transport`, endpoints and TLVs as given.
    ///
    /// LOCAL headers and `.unspecified` transports are written without addresses (family `0x00`). For the IP
    /// transports both endpoints must be `.ip`: the `…4` ones take IPv4 (or IPv4-mapped) addresses, the `…6` ones
    /// write IPv4 addresses IPv4-mapped. The Unix transports take `.unix` paths of at most 108 bytes.
    ///
    /// - Throws: `.notEncodable` when the endpoints do not fit the transport or a length overflows; nothing is
    ///   written then.
    public static func encode(
        _ header: ProxyProtocolHeader,
        checksum: Bool = false,
        into buffer: inout ByteBuffer
    ) throws(ProxyProtocolError) {
        let transport = header.command == .local ? .unspecified : header.transport
        let familyByte = transport.v2FamilyByte
        let addressBlock: [UInt8]
        switch transport {
        case .unspecified:
            addressBlock = []
        case .tcp4, .udp4:
            addressBlock = try Self.ipAddressBlock(source: header.source, destination: header.destination, family: .v4)
        case .tcp6, .udp6:
            addressBlock = try Self.ipAddressBlock(source: header.source, destination: header.destination, family: .v6)
        case .unixStream, .unixDatagram:
            addressBlock =
                try Self.unixField(header.source, role: "source")
                + Self.unixField(header.destination, role: "destination")
        }

        var tlvBytes: [UInt8] = []
        for tlv in header.tlvs where tlv.kind != .crc32c {
            guard tlv.value.count <= Int(UInt16.max) else {
                throw ProxyProtocolError(
                    code: .notEncodable,
                    description: "PROXY v2: \(tlv.kind) TLV value of \(tlv.value.count) bytes exceeds 65535"
                )
            }
            tlvBytes += tlv.encoded
        }
        let checksumLength = checksum ? 7 : 0
        let length = addressBlock.count + tlvBytes.count + checksumLength
        guard length <= Int(UInt16.max) else {
            throw ProxyProtocolError(
                code: .notEncodable,
                description:
                    "PROXY v2: \(length) bytes of addresses and TLVs exceed the 65535 the length field can hold"
            )
        }

        var bytes = ProxyProtocolParser.v2Signature
        bytes.reserveCapacity(ProxyProtocolParser.v2FixedLength + length)
        bytes.append(header.command == .local ? 0x20 : 0x21)
        bytes.append(familyByte)
        bytes += Self.portBytes(UInt16(length))
        bytes += addressBlock
        bytes += tlvBytes
        if checksum {
            bytes += [ProxyProtocolTLV.Kind.crc32c.rawValue, 0, 4, 0, 0, 0, 0]
            let value = CRC32C.checksum(bytes)
            let end = bytes.count
            bytes[end - 4] = UInt8(truncatingIfNeeded: value >> 24)
            bytes[end - 3] = UInt8(truncatingIfNeeded: value >> 16)
            bytes[end - 2] = UInt8(truncatingIfNeeded: value >> 8)
            bytes[end - 1] = UInt8(truncatingIfNeeded: value)
        }
        buffer.writeBytes(bytes)
    }

    private static func portBytes(_ port: UInt16) -> [UInt8] {
        [UInt8(port >> 8), UInt8(truncatingIfNeeded: port)]
    }

    /// Source address, destination address, source port, destination port: the layout of both IP families.
    private static func ipAddressBlock(
        source: ProxyProtocolHeader.Endpoint?,
        destination: ProxyProtocolHeader.Endpoint?,
        family: IPAddress.Family
    ) throws(ProxyProtocolError) -> [UInt8] {
        let (sourceAddress, sourcePort) = try Self.ipEndpoint(source, family: family, role: "source")
        let (destinationAddress, destinationPort) = try Self.ipEndpoint(destination, family: family, role: "destination")
        return sourceAddress + destinationAddress + Self.portBytes(sourcePort) + Self.portBytes(destinationPort)
    }

    private static func ipEndpoint(
        _ endpoint: ProxyProtocolHeader.Endpoint?,
        family: IPAddress.Family,
        role: String
    ) throws(ProxyProtocolError) -> ([UInt8], UInt16) {
        guard case .ip(let address, let port)? = endpoint else {
            throw ProxyProtocolError(code: .notEncodable, description: "PROXY v2: the \(role) must be an IP endpoint")
        }
        switch family {
        case .v4:
            guard address.unmapped.family == .v4 else {
                throw ProxyProtocolError(
                    code: .notEncodable,
                    description: "PROXY v2: the \(role) \(address) is not an IPv4 address"
                )
            }
            return (address.unmapped.bytes, port)
        case .v6:
            return (address.ipv6Bytes, port)
        }
    }

    private static func unixField(
        _ endpoint: ProxyProtocolHeader.Endpoint?, role: String
    ) throws(ProxyProtocolError)
        -> [UInt8]
    {
        guard case .unix(let path)? = endpoint else {
            throw ProxyProtocolError(code: .notEncodable, description: "PROXY v2: the \(role) must be a Unix path")
        }
        let length = ProxyProtocolParser.unixPathLength
        guard path.count <= length else {
            throw ProxyProtocolError(
                code: .notEncodable,
                description: "PROXY v2: the \(role) path of \(path.count) bytes exceeds \(length)"
            )
        }
        return path + [UInt8](repeating: 0, count: length - path.count)
    }
}
