import BridgeTestSupport
import Foundation

/// `openssl s_client`, the tool operators and testssl.sh use, against a loopback port: one handshake per call.
enum OpenSSLClient {
    struct Handshake: CustomStringConvertible {
        var status: Int32
        var output: String
        /// `TLSv1.2`, `TLSv1.3`; nil when the handshake failed.
        var version: String?
        /// OpenSSL's name of the negotiated suite (`ECDHE-RSA-AES128-GCM-SHA256`, `TLS_AES_256_GCM_SHA384`).
        var cipher: String?

        var succeeded: Bool { self.status == 0 && self.cipher != nil }
        /// The server answered the ClientHello with a fatal `handshake_failure` alert (40): no suite in common.
        var refusedNoSharedCipher: Bool { !self.succeeded && self.output.contains("SSL alert number 40") }
        /// The server answered with a fatal `protocol_version` alert (70): the version is not allowed.
        var refusedProtocolVersion: Bool { !self.succeeded && self.output.contains("SSL alert number 70") }

        var description: String {
            self.succeeded ? "\(self.version ?? "?") \(self.cipher ?? "?")" : "failed (\(self.status)): \(self.output)"
        }
    }

    /// `arguments` restrict the client (`-tls1_2 -cipher …`, `-tls1_3 -ciphersuites …`). SNI is `localhost`; the
    /// certificate is not verified (what is offered is the question here, not whom to trust).
    static func handshake(port: Int, _ arguments: [String]) throws -> Handshake {
        let result = try CommandLineTool.run(
            "openssl", ["s_client", "-brief", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"] + arguments,
            timeout: .seconds(20))
        func field(_ name: String) -> String? {
            result.output.split(separator: "\n").first { $0.hasPrefix(name) }.map { String($0.dropFirst(name.count)) }
        }
        return Handshake(status: result.status, output: result.output, version: field("Protocol version: "), cipher: field("Ciphersuite: "))
    }

    /// Every TLS 1.2 suite the listener accepts, found the way testssl.sh does without server preference: offer
    /// everything OpenSSL knows, note the suite the server takes, offer the rest again, until the server refuses.
    static func acceptedTLS12Suites(port: Int) throws -> Set<String> {
        var offered = try self.allTLS12Suites()
        var accepted: Set<String> = []
        while !offered.isEmpty {
            let handshake = try self.handshake(port: port, ["-tls1_2", "-cipher", offered.joined(separator: ":") + ":@SECLEVEL=0"])
            guard handshake.succeeded, let cipher = handshake.cipher, offered.contains(cipher) else {
                // No suite left in common, or TLS 1.2 itself refused (TLS 1.3 only): the scan is complete.
                guard handshake.refusedNoSharedCipher || handshake.refusedProtocolVersion else {
                    throw TestSupportError("scan step: \(handshake)")
                }
                break
            }
            accepted.insert(cipher)
            offered.removeAll { $0 == cipher }
        }
        return accepted
    }

    /// The TLS 1.2 suites of this machine's OpenSSL, weak ones included (`ALL:COMPLEMENTOFALL` at security level 0).
    static func allTLS12Suites() throws -> [String] {
        let output = try CommandLineTool.runChecked("openssl", ["ciphers", "-tls1_2", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"])
        // TLS 1.3 suites are always listed too; they do not take part in a TLS 1.2 handshake.
        return output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":").map(String.init)
            .filter { !$0.hasPrefix("TLS_") }
    }
}

/// An RSA server certificate for `localhost` and `127.0.0.1` (the development CA makes P-256 ECDSA ones), made once
/// per test process with the openssl tool.
enum RSATestCertificate {
    static let files: Result<(certificate: String, key: String), any Error> = Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mqtt-ws-bridge-rsa-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificate = directory + "/rsa.crt"
        let key = directory + "/rsa.key"
        try CommandLineTool.runChecked(
            "openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate, "-days", "30",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
        return (certificate, key)
    }
}
