import Testing
import TextTrimming

@Suite("One trimming helper")
struct TrimmingTests {
    @Test(
        "spaces, tabs, CR and LF go from both ends; inner and Unicode whitespace stay",
        arguments: [
            ("  mqtt ", "mqtt"),
            ("\t13\t", "13"),
            ("10.0.0.0/8\r\n", "10.0.0.0/8"),
            (" a b ", "a b"),
            ("\u{A0}x\u{A0}", "\u{A0}x\u{A0}"),
            (" é中😀 ", "é中😀"),
            (" e\u{301} ", "e\u{301}"),
            ("   ", ""),
            ("", ""),
        ])
    func trims(text: String, expected: String) {
        #expect(text.trimmingASCIIWhitespace() == expected)
        #expect(text[...].trimmingASCIIWhitespace() == expected)
    }
}
