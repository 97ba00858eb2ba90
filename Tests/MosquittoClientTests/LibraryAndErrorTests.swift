import Testing

@testable import MosquittoClient

@Suite("Library lifecycle, error translation, backoff, options")
struct LibraryAndErrorTests {
    @Test("lib_init runs once; cleanup once and only after an init; nothing after shutdown")
    func lifecycle() {
        var lifecycle = LibraryLifecycle()
        let first = lifecycle.initialize()
        let second = lifecycle.initialize()
        let cleanup = lifecycle.shutdown()
        let secondCleanup = lifecycle.shutdown()
        let afterShutdown = lifecycle.initialize()
        #expect(first == .initializeNow)
        #expect(second == .alreadyInitialized)
        #expect(cleanup)
        #expect(!secondCleanup, "a second shutdown must be a no-op")
        #expect(afterShutdown == .shutDown)

        var neverInitialized = LibraryLifecycle()
        let cleanupWithoutInit = neverInitialized.shutdown()
        #expect(!cleanupWithoutInit, "no cleanup without an init")
    }

    @Test("the running library's version")
    func version() {
        MosquittoLibrary.initialize()
        MosquittoLibrary.initialize()
        #expect(MosquittoLibrary.version.hasPrefix("2."))
    }

    @Test(
        "CONNACK codes: 'not authorised' is recognisable in both protocol versions",
        arguments: [
            (MosquittoConnectionOptions.ProtocolVersion.v3_1_1, Int32(5), MosquittoError.Kind.notAuthorized, "not authorised"),
            (.v3_1_1, 4, .notAuthorized, "bad user name or password"),
            (.v3_1_1, 3, .refused, "unavailable"),
            (.v3_1_1, 2, .refused, "identifier rejected"),
            (.v5, 0x87, .notAuthorized, "Not authorized"),
            (.v5, 0x86, .notAuthorized, "Bad User Name or Password"),
            (.v5, 0x8C, .notAuthorized, ""),
            (.v5, 0x88, .refused, "Server unavailable"),
            (.v5, 0x84, .refused, ""),
        ])
    func connack(version: MosquittoConnectionOptions.ProtocolVersion, code: Int32, kind: MosquittoError.Kind, text: String) {
        let error = MosquittoError.connackRefused(code, protocolVersion: version)
        #expect(error.kind == kind)
        #expect(error.reasonCode == code)
        #expect(text.isEmpty || error.reason.localizedLowercase.contains(text.localizedLowercase), "\(error.reason)")
        #expect(!error.reason.isEmpty)
    }

    @Test("errno text comes from the saved errno, not whatever errno is now")
    func errnoText() {
        let error = MosquittoError.connectCallFailed(MosquittoCode.errno, savedErrno: 111, detail: nil)  // ECONNREFUSED
        #expect(error.kind == .unreachable)
        #expect(error.reason == "Connection refused")
        #expect(error.description == "unreachable: Connection refused")
    }

    @Test("closing codes before and after CONNACK")
    func closing() {
        #expect(MosquittoError.closedBeforeConnack(MosquittoCode.tls, savedErrno: 0, detail: "certificate verify failed").kind == .tls)
        #expect(
            MosquittoError.closedBeforeConnack(MosquittoCode.tls, savedErrno: 0, detail: "certificate verify failed").reason.contains(
                "certificate verify failed"))
        #expect(MosquittoError.closedBeforeConnack(MosquittoCode.connLost, savedErrno: 0, detail: nil).kind == .connectionLost)
        #expect(MosquittoError.closedAfterConnack(MosquittoCode.connLost, savedErrno: 0, detail: nil).kind == .connectionLost)
        let takenOver = MosquittoError.closedAfterConnack(0x8E, savedErrno: 0, detail: nil)
        #expect(takenOver.reason.contains("Session taken over"))
        #expect(takenOver.reasonCode == 0x8E)
    }

    @Test("PUBACK failure reasons and publish call failures")
    func publishCodes() {
        #expect(MosquittoError.publishRefused(0x87).kind == .notAuthorized)
        #expect(MosquittoError.publishRefused(0x97).kind == .rejected)
        #expect(MosquittoError.publishRefused(0x97).reason.contains("Quota exceeded"))
        #expect(MosquittoError.publishCallFailed(MosquittoCode.noConn, savedErrno: 0).kind == .unavailable)
        #expect(MosquittoError.publishCallFailed(MosquittoCode.payloadSize, savedErrno: 0).kind == .invalidMessage)
        #expect(MosquittoError.publishCallFailed(MosquittoCode.qosNotSupported, savedErrno: 0).kind == .invalidMessage)
    }

    @Test("kinds print the short texts /readyz uses")
    func kindTexts() {
        #expect("\(MosquittoError.Kind.notAuthorized)" == "not authorised")
        #expect("\(MosquittoError.Kind.timeout)" == "timeout")
        #expect(MosquittoError(kind: .timeout, reason: "no CONNACK within 2s").description == "timeout: no CONNACK within 2s")
        #expect(Duration.seconds(2).shortDescription == "2s")
        #expect(Duration.milliseconds(1500).shortDescription == "1.5s")
        #expect(Duration.milliseconds(150).shortDescription == "150ms")
    }

    @Test("backoff doubles from the initial delay to the maximum, with jitter in [½, 1]")
    func backoff() {
        var backoff = ReconnectBackoff(policy: MosquittoReconnectPolicy(initialDelay: .milliseconds(200), maximumDelay: .seconds(1)))
        #expect(backoff.nextDelay(fraction: 1) == .milliseconds(200))
        #expect(backoff.nextDelay(fraction: 1) == .milliseconds(400))
        #expect(backoff.nextDelay(fraction: 0.5) == .milliseconds(400))
        #expect(backoff.nextDelay(fraction: 1) == .seconds(1))
        #expect(backoff.nextDelay(fraction: 1) == .seconds(1))
        backoff.reset()
        #expect(backoff.nextDelay(fraction: 1) == .milliseconds(200))
        var random = ReconnectBackoff(policy: MosquittoReconnectPolicy())
        for _ in 0..<20 {
            let delay = random.nextDelay()
            #expect(delay >= .milliseconds(100) && delay <= .seconds(10))
        }
    }

    @Test("options libmosquitto would refuse are refused up front; the password is never printed")
    func options() {
        func kind(_ options: MosquittoConnectionOptions) -> MosquittoError.Kind? {
            do {
                _ = try MosquittoConnection(options: options)
                return nil
            } catch {
                return error.kind
            }
        }
        #expect(kind(MosquittoConnectionOptions(port: 0)) == .invalidConfiguration)
        #expect(kind(MosquittoConnectionOptions(keepAlive: .seconds(3))) == .invalidConfiguration)
        #expect(kind(MosquittoConnectionOptions(connectTimeout: .zero)) == .invalidConfiguration)
        #expect(kind(MosquittoConnectionOptions(password: "a\u{0}b")) == .invalidConfiguration)
        #expect(kind(MosquittoConnectionOptions(password: "x", protocolVersion: .v3_1_1)) == .invalidConfiguration)
        #expect(kind(MosquittoConnectionOptions(tls: MosquittoTLSOptions(caFile: "/nonexistent/ca.pem"))) == .invalidConfiguration)
        #expect(kind(MosquittoConnectionOptions(tls: MosquittoTLSOptions(certFile: "/tmp/c.pem"))) == .invalidConfiguration)
        #expect(
            kind(MosquittoConnectionOptions(tls: MosquittoTLSOptions(certFile: "/tmp/c.pem", keyFile: "/tmp/k.pem")))
                == .invalidConfiguration)
        #expect(kind(MosquittoConnectionOptions(tls: MosquittoTLSOptions())) == nil, "system trust store")
        #expect(kind(MosquittoConnectionOptions()) == nil)
        #expect(throws: MosquittoError.self) { try MosquittoPublisherPool(options: MosquittoConnectionOptions(), size: 0) }

        let printed = "\(MosquittoConnectionOptions(username: "user", password: "s3cret"))"
        #expect(!printed.contains("s3cret"))
        #expect(printed.contains("user"))
    }

    @Test("generated client ids are 23 characters: mqtt-ws-bridge-<8 hex>")
    func clientID() throws {
        let first = try MosquittoConnection(options: MosquittoConnectionOptions())
        let second = try MosquittoConnection(options: MosquittoConnectionOptions())
        #expect(first.clientID.count == 23)
        #expect(first.clientID.hasPrefix("mqtt-ws-bridge-"))
        #expect(first.clientID.dropFirst(15).allSatisfy { $0.isHexDigit })
        #expect(first.clientID != second.clientID)
        #expect(try MosquittoConnection(options: MosquittoConnectionOptions(clientID: "fixed")).clientID == "fixed")
    }
}
