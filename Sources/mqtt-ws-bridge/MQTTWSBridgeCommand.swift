import ArgumentParser
import BridgeAdmin
import BridgeConfig
import BridgeLogging
import BridgeRelay
import BridgeServer
import BridgeTLS
import Foundation
import Logging
import Metrics
import MosquittoClient
import ServiceLifecycle
import UnixSignals

@main
struct MQTTWSBridgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt-ws-bridge",
        abstract: "MQTT over WebSocket (ws/wss) in front of an MQTT broker, for WeChat mini-programs and browsers.",
        version: "0.1.0",
        subcommands: [Serve.self, DevCert.self],
        defaultSubcommand: Serve.self
    )
}

/// Options shared by the commands that read the configuration.
struct ConfigurationOptions: ParsableArguments {
    @Option(
        name: .shortAndLong,
        help: ArgumentHelp(
            "Configuration file (YAML).", discussion: "Default: $MQTT_WS_BRIDGE_CONFIG, else built-in defaults.", valueName: "path"))
    var config: String?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Override one key, e.g. --set upstream.port=1884 (repeatable; wins over the file and the environment).", valueName: "key=value")
    )
    var overrides: [String] = []

    @Option(
        help: ArgumentHelp(
            "Log level (trace, debug, info, notice, warning, error, critical); same as --set logging.level=…", valueName: "level"))
    var logLevel: String?

    /// Loads and validates the configuration, or prints every problem and exits with code 2.
    func load() throws -> BridgeConfiguration {
        let environment = ProcessInfo.processInfo.environment
        let path = self.config ?? environment["MQTT_WS_BRIDGE_CONFIG"]
        var overrides = self.overrides
        if let logLevel { overrides.append("logging.level=\(logLevel)") }
        do {
            return try ConfigurationLoader.load(path: path, environment: environment, overrides: overrides)
        } catch {
            printError(
                "mqtt-ws-bridge: invalid configuration\(path.map { " (\($0))" } ?? ""):\n"
                    + error.problems.map { "  \($0)" }.joined(separator: "\n"))
            throw ExitCode(2)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the bridge (the default command).")

    @OptionGroup var options: ConfigurationOptions

    @Flag(help: "Validate the configuration (including certificates) and exit: 0 when valid, 2 otherwise.")
    var checkConfig = false

    func run() async throws {
        let configuration = try self.options.load()
        let level = Logger.Level(rawValue: configuration.logging.level) ?? .info
        let format: LogFormat =
            switch configuration.logging.format {
            case .text: .text
            case .json: .json
            }
        if !self.checkConfig {
            LoggingSystem.bootstrap { label in StructuredLogHandler(label: label, level: level, format: format) }
        }

        let logger = Logger(label: "mqtt_ws_bridge")

        if self.checkConfig {
            do {
                try BridgeServer.validate(configuration)
                try await BridgeServer.validateEdgeAuth(configuration)
                if configuration.admin.enabled { try AdminService.validate(AdminSettings(configuration)) }
            } catch {
                printError("mqtt-ws-bridge: \(error)")
                throw ExitCode(2)
            }
            let listeners = configuration.listeners.filter(\.enabled).map { "\($0.tls == nil ? "ws" : "wss")://\($0.address):\($0.port)" }
            let admin = configuration.admin.enabled ? "http://\(configuration.admin.address):\(configuration.admin.port)" : "disabled"
            print(
                "configuration OK: listeners \(listeners.joined(separator: ", ")); routes \(configuration.routes.map { "\($0.path) (\($0.policy.rawValue))" }.joined(separator: ", ")); upstream \(configuration.upstream.host):\(configuration.upstream.port); admin \(admin)"
            )
            return
        }

        // One Prometheus registry for everything: the relay's metrics (through this factory) and the admin listener's.
        let metricsExport = MetricsExport()
        MetricsSystem.bootstrap(metricsExport.factory)
        LogWriter.standardOutput.countDrops(with: metricsExport.factory)
        let bridgeMetrics = BridgeMetrics(routeNames: configuration.routes.map(\.name), factory: metricsExport.factory)

        let server: BridgeServer
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        do {
            let edgeAuthenticator = try await BridgeServer.makeEdgeAuthenticator(for: configuration, logger: logger)
            // With upstream.servers the bridge health-checks every server with the admin client's libmosquitto probe
            // (whether or not the admin listener is enabled).
            server = try BridgeServer(
                configuration: configuration, logger: logger, metrics: bridgeMetrics, edgeAuthenticator: edgeAuthenticator,
                upstreamProbe: AdminService.upstreamHealthProbe(configuration))
            if configuration.admin.enabled {
                // First in the group, so it is shut down last: /readyz answers 503 while the bridge drains.
                let admin = try AdminService(
                    settings: AdminSettings(configuration),
                    bridgePhase: { BridgePhase(rawValue: server.phase.rawValue) ?? .stopped },
                    metrics: metricsExport,
                    sessions: server.sessions,
                    refusals: bridgeMetrics.refusals,
                    logger: Logger(label: "mqtt_ws_bridge.admin"),
                    upstreamPool: server.upstreamPool)
                services.append(.init(service: admin))
            }
        } catch {
            printError("mqtt-ws-bridge: \(error)")
            throw ExitCode(2)
        }
        services.append(.init(service: server))

        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services + [
                    // Last: graceful shutdown goes in reverse order, so SIGHUP handling ends before the drain.
                    .init(service: CertificateReloadOnHangup(server: server, hangups: hangups, logger: logger))
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            logger.critical("stopped with an error", metadata: ["error": "\(error)"])
            // Every service has returned (the admin service shut its publisher pool down): libmosquitto can go.
            MosquittoLibrary.shutdown()
            Self.flushLogs()
            throw ExitCode(1)
        }
        MosquittoLibrary.shutdown()
        Self.flushLogs()
    }

    /// Log lines are written by a thread of their own: wait for the last ones (the drain's access lines, "stopped")
    /// before the process exits. Bounded, in case standard output is stalled for good.
    private static func flushLogs() {
        LogWriter.standardOutput.flush(timeout: .seconds(5))
    }
}

struct DevCert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-cert",
        abstract: "Create a development CA and a server certificate for localhost (kept until 30 days before expiry)."
    )

    @Option(help: ArgumentHelp("Directory for ca.crt, ca.key, server.crt, server.key.", valueName: "dir"))
    var directory = ".dev/certs"

    @Option(
        name: .customLong("name"),
        help: ArgumentHelp("Extra DNS name or IP address for the server certificate (repeatable).", valueName: "name"))
    var names: [String] = []

    func run() async throws {
        do {
            let paths = try DevelopmentCertificate.ensure(in: self.directory, extraNames: self.names)
            print(paths.generated ? "created development certificate:" : "development certificate is current:")
            print("  CA (trust this in your browser/OS for local testing): \(paths.caCertificate)")
            print("  server certificate: \(paths.certificate)")
            print("  server key:         \(paths.key)")
        } catch {
            printError("mqtt-ws-bridge dev-cert: \(error)")
            throw ExitCode(1)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
