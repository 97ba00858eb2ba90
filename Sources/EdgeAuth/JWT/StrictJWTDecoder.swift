import Foundation
import JSONInspection
import JWTKit

/// jwt-kit's JSON decoder for a token's header and claims, behind two checks its `JSONDecoder` does not make:
///
/// - **A name given twice in one object is refused** (RFC 7515 §5.2 step 4, RFC 7519 §7.2 step 10: reject, or use
///   the last). Foundation's `JSONDecoder` on Linux uses the *first* (`{"sub":"a","sub":"b"}` decodes `sub` as `a`)
///   while `JSONSerialization` and most other JWT libraries use the last, so a signed token could name one subject
///   here and another to the next service that reads it. Refusing is the choice that leaves no such gap.
/// - **The whole text is JSON** (RFC 8259): `JSONDecoder` checks only the numbers it decodes, so a leading zero in
///   one it skips (the second of two repeated names, a header parameter jwt-kit does not read) went through.
///
/// Both come from `JSONInspection`, the same reading of JSON the publish API uses: Foundation's `JSONSerialization`
/// for the syntax, `JSONOutline` for the names. A token's header and claims are a few hundred bytes, so the second
/// reading costs microseconds next to the signature check.
struct StrictJWTDecoder: JWTJSONDecoder {
    private let decoder: any JWTJSONDecoder = .defaultForJWT

    func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let bytes = [UInt8](data)
        _ = try JSONText.parse(bytes)
        if let (path, offset) = JSONOutline(bytes).duplicate {
            throw JSONSyntaxError(offset: offset, message: "a name given more than once", path: path)
        }
        return try self.decoder.decode(type, from: data)
    }
}
