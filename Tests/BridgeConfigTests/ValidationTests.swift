import BridgeConfig
import Foundation
import Testing

/// `validate()` on configurations built in code, one rule at a time.
@Suite("Validation rules")
struct ValidationTests {
    /// A valid configuration: the defaults with the TLS files pointing at the fixture's stand-ins.
    func valid(_ fixture: Fixture) -> BridgeConfiguration {
        fixture.defaults
    }

    @Test("the fixture's defaults are valid")
    func defaultsAreValid() throws {
        let fixture = try Fixture()
        #expect(validationProblems(valid(fixture)) == [])
    }

    @Test("at least one listener, and at least one enabled")
    func enabledListener() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.listeners = []
        #expect(validationProblems(configuration) == ["listeners: no listeners are configured; add at least one (see Config/bridge.yaml)"])
        configuration.listeners = [ListenerConfiguration(name: "a", enabled: false, address: "::", port: 1)]
        #expect(validationProblems(configuration) == ["listeners: no listener is enabled; set enabled: true on at least one"])
    }

    @Test("listener ports are 0-65535, 0 meaning a free port")
    func listenerPorts() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.listeners = [ListenerConfiguration(name: "a", address: "::", port: 0)]
        #expect(validationProblems(configuration) == [])
        configuration.listeners = [ListenerConfiguration(name: "a", address: "::", port: 70000)]
        #expect(validationProblems(configuration) == ["listeners.a.port: 70000 is not a port number (0-65535; 0 picks a free port)"])
        configuration.listeners = [ListenerConfiguration(name: "a", address: "", port: -1)]
        #expect(
            validationProblems(configuration) == [
                "listeners.a.address: must not be empty (use :: for every interface or 127.0.0.1 for loopback only)",
                "listeners.a.port: -1 is not a port number (0-65535; 0 picks a free port)",
            ])
    }

    @Test("two enabled listeners may not share an address and port")
    func listenerConflicts() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.listeners = [
            ListenerConfiguration(name: "a", address: "127.0.0.1", port: 8080),
            ListenerConfiguration(name: "b", address: "127.0.0.1", port: 8080),
            ListenerConfiguration(name: "c", address: "::", port: 9090),
            ListenerConfiguration(name: "d", address: "0.0.0.0", port: 9090),
            ListenerConfiguration(name: "e", address: "127.0.0.1", port: 0),
            ListenerConfiguration(name: "f", address: "127.0.0.1", port: 0),
            ListenerConfiguration(name: "g", enabled: false, address: "127.0.0.1", port: 8080),
            ListenerConfiguration(name: "h", address: "0.0.0.0", port: 7070),
            ListenerConfiguration(name: "i", address: "::1", port: 7070),
            ListenerConfiguration(name: "j", address: "127.0.0.2", port: 8080),
        ]
        #expect(
            validationProblems(configuration) == [
                "listeners.b: uses the same address and port as listeners.a (127.0.0.1 port 8080)",
                "listeners.d: uses an overlapping address ('::' and '0.0.0.0' cover every address) and the same port as listeners.c (0.0.0.0 port 9090)",
            ])
    }

    @Test("listener and route names are usable in --set keys and variable names")
    func entryNames() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.listeners.append(ListenerConfiguration(name: "my listener", address: "::1", port: 1))
        configuration.routes.append(RouteConfiguration(name: "", path: "/x", policy: .passthrough))
        #expect(
            validationProblems(configuration) == [
                "listeners.my listener: the name may contain only letters, digits, '-' and '_' (it is used in --set keys and environment variable names)",
                "routes: an entry has an empty name",
            ])
    }

    @Test("TLS files must exist and be readable; the development certificate's absence says how to create it")
    func tlsFiles() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        let missingDevelopment = fixture.root + "/elsewhere/.dev/certs/server.crt"
        configuration.listeners = [
            ListenerConfiguration(
                name: "a", address: "::", port: 1,
                tls: ListenerTLSConfiguration(
                    certificatePath: missingDevelopment, keyPath: "", chainPath: fixture.root + "/Config"
                )),
            ListenerConfiguration(
                name: "b", address: "::", port: 2,
                tls: ListenerTLSConfiguration(
                    certificatePath: fixture.root + "/mine.crt", keyPath: fixture.defaultKeyPath
                )),
        ]
        #expect(
            validationProblems(configuration) == [
                "listeners.a.tls.certificate: file '\(missingDevelopment)' does not exist (it is the development certificate: create it with `make run` or `mqtt-ws-bridge dev-cert`, or point the key at your own file)",
                "listeners.a.tls.key: must not be empty",
                "listeners.a.tls.chain: cannot read '\(fixture.root)/Config': is a directory, not a file",
                "listeners.b.tls.certificate: file '\(fixture.root)/mine.crt' does not exist",
            ])
    }

    @Test("TLS files that exist but cannot be read are reported with the system's reason")
    func unreadableTLSFile() throws {
        let fixture = try Fixture()
        let path = try fixture.file("secret.key")
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: path)
        // root reads anything; the rule can only be observed as an ordinary user.
        guard !FileManager.default.isReadableFile(atPath: path) else { return }
        var configuration = valid(fixture)
        configuration.upstream.tls = UpstreamTLSConfiguration(certificatePath: fixture.defaultCertificatePath, keyPath: path)
        #expect(validationProblems(configuration) == ["upstream.tls.key: cannot read '\(path)': Permission denied"])
    }

    @Test("at least one route; paths start with '/', have no '?' or '#', and are unique")
    func routePaths() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.routes = []
        #expect(validationProblems(configuration) == ["routes: no routes are configured; add at least one (see Config/bridge.yaml)"])
        configuration.routes = [
            RouteConfiguration(name: "a", path: "mqtt", policy: .passthrough),
            RouteConfiguration(name: "b", path: "/mqtt?x=1", policy: .passthrough),
            RouteConfiguration(name: "c", path: "/a#b", policy: .passthrough),
            RouteConfiguration(name: "d", path: "/", policy: .miniprogram),
            RouteConfiguration(name: "e", path: "/", policy: .passthrough),
            RouteConfiguration(name: "f", path: "/a b", policy: .passthrough),
        ]
        #expect(
            validationProblems(configuration) == [
                "routes.a.path: 'mqtt' must start with '/'",
                "routes.b.path: '/mqtt?x=1' must not contain '?' or '#' (a request's query string is ignored when matching)",
                "routes.c.path: '/a#b' must not contain '?' or '#' (a request's query string is ignored when matching)",
                "routes.e.path: '/' is already used by routes.d",
                "routes.f.path: '/a b' must not contain spaces or control characters",
            ])
    }

    @Test("subprotocols: a non-empty list of HTTP tokens")
    func subprotocols() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.routes = [
            RouteConfiguration(name: "a", path: "/a", policy: .passthrough, subprotocols: []),
            RouteConfiguration(name: "b", path: "/b", policy: .passthrough, subprotocols: ["mqtt", "mqtt, mqttv3.1", "", "v2/x"]),
            RouteConfiguration(name: "c", path: "/c", policy: .passthrough, subprotocols: ["mqtt", "x-Y_z.1~!#$%&'*+^`|"]),
        ]
        let token = "is not a valid subprotocol name (an HTTP token: letters, digits and !#$%&'*+-.^_`|~, no spaces or commas)"
        #expect(
            validationProblems(configuration) == [
                "routes.a.subprotocols: must list at least one subprotocol (usually [mqtt, mqttv3.1])",
                "routes.b.subprotocols: 'mqtt, mqttv3.1' \(token)",
                "routes.b.subprotocols: '' \(token)",
                "routes.b.subprotocols: 'v2/x' \(token)",
            ])
    }

    @Test("max_packet_size is 2 to 268435460 bytes")
    func maxPacketSize() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        for (size, valid) in [(1, false), (2, true), (268_435_460, true), (268_435_461, false)] {
            configuration.routes = [RouteConfiguration(name: "r", path: "/", policy: .miniprogram, maxPacketSize: size)]
            #expect(
                validationProblems(configuration)
                    == (valid
                        ? []
                        : [
                            "routes.r.max_packet_size: \(size) is out of range (2 to 268435460 bytes, the largest packet MQTT can encode)"
                        ]))
        }
    }

    @Test("upstream: a host and a port 1-65535")
    func upstream() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.upstream = UpstreamConfiguration(host: "", port: 0)
        #expect(
            validationProblems(configuration) == [
                "upstream.host: must not be empty",
                "upstream.port: 0 is not a usable broker port (1-65535)",
            ])
        configuration.upstream = UpstreamConfiguration(host: "h", port: 65535)
        #expect(validationProblems(configuration) == [])
    }

    @Test("upstream TLS: files readable when given, certificate and key together, server name not empty")
    func upstreamTLS() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.upstream.tls = UpstreamTLSConfiguration()
        #expect(validationProblems(configuration) == [], "the system trust store needs no file")
        configuration.upstream.tls = UpstreamTLSConfiguration(
            caFilePath: fixture.root + "/ca.pem", serverName: "", certificatePath: fixture.defaultCertificatePath)
        #expect(
            validationProblems(configuration) == [
                "upstream.tls.ca_file: file '\(fixture.root)/ca.pem' does not exist",
                "upstream.tls.server_name: must not be empty (leave it out to use upstream.host)",
                "upstream.tls.key: is required when upstream.tls.certificate is set (a client certificate needs both)",
            ])
    }

    @Test("durations must be longer than zero")
    func durations() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.upstream.connectTimeout = .zero
        configuration.timeouts = TimeoutConfiguration(
            handshake: .zero, connectPacket: .seconds(-1), closeHandshake: .zero, upstreamLinger: .zero)
        configuration.shutdown.gracePeriod = .zero
        #expect(
            validationProblems(configuration) == [
                "upstream.connect_timeout: must be longer than zero",
                "timeouts.handshake: must be longer than zero",
                "timeouts.connect: must be longer than zero",
                "timeouts.close_handshake: must be longer than zero",
                "timeouts.upstream_linger: must be longer than zero",
                "shutdown.grace_period: must be longer than zero",
            ])
        configuration = valid(fixture)
        configuration.timeouts.handshake = .nanoseconds(1)
        #expect(validationProblems(configuration) == [])
    }

    @Test("max_request_head_size is 1KiB to 1MiB")
    func requestHeadSize() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        for (size, valid) in [(1023, false), (1024, true), (1_048_576, true), (1_048_577, false)] {
            configuration.limits.maxRequestHeadSize = size
            #expect(
                validationProblems(configuration) == (valid ? [] : ["limits.max_request_head_size: \(size) is out of range (1KiB to 1MiB)"])
            )
        }
    }

    @Test("logging level is one of swift-log's", arguments: LoggingConfiguration.levels)
    func loggingLevels(level: String) throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.logging.level = level
        #expect(validationProblems(configuration) == [])
    }

    @Test("an unknown logging level suggests the closest")
    func unknownLoggingLevel() throws {
        let fixture = try Fixture()
        var configuration = valid(fixture)
        configuration.logging.level = "warn"
        #expect(
            validationProblems(configuration) == [
                "logging.level: 'warn' is not one of: trace, debug, info, notice, warning, error, critical (did you mean 'warning'?)"
            ])
    }

    @Test("through the loader, validation problems point at the value in the file, or at its section")
    func validationLocations() throws {
        let fixture = try Fixture()
        try FileManager.default.removeItem(atPath: fixture.defaultCertificatePath)
        #expect(
            fixture.problems(
                """
                listeners:
                  wss:
                    address: "::"
                    port: 8443
                    tls:
                      min_version: "1.2"
                      key: missing.key
                """) == [
                    "\(fixture.configPath):5:5: listeners.wss.tls.certificate: file '\(fixture.defaultCertificatePath)' does not exist (it is the development certificate: create it with `make run` or `mqtt-ws-bridge dev-cert`, or point the key at your own file)",
                    "\(fixture.configPath):7:12: listeners.wss.tls.key: file '\(fixture.root)/Config/missing.key' does not exist",
                ])
    }

    @Test("a value that failed to parse is not also reported by validation")
    func noDoubleReports() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems("routes: { r: { path: /, policy: nope } }") == [
                "\(fixture.configPath):1:33: routes.r.policy: 'nope' is not one of: miniprogram, passthrough"
            ], "the route is dropped, but 'no routes are configured' would only confuse")
    }
}
