/// The bytes of a WebSocket upgrade request (RFC 6455 §4.1) and the checks its 101 answer must pass.
struct UpgradeRequest {
    let bytes: [UInt8]
    /// The `Sec-WebSocket-Key` actually sent (an override included), nil when omitted.
    let key: String?
    let offeredExtensions: Bool

    init(
        host: String, port: Int, path: String, subprotocols: [String]?,
        extraHeaders: [(String, String)], omitHeaders: Set<String>
    ) {
        let hostValue = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var standard: [(String, String)] = [
            ("Host", hostValue),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", WebSocketHandshakeKey.random()),
            ("Sec-WebSocket-Version", "13"),
        ]
        if let subprotocols {
            standard.append(("Sec-WebSocket-Protocol", subprotocols.joined(separator: ", ")))
        }
        let omitted = Set(omitHeaders.map { $0.lowercased() })
        var extras = extraHeaders
        var headers: [(String, String)] = []
        for (name, value) in standard where !omitted.contains(name.lowercased()) {
            if let index = extras.firstIndex(where: { $0.0.lowercased() == name.lowercased() }) {
                headers.append(extras.remove(at: index))
            } else {
                headers.append((name, value))
            }
        }
        headers += extras

        var text = "GET \(path) HTTP/1.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        self.bytes = Array(text.utf8)
        self.key = headers.last { $0.0.lowercased() == "sec-websocket-key" }?.1
        self.offeredExtensions = headers.contains { $0.0.lowercased() == "sec-websocket-extensions" }
    }

    /// What is wrong with a 101 answer to this request (RFC 6455 §4.1, client requirements 1–5), nil if valid.
    /// The subprotocol is left to the test on purpose.
    func problem(with response: HTTPHandshakeResponse) -> String? {
        if !response.tokens("Upgrade").contains("websocket") {
            return "Upgrade is \(response.values("Upgrade")), expected websocket"
        }
        if !response.tokens("Connection").contains("upgrade") {
            return "Connection is \(response.values("Connection")), expected Upgrade"
        }
        guard let key else { return "101 to a request without Sec-WebSocket-Key" }
        let expected = WebSocketHandshakeKey.acceptValue(forKey: key)
        let accept = response.values("Sec-WebSocket-Accept")
        if accept != [expected] {
            return "Sec-WebSocket-Accept is \(accept), expected [\(expected)]"
        }
        if !offeredExtensions && !response.values("Sec-WebSocket-Extensions").isEmpty {
            return "Sec-WebSocket-Extensions \(response.values("Sec-WebSocket-Extensions")) answered but none offered"
        }
        return nil
    }
}
