extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CR and LF: the whitespace of HTTP header values (RFC 9110 OWS,
    /// plus the line ends a hand-written configuration value may carry). Other characters, Unicode spaces included,
    /// are content. A slice of the original: nothing is copied.
    ///
    /// The one trimming helper for modules that stay free of Foundation (the hot path: WebSocketTransport,
    /// BridgeRelay; and BridgeFrontEnd, ClientAddress); modules that use Foundation use its
    /// `trimmingCharacters(in: .whitespaces)`.
    package func trimmingASCIIWhitespace() -> Substring {
        let text = Substring(self)
        let utf8 = text.utf8
        guard let first = utf8.firstIndex(where: { !isASCIIWhitespace($0) }),
            let last = utf8.lastIndex(where: { !isASCIIWhitespace($0) })
        else {
            return text[text.endIndex...]
        }
        return text[first..<utf8.index(after: last)]
    }
}

private func isASCIIWhitespace(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
}
