import NIOCore

extension ProxyProtocolHeader.TransportProtocol {
    /// The spec's v2 family/transport bytes and the size of each one's address block, in one place for the parser
    /// and the encoder.
    static let v2Layouts: [(transport: Self, familyByte: UInt8, addressLength: Int)] = [
        (.unspecified, 0x00, 0),
        (.tcp4, 0x11, 12),
        (.udp4, 0x12, 12),
        (.tcp6, 0x21, 36),
        (.udp6, 0x22, 36),
        (.unixStream, 0x31, 216),
        (.unixDatagram, 0x32, 216),
    ]

    /// The v2 family/transport byte.
    var v2FamilyByte: UInt8 {
        Self.v2Layouts.first { $0.transport == self }!.familyByte
    }
}

/// The v2 binary block: 12-byte signature, version/command, family/transport, 2-byte length, addresses, TLVs.
extension ProxyProtocolParser {
    /// The transport and address-block size of a family/transport byte the spec defines.
    static func v2Layout(_ familyByte: UInt8) -> (transport: ProxyProtocolHeader.TransportProtocol, addressLength: Int)? {
        ProxyProtocolHeader.TransportProtocol.v2Layouts.first { $0.familyByte == familyByte }
            .map { ($0.transport, $0.addressLength) }
    }

    /// The size of a Unix socket path field.
    static let unixPathLength = 108

    func parseV2(_ buffer: inout ByteBuffer) throws(ProxyProtocolError) -> ProxyProtocolHeader? {
        let view = buffer.readableBytesView
        let start = view.startIndex
        // `detect` has matched the 12 signature bytes. Each later field is checked as soon as it arrives, so a
        // broken header is refused without waiting for the rest of it.
        guard view.count > 12 else {
            return nil
        }
        let versionCommand = view[start + 12]
        guard versionCommand >> 4 == 2 else {
            throw ProxyProtocolError(
                code: .unsupportedVersion,
                description: "PROXY v2: version nibble is \(versionCommand >> 4), expected 2"
            )
        }
        let command: ProxyProtocolHeader.Command
        switch versionCommand & 0x0F {
        case 0x0: command = .local
        case 0x1: command = .proxy
        case let other:
            throw ProxyProtocolError(
                code: .unsupportedCommand,
                description: "PROXY v2: command \(other) is neither LOCAL (0) nor PROXY (1)"
            )
        }
        guard view.count > 13 else {
            return nil
        }
        let familyByte = view[start + 13]
        let layout = Self.v2Layout(familyByte)
        if command == .proxy, layout == nil {
            throw ProxyProtocolError(
                code: .unsupportedAddressFamily,
                description:
                    "PROXY v2: family/transport byte 0x\(String(familyByte, radix: 16)) is not one of 00 11 12 21 22 31 32"
            )
        }
        guard view.count >= Self.v2FixedLength else {
            return nil
        }
        let length = Int(view[start + 14]) << 8 | Int(view[start + 15])
        let total = Self.v2FixedLength + length
        guard total <= self.maximumHeaderSize else {
            throw ProxyProtocolError(
                code: .headerTooLarge,
                description: "PROXY v2: header of \(total) bytes exceeds the limit of \(self.maximumHeaderSize)"
            )
        }
        guard view.count >= total else {
            return nil
        }
        // One copy of the header (bounded by `maximumHeaderSize`), so that the rest is plain array indexing.
        let bytes = Array(view[start..<(start + total)])

        var transport = ProxyProtocolHeader.TransportProtocol.unspecified
        var source: ProxyProtocolHeader.Endpoint?
        var destination: ProxyProtocolHeader.Endpoint?
        var tlvStart: Int?
        if let layout {
            if length >= layout.addressLength {
                tlvStart = Self.v2FixedLength + layout.addressLength
            } else if command == .proxy {
                throw .v2(
                    "address block of \(length) bytes is shorter than the \(layout.addressLength) bytes \(layout.transport) needs"
                )
            }
            if command == .proxy {
                transport = layout.transport
                (source, destination) = Self.v2Endpoints(bytes, transport: layout.transport)
            }
        }
        // LOCAL with an undefined family: the spec says to ignore the family, so the TLVs cannot be located and
        // the whole block is skipped.
        var tlvs: [ProxyProtocolTLV] = []
        if let tlvStart {
            tlvs = try ProxyProtocolTLV.parseList(bytes[tlvStart...], context: "TLVs")
            try Self.validate(tlvs, in: bytes, startingAt: tlvStart)
        }
        buffer.moveReaderIndex(forwardBy: total)
        return ProxyProtocolHeader(
            version: .v2,
            command: command,
            transport: transport,
            source: source,
            destination: destination,
            tlvs: tlvs
        )
    }

    private static func v2Endpoints(
        _ bytes: [UInt8],
        transport: ProxyProtocolHeader.TransportProtocol
    ) -> (ProxyProtocolHeader.Endpoint?, ProxyProtocolHeader.Endpoint?) {
        let base = Self.v2FixedLength
        func port(at offset: Int) -> UInt16 {
            UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }
        func ip(_ range: Range<Int>) -> IPAddress? {
            IPAddress(bytes: bytes[range])
        }
        switch transport {
        case .unspecified:
            return (nil, nil)
        case .tcp4, .udp4:
            guard let source = ip(base..<(base + 4)), let destination = ip((base + 4)..<(base + 8)) else {
                return (nil, nil)
            }
            return (.ip(source, port: port(at: base + 8)), .ip(destination, port: port(at: base + 10)))
        case .tcp6, .udp6:
            guard let source = ip(base..<(base + 16)), let destination = ip((base + 16)..<(base + 32)) else {
                return (nil, nil)
            }
            return (.ip(source, port: port(at: base + 32)), .ip(destination, port: port(at: base + 34)))
        case .unixStream, .unixDatagram:
            let length = Self.unixPathLength
            return (
                .unix(path: Self.unixPath(bytes[base..<(base + length)])),
                .unix(path: Self.unixPath(bytes[(base + length)..<(base + 2 * length)]))
            )
        }
    }

    /// A path up to its terminating NUL; an abstract socket name (leading NUL) without its trailing NUL padding.
    private static func unixPath(_ field: ArraySlice<UInt8>) -> [UInt8] {
        if field.first == 0 {
            let end = (field.lastIndex { $0 != 0 } ?? field.startIndex) + 1
            return Array(field[field.startIndex..<max(end, field.startIndex + 1)])
        }
        return Array(field.prefix { $0 != 0 })
    }

    /// Checks the TLVs whose content the spec constrains: CRC32C (verified), SSL (sub-TLVs), UNIQUE_ID (length).
    private static func validate(
        _ tlvs: [ProxyProtocolTLV],
        in bytes: [UInt8],
        startingAt tlvStart: Int
    ) throws(ProxyProtocolError) {
        var offset = tlvStart
        var checksumOffset: Int?
        for tlv in tlvs {
            switch tlv.kind {
            case .crc32c:
                guard checksumOffset == nil else {
                    throw .v2("more than one CRC32C TLV")
                }
                guard tlv.value.count == 4 else {
                    throw .v2("CRC32C TLV of \(tlv.value.count) bytes, expected 4")
                }
                checksumOffset = offset + 3
            case .ssl:
                _ = try ProxyProtocolSSLInfo(tlvValue: tlv.value)
            case .uniqueID:
                guard tlv.value.count <= ProxyProtocolTLV.maximumUniqueIDLength else {
                    throw .v2(
                        "UNIQUE_ID TLV of \(tlv.value.count) bytes exceeds \(ProxyProtocolTLV.maximumUniqueIDLength)"
                    )
                }
            default:
                break
            }
            offset += 3 + tlv.value.count
        }
        guard let checksumOffset else {
            return
        }
        let received = bytes[checksumOffset..<(checksumOffset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        var crc = CRC32C()
        crc.update(bytes[..<checksumOffset])
        crc.update([0, 0, 0, 0] as [UInt8])
        crc.update(bytes[(checksumOffset + 4)...])
        guard crc.value == received else {
            throw ProxyProtocolError(
                code: .checksumMismatch,
                description:
                    "PROXY v2: CRC32c of the header is 0x\(String(crc.value, radix: 16)), the CRC32C TLV says 0x\(String(received, radix: 16))"
            )
        }
    }
}
