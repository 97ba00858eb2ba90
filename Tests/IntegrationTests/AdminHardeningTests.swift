import BridgeConfig
import BridgeTestSupport
import Foundation
import Testing

/// Hostile clients against the admin listener (issue 12 §6): none of them can hold memory or a connection for long.
@Suite("Admin listener: hostile clients", .timeLimit(.minutes(2)))
struct AdminHardeningTests {
    static let metricsRequest = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)

    @Test(
        "A client that pipelines thousands of GET /metrics and reads nothing is closed at once, having been answered at most the pipelining cap"
    )
    func pipelineFlood() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let client = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.adminPort)
            try await client.pauseReading()
            // 3,000 requests, 105 KB: the bridge's own buffers would have held 47 MB of answers for it.
            try? await client.send(Array(Array(repeating: Self.metricsRequest, count: 3000).joined()))
            try await bridge.waitFor("the admin listener to close the connection") { bridge.admin?.connectionCount == 0 }

            try? await client.resumeReading()
            try await client.expectClosed(timeout: .seconds(10))
            let received = (try? await client.receiveAvailable(timeout: .zero)) ?? []
            let answers = String(decoding: received, as: UTF8.self).components(separatedBy: "HTTP/1.1 200 OK").count - 1
            #expect(answers <= 16, "\(answers) answers to a client that read nothing")
        }
    }

    @Test("A client that keeps asking but never reads is closed after admin.write_timeout, once its answers fill the socket")
    func stalledReader() async throws {
        try await BridgeHarness.with(configure: { $0.admin.writeTimeout = .milliseconds(300) }, admin: true) { bridge in
            // A 4 KiB receive window: the answers (about 16 KB each) soon fill what the kernels buffer for it.
            let client = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.adminPort, receiveBufferSize: 4096)
            try await client.pauseReading()
            // Accepted first: otherwise, on a busy machine, the count below is still 0 and reads as the close.
            try await bridge.waitFor("the admin listener to accept the connection") { bridge.admin?.connectionCount == 1 }
            // One request at a time, never more than the pipelining cap waiting: only the write timeout can end this.
            var sent = 0
            while sent < 2000 {
                try? await client.send(Self.metricsRequest)
                sent += 1
                if (try? await bridge.waitFor("a close", timeout: .milliseconds(20)) { bridge.admin?.connectionCount == 0 }) != nil {
                    break
                }
            }
            #expect(bridge.admin?.connectionCount == 0, "still open after \(sent) requests")
            #expect(
                bridge.logs.collected.contains { $0.contains("did not read the answer within admin.write_timeout") },
                "after \(sent) requests")
        }
    }

    @Test("admin.max_connections: a connection over the cap is closed at accept; the others keep working")
    func connectionCap() async throws {
        try await BridgeHarness.with(configure: { $0.admin.maxConnections = 2 }, admin: true) { bridge in
            let first = try await AdminHTTPClient.connect(port: bridge.adminPort)
            let second = try await AdminHTTPClient.connect(port: bridge.adminPort)
            #expect(try await first.request("GET", "/healthz").status == 200)
            #expect(try await second.request("GET", "/healthz").status == 200)
            let third = try await TestTCPClient.connect(host: "127.0.0.1", port: bridge.adminPort)
            try await third.expectClosed(timeout: .seconds(5))
            #expect(try await first.request("GET", "/healthz").status == 200)
            await first.close()
            await second.close()
        }
    }

    @Test("On shutdown an idle keep-alive connection is closed at once, not at admin.idle_timeout")
    func shutdownClosesIdle() async throws {
        try await BridgeHarness.with(admin: true) { bridge in
            let client = try await AdminHTTPClient.connect(port: bridge.adminPort)
            #expect(try await client.request("GET", "/healthz").status == 200)
            await bridge.shutdown()
            try await client.connection.expectClosed(timeout: .seconds(5))
            #expect(bridge.admin?.connectionCount == 0)
        }
    }
}
