/// Where each object member is in a JSON text: what Foundation's parser decides but does not tell.
///
/// Foundation (`JSONSerialization`, `JSONDecoder`) parses the body; this walks the same bytes once more for what its
/// results hide: member names in the order written and duplicates (its dictionaries keep the last one), the raw text
/// of each top-level value (so that `"qos": -0` or `1.0` can be refused, where Foundation reads 0 and 1), the member
/// a syntax error falls in, and the position of a lone surrogate escape (which Foundation refuses without one).
///
/// It trusts the text to be JSON up to the point it is asked about (Foundation checked it, or reported where it
/// stops being JSON): strings, escapes and nesting are followed, nothing else is validated.
package struct JSONOutline {
    package struct Member {
        package var name: String
        /// The member's value as written, without surrounding whitespace.
        package var value: Range<Int>
    }

    /// The members of the top-level object, in the order written (empty when the text is not an object).
    package private(set) var members: [Member] = []
    /// The member names of objects that are the values of top-level members, by that member's name.
    package private(set) var nestedNames: [String: [String]] = [:]
    /// The first name given twice in one object: its path (`["user_properties", "k"]`) and byte offset.
    package private(set) var duplicate: (path: [String], offset: Int)?

    /// Outlines a text Foundation has accepted.
    package init(_ bytes: [UInt8]) {
        var walker = Walker(bytes)
        walker.walk(until: bytes.count, into: &self)
        duplicate = walker.duplicate
    }

    private init() {}

    /// The member path (`["user_properties", "k"]`) being read at byte `offset`; empty at the top level.
    package static func path(at offset: Int, in bytes: [UInt8]) -> [String] {
        var outline = JSONOutline()
        var walker = Walker(bytes)
        walker.walk(until: min(offset, bytes.count), into: &outline)
        return walker.path
    }

    /// The first lone surrogate escape, for a text Foundation refused without saying where.
    package static func loneSurrogate(in bytes: [UInt8]) -> JSONSyntaxError? {
        var outline = JSONOutline()
        var walker = Walker(bytes)
        walker.walk(until: bytes.count, into: &outline)
        return walker.loneSurrogate
    }
}

extension JSONOutline {
    /// One open object or array.
    private struct Frame {
        var isObject: Bool
        /// Objects: the next string is a member name.
        var expectingName = true
        /// Objects: the member being read.
        var name: String?
        /// Arrays: the element being read.
        var index = 0
        var names: Set<String> = []
        /// The top-level object only: where the current member's value starts.
        var valueStart: Int?
    }

    private struct Walker {
        let bytes: [UInt8]
        var position = 0
        var stack: [Frame] = []
        var duplicate: (path: [String], offset: Int)?
        var loneSurrogate: JSONSyntaxError?

        init(_ bytes: [UInt8]) {
            self.bytes = bytes
        }

        /// The path of what is being read now, from the top-level object's member down (array elements by index);
        /// empty when the text is not an object.
        var path: [String] {
            guard stack.first?.isObject == true else { return [] }
            return stack.compactMap { $0.isObject ? $0.name : String($0.index) }
        }

        mutating func walk(until end: Int, into outline: inout JSONOutline) {
            while position < end {
                let byte = bytes[position]
                switch byte {
                case UInt8(ascii: "\""):
                    let start = position
                    let hasEscapes = skipString()
                    guard stack.last?.isObject == true, stack[stack.count - 1].expectingName else { continue }
                    // A string cut short by the end of the text (an error being located) ends at the end, not past it.
                    let end = min(max(start + 1, position - 1), bytes.count)
                    let name = Self.decodeName(bytes[(start + 1)..<end], hasEscapes: hasEscapes)
                    stack[stack.count - 1].expectingName = false
                    stack[stack.count - 1].name = name
                    if !stack[stack.count - 1].names.insert(name).inserted, duplicate == nil {
                        duplicate = (path, start)
                    }
                    if stack.count == 2, let parent = stack[0].name {
                        outline.nestedNames[parent, default: []].append(name)
                    }
                case UInt8(ascii: ":"):
                    position += 1
                    if stack.count == 1 {
                        skipWhitespace()
                        stack[0].valueStart = position
                    }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    stack.append(Frame(isObject: byte == UInt8(ascii: "{")))
                    position += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if stack.count == 1 { endTopLevelMember(into: &outline) }
                    if !stack.isEmpty { stack.removeLast() }
                    position += 1
                case UInt8(ascii: ","):
                    if stack.count == 1 { endTopLevelMember(into: &outline) }
                    if let last = stack.indices.last {
                        stack[last].expectingName = true
                        stack[last].name = nil
                        stack[last].index += 1
                    }
                    position += 1
                default:
                    position += 1
                }
            }
        }

        /// At `,` or `}` of the top-level object: the member that ends here, with its value as written.
        private mutating func endTopLevelMember(into outline: inout JSONOutline) {
            guard stack[0].isObject, let name = stack[0].name, let start = stack[0].valueStart else { return }
            var end = position
            while end > start, Self.isWhitespace(bytes[end - 1]) { end -= 1 }
            outline.members.append(Member(name: name, value: start..<end))
            stack[0].valueStart = nil
        }

        /// From an opening quote to after the closing one; returns whether the string has escapes.
        private mutating func skipString() -> Bool {
            var hasEscapes = false
            position += 1
            while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
                guard bytes[position] == UInt8(ascii: "\\") else {
                    position += 1
                    continue
                }
                hasEscapes = true
                if position + 1 < bytes.count, bytes[position + 1] == UInt8(ascii: "u"), let unit = hex4(at: position + 2) {
                    checkSurrogate(unit, at: position)
                    position += 6
                } else {
                    position += 2
                }
            }
            position += 1
            return hasEscapes
        }

        /// A high surrogate escape must be followed by a low one, and a low one must follow a high one.
        private mutating func checkSurrogate(_ unit: UInt32, at start: Int) {
            switch unit {
            case 0xD800...0xDBFF:
                let next = start + 6
                let followed = next + 1 < bytes.count && bytes[next] == UInt8(ascii: "\\") && bytes[next + 1] == UInt8(ascii: "u")
                if followed, let low = hex4(at: next + 2), (0xDC00...0xDFFF).contains(low) {
                    position += 6  // the pair is one character; skip the low half here
                    return
                }
                reportSurrogate(start, "the escape \\u\(String(unit, radix: 16)) is half of a surrogate pair, which is not valid UTF-8")
            case 0xDC00...0xDFFF:
                reportSurrogate(start, "the escape \\u\(String(unit, radix: 16)) is half of a surrogate pair, which is not valid UTF-8")
            default:
                break
            }
        }

        private func hex4(at index: Int) -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            return UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16)
        }

        private mutating func skipWhitespace() {
            while position < bytes.count, Self.isWhitespace(bytes[position]) { position += 1 }
        }

        private mutating func reportSurrogate(_ offset: Int, _ message: String) {
            guard loneSurrogate == nil else { return }
            loneSurrogate = JSONSyntaxError(offset: offset, message: message, path: path)
        }

        /// A member name as Foundation reads it (escapes decoded); as written if that fails.
        private static func decodeName(_ raw: ArraySlice<UInt8>, hasEscapes: Bool) -> String {
            guard hasEscapes else { return String(decoding: raw, as: UTF8.self) }
            return JSONText.decodeString(Array(raw)) ?? String(decoding: raw, as: UTF8.self)
        }

        static func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
        }
    }
}
