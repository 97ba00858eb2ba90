/// A token as found in a request or a CONNECT, not yet verified.
///
/// Holding the token is the only thing this type does carefully: its description, debug description and mirror
/// never contain it, so interpolating it into a log line, `dump`ing a value that holds one, or a test failure
/// message shows `<redacted token from query>` instead. Only `value` reveals it.
public struct BearerToken: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The token text (a compact JWT, or an opaque token for the callout). Never log it.
    package let value: String
    /// Where it was found.
    package let source: TokenSource

    public init(_ value: String, source: TokenSource) {
        self.value = value
        self.source = source
    }

    /// Whether the token has the shape of a compact JWS (`header.payload.signature`, base64url): such tokens are
    /// verified locally; anything else can only be judged by the auth callout.
    package var looksLikeJWT: Bool {
        var periods = 0
        for byte in self.value.utf8 {
            switch byte {
            case UInt8(ascii: "."): periods += 1
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "="):
                continue
            default: return false
            }
        }
        return periods == 2
    }

    public var description: String { "<redacted token from \(self.source)>" }
    public var debugDescription: String { self.description }
    public var customMirror: Mirror { Mirror(self, children: ["source": self.source], displayStyle: .struct) }
}
