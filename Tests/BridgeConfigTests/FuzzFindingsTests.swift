import BridgeConfig
import Testing

/// Inputs that fuzzing (or a probe built on what the fuzzer exercises) found to misbehave, each with its fix
/// (docs/RELIABILITY.md, Fuzzing). They must keep loading quickly and failing with a located problem.
@Suite("Inputs found by fuzzing")
struct FuzzFindingsTests {
    /// `a0` is a list of 10 values, `a1` ten aliases of `a0`, and so on: 569 bytes that stand for ten billion values.
    /// Before the fix, loading such a file re-serialised every expansion (six levels: 33 s and 570 MB under
    /// AddressSanitizer; each level ten times more).
    static let billionLaughs: String = {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...9 {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n")
    }()

    @Test("aliases that expand a file to billions of values are refused at once", .timeLimit(.minutes(1)))
    func nestedAliasesInTheFile() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems(Self.billionLaughs) == [
                "\(fixture.configPath):1:1: aliases (*name) expand this YAML to more than \(Self.billionLaughs.utf8.count + 10_000) values; write the values out, or nest fewer aliases"
            ])
    }

    @Test("the same in sections, and in an environment variable or a --set value", .timeLimit(.minutes(1)))
    func nestedAliasesElsewhere() throws {
        let fixture = try Fixture()
        var sections = ["a0: &a0 {k0: x, k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x, k9: x}"]
        for level in 1...9 {
            sections.append("a\(level): &a\(level) {" + (0..<10).map { "k\($0): *a\(level - 1)" }.joined(separator: ", ") + "}")
        }
        let problems = fixture.problems(sections.joined(separator: "\n"))
        #expect(problems.count == 1)
        #expect(problems.first?.contains("aliases (*name) expand this YAML to more than") == true)

        // One line of flow YAML, as a shell would pass it.
        let flow =
            "["
            + (0...6).map { level in
                level == 0
                    ? "&a0 [x, x, x, x, x, x, x, x, x, x]"
                    : "&a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]"
            }.joined(separator: ", ") + "]"
        // Refused as YAML, the text is taken as it is (as for `::`), and then it is no subprotocol name.
        for (lines, location) in [
            (
                fixture.problems("", environment: ["MQTT_WS_BRIDGE_ROUTES_BROWSER_SUBPROTOCOLS": flow]),
                "environment MQTT_WS_BRIDGE_ROUTES_BROWSER_SUBPROTOCOLS: "
            ),
            (fixture.problems("", set: ["routes.browser.subprotocols=\(flow)"]), "--set: routes.browser.subprotocols: "),
        ] {
            #expect(lines.count == 1, "\(lines)")
            #expect(lines.first?.hasPrefix(location) == true, "\(lines)")
            #expect(
                lines.first?.hasSuffix(
                    "is not a valid subprotocol name (an HTTP token: letters, digits and !#$%&'*+-.^_`|~, no spaces or commas)") == true)
        }
    }

    @Test("merge keys in every route stay well within the limit")
    func mergeKeysStillLoad() throws {
        let fixture = try Fixture()
        var yaml = "defaults: &route { policy: passthrough, subprotocols: [mqtt, mqttv3.1], max_packet_size: 64KiB }\nroutes:\n"
        for index in 0..<200 {
            yaml += "  r\(index): { <<: *route, path: /r\(index) }\n"
        }
        let problems = fixture.problems(yaml)
        // Only the unknown top-level key: the 200 routes with their merged keys load.
        #expect(problems.count == 1)
        #expect(problems.first?.contains("defaults") == true, "\(problems)")
    }
}
