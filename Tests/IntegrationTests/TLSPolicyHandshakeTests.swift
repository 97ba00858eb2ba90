import BridgeConfig
import BridgeServer
import BridgeTestSupport
import Foundation
import Testing

/// The listeners' TLS policy seen from outside: real handshakes with `openssl s_client` against the real bridge, with
/// the ECDSA certificate the development CA makes and an RSA one (each key type has its own TLS 1.2 suites).
@Suite(.serialized) struct TLSPolicyHandshakeTests {
    /// Listener names → ports. `wss`: default policy, ECDSA; `rsa`: default policy, RSA; `old`: profile old, RSA;
    /// `modern`: profile modern, ECDSA; `narrow`: `ciphers: [ECDHE-ECDSA-CHACHA20-POLY1305]`, ECDSA.
    private func withListeners(_ body: ([String: Int]) async throws -> Void) async throws {
        let rsa = try RSATestCertificate.files.get()
        let ecdsa = try BridgeHarness.certificates.get()
        func listener(
            _ name: String, rsa useRSA: Bool, _ adjust: (inout ListenerTLSConfiguration) -> Void = { _ in }
        ) -> ListenerConfiguration {
            var tls = ListenerTLSConfiguration(
                certificatePath: useRSA ? rsa.certificate : ecdsa.certificate, keyPath: useRSA ? rsa.key : ecdsa.key)
            adjust(&tls)
            return ListenerConfiguration(name: name, address: "127.0.0.1", port: 0, tls: tls)
        }
        try await BridgeHarness.with(configure: {
            $0.listeners += [
                listener("rsa", rsa: true),
                listener("old", rsa: true) { $0.profile = .old },
                listener("modern", rsa: false) { $0.profile = .modern },
                listener("narrow", rsa: false) { $0.cipherSuites = ["ECDHE-ECDSA-CHACHA20-POLY1305"] },
            ]
        }) { bridge in
            let listeners = try await bridge.server.listeners()
            try await body(Dictionary(uniqueKeysWithValues: listeners.map { ($0.name, $0.port) }))
        }
    }

    @Test("Default (intermediate): CBC, RSA key exchange and TLS 1.1 are refused by the server")
    func defaultRefusals() async throws {
        try await self.withListeners { ports in
            let refusedSuites: [(listener: String, suite: String)] = [
                ("wss", "ECDHE-ECDSA-AES128-SHA"),  // CBC
                ("wss", "ECDHE-ECDSA-AES256-SHA"),  // CBC
                ("rsa", "ECDHE-RSA-AES128-SHA"),  // CBC, what the scan found
                ("rsa", "ECDHE-RSA-AES256-SHA"),  // CBC, what the scan found
                ("rsa", "AES128-GCM-SHA256"),  // RSA key exchange: no forward secrecy
                ("rsa", "AES256-GCM-SHA384"),
                ("rsa", "AES128-SHA"),  // RSA key exchange and CBC: where the old client landed (LUCKY13)
                ("rsa", "AES256-SHA"),
                ("rsa", "ECDHE-RSA-AES128-SHA256"),  // CBC with HMAC-SHA256, deprecated by BoringSSL
            ]
            for (listener, suite) in refusedSuites {
                let handshake = try OpenSSLClient.handshake(port: ports[listener]!, ["-tls1_2", "-cipher", suite + ":@SECLEVEL=0"])
                #expect(handshake.refusedNoSharedCipher, "\(listener) \(suite): \(handshake)")
            }
            for listener in ["wss", "rsa"] {
                // OpenSSL 3 only speaks TLS 1.1 at security level 0; the server must answer with a protocol_version alert.
                let handshake = try OpenSSLClient.handshake(port: ports[listener]!, ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
                #expect(handshake.refusedProtocolVersion, "\(listener) TLS 1.1: \(handshake)")
            }
        }
    }

    @Test("Default (intermediate): ECDHE with AES-GCM and ChaCha20-Poly1305 over TLS 1.2, and TLS 1.3, succeed")
    func defaultSuccesses() async throws {
        try await self.withListeners { ports in
            let accepted: [(listener: String, suite: String)] = [
                ("wss", "ECDHE-ECDSA-AES128-GCM-SHA256"), ("wss", "ECDHE-ECDSA-AES256-GCM-SHA384"),
                ("wss", "ECDHE-ECDSA-CHACHA20-POLY1305"), ("rsa", "ECDHE-RSA-AES128-GCM-SHA256"),
                ("rsa", "ECDHE-RSA-AES256-GCM-SHA384"), ("rsa", "ECDHE-RSA-CHACHA20-POLY1305"),
            ]
            for (listener, suite) in accepted {
                let handshake = try OpenSSLClient.handshake(port: ports[listener]!, ["-tls1_2", "-cipher", suite])
                #expect(handshake.version == "TLSv1.2" && handshake.cipher == suite, "\(listener) \(suite): \(handshake)")
            }
            for listener in ["wss", "rsa"] {
                for suite in ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] {
                    let handshake = try OpenSSLClient.handshake(port: ports[listener]!, ["-tls1_3", "-ciphersuites", suite])
                    #expect(handshake.version == "TLSv1.3" && handshake.cipher == suite, "\(listener) \(suite): \(handshake)")
                }
                // A client with no restrictions gets TLS 1.3.
                #expect(try OpenSSLClient.handshake(port: ports[listener]!, []).version == "TLSv1.3")
            }
        }
    }

    @Test("A scan finds exactly the intermediate suites for each key type, and nothing else")
    func scan() async throws {
        try await self.withListeners { ports in
            let accepted = try ports.filter { $0.key != "ws" }.mapValues { try OpenSSLClient.acceptedTLS12Suites(port: $0) }
            #expect(
                accepted["wss"] == [
                    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
                ])
            #expect(
                accepted["rsa"] == [
                    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
                ])
            #expect(
                accepted["old"] == [
                    "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
                    "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA",
                ])
            #expect(accepted["modern"] == [])
            #expect(accepted["narrow"] == ["ECDHE-ECDSA-CHACHA20-POLY1305"])
        }
    }

    /// swift-nio-ssl 2.37 does not expose BoringSSL's SSL_OP_CIPHER_SERVER_PREFERENCE, so the listener takes the
    /// client's first allowed suite. With intermediate every allowed suite is ECDHE + AEAD, so a client that prefers
    /// a weak suite still lands on a strong one; with old it gets its weak choice — what old costs.
    @Test("Without server preference the client's order decides, but only among the allowed suites")
    func clientOrder() async throws {
        try await self.withListeners { ports in
            let cases: [(listener: String, offer: String, expected: String)] = [
                // The old client of the scan: AES128-SHA first. Intermediate does not allow it: ECDHE-GCM.
                ("rsa", "AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
                // Among allowed suites the client's order wins (ChaCha20 for a phone without AES instructions).
                ("rsa", "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-CHACHA20-POLY1305"),
                ("rsa", "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-GCM-SHA256"),
                ("wss", "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"),
                // With old, the same old client gets the suite it listed first.
                ("old", "AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA"),
            ]
            for (listener, offer, expected) in cases {
                let handshake = try OpenSSLClient.handshake(port: ports[listener]!, ["-tls1_2", "-cipher", offer])
                #expect(handshake.cipher == expected, "\(listener) offered \(offer): \(handshake)")
            }
        }
    }

    @Test("old: CBC and RSA key exchange are accepted, BoringSSL's deprecated CBC-SHA256 and TLS 1.1 still are not; modern: TLS 1.3 only")
    func oldAndModern() async throws {
        try await self.withListeners { ports in
            for suite in ["ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256", "AES256-SHA"] {
                let handshake = try OpenSSLClient.handshake(port: ports["old"]!, ["-tls1_2", "-cipher", suite])
                #expect(handshake.cipher == suite, "old \(suite): \(handshake)")
            }
            let deprecated = try OpenSSLClient.handshake(port: ports["old"]!, ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA256"])
            #expect(deprecated.refusedNoSharedCipher, "old CBC-SHA256: \(deprecated)")
            let tls11 = try OpenSSLClient.handshake(port: ports["old"]!, ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
            #expect(tls11.refusedProtocolVersion, "old TLS 1.1: \(tls11)")

            let tls12 = try OpenSSLClient.handshake(port: ports["modern"]!, ["-tls1_2"])
            #expect(tls12.refusedProtocolVersion, "modern TLS 1.2: \(tls12)")
            #expect(try OpenSSLClient.handshake(port: ports["modern"]!, ["-tls1_3"]).version == "TLSv1.3")
        }
    }
}
