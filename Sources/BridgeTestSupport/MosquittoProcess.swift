import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A real Mosquitto broker started for one test on a free loopback port.
///
/// The broker's own log goes to `logPath` (kept after the test, useful when a test fails).
/// `stop()` ends only the process this object started (SIGTERM, then SIGKILL after 5 s).
package final class MosquittoProcess: Sendable {
    package let host = "127.0.0.1"
    /// The plain MQTT (TCP) listener.
    package let port: Int
    /// The websockets listener, when one was asked for.
    package let websocketsPort: Int?
    package let directory: URL
    package var logPath: String { directory.appendingPathComponent("mosquitto.log").path }
    package var configPath: String { directory.appendingPathComponent("mosquitto.conf").path }

    private let process = NIOLockedValueBox<ChildProcess?>(nil)
    private let environment: [String: String]

    /// Starts a broker. `extraConfig` is appended to the generated configuration (password files, limits…).
    /// Without a `password_file` line in it, anonymous clients are allowed. `environment` is added to the broker's
    /// (e.g. `OPENSSL_CONF`, for TLS settings Mosquitto has no option for).
    package static func start(
        extraConfig: String = "", websockets: Bool = false, environment: [String: String] = [:]
    ) async throws -> MosquittoProcess {
        var lastError: Error?
        // A port picked by bind(0) can be taken by someone else before Mosquitto binds it: retry a few times.
        for _ in 0..<5 {
            let port = try FreePort.allocate()
            let wsPort = websockets ? try FreePort.allocate() : nil
            let broker = try MosquittoProcess(port: port, websocketsPort: wsPort, extraConfig: extraConfig, environment: environment)
            do {
                try await broker.launch()
                return broker
            } catch {
                lastError = error
                await broker.stop()
            }
        }
        throw lastError ?? TestSupportError("mosquitto did not start")
    }

    private init(port: Int, websocketsPort: Int?, extraConfig: String, environment: [String: String]) throws {
        self.port = port
        self.websocketsPort = websocketsPort
        self.environment = environment
        self.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("mosquitto-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = """
            per_listener_settings false
            persistence false
            log_dest file \(directory.appendingPathComponent("mosquitto.log").path)
            log_type all
            connection_messages true
            listener \(port) 127.0.0.1

            """
        if let websocketsPort {
            config += "listener \(websocketsPort) 127.0.0.1\nprotocol websockets\n"
        }
        // Started as root, Mosquitto switches to the `mosquitto` user and then cannot write its log (or read
        // test files) in root's temporary directory: keep it as the user that started it.
        if geteuid() == 0 && !extraConfig.contains("\nuser ") && !extraConfig.hasPrefix("user ") {
            config += "user root\n"
        }
        if !extraConfig.contains("password_file") && !extraConfig.contains("allow_anonymous") {
            config += "allow_anonymous true\n"
        }
        config += extraConfig + "\n"
        try config.write(to: directory.appendingPathComponent("mosquitto.conf"), atomically: true, encoding: .utf8)
    }

    /// The path of the `mosquitto` binary (Debian installs it in /usr/sbin, often not on a user's PATH).
    package static func executablePath() throws -> String {
        try CommandLineTool.path("mosquitto")
    }

    private func launch() async throws {
        let environment = self.environment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(self.environment) { $1 }
        let process = try ChildProcess.spawn(
            executable: try Self.executablePath(), arguments: ["-c", configPath], environment: environment)
        self.process.withLockedValue { $0 = process }
        try await Self.waitUntilAccepting(host: host, port: port, timeout: .seconds(10)) { process.isRunning }
        if let websocketsPort {
            try await Self.waitUntilAccepting(host: host, port: websocketsPort, timeout: .seconds(10)) { process.isRunning }
        }
    }

    /// Starts the same broker again on the same port(s), e.g. after `stop()`.
    package func restart() async throws {
        await stop()
        try await launch()
    }

    /// The process id while running.
    package var pid: Int32? {
        process.withLockedValue { $0?.isRunning == true ? $0?.pid : nil }
    }

    /// SIGTERM, then SIGKILL if the broker has not exited after 5 s. Safe to call twice.
    package func stop() async {
        guard
            let process = self.process.withLockedValue({ p -> ChildProcess? in
                defer { p = nil }; return p
            })
        else { return }
        await process.stop(timeout: .seconds(5))
    }

    /// The broker's log so far (for failure messages).
    package func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "<no log>"
    }

    /// Polls a TCP connect until it succeeds, the deadline passes, or `stillAlive` says the process died.
    static func waitUntilAccepting(
        host: String, port: Int, timeout: Duration, stillAlive: @Sendable () -> Bool
    ) async throws {
        try await PortWait.untilAccepting(host: host, port: port, timeout: timeout, name: "mosquitto", stillAlive: stillAlive)
    }
}

/// A free TCP port on 127.0.0.1, found by binding port 0 and closing the socket again.
package enum FreePort {
    package static func allocate() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw TestSupportError("bind() failed: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw TestSupportError("getsockname() failed: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// An error from the test harness itself (not from the code under test).
package struct TestSupportError: Error, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
