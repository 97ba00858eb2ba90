import Foundation

/// Foundation's JSON for request bodies and tokens, with its errors turned into ones that say where: `JSONSerialization` names
/// the byte offset of a syntax error in its message ("around character 17"), and `JSONOutline` names the member it
/// falls in.
///
/// What Foundation decides, deliberately kept: a trailing comma before `}` or `]` is accepted (harmless, and what
/// Foundation does on every platform); nesting deeper than 512 levels is refused; invalid UTF-8 and lone surrogate
/// escapes are refused (so a string is always exactly the text the client sent, never a "repaired" one).
package enum JSONText {
    /// Parses `bytes` with Foundation; throws where and why it is not JSON.
    package static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw syntaxError(error, in: bytes)
        }
    }

    /// One value, decoded by `JSONDecoder` from its text as written; nil when it is not a `T`.
    package static func decode<T: Decodable>(_ type: T.Type, from text: ArraySlice<UInt8>) -> T? {
        try? JSONDecoder().decode(type, from: Data(text))
    }

    /// A member name as a message quotes it: in double quotes, with control characters written as `\u{…}`, so that a
    /// message naming a client's member is always one line of plain text (found by the admin-publish fuzz target).
    package static func quoted(_ name: String) -> String {
        "\"" + escapingControlCharacters(name) + "\""
    }

    /// `text` with control characters written as `\u{…}`: one line of plain text, whatever the client sent.
    static func escapingControlCharacters(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                escaped += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// The text of a JSON string without its quotes, escapes decoded.
    package static func decodeString(_ raw: [UInt8]) -> String? {
        decode(String.self, from: [UInt8(ascii: "\"")] + raw + [UInt8(ascii: "\"")])
    }

    /// Foundation's description without its position ("Invalid value around character 17." → "Invalid value"),
    /// the position as a byte offset, and the member there.
    private static func syntaxError(_ error: any Error, in bytes: [UInt8]) -> JSONSyntaxError {
        let description = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? "\(error)"
        guard let (offset, message) = position(in: description) else {
            // Foundation says what but not where (lone surrogate escapes, an unexpected end): find it ourselves.
            if let problem = JSONOutline.loneSurrogate(in: bytes) { return problem }
            let atEnd = description.contains("end of file")
            let path = atEnd ? JSONOutline.path(at: bytes.count, in: bytes) : []
            return JSONSyntaxError(offset: atEnd ? bytes.count : nil, message: trimmed(description), path: path)
        }
        return JSONSyntaxError(offset: offset, message: message, path: JSONOutline.path(at: offset, in: bytes))
    }

    /// `… around character 17.`, `… starting from character 11.`, `… at 8.`: the number, and the text before it.
    private static func position(in description: String) -> (Int, String)? {
        for marker in [" around character ", " starting from character ", " at "] {
            guard let range = description.range(of: marker, options: .backwards) else { continue }
            let digits = description[range.upperBound...].prefix { $0.isASCII && $0.isNumber }
            guard let offset = Int(digits) else { continue }
            return (offset, trimmed(String(description[..<range.lowerBound])))
        }
        return nil
    }

    /// Also escaped: Foundation quotes the client's text in some messages ("Invalid hex encoded sequence in \"d\r\0\0\""),
    /// control characters and all (found by the admin-publish fuzz target).
    private static func trimmed(_ message: String) -> String {
        var text = message.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix(".") { text.removeLast() }
        return escapingControlCharacters(text)
    }
}

/// Why a body is not (acceptable) JSON: where, when known (byte offset, and the member path), and what.
package struct JSONSyntaxError: Error, Sendable, Equatable {
    package var offset: Int?
    package var message: String
    /// The member path at the error (`user_properties.source`), nil at the top level.
    package var field: String?
    /// The top-level member the error is in (`user_properties`), as its name is written: a name may itself contain
    /// dots, so it is kept apart rather than cut out of `field`.
    package var topLevelMember: String?

    package init(offset: Int?, message: String, path: [String]) {
        self.offset = offset
        self.message = message
        self.field = path.isEmpty ? nil : path.joined(separator: ".")
        self.topLevelMember = path.first
    }

    package var description: String {
        let place = offset.map { " at byte \($0)" } ?? ""
        return "invalid JSON\(place)\(field.map { " (in \(JSONText.quoted($0)))" } ?? ""): \(message)"
    }
}
