import BridgeAdmin
import BridgeTestSupport
import Foundation
import MQTTWire
import Testing

/// `/healthz` and `/readyz` against a real Mosquitto: the probe is a real CONNECT/CONNACK, run every 200 ms here.
@Suite("Admin listener: health and readiness", .timeLimit(.minutes(2)))
struct AdminReadinessTests {
    @Test("/healthz answers 200 {\"status\":\"ok\"}")
    func health() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let response = try await bridge.admin("GET", "/healthz")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(try response.json()["status"] as? String == "ok")
        }
    }

    @Test("/readyz: 200 with the broker up, 503 naming the reason once it stops, 200 again after it restarts")
    func brokerStopsAndRestarts() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let ready = try await bridge.waitForReadyz("is 200") { $0.status == 200 }
            let body = try ready.json()
            #expect(body["status"] as? String == "ready")
            #expect(body["bridge"] as? String == "listening")
            #expect(body["broker"] as? String == "127.0.0.1:\(bridge.broker.port)")
            #expect(body["probe_latency_seconds"] is Double)
            #expect(bridge.admin?.readiness.isReady == true)

            await bridge.broker.stop()
            // Within about one probe interval; bounded generously, not timed.
            let down = try await bridge.waitForReadyz("is 503", timeout: .seconds(5)) { $0.status == 503 }
            #expect(try down.json()["status"] as? String == "not ready")
            // A probe caught mid-way says "connection lost"; the next ones find nobody listening.
            let refused = try await bridge.waitForReadyz("says unreachable", timeout: .seconds(5)) {
                try $0.status == 503 && $0.json()["reason"] as? String == "unreachable"
            }
            #expect((try refused.json()["detail"] as? String)?.contains("refused") == true, "\(refused)")

            try await bridge.broker.restart()
            try await bridge.waitForReadyz("is 200 again") { $0.status == 200 }
        }
    }

    @Test("/readyz: 503 'not authorised' when the broker requires a password the probe lacks; 200 with the right one")
    func notAuthorised() async throws {
        let passwords = try await makeMosquittoPasswordFile(user: "probe", password: "right")
        let broker = try await MosquittoProcess.start(extraConfig: "password_file \(passwords)\nallow_anonymous false")
        do {
            try await BridgeHarness.with(broker: broker, admin: true) { bridge in
                let response = try await bridge.waitForReadyz("is 503 not authorised") { response in
                    try response.status == 503 && response.json()["reason"] as? String == "not authorised"
                }
                // MQTT 5 CONNACK reason 0x87, in libmosquitto's words.
                #expect((try response.json()["detail"] as? String)?.lowercased().contains("not authori") == true, "\(response)")
            }
            try await BridgeHarness.with(
                configure: {
                    $0.admin.readiness.username = "probe"
                    $0.admin.readiness.password = "right"
                },
                broker: broker, admin: true
            ) { bridge in
                _ = try await bridge.waitForReadyz("is 200 with credentials") { $0.status == 200 }
            }
        } catch {
            await broker.stop()
            throw error
        }
        await broker.stop()
    }

    @Test("With upstream.tls the probe and the publisher use TLS with the configured CA")
    func tlsBroker() async throws {
        let certificates = try BridgeHarness.certificates.get()
        let tlsPort = try FreePort.allocate()
        let broker = try await MosquittoProcess.start(
            extraConfig: """
                listener \(tlsPort) 127.0.0.1
                cafile \(certificates.caCertificate)
                certfile \(certificates.certificate)
                keyfile \(certificates.key)
                """)
        do {
            try await BridgeHarness.with(
                configure: {
                    $0.upstream.port = tlsPort
                    $0.upstream.tls = .init(caFilePath: certificates.caCertificate)
                },
                broker: broker, admin: true
            ) { bridge in
                try await bridge.waitForReadyz("is 200 over TLS") { $0.status == 200 }
                try await bridge.waitForPublishers()
                #expect(try await bridge.publish(#"{"topic": "tls/t", "payload": "x", "qos": 1}"#).status == 200)
            }
            // Without the CA the broker's certificate is not trusted: not ready, with the TLS reason.
            try await BridgeHarness.with(
                configure: {
                    $0.upstream.port = tlsPort
                    $0.upstream.tls = .init()
                },
                broker: broker, admin: true
            ) { bridge in
                _ = try await bridge.waitForReadyz("is 503 TLS error") {
                    try $0.status == 503 && $0.json()["reason"] as? String == "TLS error"
                }
            }
        } catch {
            await broker.stop()
            throw error
        }
        await broker.stop()
    }

    @Test("On graceful shutdown /readyz turns 503 'draining' at once, while the admin listener keeps answering")
    func drain() async throws {
        try await BridgeHarness.with(
            configure: {
                $0.timeouts.closeHandshake = .seconds(10)
                $0.shutdown.gracePeriod = .seconds(10)
            },
            admin: true
        ) { bridge in
            try await bridge.waitForReadyz("is 200") { $0.status == 200 }
            // A client that never answers the close frame keeps the bridge draining until the close timeout.
            let (response, stubborn) = try await TestWebSocketClient.connect(
                host: "127.0.0.1", port: bridge.wsPort, path: "/wss", subprotocols: nil,
                options: .init(answerClose: false))
            #expect(response.status == 101)
            let client = try #require(stubborn)
            try await client.sendBinary(MQTTTestPackets.connect(clientID: "stubborn"))
            #expect(try await client.receiveBinaryMessage() == MQTTTestPackets.connackAccepted)

            let shutdown = Task { await bridge.shutdown() }
            let draining = try await bridge.waitForReadyz("is 503 draining") { $0.status == 503 }
            #expect(try draining.json()["reason"] as? String == "draining")
            #expect(try draining.json()["bridge"] as? String == "draining")
            // Still draining (the client has not let go), and the admin listener still serves everything.
            #expect(!client.isTCPClosed)
            #expect(try await bridge.admin("GET", "/healthz").status == 200)
            let metrics = try await bridge.admin("GET", "/metrics")
            let samples = try PrometheusText.parse(metrics.text)
            #expect(samples.value("mqtt_ws_bridge_ready") == 0)

            // The server's close frame (1001) arrived; answering it lets the drain finish.
            let close = try await client.close()
            #expect(close?.code == 1001)
            await shutdown.value
        }
    }

    @Test("Unknown paths answer 404 and wrong methods 405, in JSON; HEAD has no body; keep-alive serves several requests")
    func protocolBasics() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let client = try await AdminHTTPClient.connect(port: bridge.adminPort)
            let missing = try await client.request("GET", "/nope")
            #expect(missing.status == 404)
            #expect((try missing.json()["error"] as? String)?.contains("/nope") == true)
            let wrongMethod = try await client.request("DELETE", "/healthz")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.header("Allow") == "GET, HEAD")
            let head = try await client.request("HEAD", "/healthz")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            let query = try await client.request("GET", "/healthz?verbose=1")
            #expect(query.status == 200)
            await client.close()
        }
    }

    @Test("A request head over the limit is refused with 431; an idle connection is closed after admin.idle_timeout")
    func limits() async throws {
        try await BridgeHarness.with(configure: { $0.admin.idleTimeout = .milliseconds(300) }, admin: true) { bridge in
            let big = try await AdminHTTPClient.connect(port: bridge.adminPort)
            let response = try await big.request("GET", "/healthz", headers: [("X-Filler", String(repeating: "x", count: 20_000))])
            #expect(response.status == 431)
            try await big.connection.expectClosed()

            let idle = try await AdminHTTPClient.connect(port: bridge.adminPort)
            #expect(try await idle.request("GET", "/healthz").status == 200)
            try await idle.connection.expectClosed(timeout: .seconds(5))
        }
    }
}
