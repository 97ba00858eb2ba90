/// A shared secret of the admin listener (`admin.token`, `admin.publish.token`), checked in constant time.
///
/// The comparison always walks the whole expected token and never stops at the first differing byte, so response times
/// do not reveal how much of a guess was right. (The token's length can still be inferred; it is not the secret.)
struct BearerToken: Sendable {
    private let expected: [UInt8]

    init(_ token: String) {
        expected = Array(token.utf8)
    }

    /// Whether an `Authorization` header value is `Bearer <this token>` (the scheme is case-insensitive, RFC 9110).
    func accepts(authorization: String?) -> Bool {
        guard let authorization else { return false }
        let bytes = Array(authorization.utf8)
        let scheme = Array("bearer ".utf8)
        guard bytes.count > scheme.count,
            zip(bytes.prefix(scheme.count), scheme).allSatisfy({ $0 | 0x20 == $1 | 0x20 })
        else { return false }
        var offered = bytes.dropFirst(scheme.count)
        while offered.first == UInt8(ascii: " ") { offered = offered.dropFirst() }
        while offered.last == UInt8(ascii: " ") { offered = offered.dropLast() }
        return Self.constantTimeEqual(Array(offered), expected)
    }

    /// Time depends only on `expected.count`.
    static func constantTimeEqual(_ offered: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: offered.count ^ expected.count)
        difference |= offered.count == expected.count ? 0 : 1
        for index in expected.indices {
            let byte = index < offered.count ? offered[index] : 0
            difference |= byte ^ expected[index]
        }
        return difference == 0
    }
}
