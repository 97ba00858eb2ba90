import BridgeConfig
import BridgeFrontEnd
import BridgeServer
import Crypto
import Foundation
import FuzzSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The front end's upgrade decision, as a listener makes it: a connection's first bytes parsed by NIOHTTP1's
/// request decoder (configured as `WebSocketFrontEnd.configureHandshake` configures it), the head handed to
/// `UpgradeDecision(head, routes:, admit:)` with one of three route tables and one of three admission answers. The
/// tables are configurations mapped by the bridge's own assembly (`FrontEndSettings(_:)`), as at start-up.
///
/// Input: 1 control byte (bits 0-1: the route table; bits 2-3: the admission answer), then the request bytes.
///
/// Invariants:
/// - a refusal has a 4xx/5xx status, a one-line reason and a result label; a route exactly unless it is a 404;
///   its extra headers are valid HTTP field names and values (they are written into the response);
/// - admission is consulted at most once, only for a request that passed every other check, and a 429 is exactly
///   a denied admission;
/// - an accept is a GET over HTTP/1.1 or later on the route at the request's path, whose `Sec-WebSocket-Accept` is
///   SHA-1/base64 of the client's key (computed here with swift-crypto and Foundation);
/// - the subprotocol answer is the first value the client offered that the route supports, in the client's
///   spelling, and nothing when the client offered nothing: never a value the client did not offer (a WeChat
///   mini-program fails a 101 that carries one); a client offering `mqtt` first gets `mqtt`;
/// - compression is agreed only on a route that has it and only when the client offered `permessage-deflate`,
///   with window bits within the route's settings.
enum HTTPUpgradeFuzz: FuzzTarget {
    /// The shipped routes (`/mqtt` passthrough, `/wss` mini-program); the same with compression, an origin allow
    /// list and `require_subprotocol: false`; a `/` mini-program route offering only `mqtt` (old `wxs://` clients).
    static let tables: [(routes: [RouteConfiguration], table: RouteTable)] = [
        RouteConfiguration.defaults,
        [
            RouteConfiguration(
                name: "browser", path: "/mqtt", policy: .passthrough, requireSubprotocol: false,
                allowedOrigins: ["https://app.example.com", "https://*.example.org"], allowMissingOrigin: false,
                compression: CompressionConfiguration(enabled: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11)),
            RouteConfiguration(
                name: "miniprogram", path: "/wss", policy: .miniprogram, allowedOrigins: ["https://servicewechat.com"],
                compression: CompressionConfiguration(enabled: true, serverNoContextTakeover: true)),
        ],
        [RouteConfiguration(name: "legacy", path: "/", policy: .miniprogram, subprotocols: ["mqtt"])],
    ].map { (routes: $0, table: RouteTable(settings: FrontEndSettings(BridgeConfiguration(routes: $0)))) }

    static let admissions: [ClientAdmission.Decision] = [
        .admitted(key: "198.51.100.4"), .tooManySessions(limit: 8), .rateLimited(retryAfter: 3), .admitted(key: ""),
    ]

    static let maximumHeadSize = BridgeConfiguration().limits.maxRequestHeadSize

    static func test(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let control = input.byte()
        let (routes, table) = tables[Int(control & 3) % tables.count]
        let admission = admissions[Int(control >> 2 & 3)]
        guard let head = parseHead(input.rest()) else { return }

        var consulted = 0
        let decision = UpgradeDecision(head, routes: table) {
            consulted += 1
            return admission
        }
        fuzzCheck(consulted <= 1, "admission consulted \(consulted) times")
        switch decision {
        case .refuse(let refusal):
            checkRefusal(refusal, head: head, routes: routes, consulted: consulted, admission: admission)
        case .accept(let acceptance):
            fuzzCheck(consulted == 1, "accepted without consulting admission")
            guard case .admitted(let key) = admission else {
                fuzzCheck(false, "accepted although admission said \(admission)")
                return
            }
            fuzzCheck(acceptance.admissionKey == key, "admission key \(acceptance.admissionKey), admission gave \(key)")
            checkAcceptance(acceptance, head: head, routes: routes)
        }
    }

    /// The first request head NIOHTTP1 decodes from `bytes`, as the listener's pipeline would; nil when the bytes
    /// are not (yet) a head or the decoder refuses them (the listener answers 400 or waits).
    static func parseHead(_ bytes: [UInt8]) -> HTTPRequestHead? {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = maximumHeadSize
        limits.maxHeaderListSize = maximumHeadSize
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(
                HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, informationalResponseStrategy: .drop, limitConfiguration: limits)))
        defer { _ = try? channel.finish() }
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
            guard case .head(let head)? = try channel.readInbound(as: HTTPServerRequestPart.self) else { return nil }
            return head
        } catch {
            return nil
        }
    }

    static func checkRefusal(
        _ refusal: UpgradeRefusal, head: HTTPRequestHead, routes: [RouteConfiguration], consulted: Int,
        admission: ClientAdmission.Decision
    ) {
        fuzzCheck((400...599).contains(refusal.status), "refusal status \(refusal.status)")
        fuzzCheck(!refusal.reason.isEmpty && !refusal.result.isEmpty, "refusal without a reason or result: \(refusal)")
        fuzzCheck(
            !refusal.reason.contains(where: { $0 == "\r" || $0 == "\n" }),
            "refusal reason is not one line: \(refusal.reason.debugDescription)")
        fuzzCheck(
            (refusal.status == 404) == (refusal.route == nil), "status \(refusal.status) with route \(String(describing: refusal.route))")
        if refusal.status == 404 {
            fuzzCheck(route(for: head.uri, in: routes) == nil, "404 for \(head.uri.debugDescription), which names a route")
        } else {
            fuzzCheck(
                refusal.route == route(for: head.uri, in: routes)?.name,
                "refusal names route \(refusal.route ?? "-") for \(head.uri.debugDescription)")
        }
        for field in refusal.headers {
            fuzzCheck(
                !field.name.isEmpty && field.name.utf8.allSatisfy(isTokenCharacter)
                    && field.value.utf8.allSatisfy { $0 == 0x09 || (0x20...0x7E).contains($0) || $0 >= 0x80 },
                "refusal header \(field.name.debugDescription): \(field.value.debugDescription) is not a valid field")
        }
        let denied: Bool
        switch admission {
        case .admitted: denied = false
        case .tooManySessions, .rateLimited: denied = true
        }
        if refusal.status == 429 {
            fuzzCheck(consulted == 1 && denied, "429 without a denied admission")
            fuzzCheck(refusal.headers.contains { $0.name == "Retry-After" }, "429 without Retry-After")
        } else {
            fuzzCheck(consulted == 0, "refused with \(refusal.status) after consulting admission (the allowance is used up)")
        }
    }

    static func checkAcceptance(_ acceptance: UpgradeAcceptance, head: HTTPRequestHead, routes: [RouteConfiguration]) {
        let accepted = acceptance.route.settings
        fuzzCheck(head.method == .GET, "accepted a \(head.method)")
        fuzzCheck(head.version.major == 1 && head.version.minor >= 1 || head.version.major > 1, "accepted HTTP \(head.version)")
        guard let configuration = route(for: head.uri, in: routes), RouteSettings(configuration) == accepted else {
            fuzzCheck(false, "accepted \(head.uri.debugDescription) on \(accepted.path)")
            return
        }

        let keys = head.headers["Sec-WebSocket-Key"]
        fuzzCheck(keys.count == 1, "accepted with \(keys.count) keys")
        let key = keys.first.map { trimmed($0) } ?? ""
        fuzzCheck(Data(base64Encoded: key)?.count == 16, "accepted key \(key.debugDescription) is not base64 of 16 bytes")
        let expected = Data(Insecure.SHA1.hash(data: Data((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
        fuzzCheck(acceptance.acceptValue == expected, "Sec-WebSocket-Accept \(acceptance.acceptValue), expected \(expected)")

        // The client's offer, split as RFC 7230 §7 lists are: commas, optional whitespace, empty elements ignored.
        let offered = head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",").map { trimmed($0) } }.filter { !$0.isEmpty }
        let offer = acceptance.subprotocol
        fuzzCheck(offer.offered == offered, "offer read as \(offer.offered), sent \(offered)")
        fuzzCheck(
            offer.forwardsBrokerAnswer == (configuration.policy == .passthrough),
            "forwarding the broker's answer on a \(configuration.policy) route")
        let supported = offered.first { value in configuration.subprotocols.contains { $0.lowercased() == value.lowercased() } }
        fuzzCheck(
            offer.routeAnswer == supported,
            "answer \(offer.routeAnswer ?? "none") to the offer \(offered) (expected \(supported ?? "none"))")
        if let answer = offer.routeAnswer {
            fuzzCheck(offered.contains(answer), "the answer \(answer) was not offered (\(offered))")
        } else {
            fuzzCheck(
                offered.isEmpty && (configuration.policy == .miniprogram || !configuration.requireSubprotocol),
                "accepted without a subprotocol although the client offered \(offered) on a \(configuration.policy) route")
        }
        if offered.first == "mqtt" && configuration.subprotocols.contains("mqtt") {
            fuzzCheck(offer.routeAnswer == "mqtt", "a client offering mqtt first was answered \(offer.routeAnswer ?? "nothing")")
        }

        if let agreement = acceptance.compression {
            let settings = configuration.compression
            fuzzCheck(settings.enabled, "compression agreed on a route without it")
            fuzzCheck(
                head.headers["Sec-WebSocket-Extensions"].contains { $0.lowercased().contains("permessage-deflate") },
                "compression agreed without an offer")
            fuzzCheck(
                (9...settings.serverMaxWindowBits).contains(agreement.serverMaxWindowBits)
                    && (8...15).contains(agreement.clientMaxWindowBits),
                "window bits \(agreement) outside the route's settings \(settings)")
            fuzzCheck(
                !settings.serverNoContextTakeover || agreement.serverNoContextTakeover,
                "the route compresses without context takeover but the agreement does not say so")
            fuzzCheck(agreement.responseHeaderValue.hasPrefix("permessage-deflate"), "response \(agreement.responseHeaderValue)")
        }
        if let host = acceptance.host {
            fuzzCheck(head.headers["Host"].first == host, "host \(host) is not the request's")
        } else {
            fuzzCheck(false, "accepted without a Host")
        }
    }

    /// The route at the path of a request target (no query or fragment; an absolute-form target's path).
    static func route(for uri: String, in routes: [RouteConfiguration]) -> RouteConfiguration? {
        var target = Substring(uri)
        if let scheme = target.range(of: "://") {
            let rest = target[scheme.upperBound...]
            target = rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
        }
        target = target.prefix { $0 != "?" && $0 != "#" }
        let path = target.isEmpty ? "/" : String(target)
        return routes.first { $0.path == path }
    }

    static func trimmed(_ text: some StringProtocol) -> String {
        String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    /// RFC 9110 `tchar`.
    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        func request(_ lines: [String], target: String = "/wss", method: String = "GET", version: String = "HTTP/1.1") -> [UInt8] {
            Array((["\(method) \(target) \(version)"] + lines + ["", ""]).joined(separator: "\r\n").utf8)
        }
        let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="
        // What WeChat's wx.connectSocket sends (no subprotocol unless the mini-program asks for one).
        let wechat = [
            "Host: mqtt.example.com", "Connection: Upgrade", "Pragma: no-cache", "Cache-Control: no-cache",
            "User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0.42 MiniProgramEnv/iOS",
            "Upgrade: websocket", "Origin: https://servicewechat.com", "Sec-WebSocket-Version: 13", "Accept-Encoding: gzip, deflate",
            key, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
        ]
        // Chromium with mqtt.js 5 (`new WebSocket(url, ['mqtt'])`).
        let chromium = [
            "Host: 127.0.0.1:8443", "Connection: Upgrade", "Pragma: no-cache", "Cache-Control: no-cache",
            "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
            "Upgrade: websocket", "Origin: https://app.example.com", "Sec-WebSocket-Version: 13", "Accept-Encoding: gzip, deflate, br",
            "Accept-Language: en-US,en;q=0.9", key, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
            "Sec-WebSocket-Protocol: mqtt",
        ]
        // Eclipse Paho C (MQTTV311 over ws): `mqtt`, no Origin; MQTT 3.1 clients offer `mqttv3.1`.
        let paho = [
            "Host: localhost:8080", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13", key,
            "Sec-WebSocket-Protocol: mqtt",
        ]
        return [
            ("wechat-miniprogram", [0] + request(wechat, target: "/wss?token=abc")),
            ("wechat-compression", [1] + request(wechat)),
            ("wechat-legacy-root", [2] + request(wechat, target: "/")),
            ("chromium-mqttjs", [0] + request(chromium, target: "/mqtt")),
            ("chromium-compression-origin", [1] + request(chromium, target: "/mqtt")),
            ("paho-absolute-form", [0] + request(paho, target: "http://localhost:8080/mqtt")),
            (
                "mqttv31-offer-list",
                [0] + request(paho.dropLast() + ["Sec-WebSocket-Protocol: mqttv3.1, mqtt", "Sec-WebSocket-Protocol: x"], target: "/mqtt")
            ),
            ("rate-limited", [8] + request(paho, target: "/mqtt")),
            ("too-many-sessions", [4] + request(wechat)),
            ("plain-http-get", [0] + request(["Host: mqtt.example.com", "Accept: text/html"], target: "/wss")),
            ("post-with-body", [0] + request(paho + ["Content-Length: 5"], target: "/mqtt", method: "POST") + Array("hello".utf8)),
            ("http10", [0] + request(paho, target: "/mqtt", version: "HTTP/1.0")),
            (
                "version-8",
                [0] + request(["Host: a", "Upgrade: websocket", "Connection: keep-alive, Upgrade", "Sec-WebSocket-Version: 8", key])
            ),
            ("pipelined-frame", [0] + request(paho, target: "/mqtt") + [0x82, 0x82, 1, 2, 3, 4, 0xC1, 0x02]),
        ]
    }
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    FuzzEntry.initialize(HTTPUpgradeFuzz.self)
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.test(HTTPUpgradeFuzz.self, data, size)
}
