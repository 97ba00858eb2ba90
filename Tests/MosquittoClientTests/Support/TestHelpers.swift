import BridgeTestSupport
import Foundation
import MosquittoClient
import Testing

/// Runs `body` with a fresh broker and stops the broker on every path.
///
/// `user root`: a broker started as root otherwise drops to the `mosquitto` user, cannot open the log file in
/// `MosquittoProcess`'s root-owned directory, and then logs nothing at all. The option does nothing for a non-root
/// start.
func withBroker<T>(
    extraConfig: String = "", _ body: (MosquittoProcess) async throws -> T
) async throws -> T {
    let broker = try await MosquittoProcess.start(extraConfig: "user root\n" + extraConfig)
    do {
        let result = try await body(broker)
        await broker.stop()
        return result
    } catch {
        await broker.stop()
        throw error
    }
}

/// Runs `body` with a started pool and shuts the pool down on every path.
func withPool<T>(
    _ options: MosquittoConnectionOptions, size: Int = 2,
    reconnect: MosquittoReconnectPolicy = MosquittoReconnectPolicy(),
    _ body: (MosquittoPublisherPool) async throws -> T
) async throws -> T {
    let pool = try MosquittoPublisherPool(options: options, size: size, reconnectPolicy: reconnect)
    pool.start()
    do {
        let result = try await body(pool)
        await pool.shutdown()
        return result
    } catch {
        await pool.shutdown()
        throw error
    }
}

/// Polls `condition` every 10 ms until it holds; throws after `timeout`.
func waitUntil(
    _ what: String, timeout: Duration = .seconds(10), _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TestSupportError("timed out after \(timeout) waiting until \(what)")
}

/// The error a throwing call ended with, or nil when it succeeded. (Closures do not infer typed throws, so the
/// body is untyped; anything but a `MosquittoError` is a test failure.)
func failure<T>(_ body: () async throws -> T) async -> MosquittoError? {
    do {
        _ = try await body()
        return nil
    } catch let error as MosquittoError {
        return error
    } catch {
        Issue.record("not a MosquittoError: \(error)")
        return MosquittoError(kind: .protocolError, reason: "\(error)")
    }
}

func options(
    for broker: MosquittoProcess, _ version: MosquittoConnectionOptions.ProtocolVersion = .v5
)
    -> MosquittoConnectionOptions
{
    MosquittoConnectionOptions(
        host: broker.host, port: broker.port, protocolVersion: version,
        connectTimeout: .seconds(5), ackTimeout: .seconds(5))
}

/// The path of a command line tool.
func tool(_ name: String) throws -> String { try CommandLineTool.path(name) }

/// Runs a command line tool; throws with its output if it fails.
@discardableResult
func run(_ name: String, _ arguments: [String]) throws -> String { try CommandLineTool.runChecked(name, arguments) }

/// A scratch directory that the broker can read even after dropping root privileges to the `mosquitto` user.
func makeReadableTemporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("mosquitto-client-test-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(
        at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    return directory
}

/// A Mosquitto password file with one user, made by `mosquitto_passwd` (readable by the broker's user).
func makePasswordFile(user: String, password: String) throws -> String {
    let path = try makeReadableTemporaryDirectory().appendingPathComponent("passwords").path
    try run("mosquitto_passwd", ["-c", "-b", path, user, password])
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    return path
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate signed by it, made with the `openssl` tool;
/// plus the client key encrypted with a passphrase.
struct TestCertificates {
    let caFile: String
    let certFile: String
    let keyFile: String
    let clientCertFile: String
    let clientKeyFile: String
    let encryptedClientKeyFile: String

    static func make() throws -> TestCertificates {
        let directory = try makeReadableTemporaryDirectory()
        func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
        let openssl = "openssl"
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run(
            openssl,
            ["req", "-x509"] + ec + [
                "-keyout", path("ca.key"), "-out", path("ca.pem"), "-days", "2", "-subj", "/CN=mqtt-ws-bridge test CA",
            ])
        try "subjectAltName=IP:127.0.0.1\n".write(toFile: path("san.ext"), atomically: true, encoding: .utf8)
        for (name, subject, extensions) in [("server", "/CN=127.0.0.1", ["-extfile", path("san.ext")]), ("client", "/CN=bridge", [])] {
            try run(openssl, ["req"] + ec + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject])
            try run(
                openssl,
                [
                    "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.pem"), "-CAkey", path("ca.key"),
                    "-CAcreateserial", "-out", path("\(name).pem"), "-days", "2",
                ] + extensions)
        }
        try run(openssl, ["pkey", "-in", path("client.key"), "-aes256", "-passout", "pass:secret", "-out", path("client-encrypted.key")])
        for name in ["ca.pem", "server.pem", "server.key", "client.pem", "client.key", "client-encrypted.key"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path(name))
        }
        return TestCertificates(
            caFile: path("ca.pem"), certFile: path("server.pem"), keyFile: path("server.key"),
            clientCertFile: path("client.pem"), clientKeyFile: path("client.key"),
            encryptedClientKeyFile: path("client-encrypted.key"))
    }
}
