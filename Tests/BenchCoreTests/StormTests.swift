import Testing

@testable import BenchCore

@Suite struct StormTests {
    @Test func optionsAndDefaults() throws {
        let defaults = try BenchOptions.parse(["storm", "wss://h/wss"]).makeConfiguration()
        #expect(defaults.scenario == .storm)
        #expect(defaults.jitter == .zero, "everyone at once unless asked")
        #expect(defaults.retryDelay == .seconds(1))
        #expect(defaults.reconnectTimeout == .seconds(120))
        #expect(defaults.concurrency == 100, "the first ramp opens 100 at a time")

        let configured = try BenchOptions.parse([
            "storm", "wss://h/wss", "-C", "9000", "--jitter", "5s", "--retry-delay", "500ms", "--reconnect-timeout", "90s",
            "--source-ips", "127.0.0.1-127.0.0.20", "--reconnect-source-ips", "127.0.0.1",
        ]).makeConfiguration()
        #expect(configured.sourceAddresses?.addresses.count == 20)
        #expect(configured.reconnectSourceAddresses?.addresses == ["127.0.0.1"])
        #expect(configured.connections == 9000)
        #expect(configured.jitter == .seconds(5))
        #expect(configured.retryDelay == .milliseconds(500))
        #expect(configured.reconnectTimeout == .seconds(90))
    }

    @Test(arguments: [
        (["storm", "wss://h/", "--retry-delay", "0s"], "--retry-delay"),
        (["storm", "wss://h/", "--reconnect-timeout", "0"], "--reconnect-timeout"),
        (["storm", "wss://h/", "--jitter", "soon"], "--jitter"),
    ])
    func invalidOptions(arguments: [String], fragment: String) {
        #expect {
            _ = try BenchOptions.parse(arguments).makeConfiguration()
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }

    @Test func refusalsAreNamedByWhatTheOperatorSees() {
        let tooMany = BenchClientError(.upgrade, "upgrade refused: \"HTTP/1.1 429 Too Many Requests\" to GET /wss")
        let unavailable = BenchClientError(.upgrade, "upgrade refused: \"HTTP/1.1 503 Service Unavailable\" to GET /wss")
        #expect(StormRefusal(tooMany) == .http429)
        #expect(StormRefusal(unavailable) == .httpOther)
        #expect(StormRefusal(BenchClientError(.upgrade, "101 without \"Upgrade: websocket\"")) == .httpOther)
        #expect(StormRefusal(BenchClientError(.closed, "Connection reset by peer")) == .reset)
        #expect(StormRefusal(BenchClientError(.connect, "connect to 127.0.0.1:1: refused")) == .connect)
        #expect(StormRefusal(BenchClientError(.timeout, "not ready after 10000 ms")) == .timeout)
        #expect(StormRefusal(BenchClientError(.refused, "CONNACK 5")) == .mqttRefused)
        #expect(StormRefusal(BenchClientError(.tls, "handshake failure")) == .tls)
        #expect(StormRefusal.statusCode(inUpgradeRefusal: "upgrade refused: \"HTTP/1.0 429\" to GET /") == 429)
        #expect(StormRefusal.statusCode(inUpgradeRefusal: "not an HTTP response") == nil)
    }

    @Test func timesToNinetyNinePercentAndAllCountFromTheCut() {
        var outcome = BenchSession.StormOutcome()
        outcome.backAfter = (1...100).map { UInt64($0) * 10_000_000 }.shuffled()  // 10 ms … 1 s
        let all = outcome.summary(sessions: 100, rampSeconds: 2)
        #expect(all.reconnected == 100)
        #expect(all.secondsTo99Percent == 0.99)
        #expect(all.secondsToAll == 1)

        outcome.backAfter.removeAll { $0 == 1_000_000_000 }  // one session never came back
        let one = outcome.summary(sessions: 100, rampSeconds: 2)
        #expect(one.reconnected == 99)
        #expect(one.secondsTo99Percent == 0.99)
        #expect(one.secondsToAll == nil, "not all back: never")

        outcome.backAfter.removeAll { $0 >= 900_000_000 }
        #expect(outcome.summary(sessions: 100, rampSeconds: 2).secondsTo99Percent == nil)
    }
}
