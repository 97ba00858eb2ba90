import BridgeConfig
import Testing

/// `upstream.coalesce_window`: a duration from 0 (off) to 10ms, default 500us, from every source.
@Suite("upstream.coalesce_window")
struct CoalesceWindowTests {
    @Test func defaultsTo200Microseconds() throws {
        let fixture = try Fixture()
        #expect(fixture.load("upstream: { host: 127.0.0.1 }")?.upstream.coalesceWindow == .microseconds(500))
    }

    @Test(
        "accepted values",
        arguments: [
            ("0", Duration.zero), ("0us", .zero), ("500us", .microseconds(500)), ("0.5ms", .microseconds(500)), ("10ms", .milliseconds(10)),
        ])
    func accepted(text: String, expected: Duration) throws {
        let fixture = try Fixture()
        #expect(fixture.load("upstream: { coalesce_window: \(text) }")?.upstream.coalesceWindow == expected)
    }

    @Test func fromTheEnvironmentAndSet() throws {
        let fixture = try Fixture()
        #expect(
            fixture.load("upstream: { host: 127.0.0.1 }", environment: ["MQTT_WS_BRIDGE_UPSTREAM_COALESCE_WINDOW": "0"])?.upstream
                .coalesceWindow == .zero)
        #expect(
            fixture.load("upstream: { host: 127.0.0.1 }", set: ["upstream.coalesce_window=1ms"])?.upstream.coalesceWindow
                == .milliseconds(1))
    }

    @Test func tooLongIsRefusedNamingTheKey() throws {
        let fixture = try Fixture()
        let problems = fixture.problems("upstream: { coalesce_window: 11ms }")
        #expect(problems.count == 1)
        #expect(problems.first?.contains("upstream.coalesce_window: must be between 0 (off) and 10ms") == true, "\(problems)")
    }

    @Test func notADurationIsRefusedNamingTheKey() throws {
        let fixture = try Fixture()
        let problems = fixture.problems("upstream: { coalesce_window: soon }")
        #expect(problems.first?.contains("upstream.coalesce_window: 'soon' is not a duration") == true, "\(problems)")
    }
}
