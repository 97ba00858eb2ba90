@testable import BridgeAdmin
import MosquittoClient
import Testing

/// The admin module's pure parts, without a network: the publish body (Foundation's JSON and base64 with our
/// errors), the token check, the readiness rules.
@Suite("Admin listener: building blocks")
struct AdminUnitTests {
    @Test("strings are exactly what the client wrote: escapes decoded, pairs joined; invalid UTF-8 and lone surrogates refused with the field")
    func jsonStrings() throws {
        let message = try PublishRequest.parse(Array(#"{"topic": "a\"\\\/\u00e9", "payload": "\b\f\n\r\t\u00e9\u4e2d\ud83d\ude00"}"#.utf8))
        #expect(message.topic == "a\"\\/é")
        #expect(message.payload == Array("\u{8}\u{c}\n\r\té中😀".utf8))
        for (body, field) in [
            (Array(#"{"topic": "\udc80"}"#.utf8), "topic"),
            (Array(#"{"payload": "x", "topic": "a\ud800x"}"#.utf8), "topic"),
            (Array(#"{"topic": "a/"#.utf8) + [0xFF] + Array(#"", "payload": "x"}"#.utf8), "topic"),
            (Array(#"{"payload": "ok", "user_properties": {"k": "\udfff"}}"#.utf8), "user_properties"),
        ] {
            #expect(throws: PublishRequestError.self) { try PublishRequest.parse(body) }
            do {
                _ = try PublishRequest.parse(body)
            } catch {
                #expect(error.field == field, "\(error)")
                #expect(error.message.contains("UTF-8"), "\(error)")
                #expect(error.message.hasPrefix("invalid JSON at byte"), "\(error)")
            }
        }
    }

    @Test("syntax errors: Foundation's reason, the byte offset, and the member it falls in", arguments: [
        (#"{"topic": "x", "qos": }"#, 22, "qos"),
        (#"{"user_properties": {"k": tru}}"#, 29, "user_properties.k"),
        (#"{"é": 1, "qos": }"#, 17, "qos"),
        (#"{"a": 01}"#, 7, "a"),
        (#"{"a": "line"#, 11, "a"),
        ("{\"a\": \"tab\there\"}", 10, "a"),
        (#"[1, 2"#, 5, nil),
        (#"{} {}"#, 3, nil),
        (#"{"a": "\x"}"#, 7, "a"),
    ] as [(String, Int, String?)])
    func jsonErrors(text: String, offset: Int, field: String?) {
        #expect(throws: JSONSyntaxError.self) { try JSONText.parse(Array(text.utf8)) }
        do {
            _ = try JSONText.parse(Array(text.utf8))
        } catch {
            #expect(error.field == field, "\(error.description)")
            #expect(error.offset == offset, "\(error.description)")
            #expect(error.description.hasPrefix("invalid JSON at byte \(offset)"), "\(error.description)")
        }
    }

    @Test("deliberate strictness: a trailing comma passes (Foundation), 512 levels of nesting at most, names given twice are refused")
    func jsonStrictness() throws {
        #expect(try PublishRequest.parse(Array(#"{"topic": "a", "payload": "x",}"#.utf8)).topic == "a")
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONSyntaxError.self) { try JSONText.parse(Array(deep.utf8)) }
        for (body, field) in [
            (#"{"topic": "a", "topic": "b", "payload": "x"}"#, "topic"),
            (#"{"topic": "a", "\u0074opic": "b", "payload": "x"}"#, "topic"),
            (#"{"topic": "a", "payload": "x", "user_properties": {"k": "1", "k": "2"}}"#, "user_properties"),
        ] {
            #expect(throws: PublishRequestError.self) { try PublishRequest.parse(Array(body.utf8)) }
            do {
                _ = try PublishRequest.parse(Array(body.utf8))
            } catch {
                #expect(error.field == field, "\(error)")
                #expect(error.message.contains("more than once"), "\(error)")
            }
        }
    }

    @Test("numbers are taken as written: qos 0, 1 or 2 and message_expiry in digits; other spellings of the same value are refused")
    func numberSpellings() throws {
        for (qos, level) in [("0", 0), ("1", 1), ("2", 2)] {
            #expect(try PublishRequest.parse(Array(#"{"topic": "a", "payload": "x", "qos": \#(qos)}"#.utf8)).qos.rawValue == level)
        }
        for qos in ["-0", "1.0", "1e0", "-1", "3", "\"1\"", "true", "[1]"] {
            #expect(throws: PublishRequestError.self, "\(qos)") {
                try PublishRequest.parse(Array(#"{"topic": "a", "payload": "x", "qos": \#(qos)}"#.utf8))
            }
        }
        #expect(try PublishRequest.parse(Array(#"{"topic": "a", "payload": "x", "message_expiry": 4294967295}"#.utf8))
            .messageExpiryInterval == 4_294_967_295)
        for expiry in ["-0", "4294967296", "1.5", "6e1", "\"60\""] {
            #expect(throws: PublishRequestError.self, "\(expiry)") {
                try PublishRequest.parse(Array(#"{"topic": "a", "payload": "x", "message_expiry": \#(expiry)}"#.utf8))
            }
        }
    }

    @Test("user properties as an object keep the order written")
    func userPropertyOrder() throws {
        let message = try PublishRequest.parse(Array(#"{"topic": "a", "payload": "x", "user_properties": {"z": "1", "a": "2", "m": "3"}}"#.utf8))
        #expect(message.userProperties.map(\.name) == ["z", "a", "m"])
    }

    @Test("base64: standard alphabet through Foundation; padding optional (at most two =); nothing else", arguments: [
        ("aGVsbG8=", Array("hello".utf8) as [UInt8]?),
        ("aGVsbG8", Array("hello".utf8)),
        ("aGVsbG8==", Array("hello".utf8)),
        ("aGVsbG9=", Array("hello".utf8)),
        ("", []),
        ("/+8=", [0xFF, 0xEF]),
        ("aGVsbG8===", nil),
        ("a", nil),
        ("=", nil),
        ("aGV sbG8=", nil),
        ("aGVsbG8=\n", nil),
        ("_-8=", nil),
        ("a=bc", nil),
    ])
    func base64(text: String, decoded: [UInt8]?) {
        #expect(PublishRequest.decodeBase64(text) == decoded)
    }

    @Test("the bearer token: scheme case-insensitive, exact token only")
    func token() {
        let token = BearerToken("0123456789abcdef")
        #expect(token.accepts(authorization: "Bearer 0123456789abcdef"))
        #expect(token.accepts(authorization: "bearer 0123456789abcdef"))
        #expect(!token.accepts(authorization: nil))
        #expect(!token.accepts(authorization: "Bearer 0123456789abcdeF"))
        #expect(!token.accepts(authorization: "Bearer 0123456789abcde"))
        #expect(!token.accepts(authorization: "Bearer 0123456789abcdef0"))
        #expect(!token.accepts(authorization: "Basic 0123456789abcdef"))
        #expect(!token.accepts(authorization: "Bearer "))
    }

    @Test("the publish body becomes the message asked for")
    func publishRequest() throws {
        let message = try PublishRequest.parse(Array(#"""
            {"topic": "a/b", "payload": "hi", "qos": 2, "retain": true, "content_type": "text/plain",
             "message_expiry": 60, "user_properties": [{"name": "k", "value": "1"}, {"name": "k", "value": "2"}]}
            """#.utf8))
        #expect(message == MosquittoMessage(
            topic: "a/b", payload: Array("hi".utf8), qos: .exactlyOnce, retain: true,
            userProperties: [.init(name: "k", value: "1"), .init(name: "k", value: "2")],
            contentType: "text/plain", messageExpiryInterval: 60))
        let minimal = try PublishRequest.parse(Array(#"{"topic": "x", "payload_base64": "AAE=", "qos": null}"#.utf8))
        #expect(minimal == MosquittoMessage(topic: "x", payload: [0, 1]))
        #expect(throws: PublishRequestError.self) { try PublishRequest.parse(Array(#"{"topic": "x", "payload": "\udc80"}"#.utf8)) }
    }

    @Test("readiness: draining wins, then starting, then the probe's failure, then staleness")
    func readinessRules() {
        let now = ContinuousClock.now
        let fresh = ProbeRecord(result: .ready(latency: .milliseconds(1)), finishedAt: now - .seconds(1))
        let old = ProbeRecord(result: .ready(latency: .milliseconds(1)), finishedAt: now - .seconds(20))
        let refused = ProbeRecord(
            result: .notReady(MosquittoError(kind: .unreachable, reason: "Connection refused")), finishedAt: now)
        func evaluate(_ phase: BridgePhase, _ last: ProbeRecord?) -> Readiness {
            Readiness.evaluate(phase: phase, last: last, now: now, staleAfter: .seconds(15))
        }
        #expect(evaluate(.listening, fresh).isReady)
        #expect(evaluate(.draining, fresh).reason == "draining")
        #expect(evaluate(.stopped, fresh).reason == "stopped")
        #expect(evaluate(.starting, fresh).reason == "starting")
        #expect(evaluate(.listening, nil).reason == "starting")
        #expect(evaluate(.listening, refused).reason == "unreachable")
        #expect(evaluate(.listening, refused).detail == "Connection refused")
        #expect(evaluate(.listening, old).reason == "stale")
        #expect(!evaluate(.listening, old).isReady)
    }
}
