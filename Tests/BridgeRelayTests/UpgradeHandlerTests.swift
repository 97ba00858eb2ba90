import BridgeConfig
import BridgeFrontEnd
import NIOCore
import Testing

/// The HTTP/1.1 upgrade through the real pipeline set-up (`WebSocketFrontEnd.configureHandshake`): raw request
/// bytes in, raw response bytes out.
@Suite struct UpgradeHandlerTests {
    /// A request written out line by line, so each test can change exactly one thing.
    struct Request {
        var requestLine = "GET /wss HTTP/1.1"
        var headers: [(String, String)] = [
            ("Host", "bridge.example"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", FrontEndHarness.rfcKey),
            ("Sec-WebSocket-Version", "13"),
        ]
        var body = ""

        init(_ target: String = "/wss", method: String = "GET", version: String = "HTTP/1.1") {
            self.requestLine = "\(method) \(target) \(version)"
        }

        func without(_ name: String) -> Request {
            var copy = self
            copy.headers.removeAll { $0.0.lowercased() == name.lowercased() }
            return copy
        }

        func with(_ name: String, _ value: String) -> Request {
            var copy = self.without(name)
            copy.headers.append((name, value))
            return copy
        }

        func adding(_ name: String, _ value: String) -> Request {
            var copy = self
            copy.headers.append((name, value))
            return copy
        }

        var text: String {
            self.requestLine + "\r\n" + self.headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n" + self.body
        }

        var bytes: [UInt8] { Array(self.text.utf8) }
    }

    static let switching: Set<String> = ["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: \(FrontEndHarness.rfcAccept)"]

    /// The headers every refusal carries, plus `extra`.
    static func refusalHeaders(body: String, _ extra: String...) -> Set<String> {
        var headers: Set<String> = ["Content-Type: text/plain; charset=utf-8", "Content-Length: \(body.utf8.count)"]
        if !extra.contains(where: { $0.hasPrefix("Connection:") }) { headers.insert("Connection: close") }
        return headers.union(extra)
    }

    /// Sends `request`, expects a refusal with `status` and exactly the standard headers plus `extra`, then a close.
    /// `result`: the `mqtt_ws_bridge_handshakes_total` label expected to move, with its route (`none` before routing).
    func expectRefusal(
        _ request: Request, _ status: String, extra: [String] = [], bodyContains: String? = nil,
        routes: [RouteConfiguration] = RouteConfiguration.defaults,
        result: (route: String, result: String)? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let harness = try FrontEndHarness(routes: routes)
        defer { harness.finish() }
        try harness.send(request.bytes)
        guard let response = try harness.response() else {
            Issue.record("no response", sourceLocation: sourceLocation)
            return
        }
        #expect(response.statusLine == "HTTP/1.1 \(status)", sourceLocation: sourceLocation)
        var expected: Set<String> = ["Content-Type: text/plain; charset=utf-8", "Content-Length: \(response.body.utf8.count)"]
        if !extra.contains(where: { $0.hasPrefix("Connection:") }) { expected.insert("Connection: close") }
        expected.formUnion(extra)
        #expect(response.headerSet == expected, sourceLocation: sourceLocation)
        #expect(response.headerLines.count == expected.count, "duplicate header lines", sourceLocation: sourceLocation)
        #expect(
            response.body.hasSuffix("\n") && response.body.dropLast().count > 0 && !response.body.dropLast().contains("\n"),
            "one-line body: \(response.body)", sourceLocation: sourceLocation)
        if let bodyContains {
            #expect(response.body.contains(bodyContains), "body: \(response.body)", sourceLocation: sourceLocation)
        }
        #expect(response.trailing.isEmpty, "bytes after the refusal", sourceLocation: sourceLocation)
        #expect(!harness.isOpen, "the connection is closed after a refusal", sourceLocation: sourceLocation)
        #expect(!response.headerLines.contains { $0.hasPrefix("Sec-WebSocket-Accept") }, sourceLocation: sourceLocation)
        if let result {
            let counted = harness.metrics.value("mqtt_ws_bridge_handshakes_total", [("route", result.route), ("result", result.result)])
            #expect(counted == 1, "handshake metric \(result): \(harness.metrics.nonZeroValues)", sourceLocation: sourceLocation)
        }
        #expect(harness.metrics.value("mqtt_ws_bridge_sessions_total", [("route", "miniprogram")]) == 0, sourceLocation: sourceLocation)
    }

    // MARK: 101

    @Test func miniprogramRouteWithoutSubprotocolAnswersWithoutTheHeader() throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        try harness.send(Request("/wss").bytes)
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 101 Switching Protocols")
        #expect(response.headerSet == Self.switching)
        #expect(response.headerLines.count == 3)
        #expect(
            !response.headerLines.contains { $0.lowercased().hasPrefix("sec-websocket-protocol") }, "WeChat fails on an unasked subprotocol"
        )
        #expect(response.body.isEmpty && response.trailing.isEmpty)
        #expect(harness.isOpen)
        #expect(harness.handlerTypeNames == ["WebSocketMessageCodec", "ClientSessionHandler"])
        #expect(harness.metrics.value("mqtt_ws_bridge_handshakes_total", [("route", "miniprogram"), ("result", "accepted")]) == 1)
    }

    @Test(arguments: ["/wss", "/mqtt"])
    func offeredMqttIsEchoed(_ path: String) throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        try harness.send(Request(path).with("Sec-WebSocket-Protocol", "mqtt").bytes)
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 101 Switching Protocols")
        #expect(response.headerSet == Self.switching.union(["Sec-WebSocket-Protocol: mqtt"]))
        #expect(response.headerLines.count == 4)
        #expect(harness.handlerTypeNames == ["WebSocketMessageCodec", "ClientSessionHandler"])
    }

    @Test func offersOnSeveralHeaderLinesAreOneListAndTheClientsSpellingIsEchoed() throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        try harness.send(Request("/mqtt").adding("Sec-WebSocket-Protocol", "foo").adding("Sec-WebSocket-Protocol", "MQTTv3.1, mqtt").bytes)
        let response = try #require(try harness.response())
        #expect(response.headerSet == Self.switching.union(["Sec-WebSocket-Protocol: MQTTv3.1"]))
    }

    @Test func browserStyleHeadersAreAccepted() throws {
        // Firefox: "Connection: keep-alive, Upgrade"; some clients capitalise the Upgrade token.
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        let request = Request("/wss").with("Connection", "keep-alive, Upgrade").with("Upgrade", "WebSocket")
            .adding("Origin", "https://servicewechat.com").adding("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
        try harness.send(request.bytes)
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 101 Switching Protocols")
        #expect(response.headerSet == Self.switching, "no extension is negotiated")
    }

    @Test(arguments: ["/wss?token=abc&v=1", "/wss?", "/wss#fragment", "http://bridge.example/wss?x=y"])
    func queryStringIsIgnoredWhenRouting(_ target: String) throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        try harness.send(Request(target).bytes)
        #expect(try harness.response()?.statusLine == "HTTP/1.1 101 Switching Protocols")
    }

    @Test(arguments: ["/", "/?clientId=abc"])
    func rootRouteWorksWhenConfigured(_ target: String) throws {
        let routes = RouteConfiguration.defaults + [RouteConfiguration(name: "legacy", path: "/", policy: .miniprogram)]
        let harness = try FrontEndHarness(routes: routes)
        defer { harness.finish() }
        try harness.send(Request(target).bytes)
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 101 Switching Protocols")
        #expect(response.headerSet == Self.switching)
        #expect(harness.metrics.value("mqtt_ws_bridge_handshakes_total", [("route", "legacy"), ("result", "accepted")]) == 1)
    }

    @Test func rootIsNotARouteUnlessConfigured() throws {
        try self.expectRefusal(Request("/"), "404 Not Found")
    }

    // MARK: Refusals

    @Test(arguments: ["/nope", "/wss/", "/WSS", "/mqtt/extra"])
    func unknownPathIs404(_ target: String) throws {
        try self.expectRefusal(Request(target), "404 Not Found", result: ("none", "not_found"))
    }

    @Test func unknownPathIs404WhateverTheMethod() throws {
        try self.expectRefusal(Request("/nope", method: "POST"), "404 Not Found")
    }

    @Test func plainGetOnARouteIs426() throws {
        var request = Request("/wss")
        request.headers = [("Host", "bridge.example"), ("Accept", "text/html")]
        try self.expectRefusal(
            request, "426 Upgrade Required", extra: ["Upgrade: websocket", "Connection: Upgrade, close", "Sec-WebSocket-Version: 13"],
            result: ("miniprogram", "upgrade_required"))
    }

    @Test func postIs405() throws {
        try self.expectRefusal(
            Request("/wss", method: "POST"), "405 Method Not Allowed", extra: ["Allow: GET"], result: ("miniprogram", "method_not_allowed"))
    }

    struct BadRequest: Sendable, CustomTestStringConvertible {
        var name: String
        var result = "bad_request"
        var make: @Sendable (Request) -> Request
        var testDescription: String { self.name }
    }

    static let badRequests: [BadRequest] = [
        BadRequest(name: "missing key") { $0.without("Sec-WebSocket-Key") },
        BadRequest(name: "key not base64") { $0.with("Sec-WebSocket-Key", "not a key!") },
        BadRequest(name: "key of 15 bytes") { $0.with("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA") },
        BadRequest(name: "key of 17 bytes") { $0.with("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA=") },
        BadRequest(name: "two keys") { $0.adding("Sec-WebSocket-Key", "x3JJHMbDL1EzLkh9GBhXDw==") },
        BadRequest(name: "missing version") { $0.without("Sec-WebSocket-Version") },
        BadRequest(name: "missing Host") { $0.without("Host") },
        BadRequest(name: "HTTP/1.0") { request in
            var copy = request
            copy.requestLine = "GET /wss HTTP/1.0"
            return copy
        },
        BadRequest(name: "Connection without upgrade") { $0.with("Connection", "keep-alive") },
        BadRequest(name: "no Connection header") { $0.without("Connection") },
        BadRequest(name: "body with Content-Length") { request in
            var copy = request.with("Content-Length", "5")
            copy.body = "hello"
            return copy
        },
        BadRequest(name: "chunked body") { request in
            var copy = request.with("Transfer-Encoding", "chunked")
            copy.body = "5\r\nhello\r\n0\r\n\r\n"
            return copy
        },
        BadRequest(name: "passthrough route without a subprotocol", result: "subprotocol_refused") { request in
            var copy = request
            copy.requestLine = "GET /mqtt HTTP/1.1"
            return copy
        },
        BadRequest(name: "miniprogram route with only unknown subprotocols", result: "subprotocol_refused") {
            $0.with("Sec-WebSocket-Protocol", "foo, bar")
        },
    ]

    @Test(arguments: badRequests)
    func badUpgradeRequestIs400(_ bad: BadRequest) throws {
        let request = bad.make(Request("/wss"))
        let route = request.requestLine.contains("/mqtt") ? "browser" : "miniprogram"
        try self.expectRefusal(request, "400 Bad Request", result: (route, bad.result))
    }

    @Test func contentLengthZeroIsNotABody() throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        try harness.send(Request("/wss").with("Content-Length", "0").bytes)
        #expect(try harness.response()?.statusLine == "HTTP/1.1 101 Switching Protocols")
    }

    @Test(arguments: ["8", "12", "14"])
    func unsupportedVersionIs426WithTheVersionWeSpeak(_ version: String) throws {
        try self.expectRefusal(
            Request("/wss").with("Sec-WebSocket-Version", version), "426 Upgrade Required", extra: ["Sec-WebSocket-Version: 13"],
            bodyContains: version, result: ("miniprogram", "unsupported_version"))
    }

    @Test func malformedHTTPIs400() throws {
        try self.expectRefusal(Request("/wss", version: "HTTX/1.1"), "400 Bad Request", result: ("none", "bad_request"))
    }

    // MARK: 431

    @Test(arguments: [[Int.max], [1], [7, 100, 3]])
    func hugeHeaderIs431(_ chunkSizes: [Int]) throws {
        let harness = try FrontEndHarness(maxRequestHeadSize: 1024)
        defer { harness.finish() }
        let request = Request("/wss").adding("X-Padding", String(repeating: "a", count: 2000))
        try harness.send(request.bytes, chunkSizes: chunkSizes)
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 431 Request Header Fields Too Large")
        #expect(response.headerSet == Self.refusalHeaders(body: response.body))
        #expect(!harness.isOpen)
        #expect(harness.metrics.value("mqtt_ws_bridge_handshakes_total", [("route", "none"), ("result", "header_too_large")]) == 1)
    }

    @Test func refusalWithoutAHeadIsLoggedWithThePeerAddress() throws {
        // No request head means no forwarding headers, but the log line still says who it was.
        let harness = try FrontEndHarness(maxRequestHeadSize: 1024)
        defer { harness.finish() }
        try harness.send(Request("/wss").adding("X-Padding", String(repeating: "a", count: 2000)).bytes)
        #expect(try harness.response()?.statusLine == "HTTP/1.1 431 Request Header Fields Too Large")
        let line = try #require(harness.logs.entries.first { $0.message == "handshake refused" })
        #expect(line.metadata["client"] == "198.51.100.4:40000")
    }

    @Test(arguments: [[1], [10], [100], [1000]])
    func hugeRequestLineInSmallChunksIs431(_ chunkSizes: [Int]) throws {
        let harness = try FrontEndHarness(maxRequestHeadSize: 1024)
        defer { harness.finish() }
        // The line never ends: only the byte limit can stop it.
        let line = Array(("GET /wss?" + String(repeating: "q", count: 4000)).utf8)
        try harness.send(line, chunkSizes: chunkSizes)
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 431 Request Header Fields Too Large")
        #expect(response.headerSet == Self.refusalHeaders(body: response.body))
        #expect(!harness.isOpen, "closed after the 431")
    }

    @Test func manySmallHeadersOverTheLimitAre431() throws {
        let harness = try FrontEndHarness(maxRequestHeadSize: 1024)
        defer { harness.finish() }
        var request = Request("/wss")
        for index in 0..<100 { request = request.adding("X-H\(index)", "v") }
        try harness.send(request.bytes, chunkSizes: [64])
        #expect(try harness.response()?.statusLine == "HTTP/1.1 431 Request Header Fields Too Large")
        #expect(!harness.isOpen)
    }

    @Test func headJustUnderTheLimitWithAPipelinedFrameIsNot431() throws {
        // The limit is on the head; a first frame in the same segment must not count against it.
        let harness = try FrontEndHarness(maxRequestHeadSize: 1024)
        defer { harness.finish() }
        var request = Request("/wss")
        let padding = 1024 - request.bytes.count - "X-Pad: \r\n".utf8.count
        request = request.adding("X-Pad", String(repeating: "p", count: padding))
        #expect(request.bytes.count == 1024)
        let frame = ClientFrame.binary(MQTTSample.connect()).encoded
        try harness.send(request.bytes + frame)
        #expect(try harness.response()?.statusLine == "HTTP/1.1 101 Switching Protocols")
        #expect(harness.isOpen)
        // A later read delivers the CONNECT too (see `framesSentWithTheRequestReachTheSession` for why it waits).
        try harness.send(ClientFrame.binary(MQTTSample.pingreq).encoded)
        #expect(try harness.bytesToBroker() == MQTTSample.connect() + MQTTSample.pingreq)
    }

    // MARK: Timing

    @Test func handshakeTimeoutClosesASilentConnection() throws {
        let harness = try FrontEndHarness(handshakeTimeout: .seconds(5))
        defer { harness.finish() }
        harness.advance(by: .milliseconds(4999))
        #expect(harness.isOpen)
        harness.advance(by: .milliseconds(1))
        #expect(!harness.isOpen)
        #expect(try harness.output().isEmpty, "a timed-out handshake gets no response")
        #expect(harness.metrics.value("mqtt_ws_bridge_handshakes_total", [("route", "none"), ("result", "timeout")]) == 1)
    }

    @Test func handshakeTimeoutClosesAnIncompleteRequest() throws {
        let harness = try FrontEndHarness(handshakeTimeout: .seconds(5))
        defer { harness.finish() }
        try harness.send(Array(Request("/wss").bytes.dropLast(2)))
        harness.advance(by: .seconds(5))
        #expect(!harness.isOpen)
    }

    @Test func handshakeTimeoutDoesNotFireAfterTheUpgrade() throws {
        let harness = try FrontEndHarness(handshakeTimeout: .seconds(5), connectTimeout: .seconds(30))
        defer { harness.finish() }
        try harness.send(Request("/wss").bytes)
        harness.advance(by: .seconds(20))
        #expect(harness.isOpen)
    }

    @Test func drainDuringTheHandshakeClosesTheConnection() throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        try harness.send(Array(Request("/wss").bytes.prefix(20)))
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!harness.isOpen)
    }

    // MARK: Hand-over to the session

    @Test func framesSentWithTheRequestReachTheSession() throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        let mqtt = MQTTSample.connect() + MQTTSample.subscribe()
        let frames = encode([.binary(Array(mqtt.prefix(10)), fin: false), .continuation(Array(mqtt.dropFirst(10)))])
        try harness.send(Request("/wss").bytes + frames)
        let response = try #require(try harness.response())
        #expect(response.statusLine == "HTTP/1.1 101 Switching Protocols")
        #expect(response.trailing.isEmpty, "nothing but the 101 before the broker answers")
        #expect(harness.handlerTypeNames == ["WebSocketMessageCodec", "ClientSessionHandler"])
        // The decoder forwards its left-over bytes to the codec from the deferred removal task, without a
        // channelReadComplete; the codec passes payloads on at channelReadComplete, so the CONNECT waits for the
        // client's next read. A client that waits for its CONNACK never sends one: it gets close 1002 at the
        // CONNECT timeout.
        let relayed = try harness.bytesToBroker()
        #expect(relayed == mqtt, "CONNECT and SUBSCRIBE relayed byte-exact")
        // Nothing is lost: the next read delivers them, in order.
        try harness.send(ClientFrame.binary(MQTTSample.pingreq).encoded)
        #expect(try harness.bytesToBroker() == mqtt + MQTTSample.pingreq)
    }

    @Test(arguments: [[1], [5], [13], [100, 7]])
    func framesSplitAcrossReadsWithTheRequestReachTheSession(_ chunkSizes: [Int]) throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        let mqtt = MQTTSample.connect() + MQTTSample.publish(payload: Array(0..<200))
        try harness.send(Request("/wss?x=1").bytes + encode([.binary(mqtt)]), chunkSizes: chunkSizes)
        #expect(try harness.response()?.statusLine == "HTTP/1.1 101 Switching Protocols")
        #expect(try harness.bytesToBroker() == mqtt)
    }

    @Test func sessionGetsTheClientAddressRouteAndSubprotocol() throws {
        let harness = try FrontEndHarness()
        defer { harness.finish() }
        try harness.send(Request("/mqtt").with("Sec-WebSocket-Protocol", "mqtt").bytes)
        try harness.send(ClientFrame.binary(MQTTSample.connect(level: 5)).encoded)
        #expect(try harness.bytesToBroker() == MQTTSample.connect(level: 5))
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try harness.send(ClientFrame.close(1001).encoded)
        harness.finish()
        let line = try #require(harness.logs.entries(label: "access").first)
        #expect(line.metadata["client"] == "198.51.100.4:40000")
        #expect(line.metadata["listener"] == "wss")
        #expect(line.metadata["route"] == "browser")
        #expect(line.metadata["subprotocol"] == "mqtt")
        #expect(line.metadata["mqtt_version"] == "5.0")
        #expect(line.metadata["close_code"] == "1001")
    }

    @Test(arguments: [
        ("2001:db8::1", "[2001:db8::1]:40000"),
        ("::ffff:203.0.113.9", "203.0.113.9:40000"),
        ("203.0.113.9", "203.0.113.9:40000"),
    ])
    func clientAddressAsTheAccessLogShowsIt(_ ip: String, _ shown: String) throws {
        let harness = try FrontEndHarness(remoteAddress: try SocketAddress(ipAddress: ip, port: 40000))
        defer { harness.finish() }
        try harness.send(Request("/wss").bytes)
        harness.channel.close(promise: nil)
        #expect(harness.logs.entries(label: "access").first?.metadata["client"] == shown)
    }
}
