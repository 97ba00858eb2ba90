import BridgeTestSupport
import NIOCore

/// Bytes from a hex string; whitespace is ignored ("20 02 00 03").
func hexBytes(_ string: String) -> [UInt8] {
    guard let bytes = ByteFormatting.bytes(fromHex: string) else { preconditionFailure("not hex: \(string)") }
    return bytes
}

/// The readable bytes of a buffer.
func bytes(of buffer: ByteBuffer) -> [UInt8] {
    Array(buffer.readableBytesView)
}

/// Lower-case hex with a space between bytes, for readable failure messages.
func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
}

/// Splits `bytes` into chunks whose sizes cycle through `sizes` (the last chunk may be shorter).
func chunks(of bytes: [UInt8], sizes: [Int]) -> [[UInt8]] {
    precondition(!sizes.isEmpty && sizes.allSatisfy { $0 > 0 })
    var result: [[UInt8]] = []
    var start = 0
    var index = 0
    while start < bytes.count {
        let end = min(start + sizes[index % sizes.count], bytes.count)
        result.append(Array(bytes[start..<end]))
        start = end
        index += 1
    }
    return result
}
