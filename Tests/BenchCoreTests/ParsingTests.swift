import Testing

@testable import BenchCore

@Suite struct TargetParsingTests {
    @Test func mqttDefaultsToPort1883() throws {
        let target = try BenchTarget(parsing: "mqtt://127.0.0.1")
        #expect(target.transport == .mqtt)
        #expect(target.host == "127.0.0.1")
        #expect(target.port == 1883)
        #expect(target.path == "/")
        #expect(target.description == "mqtt://127.0.0.1:1883")
    }

    @Test func webSocketTargetsKeepPathAndQuery() throws {
        let ws = try BenchTarget(parsing: "ws://localhost:8080/mqtt")
        #expect(ws.transport == .ws)
        #expect(ws.port == 8080)
        #expect(ws.path == "/mqtt")
        #expect(ws.hostHeader == "localhost:8080")

        let wss = try BenchTarget(parsing: "WSS://broker.example.com/wss?token=a/b")
        #expect(wss.transport == .wss)
        #expect(wss.port == 443)
        #expect(wss.path == "/wss?token=a/b")
        #expect(wss.hostHeader == "broker.example.com", "the default port is left out of Host")

        let query = try BenchTarget(parsing: "ws://h?x=1")
        #expect(query.path == "/?x=1")
    }

    @Test func ipv6LiteralsGoInBrackets() throws {
        let target = try BenchTarget(parsing: "wss://[::1]:8443/wss")
        #expect(target.host == "::1")
        #expect(target.port == 8443)
        #expect(target.hostHeader == "[::1]:8443")
        #expect(target.description == "wss://[::1]:8443/wss")
        #expect(try BenchTarget(parsing: "ws://[::1]").port == 80)
    }

    @Test(arguments: [
        ("127.0.0.1:1883", "expected mqtt://"),
        ("http://host/", "unknown scheme \"http\""),
        ("ws://:80/", "missing host"),
        ("ws://host:0/", "port must be 1-65535"),
        ("ws://host:70000/", "port must be 1-65535"),
        ("ws://host:abc/", "port must be 1-65535"),
        ("mqtt://host/path", "mqtt:// takes no path"),
        ("ws://user:pw@host/", "credentials"),
        ("ws://[::1/", "unterminated IPv6"),
    ])
    func invalidTargets(text: String, fragment: String) {
        #expect {
            _ = try BenchTarget(parsing: text)
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }
}

@Suite struct ValueParsingTests {
    @Test func durations() throws {
        #expect(try BenchValueParsing.duration("10", option: "--x") == .seconds(10))
        #expect(try BenchValueParsing.duration("1.5s", option: "--x") == .milliseconds(1500))
        #expect(try BenchValueParsing.duration("500ms", option: "--x") == .milliseconds(500))
        #expect(try BenchValueParsing.duration("2m", option: "--x") == .seconds(120))
        #expect(try BenchValueParsing.duration("250us", option: "--x") == .microseconds(250))
        #expect(throws: BenchUsageError.self) { try BenchValueParsing.duration("-1s", option: "--x") }
        #expect(throws: BenchUsageError.self) { try BenchValueParsing.duration("10 parsecs", option: "--x") }
        #expect(throws: BenchUsageError.self) { try BenchValueParsing.duration("", option: "--x") }
    }

    @Test func sizes() throws {
        #expect(try BenchValueParsing.size("64", option: "--x") == 64)
        #expect(try BenchValueParsing.size("16KiB", option: "--x") == 16 * 1024)
        #expect(try BenchValueParsing.size("1MiB", option: "--x") == 1 << 20)
        #expect(try BenchValueParsing.size("1m", option: "--x") == 1 << 20)
        #expect(try BenchValueParsing.size("2KB", option: "--x") == 2000)
        #expect(try BenchValueParsing.size("0.5KiB", option: "--x") == 512)
        #expect(throws: BenchUsageError.self) { try BenchValueParsing.size("1.5", option: "--x") }
        #expect(throws: BenchUsageError.self) { try BenchValueParsing.size("1TiB", option: "--x") }
    }

    @Test func rates() throws {
        #expect(try BenchValueParsing.rate("5000", option: "--rate") == 5000)
        #expect(try BenchValueParsing.rate("5k", option: "--rate") == 5000)
        #expect(try BenchValueParsing.rate("2.5k/s", option: "--rate") == 2500)
        #expect(try BenchValueParsing.rate("0", option: "--rate") == nil)
        #expect(try BenchValueParsing.rate("unlimited", option: "--rate") == nil)
        #expect(throws: BenchUsageError.self) { try BenchValueParsing.rate("fast", option: "--rate") }
    }

    @Test func sourceAddresses() throws {
        let range = try SourceAddressList(parsing: "127.0.0.1-127.0.0.20")
        #expect(range.addresses.count == 20)
        #expect(range.addresses.first == "127.0.0.1")
        #expect(range.addresses.last == "127.0.0.20")
        #expect(range.address(for: 20) == "127.0.0.1", "round-robin")

        let crossing = try SourceAddressList(parsing: "127.0.0.254-127.0.1.1")
        #expect(crossing.addresses == ["127.0.0.254", "127.0.0.255", "127.0.1.0", "127.0.1.1"])

        let list = try SourceAddressList(parsing: "127.0.0.1, 127.0.0.5-127.0.0.6")
        #expect(list.addresses == ["127.0.0.1", "127.0.0.5", "127.0.0.6"])

        for bad in ["", "127.0.0", "127.0.0.256", "127.0.0.9-127.0.0.1", "127.0.0.1-127.0.0.2-127.0.0.3", "::1", "10.0.0.0-10.255.255.255"]
        {
            #expect(throws: BenchUsageError.self, "\(bad)") { try SourceAddressList(parsing: bad) }
        }
    }
}

@Suite struct OptionTests {
    static func configuration(_ arguments: [String]) throws -> BenchConfiguration {
        try BenchOptions.parse(arguments).makeConfiguration()
    }

    @Test func throughputDefaults() throws {
        let configuration = try Self.configuration(["throughput", "wss://localhost:8443/wss"])
        #expect(configuration.scenario == .throughput)
        #expect(configuration.subprotocol == "mqtt")
        #expect(configuration.publishers == 10 && configuration.subscribers == 10 && configuration.topics == 10)
        #expect(configuration.qos == 0)
        #expect(configuration.payloadSize == 64)
        #expect(configuration.rate == nil, "throughput is unlimited by default")
        #expect(configuration.warmup == .seconds(2) && configuration.duration == .seconds(10))
        #expect(configuration.threads >= 1)
        #expect(configuration.stampsPayloads)
    }

    @Test func latencyDefaultsTo5000PerSecond() throws {
        let configuration = try Self.configuration(["latency", "ws://127.0.0.1:8080/mqtt"])
        #expect(configuration.rate == 5000)
        #expect(configuration.ratePerPublisher == 500)
        let custom = try Self.configuration(["latency", "ws://127.0.0.1:8080/mqtt", "--rate", "1k", "-P", "4"])
        #expect(custom.ratePerPublisher == 250)
    }

    @Test func transportOptions() throws {
        let weChat = try Self.configuration([
            "connect", "wss://127.0.0.1:8443/wss", "--no-subprotocol", "--ca-file", "/tmp/ca.crt", "--sni", "localhost",
            "-C", "200", "-K", "10", "--threads", "3", "--mqtt-version", "5",
        ])
        #expect(weChat.subprotocol == nil)
        #expect(weChat.tls == BenchConfiguration.TLS(caFile: "/tmp/ca.crt", insecure: false, serverName: "localhost"))
        #expect(weChat.connections == 200 && weChat.concurrency == 10 && weChat.threads == 3)
        #expect(weChat.mqttVersion == .v5)

        let offered = try Self.configuration(["throughput", "ws://h/mqtt", "--subprotocol", "mqttv3.1"])
        #expect(offered.subprotocol == "mqttv3.1")
        #expect(try Self.configuration(["throughput", "mqtt://h"]).subprotocol == nil, "no WebSocket, no subprotocol")
    }

    @Test func holdOptions() throws {
        let configuration = try Self.configuration([
            "hold", "ws://127.0.0.1:8080/mqtt", "-C", "20000", "--hold", "30s", "--source-ips", "127.0.0.1-127.0.0.20",
            "--watch", "bridge=12", "--watch", "nginx=20,21,22", "--ready-file", "/tmp/ready",
        ])
        #expect(configuration.connections == 20000)
        #expect(configuration.concurrency == 100, "hold opens 100 at a time by default")
        #expect(configuration.holdDuration == .seconds(30))
        #expect(configuration.sourceAddresses?.addresses.count == 20)
        #expect(configuration.watchedProcesses == [.init(label: "bridge", pids: [12]), .init(label: "nginx", pids: [20, 21, 22])])
        #expect(configuration.readyFile == "/tmp/ready")
    }

    @Test func closedLoopAndOutstandingWindow() throws {
        let closed = try Self.configuration([
            "throughput", "mqtt://h", "--closed-loop", "-P", "1", "-S", "1", "--qos", "1", "--payload", "1MiB",
        ])
        #expect(closed.closedLoop)
        #expect(closed.threads == 1, "closed loop implies one event loop")
        #expect(closed.payloadSize == 1 << 20)
        let window = try Self.configuration(["throughput", "mqtt://h", "--max-outstanding", "5000", "-S", "7", "-T", "3"])
        #expect(window.maxOutstanding == 5000)
        #expect((0..<3).map { window.subscribers(ofTopic: $0) } == [3, 2, 2], "subscriber s uses topic s % T")
    }

    @Test func outstandingWindowCountsDeliveries() {
        let window = OutstandingWindow(limit: 100)
        #expect(window.room == 100)
        window.published(deliveries: 70)
        #expect(window.room == 30)
        window.published(deliveries: 50)
        #expect(window.room == 0, "never negative")
        window.delivered(40)
        #expect(window.room == 20)
    }

    @Test(arguments: [
        (["throughput", "mqtt://h", "--closed-loop", "--threads", "2"], "--threads 1"),
        (["throughput", "mqtt://h", "--max-outstanding", "0"], "--max-outstanding"),
        (["throughput", "mqtt://h", "--max-outstanding", "10", "-S", "0"], "at least one subscriber"),
        (["soak", "ws://h/"], "unknown scenario"),
        (["throughput", "ws://h/", "--qos", "2"], "--qos"),
        (["latency", "ws://h/", "--payload", "16"], "at least 24 bytes"),
        (["throughput", "ws://h/", "--insecure"], "wss:// targets only"),
        (["throughput", "wss://h/", "--insecure", "--ca-file", "x"], "exclude each other"),
        (["throughput", "ws://h/", "--subprotocol", "a b"], "one token"),
        (["throughput", "ws://h/", "-P", "0"], "--publishers"),
        (["connect", "ws://h/", "-K", "0"], "--concurrency"),
        (["hold", "ws://h/", "--watch", "bridge"], "label=PID"),
        (["hold", "ws://h/", "--watch", "bridge=x"], "not a PID"),
        (["throughput", "ws://h/", "--mqtt-version", "4.0"], "--mqtt-version"),
        (["throughput", "ws://h/", "--duration", "0"], "--duration"),
    ])
    func invalidOptions(arguments: [String], fragment: String) {
        #expect {
            _ = try Self.configuration(arguments)
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }
}
