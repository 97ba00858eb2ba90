import BridgeTLS
import NIOSSL
import Testing

@Suite struct TLSPolicyTests {
    private let section = "listeners.wss.tls"

    private func policy(
        _ profile: TLSPolicy.Profile = .intermediate, _ ciphers: [String]? = nil, minimumVersion: TLSPolicy.MinimumVersion = .v1_2
    ) throws(TLSConfigurationError) -> TLSPolicy {
        try TLSPolicy(profile: profile, cipherNames: ciphers, minimumVersion: minimumVersion, section: self.section)
    }

    /// The reason of the error `ciphers` gives, with its key checked.
    private func refusal(
        _ ciphers: [String]?, profile: TLSPolicy.Profile = .intermediate, minimumVersion: TLSPolicy.MinimumVersion = .v1_2, key: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> String? {
        do {
            _ = try self.policy(profile, ciphers, minimumVersion: minimumVersion)
            Issue.record("expected an error for \(ciphers ?? [])", sourceLocation: sourceLocation)
            return nil
        } catch {
            #expect(error.key == key, sourceLocation: sourceLocation)
            #expect(error.description == "\(error.key): \(error.reason)", sourceLocation: sourceLocation)
            return error.reason
        }
    }

    @Test("intermediate (the default) is Mozilla's TLS 1.2 list: ECDHE key exchange, AES-GCM and ChaCha20-Poly1305 only")
    func intermediate() throws {
        let policy = try self.policy()
        #expect(policy.minimumVersion == .v1_2)
        #expect(
            policy.tls12Suites.map(\.name) == [
                "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
            ])
        #expect(policy.tls12Suites.allSatisfy { $0.isForwardSecret && $0.isAEAD })
        #expect(policy.serves(.ecdsa) && policy.serves(.rsa))
    }

    @Test("old adds CBC suites and RSA key exchange after the intermediate ones, and still never goes below TLS 1.2")
    func old() throws {
        let policy = try self.policy(.old)
        #expect(policy.minimumVersion == .v1_2)
        #expect(Array(policy.tls12Suites.prefix(6)) == (try self.policy()).tls12Suites)
        #expect(
            policy.tls12Suites.dropFirst(6).map(\.name) == [
                "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA",
                "AES128-GCM-SHA256", "AES256-GCM-SHA384", "AES128-SHA", "AES256-SHA",
            ])
        #expect(policy.tls12Suites.dropFirst(6).allSatisfy { !$0.isForwardSecret || !$0.isAEAD })
    }

    @Test("modern (and min_version 1.3) turn TLS 1.2 off: no TLS 1.2 suites, serves any certificate")
    func modern() throws {
        let policies = [
            try self.policy(.modern), try self.policy(.intermediate, minimumVersion: .v1_3), try self.policy(.old, minimumVersion: .v1_3),
        ]
        for policy in policies {
            #expect(policy.minimumVersion == .v1_3)
            #expect(policy.tls12Suites.isEmpty)
            #expect(policy.serves(.rsa) && policy.serves(.ecdsa))
        }
    }

    @Test("What swift-nio-ssl's context really holds is exactly the policy: BoringSSL dropped nothing and added nothing")
    func appliedToBoringSSL() throws {
        for profile in TLSPolicy.Profile.allCases {
            let policy = try self.policy(profile)
            var configuration = TLSConfiguration.makeClientConfiguration()
            policy.apply(to: &configuration)
            #expect(configuration.minimumTLSVersion == (profile == .modern ? .tlsv13 : .tlsv12))
            let expected = profile == .modern ? TLSCipherSuite.intermediate : policy.tls12Suites
            // The getter builds a real NIOSSLContext and reads its list back from BoringSSL.
            #expect(configuration.cipherSuiteValues == expected.map(\.value), "\(profile)")
        }
    }

    @Test("ciphers narrows the profile, in the order given: OpenSSL or IANA names, any case, A:B strings, duplicates once")
    func narrowing() throws {
        let policy = try self.policy(
            .intermediate,
            [
                "ECDHE-RSA-CHACHA20-POLY1305", "tls_ecdhe_rsa_with_aes_256_gcm_sha384",
                "ECDHE-RSA-AES128-GCM-SHA256: ECDHE-RSA-CHACHA20-POLY1305",
            ])
        #expect(
            policy.tls12Suites.map(\.name) == [
                "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256",
            ])
        #expect(policy.serves(.rsa))
        #expect(!policy.serves(.ecdsa))
        #expect(policy.tls12Description == "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256")
        #expect(try self.policy(.old, ["AES128-SHA"]).tls12Suites.map(\.standardName) == ["TLS_RSA_WITH_AES_128_CBC_SHA"])
    }

    @Test("A weak suite outside the profile names its weakness, the key and the profile that would allow it")
    func weakSuiteOutsideProfile() {
        #expect(
            self.refusal(["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA"], key: "listeners.wss.tls.ciphers[1]")
                == "'ECDHE-RSA-AES128-SHA' is a CBC suite (not AEAD): allowed only with listeners.wss.tls.profile old (now intermediate)")
        #expect(
            self.refusal(["AES256-GCM-SHA384"], key: "listeners.wss.tls.ciphers[0]")
                == "'AES256-GCM-SHA384' uses RSA key exchange (no forward secrecy): "
                + "allowed only with listeners.wss.tls.profile old (now intermediate)")
        #expect(
            self.refusal(["ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA"], key: "listeners.wss.tls.ciphers[0]")
                == "'AES128-SHA' uses RSA key exchange (no forward secrecy) and CBC (not AEAD): "
                + "allowed only with listeners.wss.tls.profile old (now intermediate)")
    }

    @Test("Unknown names: a suggestion where one is close, and the reason for TLS 1.3 suites, DHE and cipher-string syntax")
    func unknownNames() {
        #expect(
            self.refusal(["ECDHE-RSA-AES128-GCM-SHA265"], key: "listeners.wss.tls.ciphers[0]")
                == "'ECDHE-RSA-AES128-GCM-SHA265' is not a TLS 1.2 cipher suite the bridge offers "
                + "(did you mean 'ECDHE-RSA-AES128-GCM-SHA256'?)")
        #expect(
            self.refusal(["ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"], key: "listeners.wss.tls.ciphers[1]")
                == "'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305' is not a TLS 1.2 cipher suite the bridge offers "
                + "(did you mean 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'?)")
        #expect(
            self.refusal(["RC4-MD5-EXTRA-LONG-GARBAGE"], key: "listeners.wss.tls.ciphers[0]")
                == "'RC4-MD5-EXTRA-LONG-GARBAGE' is not a TLS 1.2 cipher suite the bridge offers")
        #expect(
            self.refusal(["TLS_AES_128_GCM_SHA256"], key: "listeners.wss.tls.ciphers[0]")?
                .hasPrefix("'TLS_AES_128_GCM_SHA256' is a TLS 1.3 suite; TLS 1.3 always offers its three AEAD suites") == true)
        #expect(
            self.refusal(["DHE-RSA-AES128-GCM-SHA256"], key: "listeners.wss.tls.ciphers[0]")?
                .hasPrefix("'DHE-RSA-AES128-GCM-SHA256' is a finite-field DHE suite, which BoringSSL") == true)
        for rule in ["HIGH", "!aNULL", "ECDH+AESGCM", "DEFAULT@SECLEVEL=2"] {
            #expect(
                self.refusal(["ECDHE-RSA-AES128-GCM-SHA256:\(rule)"], key: "listeners.wss.tls.ciphers[0]")
                    == "'\(rule)' is OpenSSL cipher-string syntax; list suite names (OpenSSL's or IANA's), e.g. ECDHE-RSA-AES128-GCM-SHA256"
            )
        }
    }

    @Test("ciphers with nothing to choose is an error: an empty list, TLS 1.3-only profiles")
    func nothingToChoose() {
        #expect(
            self.refusal([], key: "listeners.wss.tls.ciphers")
                == "is empty, which would refuse every TLS 1.2 client; for TLS 1.3 only use profile modern")
        #expect(self.refusal([" : "], key: "listeners.wss.tls.ciphers")?.hasPrefix("is empty") == true)
        #expect(
            self.refusal(["ECDHE-RSA-AES128-GCM-SHA256"], profile: .modern, key: "listeners.wss.tls.ciphers")
                == "profile modern is TLS 1.3 only, so there are no TLS 1.2 suites to choose (TLS 1.3's are fixed); "
                + "remove ciphers, or use profile intermediate")
        #expect(
            self.refusal(["AES128-SHA"], profile: .old, minimumVersion: .v1_3, key: "listeners.wss.tls.ciphers")?
                .hasPrefix("min_version 1.3 turns TLS 1.2 off") == true)
    }

    @Test("The upstream client's keys are named as such")
    func upstreamKeys() throws {
        var tls = UpstreamTLSSettings(profile: .intermediate, cipherSuites: ["AES128-SHA"])
        #expect(
            throws: TLSConfigurationError(
                key: "upstream.tls.ciphers[0]",
                "'AES128-SHA' uses RSA key exchange (no forward secrecy) and CBC (not AEAD): "
                    + "allowed only with upstream.tls.profile old (now intermediate)")
        ) { try UpstreamTLS.policy(tls) }
        tls.profile = .old
        #expect(try UpstreamTLS.policy(tls).tls12Suites.map(\.name) == ["AES128-SHA"])
        tls.profile = .modern
        tls.cipherSuites = nil
        #expect(try UpstreamTLS.policy(tls).minimumVersion == .v1_3)
    }
}
