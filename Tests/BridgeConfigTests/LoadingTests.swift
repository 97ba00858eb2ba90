import BridgeConfig
import Testing

@Suite("Loading the YAML file")
struct LoadingTests {
    @Test("an empty file, or one with only comments, gives the built-in defaults")
    func emptyFileGivesDefaults() throws {
        let fixture = try Fixture()
        #expect(fixture.load("") == fixture.defaults)
        #expect(fixture.load("# nothing here\n\n# at all\n") == fixture.defaults)
        #expect(fixture.load("~") == fixture.defaults)
    }

    @Test("every key in the file is read")
    func fullFileRoundTrip() throws {
        let fixture = try Fixture()
        let chain = try fixture.file("Config/tls/chain.pem")
        let ca = try fixture.file("ca/broker-ca.pem")
        let clientCertificate = try fixture.file("ca/client.crt")
        let clientKey = try fixture.file("ca/client.key")
        let yaml = """
            listeners:
              public:
                enabled: true
                address: 0.0.0.0
                port: 443
                tls:
                  certificate: ../.dev/certs/server.crt
                  key: \(fixture.root)/.dev/certs/server.key
                  chain: tls/chain.pem
                  min_version: "1.3"
              behind-proxy: { enabled: false, address: "::1", port: 9000 }
            routes:
              wechat:
                path: /
                policy: miniprogram
                subprotocols: [mqtt]
                require_subprotocol: false
                max_packet_size: 64KiB
              web: { path: /ws/mqtt, policy: passthrough }
            upstream:
              host: broker.internal
              port: 8883
              connect_timeout: 1500ms
              tls:
                ca_file: \(ca)
                server_name: broker.example.com
                verify: false
                certificate: \(clientCertificate)
                key: \(clientKey)
            timeouts: { handshake: 2s, connect: 1m, close: 0.5 }
            limits: { max_request_head_size: 16KiB }
            shutdown: { grace_period: 1h }
            logging: { level: debug, format: json, access_log: false }
            static_files: { enabled: false, directory: ../site, max_size: 2MiB }
            """
        let expected = BridgeConfiguration(
            listeners: [
                ListenerConfiguration(name: "behind-proxy", enabled: false, address: "::1", port: 9000),
                ListenerConfiguration(
                    name: "public", address: "0.0.0.0", port: 443,
                    tls: ListenerTLSConfiguration(
                        certificatePath: fixture.defaultCertificatePath,
                        keyPath: fixture.root + "/.dev/certs/server.key",
                        chainPath: chain,
                        minimumVersion: .v1_3
                    )
                ),
            ],
            routes: [
                RouteConfiguration(name: "web", path: "/ws/mqtt", policy: .passthrough),
                RouteConfiguration(
                    name: "wechat", path: "/", policy: .miniprogram, subprotocols: ["mqtt"],
                    requireSubprotocol: false, maxPacketSize: 65536
                ),
            ],
            upstream: UpstreamConfiguration(
                host: "broker.internal", port: 8883, connectTimeout: .milliseconds(1500),
                tls: UpstreamTLSConfiguration(
                    caFilePath: ca, serverName: "broker.example.com", verify: false,
                    certificatePath: clientCertificate, keyPath: clientKey
                )
            ),
            timeouts: TimeoutConfiguration(
                handshake: .seconds(2), connectPacket: .seconds(60), closeHandshake: .milliseconds(500), upstreamLinger: .milliseconds(500)),
            limits: LimitsConfiguration(maxRequestHeadSize: 16384),
            shutdown: ShutdownConfiguration(gracePeriod: .seconds(3600)),
            logging: LoggingConfiguration(level: "debug", format: .json, accessLog: false),
            staticFiles: StaticFilesConfiguration(enabled: false, directory: fixture.root + "/Config/../site", maxSize: 2 * 1024 * 1024)
        )
        let loaded = fixture.load(yaml)
        #expect(loaded == expected)
        #expect(loaded?.listeners.map(\.name) == ["behind-proxy", "public"], "entries are sorted by name")
        #expect(loaded?.route(named: "wechat")?.maxPacketSize == 65536)
        #expect(loaded?.listener(named: "nope") == nil)
    }

    @Test("a listeners section replaces the default listeners; other sections keep their defaults")
    func presentSectionReplacesDefaults() throws {
        let fixture = try Fixture()
        let loaded = fixture.load(
            """
            listeners:
              only: { address: 127.0.0.1, port: 8080 }
            """)
        #expect(loaded?.listeners == [ListenerConfiguration(name: "only", address: "127.0.0.1", port: 8080)])
        #expect(loaded?.routes == RouteConfiguration.defaults)
        #expect(loaded?.upstream == UpstreamConfiguration())
    }

    @Test("keys left out of a section keep their defaults")
    func partialSections() throws {
        let fixture = try Fixture()
        let loaded = fixture.load(
            """
            upstream:
              port: 1884
            timeouts:
              close: 1s
            """)
        #expect(loaded?.upstream == UpstreamConfiguration(port: 1884))
        #expect(loaded?.timeouts == TimeoutConfiguration(closeHandshake: .seconds(1), upstreamLinger: .seconds(1)))
    }

    @Test("timeouts.close is the old name of both close timeouts: it sets each one that is not given by its own name")
    func closeTimeoutAlias() throws {
        let fixture = try Fixture()
        #expect(
            fixture.load("timeouts: { close_handshake: 1s, upstream_linger: 2s }")?.timeouts
                == TimeoutConfiguration(closeHandshake: .seconds(1), upstreamLinger: .seconds(2)))
        #expect(
            fixture.load("timeouts: { close: 5s, upstream_linger: 2s }")?.timeouts
                == TimeoutConfiguration(closeHandshake: .seconds(5), upstreamLinger: .seconds(2)))
        // The key's own name wins whatever layer gives either: here the file's new key over the environment's alias.
        #expect(
            fixture.load("timeouts: { close_handshake: 1s }", environment: ["MQTT_WS_BRIDGE_TIMEOUTS_CLOSE": "7s"])?.timeouts
                == TimeoutConfiguration(closeHandshake: .seconds(1), upstreamLinger: .seconds(7)))
        #expect(
            fixture.load("", set: ["timeouts.close=4s", "timeouts.close_handshake=6s"])?.timeouts
                == TimeoutConfiguration(closeHandshake: .seconds(6), upstreamLinger: .seconds(4)))
        #expect(fixture.load("timeouts: { close: ~ }")?.timeouts == TimeoutConfiguration(), "null: as if left out")

        // A problem about a timeout that the alias set points at the alias.
        #expect(
            fixture.problems("timeouts:\n  close_handshake: 2s\n  close: 0s\n") == [
                "\(fixture.configPath):3:10: timeouts.upstream_linger: must be longer than zero"
            ])
    }

    @Test("tls left out, or null, makes a plain listener")
    func plainListener() throws {
        let fixture = try Fixture()
        let loaded = fixture.load(
            """
            listeners:
              a: { address: 127.0.0.1, port: 8080 }
              b: { address: 127.0.0.1, port: 8081, tls: null }
              c: { address: 127.0.0.1, port: 8082, tls: {} }
            """)
        #expect(loaded?.listener(named: "a")?.tls == nil)
        #expect(loaded?.listener(named: "b")?.tls == nil)
        #expect(
            loaded?.listener(named: "c")?.tls
                == ListenerTLSConfiguration(
                    certificatePath: fixture.defaultCertificatePath, keyPath: fixture.defaultKeyPath))
    }

    @Test("an unknown key is reported with its position and the closest known key")
    func unknownKeyWithSuggestion() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(
            """
            # comment
            upstream:
              hots: broker
            listners:
              wss: { address: "::", port: 8443 }
            routes:
              browser: { path: /mqtt, policy: passthrough, max_paket_size: 1MiB }
            zzz: 1
            """)
        #expect(
            problems == [
                "\(fixture.configPath):3:3: upstream.hots: unknown key (did you mean 'host'?)",
                "\(fixture.configPath):4:1: listners: unknown key (did you mean 'listeners'?)",
                "\(fixture.configPath):7:48: routes.browser.max_paket_size: unknown key (did you mean 'max_packet_size'?)",
                "\(fixture.configPath):8:1: zzz: unknown key (known keys: admin, auth, limits, listeners, logging, routes, shutdown, static_files, timeouts, upstream)",
            ])
    }

    @Test("a value that is not one of the choices names the choices and the closest one, at the value's position")
    func enumerationValue() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(
            """
            routes:
              browser:
                path: /mqtt
                policy: pasthrough
            """)
        #expect(
            problems == [
                "\(fixture.configPath):4:13: routes.browser.policy: 'pasthrough' is not one of: miniprogram, passthrough (did you mean 'passthrough'?)"
            ])
    }

    @Test("all problems are reported together, in file order, validation problems included")
    func multipleProblems() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(
            """
            logging:
              level: verbose
            upstream:
              port: 18a3
              connect_timeout: soon
            routes:
              browser: { path: mqtt, policy: passthrough }
            timeouts:
              handshake: 0s
            """)
        #expect(
            problems == [
                "\(fixture.configPath):2:10: logging.level: 'verbose' is not one of: trace, debug, info, notice, warning, error, critical",
                "\(fixture.configPath):4:9: upstream.port: '18a3' is not a port number (0-65535)",
                "\(fixture.configPath):5:20: upstream.connect_timeout: 'soon' is not a duration (use e.g. 10s, 500ms, 2m, 1h, or a number of seconds)",
                "\(fixture.configPath):7:20: routes.browser.path: 'mqtt' must start with '/'",
                "\(fixture.configPath):9:14: timeouts.handshake: must be longer than zero",
            ])
    }

    @Test("a YAML syntax error names the line and column")
    func syntaxError() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(
            """
            upstream:
              host: [broker
            logging: {}
            """)
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("\(fixture.configPath):3:") == true)
        #expect(problems.first?.contains("YAML syntax error") == true)

        let yamlSymbols = [
            "listeners:\n  wss: { port: 1, address: :: }\n", "listeners:\n  wss:\n    address: ::\n",
            "upstream:\n  tls: { server_name: *.example.com }\n", "routes:\n  a: { path: @x }\n",
        ]
        for yaml in yamlSymbols {
            let problems = fixture.problems(yaml)
            #expect(problems.count == 1 && problems[0].hasSuffix("or contains ': ' or ' #', e.g. address: \"::\""), "\(problems)")
        }
    }

    @Test("a key written twice is refused")
    func duplicateKey() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(
            """
            upstream:
              port: 1883
              port: 1884
            """)
        #expect(problems == ["\(fixture.configPath):2:3: duplicate key 'port': each key may appear only once in a section"])
    }

    @Test("a section written as a single value, or a value as a section, is refused")
    func wrongShapes() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(
            """
            upstream: broker.example.com
            logging:
              level: { name: info }
            routes: [a, b]
            listeners:
              wss: 8443
            """)
        #expect(
            problems == [
                "\(fixture.configPath):1:11: upstream: expected a section (key: value pairs), found the value 'broker.example.com'",
                "\(fixture.configPath):3:10: logging.level: expected a single value, found a section (key: value pairs)",
                "\(fixture.configPath):4:9: routes: expected named entries (name: settings), found a list",
                "\(fixture.configPath):6:8: listeners.wss: expected settings (key: value pairs), found the value '8443'",
            ])
        #expect(
            fixture.problems("[1, 2]") == [
                "\(fixture.configPath):1:1: expected sections such as listeners:, routes: and upstream: at the top level"
            ])
    }

    @Test("an entry the user adds must give its required keys")
    func requiredKeys() throws {
        let fixture = try Fixture()
        let problems = fixture.problems(
            """
            listeners:
              wss: { port: 8443 }
            routes:
              browser:
                path: /mqtt
              wechat:
            """)
        #expect(
            problems == [
                "\(fixture.configPath):2:3: listeners.wss.address: missing; every entry in listeners needs one",
                "\(fixture.configPath):4:3: routes.browser.policy: missing; every entry in routes needs one",
                "\(fixture.configPath):6:3: routes.wechat.path: missing; every entry in routes needs one",
                "\(fixture.configPath):6:3: routes.wechat.policy: missing; every entry in routes needs one",
            ])
    }

    @Test("YAML merge keys repeat settings; keys written next to them win")
    func mergeKeys() throws {
        let fixture = try Fixture()
        let loaded = fixture.load(
            """
            routes:
              browser: &web { path: /mqtt, policy: passthrough, max_packet_size: 2MiB }
              legacy:
                <<: *web
                path: /ws
            """)
        #expect(
            loaded?.route(named: "legacy") == RouteConfiguration(name: "legacy", path: "/ws", policy: .passthrough, maxPacketSize: 2 << 20))
        // Merge keys are shallow: a section written next to one replaces the merged section rather than merging into it.
        let shallow = fixture.load(
            """
            routes:
              browser: &web { path: /mqtt, policy: passthrough, compression: { enabled: true, level: 9 } }
              legacy: { <<: *web, path: /ws, compression: { enabled: true } }
            """)
        #expect(shallow?.route(named: "legacy")?.compression == CompressionConfiguration(enabled: true))
        #expect(
            fixture.problems(
                """
                routes:
                  browser: &web { path: /mqtt, polcy: passthrough }
                  legacy: { <<: *web, path: /ws, policy: passthrough }
                """) == [
                    "\(fixture.configPath):2:3: routes.browser.policy: missing; every entry in routes needs one",
                    "\(fixture.configPath):2:32: routes.browser.polcy: unknown key (did you mean 'policy'?)",
                    "\(fixture.configPath):2:32: routes.legacy.polcy: unknown key (did you mean 'policy'?)",
                ])
    }

    @Test("a key with no value is a mistake, not a request for the default")
    func nullValue() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems("upstream:\n  port:\n") == [
                "\(fixture.configPath):2:8: upstream.port: has no value (remove the key to use the default)"
            ])
    }

    @Test("relative paths in the file are resolved against the file's directory; absolute paths are kept")
    func relativePaths() throws {
        let fixture = try Fixture()
        let certificate = try fixture.file("Config/certs/a.crt")
        let key = try fixture.file("elsewhere/a.key")
        let loaded = fixture.load(
            """
            listeners:
              wss: { address: "::", port: 8443, tls: { certificate: certs/a.crt, key: \(key) } }
            """)
        #expect(loaded?.listener(named: "wss")?.tls?.certificatePath == certificate)
        #expect(loaded?.listener(named: "wss")?.tls?.keyPath == key)

        // A file given without a directory leaves relative paths relative (to the working directory).
        let bare = try? ConfigurationLoader.load(
            ConfigurationSource(
                fileText: "listeners: { ws: { address: 127.0.0.1, port: 1, tls: { certificate: \(key), key: \(key), chain: \(key) } } }",
                filePath: "bridge.yaml"
            ))
        #expect(bare?.listener(named: "ws")?.tls?.chainPath == key)
    }

    @Test("load(path:) reads the file and names it in messages")
    func loadFromPath() throws {
        let fixture = try Fixture()
        let path = try fixture.file("Config/bridge.yaml", "upstream:\n  port: 1884\n")
        let loaded = try ConfigurationLoader.load(path: path, environment: [:], overrides: [])
        #expect(loaded.upstream.port == 1884)
        #expect(loaded.listener(named: "wss")?.tls?.certificatePath == fixture.defaultCertificatePath)

        try fixture.file("Config/bridge.yaml", "upstream:\n  prot: 1884\n")
        #expect(
            throws: ConfigurationErrors(problems: [
                ConfigurationProblem(key: "upstream.prot", location: "\(path):2:3", message: "unknown key (did you mean 'port'?)")
            ])
        ) {
            try ConfigurationLoader.load(path: path, environment: [:], overrides: [])
        }
    }

    @Test("an unreadable file is reported with its path and the system's reason")
    func unreadableFile() throws {
        let fixture = try Fixture()
        let missing = fixture.root + "/Config/missing.yaml"
        #expect(
            throws: ConfigurationErrors(problems: [
                ConfigurationProblem(key: "", location: missing, message: "cannot read the configuration file: No such file or directory")
            ])
        ) {
            try ConfigurationLoader.load(path: missing, environment: [:], overrides: [])
        }
        do {
            _ = try ConfigurationLoader.load(path: fixture.root + "/Config", environment: [:], overrides: [])
            Issue.record("a directory loaded as a file")
        } catch {
            #expect(error.description == "\(fixture.root)/Config: cannot read the configuration file: is a directory, not a file")
        }
    }

    @Test("no file: built-in defaults, still overridable")
    func noFile() throws {
        let fixture = try Fixture()
        let loaded = fixture.load(
            nil,
            set: [
                "listeners.wss.tls.certificate=\(fixture.defaultCertificatePath)",
                "listeners.wss.tls.key=\(fixture.defaultKeyPath)",
                "static_files.directory=\(fixture.defaultStaticFilesDirectory)",
            ])
        #expect(loaded == fixture.defaults)
    }
}
