import NIOCore

/// The v1 text line: `PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n`.
extension ProxyProtocolParser {
    static func parseV1(_ buffer: inout ByteBuffer) throws(ProxyProtocolError) -> ProxyProtocolHeader? {
        let view = buffer.readableBytesView
        let limit = Self.v1MaximumLength
        let scanned = view.prefix(limit)
        // The line ends at the first CR, which must be followed by LF; a LF on its own is an error.
        guard let end = scanned.firstIndex(where: { $0 == 0x0D || $0 == 0x0A }) else {
            if view.count >= limit {
                throw ProxyProtocolError(
                    code: .headerTooLarge,
                    description: "PROXY v1: no CRLF within the first \(limit) bytes"
                )
            }
            return nil
        }
        guard view[end] == 0x0D else {
            throw .v1("line ends with a bare LF instead of CRLF")
        }
        let lineLength = end - view.startIndex
        guard lineLength + 2 <= limit else {
            // A CR at offset 106 puts the LF at byte 108.
            throw ProxyProtocolError(
                code: .headerTooLarge,
                description: "PROXY v1: no CRLF within the first \(limit) bytes"
            )
        }
        guard end + 1 < view.endIndex else {
            return nil  // the LF has not arrived yet
        }
        guard view[end + 1] == 0x0A else {
            throw .v1("CR not followed by LF")
        }
        let header = try Self.parseV1Line(view[view.startIndex..<end])
        buffer.moveReaderIndex(forwardBy: lineLength + 2)
        return header
    }

    private static func parseV1Line(
        _ line: ByteBufferView.SubSequence
    ) throws(ProxyProtocolError)
        -> ProxyProtocolHeader
    {
        let tokens = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard tokens.count >= 2, tokens[0].elementsEqual(Self.v1Signature) else {
            throw .v1("expected 'PROXY' followed by a single space")
        }
        let proto = tokens[1]
        if proto.elementsEqual("UNKNOWN".utf8) {
            // "the receiver must ignore anything presented before the CRLF"
            return ProxyProtocolHeader(
                version: .v1,
                command: .proxy,
                transport: .unspecified,
                source: nil,
                destination: nil
            )
        }
        let family: IPAddress.Family
        if proto.elementsEqual("TCP4".utf8) {
            family = .v4
        } else if proto.elementsEqual("TCP6".utf8) {
            family = .v6
        } else {
            throw .v1("unsupported protocol '\(Self.printable(proto))' (expected TCP4, TCP6 or UNKNOWN)")
        }
        guard tokens.count == 6 else {
            throw .v1(
                "expected 'PROXY \(family == .v4 ? "TCP4" : "TCP6") <src> <dst> <srcport> <dstport>' with single spaces, got \(tokens.count) fields"
            )
        }
        let source = try Self.v1Address(tokens[2], family: family, role: "source")
        let destination = try Self.v1Address(tokens[3], family: family, role: "destination")
        let sourcePort = try Self.v1Port(tokens[4], role: "source")
        let destinationPort = try Self.v1Port(tokens[5], role: "destination")
        return ProxyProtocolHeader(
            version: .v1,
            command: .proxy,
            transport: family == .v4 ? .tcp4 : .tcp6,
            source: .ip(source, port: sourcePort),
            destination: .ip(destination, port: destinationPort)
        )
    }

    private static func v1Address(
        _ token: ByteBufferView.SubSequence,
        family: IPAddress.Family,
        role: String
    ) throws(ProxyProtocolError) -> IPAddress {
        guard let address = IPAddress(utf8: token) else {
            throw .v1(
                "\(role) address '\(Self.printable(token))' is not a valid \(family == .v4 ? "IPv4" : "IPv6") address"
            )
        }
        guard address.family == family else {
            throw .v1("\(role) address '\(Self.printable(token))' does not match \(family == .v4 ? "TCP4" : "TCP6")")
        }
        return address
    }

    private static func v1Port(_ token: ByteBufferView.SubSequence, role: String) throws(ProxyProtocolError) -> UInt16 {
        guard !token.isEmpty, token.count <= 5, token.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw .v1("\(role) port '\(Self.printable(token))' is not a decimal number")
        }
        guard token.count == 1 || token.first != 0x30 else {
            throw .v1("\(role) port '\(Self.printable(token))' has a leading zero")
        }
        let value = token.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        guard value <= 65535 else {
            throw .v1("\(role) port \(value) is above 65535")
        }
        return UInt16(value)
    }

    /// The token for an error message, non-printable bytes escaped (it came from the network).
    private static func printable(_ token: ByteBufferView.SubSequence) -> String {
        token.prefix(48).map { byte in
            (0x20...0x7E).contains(byte) && byte != 0x27
                ? String(UnicodeScalar(byte)) : "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}
