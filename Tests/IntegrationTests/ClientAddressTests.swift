import BridgeConfig
import BridgeTestSupport
import ClientAddress
import Foundation
import MQTTWire
import NIOCore
import Testing
import WebSocketTransport

/// The real client address end to end: PROXY protocol in, X-Forwarded-For from trusted proxies, and a
/// PROXY protocol v2 header out to the broker.
@Suite("Real client address", .timeLimit(.minutes(2)))
struct RealClientAddressTests {
    static let upgrade =
        "GET /wss HTTP/1.1\r\nHost: mqtt.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

    /// An upgrade request (with `extraHeaders`) followed by a masked frame carrying an MQTT CONNECT.
    static func request(clientID: String, extraHeaders: String = "") -> [UInt8] {
        var frame = ByteBuffer()
        let connect = MQTTTestPackets.connect(clientID: clientID)
        let key = WebSocketMaskingKey(1, 2, 3, 4)
        WebSocketFrameHeader(opcode: .binary, maskingKey: key, payloadLength: connect.count).write(to: &frame)
        var payload = ByteBuffer(bytes: connect)
        payload.maskReadableBytes(key: key)
        frame.writeBuffer(&payload)
        return Array((upgrade + extraHeaders + "\r\n").utf8) + Array(frame.readableBytesView)
    }

    static func withListener(
        proxyProtocol: ProxyProtocolMode = .off, trusted: [String], forwardedHeaders: Bool = false,
        configure: @escaping (inout BridgeConfiguration) -> Void = { _ in }, _ body: (BridgeHarness) async throws -> Void
    ) async throws {
        try await BridgeHarness.with(
            configure: { config in
                let index = config.listeners.firstIndex { $0.name == "ws" }!
                config.listeners[index].proxyProtocol = proxyProtocol
                config.listeners[index].trustedProxies = trusted
                config.listeners[index].forwardedHeaders = forwardedHeaders
                configure(&config)
            }, body)
    }

    @Test("PROXY protocol v1 from a trusted proxy: the access log shows the client it names")
    func proxyV1() async throws {
        try await Self.withListener(proxyProtocol: .required, trusted: ["127.0.0.1"]) { bridge in
            let bytes = Array("PROXY TCP4 203.0.113.9 10.0.0.1 51234 443\r\n".utf8) + Self.request(clientID: "via-v1")
            let response = try await TestWebSocketClient.rawRequest(host: "127.0.0.1", port: bridge.wsPort, bytes: bytes)
            #expect(response.status == 101)
            let line = try await bridge.waitForAccessLine(containing: ["client_id=via-v1"])
            #expect(line.contains("client=203.0.113.9:51234"))
        }
    }

    @Test("PROXY protocol v2 from a trusted proxy, IPv6 source")
    func proxyV2() async throws {
        try await Self.withListener(proxyProtocol: .required, trusted: ["127.0.0.0/8"]) { bridge in
            var header = ByteBuffer()
            try ProxyProtocolV2.encode(
                source: try SocketAddress(ipAddress: "2001:db8::7", port: 40001),
                destination: try SocketAddress(ipAddress: "2001:db8::1", port: 443), into: &header)
            let response = try await TestWebSocketClient.rawRequest(
                host: "127.0.0.1", port: bridge.wsPort, bytes: Array(header.readableBytesView) + Self.request(clientID: "via-v2"))
            #expect(response.status == 101)
            let line = try await bridge.waitForAccessLine(containing: ["client_id=via-v2"])
            #expect(line.contains("client=[2001:db8::7]:40001"))
        }
    }

    @Test("A PROXY header from an untrusted peer closes the connection")
    func untrustedProxy() async throws {
        try await Self.withListener(proxyProtocol: .optional, trusted: ["10.0.0.0/8"]) { bridge in
            let client = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.wsPort)
            try await client.send(Array("PROXY TCP4 203.0.113.9 10.0.0.1 51234 443\r\n".utf8) + Self.request(clientID: "spoofer"))
            try await client.expectClosed()
            #expect(bridge.logs.collected.contains { $0.contains("PROXY protocol header refused") })
            // Without a header the same peer is served with its own address (optional mode).
            let response = try await TestWebSocketClient.rawRequest(
                host: "127.0.0.1", port: bridge.wsPort, bytes: Self.request(clientID: "direct"))
            #expect(response.status == 101)
        }
    }

    @Test("X-Forwarded-For from a trusted proxy: the right-most untrusted address, never a spoofed left-most one")
    func forwardedFor() async throws {
        try await Self.withListener(trusted: ["127.0.0.1", "10.0.0.0/8"], forwardedHeaders: true) { bridge in
            // The client claimed 6.6.6.6; the edge proxy appended the real 198.51.100.7; an inner proxy 10.1.2.3.
            let spoofed = "X-Forwarded-For: 6.6.6.6, 198.51.100.7, 10.1.2.3\r\n"
            _ = try await TestWebSocketClient.rawRequest(
                host: "127.0.0.1", port: bridge.wsPort, bytes: Self.request(clientID: "xff", extraHeaders: spoofed))
            let line = try await bridge.waitForAccessLine(containing: ["client_id=xff"])
            #expect(line.contains("client=198.51.100.7 "))

            _ = try await TestWebSocketClient.rawRequest(
                host: "127.0.0.1", port: bridge.wsPort, bytes: Self.request(clientID: "real-ip", extraHeaders: "X-Real-IP: 192.0.2.44\r\n"))
            #expect(try await bridge.waitForAccessLine(containing: ["client_id=real-ip"]).contains("client=192.0.2.44 "))
        }
    }

    @Test("X-Forwarded-For from an untrusted peer is ignored")
    func forwardedForUntrusted() async throws {
        try await Self.withListener(trusted: ["10.0.0.0/8"], forwardedHeaders: true) { bridge in
            _ = try await TestWebSocketClient.rawRequest(
                host: "127.0.0.1", port: bridge.wsPort, bytes: Self.request(clientID: "liar", extraHeaders: "X-Forwarded-For: 6.6.6.6\r\n"))
            let line = try await bridge.waitForAccessLine(containing: ["client_id=liar"])
            #expect(line.contains("client=127.0.0.1:"))
            #expect(!line.contains("6.6.6.6"))
        }
    }

    @Test("Per-address limits use the real address from the PROXY header")
    func limitsUseRealAddress() async throws {
        try await Self.withListener(proxyProtocol: .required, trusted: ["127.0.0.1"], configure: { $0.limits.maxSessionsPerIP = 1 }) {
            bridge in
            // Two clients behind the same proxy, different real addresses: both admitted.
            let first = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.wsPort)
            try await first.send(Array("PROXY TCP4 203.0.113.1 10.0.0.1 1111 443\r\n".utf8) + Self.request(clientID: "one"))
            #expect(String(decoding: try await first.receiveAvailable(), as: UTF8.self).hasPrefix("HTTP/1.1 101"))
            let second = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.wsPort)
            try await second.send(Array("PROXY TCP4 203.0.113.2 10.0.0.1 2222 443\r\n".utf8) + Self.request(clientID: "two"))
            #expect(String(decoding: try await second.receiveAvailable(), as: UTF8.self).hasPrefix("HTTP/1.1 101"))
            // A second session from 203.0.113.1: refused.
            let third = try await TestWebSocketClient.rawRequest(
                host: "127.0.0.1", port: bridge.wsPort,
                bytes: Array("PROXY TCP4 203.0.113.1 10.0.0.1 3333 443\r\n".utf8) + Self.request(clientID: "three"))
            #expect(third.status == 429)
            await first.close()
            await second.close()
        }
    }

    @Test("upstream.proxy_protocol: the broker connection starts with a PROXY v2 header naming the client")
    func outboundProxyV2() async throws {
        // A fake broker that records what it receives and answers the CONNECT after the PROXY header.
        let parser = ProxyProtocolParser()
        let broker = try await ScriptedTCPServer.start { unconsumed in
            var buffer = ByteBuffer(bytes: unconsumed)
            guard (try? parser.parse(&buffer)) != nil, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == 0x10,
                let header = try? MQTTFixedHeader.peek(in: buffer, maximumPacketSize: 1 << 20), buffer.readableBytes >= header.packetLength
            else { return nil }
            unconsumed.removeAll()
            return .init(bytes: MQTTTestPackets.connackAccepted)
        }
        let mosquitto = try await MosquittoProcess.start()
        try await BridgeHarness.with(
            configure: { config in
                config.upstream.port = broker.port
                config.upstream.proxyProtocol = true
                let index = config.listeners.firstIndex { $0.name == "ws" }!
                config.listeners[index].proxyProtocol = .optional
                config.listeners[index].trustedProxies = ["127.0.0.1"]
            }, broker: mosquitto
        ) { bridge in
            // Through wss: the SSL TLV says TLS was used, AUTHORITY carries the host name asked for.
            let ws = try await bridge.connectMQTT(path: "/wss", clientID: "pp-out")
            // Through a PROXY-speaking load balancer on ws: the chain keeps the original client.
            let chainClient = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.wsPort)
            try await chainClient.send(Array("PROXY TCP4 203.0.113.77 10.0.0.1 4242 443\r\n".utf8) + Self.request(clientID: "pp-chain"))
            try await bridge.waitUntil {
                let received = broker.receivedByConnection
                return received.count >= 2
                    && received.allSatisfy { bytes in
                        var buffer = ByteBuffer(bytes: bytes)
                        return (try? parser.parse(&buffer)) != nil
                    }
            }

            let headers = try broker.receivedByConnection.map { received -> ProxyProtocolHeader in
                var buffer = ByteBuffer(bytes: received)
                return try #require(try parser.parse(&buffer))
            }
            let viaTLS = try #require(headers.first { $0.ssl != nil })
            #expect(viaTLS.version == .v2)
            #expect(viaTLS.sourceIP?.description == "127.0.0.1")
            #expect(viaTLS.authority == "localhost" || viaTLS.authority == "127.0.0.1")
            let chained = try #require(headers.first { $0.sourceIP?.description == "203.0.113.77" })
            #expect(chained.sourceAddress?.port == 4242)
            #expect(chained.authority == "mqtt.example.com")
            withExtendedLifetime(ws) {}
            await chainClient.close()
        }
        await broker.stop()
        await mosquitto.stop()
    }
}
