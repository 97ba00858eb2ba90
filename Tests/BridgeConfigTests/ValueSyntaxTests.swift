import BridgeConfig
import Testing

@Suite("Value syntax: durations, sizes, booleans, ports, enumerations, lists")
struct ValueSyntaxTests {
    @Test(
        "durations",
        arguments: [
            ("10s", Duration.seconds(10)), ("500ms", .milliseconds(500)), ("2m", .seconds(120)), ("1h", .seconds(3600)),
            ("1.5s", .milliseconds(1500)), ("7", .seconds(7)), ("0.25", .milliseconds(250)), ("10 s", .seconds(10)),
            ("\"3s\"", .seconds(3)), ("1.5M", .seconds(90)), ("200us", .microseconds(200)), ("250µs", .microseconds(250)),
        ])
    func durations(text: String, expected: Duration) throws {
        let fixture = try Fixture()
        #expect(fixture.load("shutdown: { grace_period: \(text) }")?.shutdown.gracePeriod == expected)
    }

    @Test("not durations", arguments: ["10x", "-1s", "1e3", "inf", "s", "1.2.3", ".5s", "10 seconds"])
    func notDurations(text: String) throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems("shutdown:\n  grace_period: \(text)\n") == [
                "\(fixture.configPath):2:17: shutdown.grace_period: '\(text)' is not a duration (use e.g. 10s, 500ms, 2m, 1h, or a number of seconds)"
            ])
    }

    @Test(
        "sizes: KiB/MiB/GiB are 1024-based, KB/MB/GB 1000-based",
        arguments: [
            ("1048576", 1_048_576), ("512KiB", 524_288), ("1MiB", 1_048_576), ("1GiB", 1_073_741_824),
            ("2KB", 2000), ("1MB", 1_000_000), ("1.5KiB", 1536), ("100B", 100), ("1 MiB", 1_048_576), ("64kib", 65536),
        ])
    func sizes(text: String, expected: Int) throws {
        let fixture = try Fixture()
        if expected > RouteConfiguration.maximumPacketSizeLimit {
            // Too large for a packet limit, but the syntax is what is under test: check the message quotes the number.
            #expect(
                fixture.problems("routes: { r: { path: /, policy: miniprogram, max_packet_size: \(text) } }").first?
                    .contains("\(expected) is out of range") == true)
        } else {
            #expect(
                fixture.load("routes: { r: { path: /, policy: miniprogram, max_packet_size: \(text) } }")?
                    .route(named: "r")?.maxPacketSize == expected)
        }
    }

    @Test("not sizes")
    func notSizes() throws {
        let fixture = try Fixture()
        let syntax = "is not a size (use e.g. 1048576, 512KiB, 1MiB or 1GiB; KB, MB and GB are 1000-based)"
        #expect(
            fixture.problems("limits:\n  max_request_head_size: 1K\n") == [
                "\(fixture.configPath):2:26: limits.max_request_head_size: '1K' \(syntax)"
            ])
        #expect(
            fixture.problems("limits: { max_request_head_size: -1 }") == [
                "\(fixture.configPath):1:34: limits.max_request_head_size: '-1' \(syntax)"
            ])
        #expect(
            fixture.problems("limits: { max_request_head_size: 1.5B }") == [
                "\(fixture.configPath):1:34: limits.max_request_head_size: '1.5B' is not a whole number of bytes"
            ])
        #expect(
            fixture.problems("limits: { max_request_head_size: 99999999999GiB }") == [
                "\(fixture.configPath):1:34: limits.max_request_head_size: '99999999999GiB' is too large"
            ])
    }

    @Test("booleans are true or false; yes/no/on/off are refused, not guessed")
    func booleans() throws {
        let fixture = try Fixture()
        #expect(fixture.load("logging: { access_log: false }")?.logging.accessLog == false)
        #expect(fixture.load("logging: { access_log: True }")?.logging.accessLog == true)
        #expect(fixture.load("logging: { access_log: FALSE }")?.logging.accessLog == false)
        #expect(
            fixture.problems("logging: { access_log: yes }") == [
                "\(fixture.configPath):1:24: logging.access_log: 'yes' is not a boolean (use true or false)"
            ])
    }

    @Test("ports are whole numbers 0-65535")
    func ports() throws {
        let fixture = try Fixture()
        #expect(fixture.load("upstream: { port: \"1884\" }")?.upstream.port == 1884)
        for text in ["18a3", "70000", "-1", "80.5"] {
            #expect(
                fixture.problems("upstream: { port: \(text) }") == [
                    "\(fixture.configPath):1:19: upstream.port: '\(text)' is not a port number (0-65535)"
                ])
        }
    }

    @Test("TLS 1.0 and 1.1 are refused with the reason")
    func tlsMinimumVersion() throws {
        let fixture = try Fixture()
        #expect(
            fixture.load("listeners: { l: { address: a, port: 1, tls: { min_version: 1.3 } } }")?
                .listener(named: "l")?.tls?.minimumVersion == .v1_3)
        #expect(
            fixture.problems("listeners: { l: { address: a, port: 1, tls: { min_version: 1.1 } } }") == [
                "\(fixture.configPath):1:60: listeners.l.tls.min_version: TLS 1.1 is not allowed: WeChat and browsers need TLS 1.2 or newer (use 1.2 or 1.3)"
            ])
        #expect(
            fixture.problems("listeners: { l: { address: a, port: 1, tls: { min_version: \"1.0\" } } }").first?
                .contains("TLS 1.0 is not allowed: WeChat and browsers need TLS 1.2 or newer") == true)
        #expect(
            fixture.problems("listeners: { l: { address: a, port: 1, tls: { min_version: tls1.3 } } }") == [
                "\(fixture.configPath):1:60: listeners.l.tls.min_version: 'tls1.3' is not one of: 1.2, 1.3"
            ])
    }

    @Test("enumerations are their raw values")
    func enumerations() throws {
        let fixture = try Fixture()
        #expect(fixture.load("logging: { format: json }")?.logging.format == .json)
        #expect(
            fixture.problems("logging: { format: JSON }") == [
                "\(fixture.configPath):1:20: logging.format: 'JSON' is not one of: text, json (did you mean 'json'?)"
            ])
    }

    @Test("lists: flow or block style; a single value is a list of one; a section is refused")
    func lists() throws {
        let fixture = try Fixture()
        let block = fixture.load(
            """
            routes:
              r:
                path: /
                policy: passthrough
                subprotocols:
                  - mqtt
                  - mqttv3.1
            """)
        #expect(block?.route(named: "r")?.subprotocols == ["mqtt", "mqttv3.1"])
        #expect(
            fixture.load("routes: { r: { path: /, policy: passthrough, subprotocols: mqtt } }")?
                .route(named: "r")?.subprotocols == ["mqtt"])
        #expect(
            fixture.problems("routes: { r: { path: /, policy: passthrough, subprotocols: { a: b } } }") == [
                "\(fixture.configPath):1:60: routes.r.subprotocols: expected a list such as [a, b], found a section (key: value pairs)"
            ])
        #expect(
            fixture.problems("routes: { r: { path: /, policy: passthrough, subprotocols: [[mqtt]] } }") == [
                "\(fixture.configPath):1:60: routes.r.subprotocols: expected a single value, found a list"
            ])
    }
}
