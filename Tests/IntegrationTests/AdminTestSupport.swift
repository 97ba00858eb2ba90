import BridgeAdmin
import BridgeTestSupport
import Foundation
import Testing

/// One HTTP/1.1 response as the admin listener sent it.
struct AdminHTTPResponse: CustomStringConvertible {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as a JSON object (fails the test if it is not one).
    func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(body))
        return try #require(object as? [String: Any], "not a JSON object: \(text)", sourceLocation: sourceLocation)
    }

    var description: String { "\(status) \(text)" }
}

/// A raw HTTP/1.1 client on one TCP connection (keep-alive), reading responses by `Content-Length`: enough for the
/// admin listener, and independent of its implementation.
struct AdminHTTPClient {
    let connection: TestTCPClient

    static func connect(port: Int) async throws -> AdminHTTPClient {
        AdminHTTPClient(connection: try await TestTCPClient.connect(host: "127.0.0.1", port: port))
    }

    /// Sends a request (adding `Host` and, for a body, `Content-Length`) and reads the response.
    func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
        timeout: Duration = .seconds(10)
    ) async throws -> AdminHTTPResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try await connection.send(Array(head.utf8) + (body ?? []))
        return try await readResponse(method: method, timeout: timeout)
    }

    /// Reads one response (HEAD responses have no body whatever `Content-Length` says).
    func readResponse(method: String = "GET", timeout: Duration = .seconds(10)) async throws -> AdminHTTPResponse {
        var head: [UInt8] = []
        while !head.ends(with: [13, 10, 13, 10]) {
            head += try await connection.receive(count: 1, timeout: timeout)
            guard head.count < 65_536 else { throw TestSupportError("response head too long") }
        }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "),
            let status = Int(statusLine.dropFirst(9).prefix(3))
        else { throw TestSupportError("bad status line in \(lines)") }
        let headers = lines.dropFirst().map { line -> (String, String) in
            let parts = line.split(separator: ":", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
        let response = AdminHTTPResponse(status: status, headers: headers, body: [])
        if (100..<200).contains(status) || method == "HEAD" { return response }
        guard let length = response.header("Content-Length").flatMap({ Int($0) }) else {
            throw TestSupportError("no Content-Length in \(lines)")
        }
        var complete = response
        complete.body = length == 0 ? [] : try await connection.receive(count: length, timeout: timeout)
        return complete
    }

    func close() async {
        await connection.close()
    }
}

extension BridgeHarness {
    /// One request on a fresh connection.
    func admin(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8]? = nil
    ) async throws -> AdminHTTPResponse {
        let client = try await AdminHTTPClient.connect(port: adminPort)
        do {
            let response = try await client.request(method, path, headers: headers, body: body)
            await client.close()
            return response
        } catch {
            await client.close()
            throw error
        }
    }

    /// `POST /api/v1/publish` with a JSON body.
    func publish(_ json: String, token: String? = nil) async throws -> AdminHTTPResponse {
        try await publish(bytes: Array(json.utf8), token: token)
    }

    func publish(bytes: [UInt8], token: String? = nil) async throws -> AdminHTTPResponse {
        var headers = [("Content-Type", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        return try await admin("POST", "/api/v1/publish", headers: headers, body: bytes)
    }

    /// Polls `/readyz` until `condition` holds for its response; throws with the last response after `timeout`.
    @discardableResult
    func waitForReadyz(
        _ what: String, timeout: Duration = .seconds(10), _ condition: (AdminHTTPResponse) throws -> Bool
    ) async throws -> AdminHTTPResponse {
        let deadline = ContinuousClock.now + timeout
        var last: AdminHTTPResponse?
        while ContinuousClock.now < deadline {
            let response = try await admin("GET", "/readyz")
            if try condition(response) { return response }
            last = response
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError("timed out after \(timeout) waiting until /readyz \(what); last: \(last.map(\.description) ?? "none")")
    }

    /// Waits until the publisher pool has `count` connections (at least one by default).
    func waitForPublishers(atLeast count: Int = 1, timeout: Duration = .seconds(10)) async throws {
        try await waitFor("\(count) publisher connection(s)", timeout: timeout) { (admin?.publisherConnections ?? 0) >= count }
    }

    /// Polls `condition` every 10 ms; throws after `timeout`.
    func waitFor(_ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestSupportError("timed out after \(timeout) waiting for \(what)")
    }
}

/// Runs a command line tool found on PATH (or in the usual Debian places); throws with its output if it fails.
func runTool(_ name: String, _ arguments: [String]) throws {
    try CommandLineTool.runChecked(name, arguments)
}

/// A Mosquitto password file with one user (`mosquitto_passwd`), readable by the broker. The tool runs on a thread of
/// its own: waiting for a process must not hold one of the few cooperative threads every concurrent test shares.
func makeMosquittoPasswordFile(user: String, password: String) async throws -> String {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try makeMosquittoPasswordFileBlocking(user: user, password: password) })
        }
    }
}

private func makeMosquittoPasswordFileBlocking(user: String, password: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("admin-test-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    let path = directory.appendingPathComponent("passwords").path
    try runTool("mosquitto_passwd", ["-c", "-b", path, user, password])
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    return path
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
