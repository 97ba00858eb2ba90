import BridgeServer
import BridgeTLS
import BridgeTestSupport
import Foundation
import NIOSSL
import Testing

/// The development CA and server certificate must work in a real TLS handshake, with a client that trusts only
/// the CA and checks names, by hostname and by IP, and must be reused or renewed exactly when it should.
@Suite struct DevelopmentCertificateTests {
    @Test func generatedCertificateIsTrustedByNameAndByIP() async throws {
        try await withTemporaryDirectory { directory in
            let paths = try DevelopmentCertificate.ensure(in: directory, extraNames: ["bridge.test", "10.1.2.3"])
            #expect(paths.generated && paths.caGenerated)
            #expect(paths.caCertificate == directory + "/ca.crt" && paths.caKey == directory + "/ca.key")
            #expect(paths.certificate == directory + "/server.crt" && paths.key == directory + "/server.key")

            // NIOSSL (what the bridge uses) loads the files; server.crt holds the leaf only.
            #expect(try NIOSSLCertificate.fromPEMFile(paths.certificate).count == 1)
            #expect(try NIOSSLCertificate.fromPEMFile(paths.caCertificate).count == 1)
            _ = try NIOSSLPrivateKey(file: paths.key, format: .pem)
            _ = try NIOSSLPrivateKey(file: paths.caKey, format: .pem)

            let server = try await ScriptedTCPServer.start(
                tls: .init(certificatePEMPath: paths.certificate, privateKeyPEMPath: paths.key), script: ScriptedTCPServer.echo
            )
            do {
                let trusted = [
                    ("localhost", TestTLS(trustRootsPEMPath: paths.caCertificate, serverName: "localhost")),
                    ("extra name", TestTLS(trustRootsPEMPath: paths.caCertificate, serverName: "bridge.test")),
                    ("IP 127.0.0.1", TestTLS(trustRootsPEMPath: paths.caCertificate, serverName: nil)),
                    ("TLS 1.2", TestTLS(trustRootsPEMPath: paths.caCertificate, serverName: "localhost", maximumVersion: .tlsv12)),
                    ("TLS 1.3", TestTLS(trustRootsPEMPath: paths.caCertificate, serverName: "localhost", minimumVersion: .tlsv13)),
                ]
                for (label, tls) in trusted {
                    let echoed = try await echo(Array("hello \(label)".utf8), port: server.port, tls: tls)
                    #expect(echoed == Array("hello \(label)".utf8), "\(label)")
                }

                // The checks are real: another CA, or a TLS version under 1.2, fails the handshake. (A wrong name
                // alone would pass here: NIOSSL also accepts a certificate whose IP entry matches the address
                // connected to, and 127.0.0.1 is in the certificate. Names are checked below on 127.0.0.2.)
                let otherCA = try DevelopmentCertificate.ensure(in: directory + "/other").caCertificate
                let refused = [
                    ("other CA", TestTLS(trustRootsPEMPath: otherCA, serverName: "localhost")),
                    ("TLS 1.1", TestTLS(serverName: "localhost", maximumVersion: .tlsv11)),
                ]
                for (label, tls) in refused {
                    let error = await #expect(throws: TestClientError.self, "\(label)") {
                        try await echo([1], port: server.port, tls: tls)
                    }
                    #expect(error?.kind == .connectionClosed, "\(label): \(String(describing: error))")
                }
            } catch {
                await server.stop()
                throw error
            }
            await server.stop()

            // On an address the certificate does not name, only the DNS name can match. Linux routes all of
            // 127/8 to loopback; where 127.0.0.2 is not configured (macOS by default) this part is skipped.
            guard
                let other = try? await ScriptedTCPServer.start(
                    host: "127.0.0.2", tls: .init(certificatePEMPath: paths.certificate, privateKeyPEMPath: paths.key),
                    script: ScriptedTCPServer.echo
                )
            else { return }
            do {
                let byName = TestTLS(trustRootsPEMPath: paths.caCertificate, serverName: "localhost")
                #expect(try await echo([7], host: other.host, port: other.port, tls: byName) == [7])
                let wrongName = TestTLS(trustRootsPEMPath: paths.caCertificate, serverName: "example.com")
                let error = await #expect(throws: TestClientError.self) {
                    try await echo([1], host: other.host, port: other.port, tls: wrongName)
                }
                #expect(error?.description.contains("example.com") == true, "\(String(describing: error))")
            } catch {
                await other.stop()
                throw error
            }
            await other.stop()
        }
    }

    @Test func secondCallReusesTheFilesAndKeysArePrivate() async throws {
        try await withTemporaryDirectory { directory in
            let first = try DevelopmentCertificate.ensure(in: directory)
            let before = try contents(first)
            let second = try DevelopmentCertificate.ensure(in: directory)
            #expect(!second.generated && !second.caGenerated)
            #expect(try contents(second) == before)

            for path in [first.key, first.caKey] {
                #expect(try permissions(path) == 0o600, "\(path)")
            }
            for path in [first.certificate, first.caCertificate] {
                #expect(try permissions(path) == 0o644, "\(path)")
            }
            #expect(try permissions(directory) == 0o700)
        }
    }

    @Test func leafIsRenewedNearExpiryOrForNewNamesAndTheCAIsKept() async throws {
        try await withTemporaryDirectory { directory in
            let now = Date()
            let first = try DevelopmentCertificate.ensure(in: directory, now: now)
            let original = try contents(first)

            // Still fine 300 days later: nothing to do.
            #expect(!(try DevelopmentCertificate.ensure(in: directory, now: now.addingTimeInterval(300 * 86_400))).generated)

            // 370 days later the leaf (397 days) has fewer than 30 days left: new leaf, same CA.
            let renewed = try DevelopmentCertificate.ensure(in: directory, now: now.addingTimeInterval(370 * 86_400))
            #expect(renewed.generated && !renewed.caGenerated)
            let afterRenewal = try contents(renewed)
            #expect(afterRenewal.ca == original.ca && afterRenewal.caKey == original.caKey)
            #expect(afterRenewal.certificate != original.certificate && afterRenewal.key != original.key)

            // A new name needs a new leaf.
            let later = now.addingTimeInterval(370 * 86_400)
            let withName = try DevelopmentCertificate.ensure(in: directory, extraNames: ["phone.lan"], now: later)
            #expect(withName.generated && !withName.caGenerated)
            #expect(!(try DevelopmentCertificate.ensure(in: directory, extraNames: ["phone.lan"], now: later)).generated)

            // A damaged key or certificate is replaced, not used.
            try "garbage".write(toFile: withName.key, atomically: true, encoding: .utf8)
            #expect(try DevelopmentCertificate.ensure(in: directory, extraNames: ["phone.lan"], now: later).generated)

            // Ten years on, the CA itself is renewed (and the leaf with it).
            let late = try DevelopmentCertificate.ensure(in: directory, now: now.addingTimeInterval(3_640 * 86_400))
            #expect(late.generated && late.caGenerated)
        }
    }

    @Test func invalidExtraNamesAreRefused() async throws {
        try await withTemporaryDirectory { directory in
            for name in ["", "has space", "under_score", "slash/", ".leading"] {
                #expect(throws: DevelopmentCertificate.Failure.self, "\(name)") {
                    try DevelopmentCertificate.ensure(in: directory, extraNames: [name])
                }
            }
        }
    }

    /// OpenSSL, an implementation independent of swift-certificates, agrees with the chain, the usages and the
    /// lifetimes. Skipped (not failed) where `openssl` is not installed.
    @Test func opensslAgreesWhenAvailable() async throws {
        guard
            let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
                .first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return }
        try await withTemporaryDirectory { directory in
            let paths = try DevelopmentCertificate.ensure(in: directory, extraNames: ["bridge.test"])
            let verify = try run(openssl, ["verify", "-CAfile", paths.caCertificate, paths.certificate])
            #expect(verify.status == 0, "\(verify.output)")
            // Names, as a strict client checks them (server-auth purpose included).
            for (option, value, valid) in [
                ("-verify_hostname", "localhost", true), ("-verify_hostname", "bridge.test", true),
                ("-verify_ip", "127.0.0.1", true), ("-verify_ip", "::1", true),
                ("-verify_hostname", "example.com", false), ("-verify_ip", "10.9.8.7", false),
            ] {
                let result = try run(
                    openssl, ["verify", "-purpose", "sslserver", "-CAfile", paths.caCertificate, option, value, paths.certificate]
                )
                #expect((result.status == 0) == valid, "\(option) \(value): \(result.output)")
            }

            let text = try run(openssl, ["x509", "-in", paths.certificate, "-noout", "-text"]).output
            for expected in [
                "TLS Web Server Authentication", "DNS:localhost", "IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1",
                "DNS:bridge.test", "CA:FALSE", "ecdsa-with-SHA256",
            ] {
                #expect(text.contains(expected), "\(expected) missing in:\n\(text)")
            }
            let caText = try run(openssl, ["x509", "-in", paths.caCertificate, "-noout", "-text"]).output
            #expect(caText.contains("CA:TRUE"), "\(caText)")

            // Leaf: valid for 390 more days but not 398 (browsers' limit). CA: about ten years.
            #expect(try run(openssl, ["x509", "-in", paths.certificate, "-noout", "-checkend", "\(390 * 86_400)"]).status == 0)
            #expect(try run(openssl, ["x509", "-in", paths.certificate, "-noout", "-checkend", "\(398 * 86_400)"]).status != 0)
            #expect(try run(openssl, ["x509", "-in", paths.caCertificate, "-noout", "-checkend", "\(3_640 * 86_400)"]).status == 0)
            // The key files are the keys of the certificates.
            let certificateKey = try run(openssl, ["x509", "-in", paths.certificate, "-noout", "-pubkey"]).output
            let privateKeysPublic = try run(openssl, ["pkey", "-in", paths.key, "-pubout"]).output
            #expect(!certificateKey.isEmpty && certificateKey == privateKeysPublic)
        }
    }

    // MARK: - Helpers

    /// Connects, sends `bytes` over TLS and reads them back from the echo server.
    private func echo(_ bytes: [UInt8], host: String = "127.0.0.1", port: Int, tls: TestTLS) async throws -> [UInt8] {
        let client = try await TestTCPClient.connect(host: host, port: port, tls: tls)
        do {
            try await client.send(bytes)
            let echoed = try await client.receive(count: bytes.count, timeout: .seconds(5))
            await client.close()
            return echoed
        } catch {
            await client.close()
            throw error
        }
    }

    private struct Contents: Equatable {
        var ca, caKey, certificate, key: String
    }

    private func contents(_ paths: DevelopmentCertificate.Paths) throws -> Contents {
        try Contents(
            ca: String(contentsOfFile: paths.caCertificate, encoding: .utf8),
            caKey: String(contentsOfFile: paths.caKey, encoding: .utf8),
            certificate: String(contentsOfFile: paths.certificate, encoding: .utf8),
            key: String(contentsOfFile: paths.key, encoding: .utf8)
        )
    }

    private func permissions(_ path: String) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return try #require(attributes[.posixPermissions] as? Int) & 0o777
    }

    /// A fresh directory for one test; the certificates go into its `dev-tls` subdirectory (created by `ensure`).
    private func withTemporaryDirectory(_ body: (String) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("devcert-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        try await body(root.appendingPathComponent("dev-tls").path)
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try CommandLineTool.run(executable, arguments)
        return (result.status, result.output)
    }
}
