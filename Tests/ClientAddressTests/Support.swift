import BridgeTestSupport
import ClientAddress
import NIOCore
import Testing

/// Bytes from a hex string; spaces and newlines are ignored ("0d 0a 0d 0a").
func hexBytes(_ string: String) -> [UInt8] {
    guard let bytes = ByteFormatting.bytes(fromHex: string) else { preconditionFailure("not hex: \(string)") }
    return bytes
}

func buffer(_ bytes: [UInt8]) -> ByteBuffer {
    ByteBuffer(bytes: bytes)
}

func ascii(_ text: String) -> [UInt8] {
    Array(text.utf8)
}

func bytes(of buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

/// The v2 signature, spelled out from the spec rather than taken from the code under test.
let v2Signature = hexBytes("0D 0A 0D 0A 00 0D 0A 51 55 49 54 0A")

/// Parses `input` in one go, expecting a header and the listed bytes left over.
@discardableResult
func expectHeader(
    _ input: [UInt8],
    parser: ProxyProtocolParser = ProxyProtocolParser(),
    remaining: [UInt8] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) throws -> ProxyProtocolHeader? {
    var buffer = buffer(input)
    let header = try parser.parse(&buffer)
    #expect(header != nil, "expected a complete header", sourceLocation: sourceLocation)
    #expect(bytes(of: buffer) == remaining, "bytes after the header", sourceLocation: sourceLocation)
    return header
}

/// Expects `parse` to throw `code` (with `reason` in the description, if given) and to leave the buffer untouched.
func expectParseError(
    _ code: ProxyProtocolError.Code,
    _ input: [UInt8],
    reason: String? = nil,
    parser: ProxyProtocolParser = ProxyProtocolParser(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var buffer = buffer(input)
    let error = #expect(throws: ProxyProtocolError.self, sourceLocation: sourceLocation) {
        _ = try parser.parse(&buffer)
    }
    guard let error else {
        return
    }
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    if let reason {
        #expect(error.description.contains(reason), "\(error.description)", sourceLocation: sourceLocation)
    }
    #expect(bytes(of: buffer) == input, "buffer must be untouched on error", sourceLocation: sourceLocation)
}

/// Expects `parse` to ask for more bytes and leave the buffer untouched.
func expectNeedsMore(
    _ input: [UInt8],
    parser: ProxyProtocolParser = ProxyProtocolParser(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    var buffer = buffer(input)
    do {
        let header = try parser.parse(&buffer)
        #expect(header == nil, "expected nil (need more bytes)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected nil (need more bytes), got \(error)", sourceLocation: sourceLocation)
    }
    #expect(bytes(of: buffer) == input, "buffer must be untouched", sourceLocation: sourceLocation)
}

func ip(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> IPAddress {
    guard let address = IPAddress(text) else {
        Issue.record("'\(text)' should parse", sourceLocation: sourceLocation)
        return IPAddress(ipv4: 0)
    }
    return address
}
