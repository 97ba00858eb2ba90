import Testing

@testable import WebSocketTransport

/// The incremental UTF-8 check against the standard library's, whole and in every split.
@Suite struct UTF8ValidatorTests {
    static func validate(_ pieces: [[UInt8]]) -> (valid: Bool, complete: Bool) {
        var validator = UTF8Validator()
        for piece in pieces {
            guard piece.withUnsafeBytes({ validator.validate($0) }) else { return (false, false) }
        }
        return (true, validator.isAtBoundary)
    }

    static let samples: [[UInt8]] = [
        Array("plain ASCII, long enough for the eight-byte path".utf8),
        Array("κόσμε — 👋 — 中文 — \u{10FFFF}".utf8),
        [0xED, 0x9F, 0xBF], [0xEE, 0x80, 0x80], [0xEF, 0xBF, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF],  // edges that are valid
        [0xFF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xE0, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],
        [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0x80], [0x61, 0xBF],
        [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64],
    ]

    @Test(arguments: samples)
    func agreesWithTheStandardLibraryInEverySplit(bytes: [UInt8]) {
        let expected = String(validating: bytes, as: UTF8.self) != nil
        for split in 0...bytes.count {
            let result = Self.validate([Array(bytes[..<split]), Array(bytes[split...])])
            #expect((result.valid && result.complete) == expected, "split at \(split)")
        }
    }

    @Test func failsOnTheFirstImpossibleByte() {
        // A valid prefix, then a byte no continuation can repair: refused without waiting for more.
        #expect(!Self.validate([Array("abc".utf8) + [0xF4, 0x90]]).valid)
        #expect(!Self.validate([[0xE0], [0x80]]).valid, "overlong, across pieces")
        #expect(Self.validate([[0xE2, 0x82]]) == (true, false), "valid so far, but cut short")
    }
}
