import BridgeTestSupport
import Foundation
import Testing

/// The real `mqtt-ws-bridge` binary, for tests that need the process itself: signals, exit codes, descriptor limits,
/// restarts on the port its clients expect.
///
/// It runs with the test environment (no inherited `MQTT_WS_BRIDGE_*` variables) and its combined output in a file.
struct BridgeProcess {
    let process: ChildProcess
    /// The bound port of the listener `start` waited for.
    let port: Int
    let outputPath: String

    /// Everything the bridge has written so far (stdout and stderr).
    var log: String { (try? String(contentsOfFile: self.outputPath, encoding: .utf8)) ?? "" }

    /// Starts the binary and waits for the `listener`'s bound port in its log.
    /// - Parameters:
    ///   - launcher: a command line tool and its arguments to run the binary under (e.g. `prlimit --nofile=48:48`).
    ///   - outputPath: where the output goes; a new temporary file by default.
    static func start(
        arguments: [String], listener: String = "wss", launcher: [String] = [], outputPath: String? = nil
    ) async throws -> BridgeProcess {
        let output =
            outputPath ?? FileManager.default.temporaryDirectory.appendingPathComponent("bridge-\(UUID().uuidString).txt").path
        let binary = try ExecutableTests.binary
        var executable = binary
        var fullArguments = arguments
        if let tool = launcher.first {
            executable = try CommandLineTool.path(tool)
            fullArguments = Array(launcher.dropFirst()) + [binary] + arguments
        }
        let process = try ChildProcess.spawn(
            executable: executable, arguments: fullArguments,
            environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MQTT_WS_BRIDGE_") }, outputPath: output)
        do {
            let port = try await ExecutableTests.waitForListeningPort(in: output, listener: listener, process: process)
            return BridgeProcess(process: process, port: port, outputPath: output)
        } catch {
            Issue.record("bridge output:\n\((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
            await process.stop()
            throw error
        }
    }

    /// ExecutableTests' configuration in front of a broker, its wss listener on `port` (0: any), so that a test can
    /// restart it where its clients expect it.
    static func start(brokerPort: Int, port: Int = 0) async throws -> BridgeProcess {
        try await Self.start(arguments: [
            "--config", try ExecutableTests.writeConfig(brokerPort: brokerPort), "--set", "listeners.wss.port=\(port)",
        ])
    }

    /// Starts the bridge, runs the body, then stops the process and the broker the test started for it, also when the
    /// body throws, in which case the bridge's output is recorded with the failure.
    static func with(
        arguments: [String], broker: MosquittoProcess, listener: String = "wss", launcher: [String] = [],
        outputPath: String? = nil, _ body: (BridgeProcess) async throws -> Void
    ) async throws {
        let bridge: BridgeProcess
        do {
            bridge = try await Self.start(arguments: arguments, listener: listener, launcher: launcher, outputPath: outputPath)
        } catch {
            await broker.stop()
            throw error
        }
        do {
            try await body(bridge)
        } catch {
            Issue.record("bridge output:\n\(bridge.log)")
            await bridge.process.stop()
            await broker.stop()
            throw error
        }
        await bridge.process.stop()
        await broker.stop()
    }

    /// SIGTERM (drain: clients get close 1001) and the exit code.
    func stop() async -> Int32? {
        self.process.send(SIGTERM)
        if let status = await self.process.waitForExit(timeout: .seconds(10)) { return status }
        await self.process.stop()
        return nil
    }
}
