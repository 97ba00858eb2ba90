/// A parsed JSON value whose strings are kept as the bytes the client sent.
///
/// A topic must be judged by libmosquitto on exactly those bytes: a Swift `String` (or `JSONDecoder`) would quietly
/// repair invalid UTF-8 and lone surrogate escapes such as `\udc80` into U+FFFD, turning an invalid topic into a
/// different, valid one.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number as written (`1`, `-0.5e3`): each field decides what it accepts.
    case number(String)
    /// Escapes decoded; other bytes as sent. A lone surrogate escape becomes its 3-byte encoding (ED A0 80 –
    /// ED BF BF), which is not valid UTF-8 and is refused wherever UTF-8 is required.
    case string([UInt8])
    case array([JSONValue])
    /// Members in the order written; duplicate names are kept (the reader decides).
    case object([JSONMember])

    /// `a string`, `a number`…: for "must be …, not …" messages.
    var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// One `"name": value` pair of a JSON object.
struct JSONMember: Sendable, Equatable {
    var name: [UInt8]
    var value: JSONValue

    /// The name for messages (invalid UTF-8 shown as U+FFFD).
    var displayName: String { String(decoding: name, as: UTF8.self) }
}

/// Why a body is not JSON: where (byte offset, and the field being read, if any) and what was expected.
struct JSONSyntaxError: Error, Sendable, Equatable {
    var offset: Int
    var message: String
    /// The member path being parsed when the error was found (`user_properties.source`), nil at the top level.
    var field: String?

    var description: String {
        "invalid JSON at byte \(offset)\(field.map { " (in \"\($0)\")" } ?? ""): \(message)"
    }
}
