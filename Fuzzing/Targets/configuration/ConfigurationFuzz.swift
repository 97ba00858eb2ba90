import BridgeConfig
import Foundation
import FuzzSupport

/// The configuration loader: the YAML file, `MQTT_WS_BRIDGE_*` environment variables and `--set` arguments, layered,
/// decoded and validated (`ConfigurationLoader.load(_:)`).
///
/// Input: the file's text, then optionally a NUL byte and the environment (`NAME=value` lines), then optionally a NUL
/// byte and the `--set` arguments (one a line). The file claims to live in a scratch directory laid out like the
/// repository (`Config/bridge.yaml`, the development certificate's stand-ins in `.dev/certs`, `Dashboard/`), so that
/// the defaults' paths exist and a configuration can load.
///
/// Invariants:
/// - the loader returns a configuration that passes validation, or throws a non-empty list of problems;
/// - every problem names a key or a location and has a message, and no message shows a Swift type or an optional;
/// - problems in the file come in the file's order (line, then column).
enum ConfigurationFuzz: FuzzTarget {
    /// Made once per process (libFuzzer runs every input in the same process).
    static let scratch: String = {
        let root = FileManager.default.temporaryDirectory.path + "/mqtt-ws-bridge-fuzz-\(getpid())"
        for directory in ["Config", ".dev/certs", "Dashboard"] {
            try? FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        _ = FileManager.default.createFile(atPath: root + "/.dev/certs/server.crt", contents: Data("certificate".utf8))
        _ = FileManager.default.createFile(atPath: root + "/.dev/certs/server.key", contents: Data("key".utf8))
        atexit { try? FileManager.default.removeItem(atPath: ConfigurationFuzz.scratch) }
        return root
    }()

    static func source(_ bytes: [UInt8]) -> ConfigurationSource {
        let parts = bytes.parts(separatedBy: 0, maximumParts: 3).map { String(decoding: $0, as: UTF8.self) }
        var environment: [String: String] = [:]
        for line in parts.count > 1 ? parts[1].split(separator: "\n") : [] {
            let pair = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            environment[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        let overrides = parts.count > 2 ? parts[2].split(separator: "\n").map(String.init) : []
        return ConfigurationSource(
            fileText: parts[0], filePath: scratch + "/Config/bridge.yaml", environment: environment, overrides: overrides
        )
    }

    static func test(_ bytes: [UInt8]) {
        let source = source(bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let outcome = load(source)
        switch outcome {
        case .success(let configuration):
            do {
                try configuration.validate()
            } catch {
                fuzzCheck(false, "the loader returned a configuration that does not validate: \(error)")
            }
        case .failure(let errors):
            fuzzCheck(!errors.problems.isEmpty, "the loader threw an empty list of problems")
            // File problems come first, in the order of the file's lines, as a user reads the file.
            let positions = errors.problems.compactMap { problem -> [Int]? in
                guard let location = problem.location, location.hasPrefix(scratch) else { return nil }
                let parts = location.split(separator: ":").suffix(2).compactMap { Int($0) }
                return parts.count == 2 ? parts : nil
            }
            fuzzCheck(positions == positions.sorted { $0.lexicographicallyPrecedes($1) }, "file problems out of order: \(errors)")
            for problem in errors.problems {
                fuzzCheck(!problem.key.isEmpty || problem.location != nil, "a problem names neither key nor location: \(problem)")
                fuzzCheck(!problem.message.isEmpty, "a problem without a message: \(problem)")
                // Unless the input itself says so (messages quote the user's keys and values).
                for swiftism in ["Optional(", "Swift.", "BridgeConfig.", "Yams", "Error("] where !text.contains(swiftism) {
                    fuzzCheck(!problem.message.contains(swiftism), "a message shows '\(swiftism)': \(problem)")
                }
            }
        }
    }

    static func load(_ source: ConfigurationSource) -> Result<BridgeConfiguration, ConfigurationErrors> {
        do {
            return .success(try ConfigurationLoader.load(source))
        } catch {
            return .failure(error)
        }
    }

    static func seeds() throws -> [(name: String, bytes: [UInt8])] {
        // The shipped file without its comments (they are most of it, and the fuzzer learns nothing from them),
        // whole and section by section.
        let shipped = try String(contentsOfFile: "Config/bridge.yaml", encoding: .utf8)
        let lines = shipped.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }
        let uncommented = lines.map { line in
            line.range(of: " # ").map { String(line[..<$0.lowerBound]) } ?? String(line)
        }
        var sections: [[String]] = []
        for line in uncommented {
            if !line.hasPrefix(" "), !line.hasPrefix("-") || sections.isEmpty {
                sections.append([line])
            } else {
                sections[sections.count - 1].append(line)
            }
        }
        func seed(_ file: String, environment: [String] = [], overrides: [String] = []) -> [UInt8] {
            var bytes = Array(file.utf8)
            if !environment.isEmpty || !overrides.isEmpty {
                bytes += [0] + Array(environment.joined(separator: "\n").utf8)
            }
            if !overrides.isEmpty {
                bytes += [0] + Array(overrides.joined(separator: "\n").utf8)
            }
            return bytes
        }
        var seeds: [(name: String, bytes: [UInt8])] = [("shipped", seed(uncommented.joined(separator: "\n")))]
        for section in sections {
            let name = section[0].prefix { $0 != ":" }
            seeds.append(("shipped-\(name)", seed(section.joined(separator: "\n"))))
        }
        seeds += [
            ("empty", []),
            (
                "environment-and-set",
                seed(
                    "upstream:\n  host: 127.0.0.1\n  port: 1883\n",
                    environment: ["MQTT_WS_BRIDGE_LISTENERS_WSS_PORT=443", "MQTT_WS_BRIDGE_UPSTREAM_PORT=8883", "MQTT_WS_BRIDGE_CONFIG=x"],
                    overrides: ["upstream.port=1884", "routes.extra.path=/x", "routes.extra.policy=passthrough", "logging.level=debug"]
                )
            ),
            (
                "anchors-and-merge-keys",
                seed(
                    """
                    routes:
                      browser: &route
                        path: /mqtt
                        policy: passthrough
                      wx:
                        <<: *route
                        path: /wss
                        policy: miniprogram
                    """
                )
            ),
            // Aliases of aliases: where a few bytes can stand for very many values (the limit in YAMLParsing).
            (
                "nested-aliases",
                seed("a0: &a0 [x, y, z]\na1: &a1 [*a0, *a0, *a0]\nroutes:\n  browser: { path: /mqtt, subprotocols: *a1 }\n")
            ),
            ("syntax-error", seed("listeners:\n  wss:\n    address: ::\n    port: [443\n")),
            ("typos", seed("listners: {}\nroutes:\n  browser:\n    policy: pasthrough\n", environment: ["MQTT_WS_BRIDGE_UPSTREAM_PROT=1"])),
            ("durations-and-sizes", seed("timeouts:\n  handshake: 1.5s\n  connect: 2m\nlimits:\n  max_request_head_size: 8KB\n")),
        ]
        return seeds
    }
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    FuzzEntry.initialize(ConfigurationFuzz.self)
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.test(ConfigurationFuzz.self, data, size)
}
