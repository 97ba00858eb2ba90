import Foundation
import NIOConcurrencyHelpers

/// A real HAProxy (Debian's package) started for one test, from a configuration file whose addresses and ports are
/// environment variables (HAProxy expands `"${NAME}"` and `"${NAME-default}"` in quoted arguments), so a shipped file
/// such as `Config/cluster/haproxy.cfg` runs unchanged with ephemeral loopback ports.
///
/// HAProxy's own log (stdout and stderr, with `log stdout` in the file) goes to `logPath`, kept after the test.
/// `stop()` ends only the process this object started (SIGTERM, then SIGKILL after 5 s).
package final class HAProxyProcess: Sendable {
    package let host = "127.0.0.1"
    /// The free port given to each variable named in `start(portVariables:)`.
    package let ports: [String: Int]
    package let directory: URL
    package var logPath: String { directory.appendingPathComponent("haproxy.log").path }

    private let process: NIOLockedValueBox<ChildProcess?>

    /// Starts `haproxy -db -f configPath` with `environment` and a free loopback port for each of `portVariables`
    /// (frontends and the stats page), and waits until every one of those ports accepts connections.
    package static func start(
        configPath: String, environment: [String: String], portVariables: [String], timeout: Duration = .seconds(10)
    ) async throws -> HAProxyProcess {
        var lastError: (any Error)?
        // A port picked by bind(0) can be taken by someone else before HAProxy binds it: retry a few times.
        for _ in 0..<5 {
            let ports = try Dictionary(uniqueKeysWithValues: portVariables.map { ($0, try FreePort.allocate()) })
            let proxy = try HAProxyProcess(ports: ports)
            do {
                try await proxy.launch(configPath: configPath, environment: environment, timeout: timeout)
                return proxy
            } catch {
                await proxy.stop()
                lastError = TestSupportError("\(error)\n--- haproxy's log:\n\(proxy.log())")
            }
        }
        throw lastError ?? TestSupportError("haproxy did not start")
    }

    private init(ports: [String: Int]) throws {
        self.ports = ports
        self.process = NIOLockedValueBox(nil)
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("haproxy-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// The port given to `variable`.
    package func port(_ variable: String) throws -> Int {
        guard let port = ports[variable] else { throw TestSupportError("no port was allocated for \(variable)") }
        return port
    }

    private func launch(configPath: String, environment: [String: String], timeout: Duration) async throws {
        var childEnvironment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        for (variable, port) in ports { childEnvironment[variable] = String(port) }
        // Check the file first: a configuration error is then reported as such, not as "did not accept connections".
        let check = try CommandLineTool.run(
            "/usr/bin/env", childEnvironment.map { "\($0.key)=\($0.value)" } + [try Self.executablePath(), "-c", "-f", configPath])
        guard check.status == 0 else { throw TestSupportError("haproxy -c -f \(configPath) failed: \(check.output)") }

        let process = try ChildProcess.spawn(
            executable: try Self.executablePath(), arguments: ["-db", "-f", configPath], environment: childEnvironment, outputPath: logPath)
        self.process.withLockedValue { $0 = process }
        for port in ports.values {
            try await PortWait.untilAccepting(host: host, port: port, timeout: timeout, name: "haproxy") { process.isRunning }
        }
    }

    /// The path of the `haproxy` binary (Debian: /usr/sbin/haproxy; Scripts/install-deps installs it).
    package static func executablePath() throws -> String {
        try CommandLineTool.path("haproxy")
    }

    package var pid: Int32? {
        process.withLockedValue { $0?.isRunning == true ? $0?.pid : nil }
    }

    /// SIGTERM, then SIGKILL if HAProxy has not exited after 5 s. Safe to call twice.
    package func stop() async {
        guard
            let process = self.process.withLockedValue({ p -> ChildProcess? in
                defer { p = nil }; return p
            })
        else { return }
        await process.stop(timeout: .seconds(5))
    }

    /// HAProxy's log so far (for failure messages).
    package func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "<no log>"
    }

    /// The check status of each server of `backend` (`UP`, `DOWN`, `MAINT`, `no check`, and transitions such as
    /// `UP 1/2`), by server name, from the stats page's CSV export at `statsPortVariable`'s port (`stats uri /stats`).
    package func serverStatuses(backend: String, statsPortVariable: String, uri: String = "/stats") async throws -> [String: String] {
        let client = try await TestTCPClient.connect(host: host, port: try port(statsPortVariable))
        defer { Task { await client.close() } }
        try await client.send(Array("GET \(uri);csv HTTP/1.0\r\nHost: haproxy\r\n\r\n".utf8))
        try await client.expectClosed(timeout: .seconds(5))
        let response = try await client.receiveAvailable(timeout: .seconds(1))
        guard let headEnd = response.firstEmptyLine() else {
            throw TestSupportError("no stats CSV from haproxy: \(String(decoding: response, as: UTF8.self))")
        }
        let head = String(decoding: response[..<headEnd], as: UTF8.self).lowercased()
        var bodyBytes = Array(response[(headEnd + 4)...])
        // HAProxy's stats applet answers in chunks even to HTTP/1.0.
        if head.contains("transfer-encoding: chunked") {
            guard case .complete(let decoded) = ChunkedBody.decode(bodyBytes) else {
                throw TestSupportError("malformed chunked stats from haproxy: \(String(decoding: response, as: UTF8.self))")
            }
            bodyBytes = decoded
        }
        let body = String(decoding: bodyBytes, as: UTF8.self)
        let lines = body.split(separator: "\n").map(String.init)
        guard let header = lines.first, header.hasPrefix("# ") else { throw TestSupportError("no CSV header in: \(body)") }
        let columns = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard let proxy = columns.firstIndex(of: "pxname"), let server = columns.firstIndex(of: "svname"),
            let status = columns.firstIndex(of: "status")
        else { throw TestSupportError("unexpected stats columns: \(header)") }
        var statuses: [String: String] = [:]
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > max(proxy, server, status), fields[proxy] == backend, !["FRONTEND", "BACKEND"].contains(fields[server])
            else { continue }
            statuses[fields[server]] = fields[status]
        }
        return statuses
    }
}
