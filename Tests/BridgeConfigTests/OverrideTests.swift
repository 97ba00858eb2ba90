import BridgeConfig
import Foundation
import Testing

@Suite("Environment variables and --set")
struct OverrideTests {
    @Test("precedence: --set > environment > file > built-in default")
    func precedence() throws {
        let fixture = try Fixture()
        let file = "upstream: { port: 1001 }"
        let environment = ["MQTT_WS_BRIDGE_UPSTREAM_PORT": "1002"]
        #expect(fixture.load("")?.upstream.port == 1883)
        #expect(fixture.load(file)?.upstream.port == 1001)
        #expect(fixture.load(file, environment: environment)?.upstream.port == 1002)
        #expect(fixture.load(file, environment: environment, set: ["upstream.port=1003"])?.upstream.port == 1003)
        #expect(fixture.load("", environment: environment)?.upstream.port == 1002)
        #expect(fixture.load("", set: ["upstream.port=1003", "upstream.port=1004"])?.upstream.port == 1004, "the last --set wins")
    }

    @Test("variable names: key path in capitals; '-' in entry names becomes '_'; underscores in keys are fine")
    func environmentNames() throws {
        let fixture = try Fixture()
        let loaded = fixture.load(
            """
            listeners:
              wss-2: { address: 127.0.0.1, port: 8443 }
            """,
            environment: [
                "MQTT_WS_BRIDGE_LISTENERS_WSS_2_PORT": "9443",
                "MQTT_WS_BRIDGE_ROUTES_BROWSER_MAX_PACKET_SIZE": "2MiB",
                "MQTT_WS_BRIDGE_ROUTES_BROWSER_SUBPROTOCOLS": "[mqtt]",
                "MQTT_WS_BRIDGE_ROUTES_MINIPROGRAM_SUBPROTOCOLS": "mqttv3.1",
                "MQTT_WS_BRIDGE_UPSTREAM_HOST": "broker",
                "MQTT_WS_BRIDGE_LISTENERS_WSS_2_ADDRESS": "::",
                "MQTT_WS_BRIDGE_UPSTREAM_CONNECT_TIMEOUT": "250ms",
                "MQTT_WS_BRIDGE_CONFIG": "/somewhere/else.yaml",
                "PATH": "/usr/bin",
                "mqtt_ws_bridge_upstream_port": "1",
            ])
        #expect(loaded?.listener(named: "wss-2")?.port == 9443)
        #expect(loaded?.listener(named: "wss-2")?.address == "::")
        #expect(loaded?.route(named: "browser")?.maxPacketSize == 2 * 1024 * 1024)
        #expect(loaded?.route(named: "browser")?.subprotocols == ["mqtt"])
        #expect(loaded?.route(named: "miniprogram")?.subprotocols == ["mqttv3.1"])
        #expect(loaded?.upstream.host == "broker")
        #expect(loaded?.upstream.connectTimeout == .milliseconds(250))
        #expect(loaded?.upstream.port == 1883)
    }

    @Test("an entry name in camelCase is spelled in capitals as it is, not split into words")
    func camelCaseEntryNames() throws {
        let fixture = try Fixture()
        let yaml = "routes: { miniApp: { path: /app, policy: miniprogram } }"
        #expect(fixture.load(yaml, environment: ["MQTT_WS_BRIDGE_ROUTES_MINIAPP_PATH": "/wx"])?.route(named: "miniApp")?.path == "/wx")
        #expect(
            fixture.problems(yaml, environment: ["MQTT_WS_BRIDGE_ROUTES_MINI_APP_PATH": "/wx"]) == [
                "environment MQTT_WS_BRIDGE_ROUTES_MINI_APP_PATH: matches no configuration key (did you mean MQTT_WS_BRIDGE_ROUTES_MINIAPP_PATH?)"
            ])
    }

    @Test("a bad environment value names the variable")
    func badEnvironmentValue() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems("", environment: ["MQTT_WS_BRIDGE_UPSTREAM_PORT": "18a3"]) == [
                "environment MQTT_WS_BRIDGE_UPSTREAM_PORT: '18a3' is not a port number (0-65535)"
            ])
        #expect(
            fixture.problems("", environment: ["MQTT_WS_BRIDGE_ROUTES_BROWSER_SUBPROTOCOLS": "[mqtt"]) == [
                "environment MQTT_WS_BRIDGE_ROUTES_BROWSER_SUBPROTOCOLS: '[mqtt' is not a valid subprotocol name (an HTTP token: letters, digits and !#$%&'*+-.^_`|~, no spaces or commas)"
            ])
        // Validation problems about an overridden value point at the variable too.
        #expect(
            fixture.problems("", environment: ["MQTT_WS_BRIDGE_UPSTREAM_PORT": "0"]) == [
                "environment MQTT_WS_BRIDGE_UPSTREAM_PORT: 0 is not a usable broker port (1-65535)"
            ])
    }

    @Test("an MQTT_WS_BRIDGE_ variable that matches no key is an error, with the closest name")
    func unknownEnvironmentVariable() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems(
                "",
                environment: [
                    "MQTT_WS_BRIDGE_UPSTREAM_HOTS": "broker",
                    "MQTT_WS_BRIDGE_ROUTES_EXTRA_PATH": "/x",
                    "MQTT_WS_BRIDGE_UPSTREAM": "broker:1883",
                    "MQTT_WS_BRIDGE_VERBOSE": "1",
                ]) == [
                    "environment MQTT_WS_BRIDGE_ROUTES_EXTRA_PATH: matches no configuration key (environment variables can change listeners and routes that exist in the file or the defaults; add new ones in the file or with --set)",
                    "environment MQTT_WS_BRIDGE_UPSTREAM: names the section upstream, not a single value; set its keys one by one such as MQTT_WS_BRIDGE_UPSTREAM_BALANCE",
                    "environment MQTT_WS_BRIDGE_UPSTREAM_HOTS: matches no configuration key (did you mean MQTT_WS_BRIDGE_UPSTREAM_HOST?)",
                    "environment MQTT_WS_BRIDGE_VERBOSE: matches no configuration key",
                ])
    }

    @Test("a --set that matches no key is an error, with the closest key")
    func unknownOverride() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems(
                "",
                set: [
                    "upstrem.port=1",
                    "upstream",
                    "upstream=broker",
                    "upstream.port.number=1",
                    "routes..path=/x",
                ]) == [
                    "--set: upstream: expected key.path=value, e.g. --set upstream.port=1883",
                    "--set: routes..path: 'routes..path' is not a key path (expected names joined by dots, e.g. routes.browser.path)",
                    "--set: upstrem.port: unknown key (did you mean 'upstream.port'?)",
                    "--set: upstream: is a section, not a single value; set its keys one by one, e.g. --set upstream.balance=…",
                    "--set: upstream.port.number: upstream.port is a single value and has no keys",
                ])
    }

    @Test("--set can add a map entry; it must give the required keys")
    func overrideAddsEntries() throws {
        let fixture = try Fixture()
        let loaded = fixture.load(
            "", set: ["routes.extra.path=/x", "routes.extra.policy=miniprogram", "routes.extra.max_packet_size=4KiB"])
        #expect(loaded?.routes.map(\.name) == ["browser", "extra", "miniprogram"], "added to the defaults")
        #expect(loaded?.route(named: "extra") == RouteConfiguration(name: "extra", path: "/x", policy: .miniprogram, maxPacketSize: 4096))

        let withFile = fixture.load(
            "routes: { only: { path: /, policy: passthrough } }", set: ["routes.extra.path=/x", "routes.extra.policy=passthrough"])
        #expect(withFile?.routes.map(\.name) == ["extra", "only"], "added to the file's entries")

        #expect(
            fixture.problems("", set: ["routes.extra.path=/x", "routes.extra.polcy=passthrough"]) == [
                "--set: routes.extra.policy: missing; every entry in routes needs one",
                "--set: routes.extra.polcy: unknown key (did you mean 'routes.extra.policy'?)",
            ])
    }

    @Test("setting a key of an absent optional section switches the section on")
    func overrideSwitchesSectionOn() throws {
        let fixture = try Fixture()
        let ca = try fixture.file("ca.pem")
        let loaded = fixture.load(
            "", environment: ["MQTT_WS_BRIDGE_UPSTREAM_TLS_CA_FILE": ca], set: ["upstream.tls.server_name=broker.example.com"])
        #expect(loaded?.upstream.tls == UpstreamTLSConfiguration(caFilePath: ca, serverName: "broker.example.com"))
        #expect(fixture.load("")?.upstream.tls == nil, "nobody asked for it")

        let certificate = try fixture.file("other.crt")
        let plainListener = fixture.load("", environment: ["MQTT_WS_BRIDGE_LISTENERS_WS_TLS_CERTIFICATE": certificate])
        #expect(
            plainListener?.listener(named: "ws")?.tls
                == ListenerTLSConfiguration(certificatePath: certificate, keyPath: fixture.defaultKeyPath))

        let fromNull = fixture.load("listeners: { ws: { address: a, port: 1, tls: null } }", set: ["listeners.ws.tls.min_version=1.3"])
        #expect(fromNull?.listener(named: "ws")?.tls?.minimumVersion == .v1_3)
    }

    @Test("a value that YAML reads as something else is taken as text where one value is expected")
    func textValues() throws {
        let fixture = try Fixture()
        let loaded = fixture.load(
            "",
            environment: [
                "MQTT_WS_BRIDGE_LISTENERS_WSS_ADDRESS": "::",
                "MQTT_WS_BRIDGE_UPSTREAM_HOST": "[::1]",
                "MQTT_WS_BRIDGE_ROUTES_BROWSER_SUBPROTOCOLS": "[mqtt, mqttv3.1]",
            ],
            set: [
                "upstream.tls.server_name=*.example.com",
                "logging.level=\"debug\"",
            ])
        #expect(loaded?.listener(named: "wss")?.address == "::", "YAML reads '::' as a mapping")
        #expect(loaded?.upstream.host == "[::1]", "YAML cannot read '[::1]'")
        #expect(loaded?.upstream.tls?.serverName == "*.example.com", "YAML reads '*' as an alias")
        #expect(loaded?.route(named: "browser")?.subprotocols == ["mqtt", "mqttv3.1"])
        #expect(loaded?.logging.level == "debug", "YAML quotes are removed")
        #expect(
            fixture.problems("", set: ["logging.level=[debug"]) == [
                "--set: logging.level: '[debug' is not one of: trace, debug, info, notice, warning, error, critical (did you mean 'debug'?)"
            ])
    }

    @Test("an empty value is null: it clears an optional key, and is refused for a required one")
    func emptyValues() throws {
        let fixture = try Fixture()
        let chain = try fixture.file("Config/chain.pem")
        let yaml = "listeners: { wss: { address: a, port: 1, tls: { chain: chain.pem } } }"
        #expect(fixture.load(yaml)?.listener(named: "wss")?.tls?.chainPath == chain)
        #expect(
            fixture.load(yaml, environment: ["MQTT_WS_BRIDGE_LISTENERS_WSS_TLS_CHAIN": ""])?.listener(named: "wss")?.tls?.chainPath == nil)
        #expect(fixture.load(yaml, set: ["listeners.wss.tls.chain="])?.listener(named: "wss")?.tls?.chainPath == nil)
        #expect(
            fixture.problems("", environment: ["MQTT_WS_BRIDGE_UPSTREAM_HOST": ""]) == [
                "environment MQTT_WS_BRIDGE_UPSTREAM_HOST: has no value (remove the key to use the default)"
            ])
    }

    @Test("relative paths from the environment and --set stay relative to the working directory")
    func relativeOverridePaths() throws {
        let fixture = try Fixture()
        let fromEnvironment = try? ConfigurationLoader.load(
            fixture.source("", environment: ["MQTT_WS_BRIDGE_UPSTREAM_TLS_CA_FILE": "Package.swift"]))
        #expect(fromEnvironment?.upstream.tls?.caFilePath == "Package.swift")
        let fromOverride = try? ConfigurationLoader.load(fixture.source("", set: ["upstream.tls.ca_file=Package.swift"]))
        #expect(fromOverride?.upstream.tls?.caFilePath == "Package.swift")
    }

    @Test("problems from the file, the environment and --set are reported together")
    func problemsFromEverySource() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems(
                "upstream: { host: \"\" }",
                environment: ["MQTT_WS_BRIDGE_LOGGING_LEVEL": "loud"],
                set: ["timeouts.close=forever"]
            ) == [
                "\(fixture.configPath):1:19: upstream.host: must not be empty",
                "--set: timeouts.close: 'forever' is not a duration (use e.g. 10s, 500ms, 2m, 1h, or a number of seconds)",
                "environment MQTT_WS_BRIDGE_LOGGING_LEVEL: 'loud' is not one of: trace, debug, info, notice, warning, error, critical",
            ])
    }
}
