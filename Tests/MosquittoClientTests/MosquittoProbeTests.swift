import BridgeTestSupport
import MosquittoClient
import Testing

@Suite("Readiness probe against a real Mosquitto", .timeLimit(.minutes(2)))
struct MosquittoProbeTests {
    @Test(
        "ready; 'connection refused' once stopped; ready again after restart",
        arguments: [
            MosquittoConnectionOptions.ProtocolVersion.v5, .v3_1_1,
        ])
    func readyStoppedRestarted(version: MosquittoConnectionOptions.ProtocolVersion) async throws {
        try await withBroker { broker in
            let probe = MosquittoProbe(options: options(for: broker, version))
            let first = await probe.probe()
            #expect(first.isReady, "\(first)\n\(broker.log())")
            if case .ready(let latency) = first {
                #expect(latency < .seconds(5))
            }

            await broker.stop()
            let stopped = await probe.probe()
            guard case .notReady(let error) = stopped else {
                Issue.record("ready against a stopped broker")
                return
            }
            #expect(error.kind == .unreachable)
            #expect(error.reason.localizedLowercase.contains("connection refused"), "\(error)")

            try await broker.restart()
            let again = await probe.probe()
            #expect(again.isReady, "\(again)\n\(broker.log())")
        }
    }

    @Test(
        "password file: not authorised without or with wrong credentials, ready with the right ones",
        arguments: [
            MosquittoConnectionOptions.ProtocolVersion.v5, .v3_1_1,
        ])
    func authentication(version: MosquittoConnectionOptions.ProtocolVersion) async throws {
        let passwordFile = try await offload { try makePasswordFile(user: "bridge", password: "right") }
        try await withBroker(extraConfig: "password_file \(passwordFile)\nallow_anonymous false") { broker in
            var anonymous = options(for: broker, version)
            let noCredentials = await MosquittoProbe(options: anonymous).probe()
            guard case .notReady(let error) = noCredentials else {
                Issue.record("anonymous probe was ready\n\(broker.log())")
                return
            }
            #expect(error.kind == .notAuthorized, "\(error)")
            #expect("\(error.kind)" == "not authorised")
            #expect(error.reason.localizedLowercase.contains("not author"), "\(error.reason)")

            anonymous.username = "bridge"
            anonymous.password = "wrong"
            let wrongPassword = await MosquittoProbe(options: anonymous).probe()
            guard case .notReady(let wrong) = wrongPassword else {
                Issue.record("probe with a wrong password was ready")
                return
            }
            #expect(wrong.kind == .notAuthorized, "\(wrong)")

            anonymous.password = "right"
            let right = await MosquittoProbe(options: anonymous).probe()
            #expect(right.isReady, "\(right)\n\(broker.log())")
        }
    }

    @Test("a listener that accepts and never answers: not ready, timeout, within the configured time")
    func silentListener() async throws {
        let (listener, port) = try TestSocket.listen()
        defer { listener.close() }
        let probe = MosquittoProbe(
            options: MosquittoConnectionOptions(host: "127.0.0.1", port: port, connectTimeout: .milliseconds(800)))
        let start = ContinuousClock.now
        let result = await probe.probe()
        let elapsed = ContinuousClock.now - start
        guard case .notReady(let error) = result else {
            Issue.record("ready against a silent listener")
            return
        }
        #expect(error.kind == .timeout)
        #expect(error.reason == "no CONNACK within 800ms")
        #expect(elapsed >= .milliseconds(700))
        #expect(elapsed < .seconds(3), "took \(elapsed)")
    }

    @Test("many concurrent probes all answer")
    func concurrentProbes() async throws {
        try await withBroker { broker in
            let probe = MosquittoProbe(options: options(for: broker))
            let results = await withTaskGroup(of: MosquittoProbeResult.self) { group in
                for _ in 0..<20 {
                    group.addTask { await probe.probe() }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 20)
            #expect(results.allSatisfy { $0.isReady }, "\(results)")
        }
    }

    @Test("TLS: ready with the right CA, a TLS error with another one")
    func tls() async throws {
        let certificates = try await offload { try TestCertificates.make() }
        let otherCA = try await offload { try TestCertificates.make() }
        let tlsPort = try FreePort.allocate()
        let config = """
            listener \(tlsPort) 127.0.0.1
            cafile \(certificates.caFile)
            certfile \(certificates.certFile)
            keyfile \(certificates.keyFile)
            """
        try await withBroker(extraConfig: config) { broker in
            var options = MosquittoConnectionOptions(
                host: "127.0.0.1", port: tlsPort, tls: MosquittoTLSOptions(caFile: certificates.caFile),
                connectTimeout: .seconds(5))
            // Mosquitto opens its listeners one after the other: give the TLS one a moment.
            var result = await MosquittoProbe(options: options).probe()
            try await waitUntil("the TLS listener answers") {
                if result.isReady { return true }
                result = await MosquittoProbe(options: options).probe()
                return result.isReady
            }
            #expect(result.isReady, "\(result)\n\(broker.log())")

            options.tls = MosquittoTLSOptions(caFile: otherCA.caFile)
            let untrusted = await MosquittoProbe(options: options).probe()
            guard case .notReady(let error) = untrusted else {
                Issue.record("ready with an untrusted certificate")
                return
            }
            #expect(error.kind == .tls, "\(error)")
            #expect(error.reason.contains("certificate verify failed"), "\(error.reason)")
        }
    }

    @Test("mutual TLS: ready with the client certificate; an encrypted key fails instead of prompting")
    func mutualTLS() async throws {
        let certificates = try await offload { try TestCertificates.make() }
        let tlsPort = try FreePort.allocate()
        let config = """
            listener \(tlsPort) 127.0.0.1
            cafile \(certificates.caFile)
            certfile \(certificates.certFile)
            keyfile \(certificates.keyFile)
            require_certificate true
            """
        try await withBroker(extraConfig: config) { broker in
            var tls = MosquittoTLSOptions(
                caFile: certificates.caFile, certFile: certificates.clientCertFile, keyFile: certificates.clientKeyFile)
            var options = MosquittoConnectionOptions(host: "127.0.0.1", port: tlsPort, tls: tls)
            var result = await MosquittoProbe(options: options).probe()
            try await waitUntil("the TLS listener answers") {
                if result.isReady { return true }
                result = await MosquittoProbe(options: options).probe()
                return result.isReady
            }
            #expect(result.isReady, "\(result)\n\(broker.log())")

            tls.keyFile = certificates.encryptedClientKeyFile
            options.tls = tls
            let encrypted = await MosquittoProbe(options: options).probe()
            guard case .notReady(let error) = encrypted else {
                Issue.record("ready with an encrypted key and no passphrase")
                return
            }
            #expect(error.kind == .tls, "\(error)")

            options.tls = MosquittoTLSOptions(caFile: certificates.caFile)
            let withoutCertificate = await MosquittoProbe(options: options).probe()
            #expect(!withoutCertificate.isReady)
        }
    }
}
