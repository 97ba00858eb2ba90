import BridgeConfig
import BridgeServer
import BridgeTestSupport
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

/// A listener's sockets (`ListenerSockets`): one per event loop on one port where the kernel balances `SO_REUSEPORT`
/// (Linux), each accepting its own connections and keeping them on its loop; the cap and the drain cover them all.
@Suite("Listener sockets", .timeLimit(.minutes(2)))
struct ListenerSocketsTests {
    /// More loops than the machine's cores, so that a spread is visible on any machine.
    static let loopCount = 4
    static var expectedSockets: Int { ListenerSockets.socketPerLoop ? Self.loopCount : 1 }

    @Test(
        "The backlog follows net.core.somaxconn up to 4096; unreadable or nonsense gives 1024",
        arguments: [
            ("4096\n", 4096), ("128\n", 128), ("65535\n", 4096), ("0\n", 1024), ("many", 1024), (nil, 1024),
        ] as [(String?, Int32)])
    func backlog(somaxconn: String?, expected: Int32) {
        #expect(ListenerSockets.backlog(somaxconn: somaxconn) == expected)
    }

    @Test("Bound to port 0: a socket per loop on the port the first one got; connections land on several, each on its socket's loop")
    func socketPerLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: Self.loopCount)
        // Each accepted connection: its own loop and its listening socket's.
        let accepted = NIOLockedValueBox<[(child: ObjectIdentifier, parent: ObjectIdentifier?)]>([])
        let sockets = try await ListenerSockets.bind(group: group) { bootstrap in
            bootstrap.childChannelInitializer { channel in
                accepted.withLockedValue {
                    $0.append((ObjectIdentifier(channel.eventLoop), channel.parent.map { ObjectIdentifier($0.eventLoop) }))
                }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
        } bindFirst: { bootstrap in
            try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        }
        var clients: [TestTCPClient] = []
        do {
            #expect(sockets.count == Self.expectedSockets)
            let port = try #require(sockets[0].localAddress?.port)
            #expect(port != 0)
            #expect(sockets.allSatisfy { $0.localAddress?.port == port })
            #expect(Set(sockets.map { ObjectIdentifier($0.eventLoop) }).count == sockets.count, "each socket on its own loop")

            // The kernel picks a socket by a hash of the source port: a few dozen connections reach more than one.
            let wanted = min(2, sockets.count)
            for _ in 0..<64 {
                clients.append(try await TestTCPClient.connect(host: "127.0.0.1", port: port))
                try await ExecutableTests.waitUntil(timeout: .seconds(5)) { accepted.withLockedValue { $0.count } == clients.count }
                if Set(accepted.withLockedValue { $0.map(\.child) }).count >= wanted { break }
            }
            let landed = accepted.withLockedValue { $0 }
            #expect(Set(landed.map(\.child)).count >= wanted, "connections landed on \(Set(landed.map(\.child)).count) loop(s)")
            if ListenerSockets.socketPerLoop {
                #expect(landed.allSatisfy { $0.child == $0.parent }, "a connection stays on the loop that accepted it")
            }
        } catch {
            await Self.close(clients, sockets, group)
            throw error
        }
        await Self.close(clients, sockets, group)
    }

    @Test(
        "The bridge: one address, a socket per loop (one without reuse_port); max_connections over all; a drain closes all",
        arguments: [true, false])
    func bridgeListener(reusePort: Bool) async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: Self.loopCount)
        // The server is gone before its loops: it completes a promise on one when it goes.
        do {
            try await Self.capAndDrain(on: loops, reusePort: reusePort)
        } catch {
            try? await loops.shutdownGracefully()
            throw error
        }
        try await loops.shutdownGracefully()
    }

    private static func capAndDrain(on loops: MultiThreadedEventLoopGroup, reusePort: Bool) async throws {
        var configuration = BridgeConfiguration()
        configuration.listeners = [ListenerConfiguration(name: "ws", address: "127.0.0.1", port: 0, reusePort: reusePort)]
        configuration.upstream.host = "127.0.0.1"
        configuration.upstream.port = 1  // never dialled: no connection here gets past its handshake
        configuration.limits.maxConnections = 2
        configuration.timeouts.handshake = .seconds(60)
        configuration.shutdown.gracePeriod = .seconds(1)
        try configuration.validate()
        let quiet = Logger(label: "listener-sockets") { _ in SwiftLogNoOpLogHandler() }
        let server = try BridgeServer(configuration: configuration, group: loops, logger: quiet, accessLogger: nil)
        let services = ServiceGroup(services: [server], logger: quiet)
        let running = Task { try await services.run() }
        var clients: [TestTCPClient] = []
        do {
            let listeners = try await server.listeners()
            #expect(listeners.count == 1)
            let listener = try #require(listeners.first)
            #expect(listener.port != 0)
            #expect(listener.acceptLoops.count == (reusePort ? Self.expectedSockets : 1))
            #expect(listener.acceptLoops.allSatisfy { loop in loops.makeIterator().contains { $0 === loop } })
            #expect(Set(listener.acceptLoops.map { ObjectIdentifier($0) }).count == listener.acceptLoops.count)

            // Eight connections, spread over the sockets: two are admitted, the rest closed at accept.
            for _ in 0..<8 {
                clients.append(try await TestTCPClient.connect(host: "127.0.0.1", port: listener.port))
            }
            try await ExecutableTests.waitUntil(timeout: .seconds(5)) { clients.filter(\.isClosed).count == 6 }
            #expect(server.connectionCount == 2)

            await services.triggerGracefulShutdown()
            _ = try await running.value
            // Every socket is closed: new connections (each from another source port, so hashed to any socket) are refused.
            for _ in 0..<32 {
                await #expect(throws: (any Error).self) {
                    let client = try await TestTCPClient.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(2))
                    await client.close()
                }
            }
            #expect(server.connectionCount == 0)
        } catch {
            running.cancel()
            _ = try? await running.value
            for client in clients { await client.close() }
            throw error
        }
        for client in clients { await client.close() }
    }

    private static func close(_ clients: [TestTCPClient], _ sockets: [any Channel], _ group: MultiThreadedEventLoopGroup) async {
        for client in clients { await client.close() }
        for socket in sockets { try? await socket.close() }
        try? await group.shutdownGracefully()
    }
}
