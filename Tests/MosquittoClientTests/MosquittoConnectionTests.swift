import BridgeTestSupport
import MosquittoClient
import Testing

/// Failure paths that need a broker misbehaving on cue (`FakeBroker`).
@Suite("Connection failures, timeouts and cancellation", .timeLimit(.minutes(2)))
struct MosquittoConnectionTests {
    @Test("connection loss fails every waiting publish with .connectionLost, once")
    func lossFailsPendingPublishes() async throws {
        let broker = try FakeBroker(.acceptThenCloseAfterPublishes(count: 5))
        let connection = try MosquittoConnection(
            options: MosquittoConnectionOptions(host: "127.0.0.1", port: broker.port, ackTimeout: .seconds(30)))
        try await connection.connect()
        #expect(connection.isConnected)

        let errors = await withTaskGroup(of: MosquittoError?.self) { group in
            for index in 0..<5 {
                group.addTask {
                    await failure {
                        try await connection.publish(MosquittoMessage(topic: "t/\(index)", payload: [1], qos: .atLeastOnce))
                    }
                }
            }
            return await group.reduce(into: [MosquittoError?]()) { $0.append($1) }
        }
        #expect(errors.count == 5)
        #expect(errors.allSatisfy { $0?.kind == .connectionLost }, "\(errors)")
        #expect(!connection.isConnected)
        #expect(await connection.waitUntilClosed().kind == .connectionLost)

        let afterwards = await failure { try await connection.publish(MosquittoMessage(topic: "t", payload: [])) }
        #expect(afterwards?.kind == .unavailable)
        await connection.disconnect()
        await broker.stop()
    }

    @Test("no PUBACK: .timeout after the configured time; disconnect still returns promptly")
    func acknowledgementTimeout() async throws {
        let broker = try FakeBroker(.acceptAndIgnore)
        let connection = try MosquittoConnection(
            options: MosquittoConnectionOptions(host: "127.0.0.1", port: broker.port, ackTimeout: .milliseconds(300)))
        try await connection.connect()
        let start = ContinuousClock.now
        let error = await failure {
            try await connection.publish(MosquittoMessage(topic: "t", payload: [1], qos: .exactlyOnce))
        }
        let elapsed = ContinuousClock.now - start
        #expect(error?.kind == .timeout)
        #expect(error?.reason == "no acknowledgement within 300ms")
        #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(3), "took \(elapsed)")
        #expect(connection.isConnected, "a slow acknowledgement does not end the connection")

        let disconnectStart = ContinuousClock.now
        await connection.disconnect()
        #expect(ContinuousClock.now - disconnectStart < .seconds(3))
        await broker.stop()
    }

    @Test("cancelling the publishing task ends the wait with .cancelled")
    func cancelledPublish() async throws {
        let broker = try FakeBroker(.acceptAndIgnore)
        let connection = try MosquittoConnection(
            options: MosquittoConnectionOptions(host: "127.0.0.1", port: broker.port, ackTimeout: .seconds(30)))
        try await connection.connect()
        let task = Task {
            await failure { try await connection.publish(MosquittoMessage(topic: "t", payload: [1], qos: .atLeastOnce)) }
        }
        try await waitUntil("the broker got the PUBLISH") { broker.publishCount == 1 }
        task.cancel()
        let error = await task.value
        #expect(error?.kind == .cancelled)
        await connection.disconnect()
        await broker.stop()
    }

    @Test("cancelling connect against a silent listener ends it with .cancelled at once")
    func cancelledConnect() async throws {
        let (listener, port) = try TestSocket.listen()
        defer { listener.close() }
        let connection = try MosquittoConnection(
            options: MosquittoConnectionOptions(host: "127.0.0.1", port: port, connectTimeout: .seconds(30)))
        let task = Task { await failure { try await connection.connect() } }
        try await Task.sleep(for: .milliseconds(100))
        let start = ContinuousClock.now
        task.cancel()
        let error = await task.value
        #expect(error?.kind == .cancelled)
        #expect(ContinuousClock.now - start < .seconds(2))
        await connection.disconnect()
    }

    @Test("connect may be called once; a closed connection stays closed")
    func singleUse() async throws {
        try await withBroker { broker in
            let connection = try MosquittoConnection(options: options(for: broker))
            let early = await failure { try await connection.publish(MosquittoMessage(topic: "t", payload: [])) }
            #expect(early?.kind == .unavailable)
            try await connection.connect()
            let second = await failure { try await connection.connect() }
            #expect(second?.kind == .unavailable)
            await connection.disconnect()
            await connection.disconnect()
            let closed = await connection.waitUntilClosed()
            #expect(closed.kind == .unavailable)
            #expect(!connection.isConnected)
        }
    }

    @Test("a released connection closes its broker session politely")
    func releasedConnectionCloses() async throws {
        try await withBroker { broker in
            var connection: MosquittoConnection? = try MosquittoConnection(options: options(for: broker))
            try await connection?.connect()
            let clientID = try #require(connection?.clientID)
            connection = nil
            do {
                try await waitUntil("the broker logged the disconnection") {
                    broker.log().contains("Client \(clientID) disconnected.")
                }
            } catch {
                Issue.record("\(error)\n\(broker.log())")
            }
        }
    }
}
