import JSONInspection
import MosquittoClient
import Testing

@testable import BridgeAdmin

/// The admin module's pure parts, without a network: the publish body (Foundation's JSON and base64 with our
/// errors), the token check, the readiness rules.
@Suite("Admin listener: building blocks")
struct AdminUnitTests {
    @Test(
        "strings are exactly what the client wrote: escapes decoded, pairs joined; invalid UTF-8 and lone surrogates refused with the field"
    )
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

    @Test(
        "syntax errors: Foundation's reason, the byte offset, and the member it falls in",
        arguments: [
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

    /// Found by the admin-publish fuzz target: a member whose name starts with a dot was cut out of the dotted path as
    /// an empty name, so the refusal's `field` was "".
    @Test("a syntax error inside a member whose name contains dots names that member whole")
    func syntaxErrorInADottedMemberName() {
        let body = Array(#"{"topic": "a", "payload": "x", ".ess": "d83d5}"#.utf8)
        do {
            _ = try PublishRequest.parse(body)
            Issue.record("an unterminated string was accepted")
        } catch {
            #expect(error.field == ".ess", "\(error.message)")
            #expect(error.message.contains(#"(in ".ess")"#), "\(error.message)")
        }
    }

    /// Found by the admin-publish fuzz target: a member name with a carriage return made the refusal two lines.
    @Test("member names with control characters are quoted escaped: a refusal is always one line")
    func controlCharactersInMemberNames() {
        // The third: Foundation's own message quotes the bad escape's text, `\r` and NULs included (admin-publish fuzz target).
        for body in [
            "{\"topic\": \"a\", \"pa\u{01}\r\": \"x\"}", "{\"topic\": \"a\", \"p\r\": \"x\" \"q\": 1}",
            "{\"top\\ud\r\u{0}\u{0}\u{0}e\": 1}",
        ] {
            do {
                _ = try PublishRequest.parse(Array(body.utf8))
                Issue.record("accepted \(body.debugDescription)")
            } catch {
                #expect(
                    !error.message.contains(where: { $0.unicodeScalars.contains { $0.value < 0x20 } }), "\(error.message.debugDescription)")
                #expect(error.message.contains(#"\u{d}"#), "\(error.message.debugDescription)")
            }
        }
    }

    /// Found by the admin-publish fuzz target: a member name cut short by the end of the body, after a backslash,
    /// made locating the syntax error read past the end of the text (a trap, so a crash of the process).
    @Test("a body that ends inside a member name after a backslash is a syntax error, not a crash")
    func bodyEndingInAnEscapeInAName() {
        for body in [#"{"a\"#, #"{"topic": "a", "b\"#, #"{"a\u00"#] {
            #expect(throws: PublishRequestError.self, "\(body)") { try PublishRequest.parse(Array(body.utf8)) }
        }
    }

    /// Found by the admin-publish fuzz target (a harness check that expected every name to be non-empty): `""` is a
    /// legal JSON member name, unknown like any other, and the refusal names it.
    @Test("a member with an empty name is an unknown field, named \"\"")
    func emptyMemberName() {
        for body in [#"{"topic": "a", "payload": "x", "": 1}"#, #"{"topic": "a", "": 01}"#, #"{"": 1, "": 2}"#] {
            do {
                _ = try PublishRequest.parse(Array(body.utf8))
                Issue.record("accepted \(body)")
            } catch {
                #expect(error.field == "", "\(body)")
                #expect(error.message.contains(#""""#), "\(error.message)")
            }
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
        #expect(
            try PublishRequest.parse(Array(#"{"topic": "a", "payload": "x", "message_expiry": 4294967295}"#.utf8))
                .messageExpiryInterval == 4_294_967_295)
        for expiry in ["-0", "4294967296", "1.5", "6e1", "\"60\""] {
            #expect(throws: PublishRequestError.self, "\(expiry)") {
                try PublishRequest.parse(Array(#"{"topic": "a", "payload": "x", "message_expiry": \#(expiry)}"#.utf8))
            }
        }
    }

    @Test("user properties as an object keep the order written")
    func userPropertyOrder() throws {
        let message = try PublishRequest.parse(
            Array(#"{"topic": "a", "payload": "x", "user_properties": {"z": "1", "a": "2", "m": "3"}}"#.utf8))
        #expect(message.userProperties.map(\.name) == ["z", "a", "m"])
    }

    @Test(
        "base64: standard alphabet through Foundation; padding optional (at most two =); nothing else",
        arguments: [
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
        let message = try PublishRequest.parse(
            Array(
                #"""
                {"topic": "a/b", "payload": "hi", "qos": 2, "retain": true, "content_type": "text/plain",
                 "message_expiry": 60, "user_properties": [{"name": "k", "value": "1"}, {"name": "k", "value": "2"}]}
                """#.utf8))
        #expect(
            message
                == MosquittoMessage(
                    topic: "a/b", payload: Array("hi".utf8), qos: .exactlyOnce, retain: true,
                    userProperties: [.init(name: "k", value: "1"), .init(name: "k", value: "2")],
                    contentType: "text/plain", messageExpiryInterval: 60))
        let minimal = try PublishRequest.parse(Array(#"{"topic": "x", "payload_base64": "AAE=", "qos": null}"#.utf8))
        #expect(minimal == MosquittoMessage(topic: "x", payload: [0, 1]))
        #expect(throws: PublishRequestError.self) { try PublishRequest.parse(Array(#"{"topic": "x", "payload": "\udc80"}"#.utf8)) }
    }

    static let refused = MosquittoProbeResult.notReady(MosquittoError(kind: .unreachable, reason: "Connection refused"))
    static let busy = MosquittoProbeResult.notReady(MosquittoError(kind: .timeout, reason: "no CONNACK within 2s"))
    static let fine = MosquittoProbeResult.ready(latency: .milliseconds(1))

    func history(
        _ results: [MosquittoProbeResult], failureThreshold: Int = 3, successThreshold: Int = 1, at now: ContinuousClock.Instant
    ) -> ProbeHistory {
        var history = ProbeHistory(failureThreshold: failureThreshold, successThreshold: successThreshold)
        for (index, result) in results.enumerated() {
            history.record(ProbeRecord(result: result, finishedAt: now - .seconds(results.count - index)))
        }
        return history
    }

    @Test("readiness: draining wins, then starting, then staleness, then the broker through the probe history")
    func readinessRules() {
        let now = ContinuousClock.now
        func evaluate(_ phase: BridgePhase, _ results: [MosquittoProbeResult], failureThreshold: Int = 1) -> Readiness {
            Readiness.evaluate(
                phase: phase, history: history(results, failureThreshold: failureThreshold, at: now), now: now, staleAfter: .seconds(15))
        }
        #expect(evaluate(.listening, [Self.fine]).isReady)
        #expect(evaluate(.draining, [Self.fine]).reason == "draining")
        #expect(evaluate(.stopped, [Self.fine]).reason == "stopped")
        #expect(evaluate(.starting, [Self.fine]).reason == "starting")
        #expect(evaluate(.listening, []).reason == "starting")
        #expect(evaluate(.listening, [Self.fine, Self.refused]).reason == "unreachable")
        #expect(evaluate(.listening, [Self.fine, Self.refused]).detail == "Connection refused")
        #expect(evaluate(.listening, [Self.refused]).reason == "unreachable", "never up: the first failure says why")
        let old = Readiness.evaluate(
            phase: .listening, history: history([Self.fine], at: now - .seconds(20)), now: now, staleAfter: .seconds(15))
        #expect(old.reason == "stale")
        #expect(!old.isReady)
    }

    @Test("hysteresis: a busy broker missing probes now and then keeps the bridge ready; three failures in a row do not")
    func hysteresis() {
        let now = ContinuousClock.now
        func readiness(_ results: [MosquittoProbeResult], successThreshold: Int = 1) -> Readiness {
            Readiness.evaluate(
                phase: .listening, history: history(results, successThreshold: successThreshold, at: now), now: now,
                staleAfter: .seconds(60))
        }
        // A reconnect storm: the broker misses one probe, then two in a row.
        let storm = [Self.fine, Self.busy, Self.fine, Self.busy, Self.busy, Self.fine]
        for count in 1...storm.count {
            #expect(readiness(Array(storm.prefix(count))).isReady, "after \(storm.prefix(count).count) probes")
        }
        let tolerated = readiness([Self.fine, Self.busy, Self.busy])
        #expect(tolerated.isReady && tolerated.probeFailures == 2)
        #expect(String(decoding: tolerated.json(broker: "b").encoded, as: UTF8.self).contains(#""probe_failures":2"#))

        let down = readiness([Self.fine, Self.busy, Self.busy, Self.refused])
        #expect(!down.isReady && down.reason == "unreachable" && down.probeFailures == 3)
        // Back with success_threshold 2: one success is not enough.
        let recovering = readiness([Self.fine, Self.refused, Self.refused, Self.refused, Self.fine], successThreshold: 2)
        #expect(!recovering.isReady && recovering.reason == "recovering")
        #expect(
            readiness([Self.fine, Self.fine, Self.refused, Self.refused, Self.refused, Self.fine, Self.fine], successThreshold: 2).isReady)
        // At start too: success_threshold successes before the first 200.
        #expect(readiness([Self.fine], successThreshold: 2).reason == "starting")
    }

    @Test("the probe history changes state only at its thresholds")
    func probeHistory() {
        var history = ProbeHistory(failureThreshold: 2, successThreshold: 2)
        // (result, changed, up afterwards)
        let steps: [(MosquittoProbeResult, Bool, Bool)] = [
            (Self.fine, false, false), (Self.fine, true, true),
            (Self.busy, false, true), (Self.fine, false, true),  // a success resets the failure count
            (Self.busy, false, true), (Self.busy, true, false),
            (Self.fine, false, false), (Self.busy, false, false),  // a failure resets the success count
        ]
        for (index, (result, changed, up)) in steps.enumerated() {
            let didChange = history.record(ProbeRecord(result: result, finishedAt: .now))
            #expect(didChange == changed, "step \(index)")
            #expect(history.isUp == up, "step \(index)")
        }
    }
}
