import BridgeConfig
import Testing

/// `timeouts.packet`: how long a started MQTT packet from a client may take to complete; 0 (off) or at least 1s,
/// default 60s, from every source.
@Suite("timeouts.packet")
struct PacketTimeoutTests {
    @Test func defaultsTo60Seconds() throws {
        let fixture = try Fixture()
        #expect(fixture.load("timeouts: { connect: 5s }")?.timeouts.packet == .seconds(60))
    }

    @Test(
        "accepted values",
        arguments: [("0", Duration.zero), ("0s", .zero), ("1s", .seconds(1)), ("90", .seconds(90)), ("2m", .seconds(120))])
    func accepted(text: String, expected: Duration) throws {
        let fixture = try Fixture()
        #expect(fixture.load("timeouts: { packet: \(text) }")?.timeouts.packet == expected)
    }

    @Test func fromTheEnvironmentAndSet() throws {
        let fixture = try Fixture()
        #expect(fixture.load("", environment: ["MQTT_WS_BRIDGE_TIMEOUTS_PACKET": "45s"])?.timeouts.packet == .seconds(45))
        #expect(fixture.load("timeouts: { packet: 10s }", set: ["timeouts.packet=0"])?.timeouts.packet == .zero)
    }

    @Test func underASecondIsRefusedNamingTheKey() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems("timeouts:\n  packet: 500ms\n") == [
                "\(fixture.configPath):2:11: timeouts.packet: must be 0 (off) or at least 1s"
            ])
    }

    @Test func notADurationIsRefusedNamingTheKey() throws {
        let fixture = try Fixture()
        let problems = fixture.problems("timeouts: { packet: forever }")
        #expect(problems.first?.contains("timeouts.packet: 'forever' is not a duration") == true, "\(problems)")
    }
}
