import BridgeConfig
import Testing

/// `upstream.max_concurrent_dials`: a whole number ≥ 0 (0: no limit), default 64, from every source.
@Suite("upstream.max_concurrent_dials")
struct MaxConcurrentDialsTests {
    @Test func defaultsTo64() throws {
        let fixture = try Fixture()
        #expect(fixture.load("upstream: { host: 127.0.0.1 }")?.upstream.maxConcurrentDials == 64)
    }

    @Test("accepted values", arguments: [("0", 0), ("1", 1), ("16", 16), ("1_000", 1000)])
    func accepted(text: String, expected: Int) throws {
        let fixture = try Fixture()
        #expect(fixture.load("upstream: { max_concurrent_dials: \(text) }")?.upstream.maxConcurrentDials == expected)
    }

    @Test func fromTheEnvironmentAndSet() throws {
        let fixture = try Fixture()
        #expect(
            fixture.load("upstream: { host: 127.0.0.1 }", environment: ["MQTT_WS_BRIDGE_UPSTREAM_MAX_CONCURRENT_DIALS": "16"])?
                .upstream.maxConcurrentDials == 16)
        #expect(
            fixture.load("upstream: { host: 127.0.0.1 }", set: ["upstream.max_concurrent_dials=0"])?.upstream.maxConcurrentDials == 0)
    }

    @Test("not a count is refused naming the key", arguments: ["-1", "many", "1.5"])
    func notACountIsRefusedNamingTheKey(text: String) throws {
        let fixture = try Fixture()
        let problems = fixture.problems("upstream: { max_concurrent_dials: \(text) }")
        #expect(problems.count == 1)
        #expect(problems.first?.contains("upstream.max_concurrent_dials: '\(text)' is not a whole number ≥ 0") == true, "\(problems)")
    }

    @Test func aNegativeValueSetInCodeIsRefusedNamingTheKey() throws {
        var configuration = try Fixture().defaults
        configuration.upstream.maxConcurrentDials = -1
        #expect(
            validationProblems(configuration).filter { $0.hasPrefix("upstream.") } == [
                "upstream.max_concurrent_dials: -1 is negative: give the connects in flight at once, or 0 for no limit"
            ])
    }
}
