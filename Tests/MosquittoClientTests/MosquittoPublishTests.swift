import BridgeTestSupport
import MosquittoClient
import Testing

@Suite("Publishing through a real Mosquitto", .timeLimit(.minutes(2)))
struct MosquittoPublishTests {
    /// Every byte value, plus a length that crosses the 2-byte remaining-length boundary.
    static let binaryPayload: [UInt8] = (0..<300).map { UInt8($0 % 256) }

    @Test("QoS 0, 1 and 2 arrive byte-exact with their QoS", arguments: MosquittoMessage.QoS.allCases)
    func qualityOfService(qos: MosquittoMessage.QoS) async throws {
        try await withBroker { broker in
            try await withPool(options(for: broker)) { pool in
                try await waitUntil("the pool is connected") { pool.connectedCount == 2 }
                let topic = "test/qos/\(qos.rawValue)"
                let subscriber = try await RawSubscriber.subscribe(port: broker.port, filter: topic)
                defer { subscriber.close() }

                let receipt = try await pool.publish(MosquittoMessage(topic: topic, payload: Self.binaryPayload, qos: qos))
                #expect(receipt.messageID > 0)

                let received = try await subscriber.nextPublish()
                #expect(received.topic == topic)
                #expect(received.payload == Self.binaryPayload)
                #expect(received.qos == qos.rawValue)
                #expect(!received.retain)
            }
        }
    }

    @Test("MQTT 5 properties reach the subscriber")
    func properties() async throws {
        try await withBroker { broker in
            try await withPool(options(for: broker), size: 1) { pool in
                try await waitUntil("the pool is connected") { pool.connectedCount == 1 }
                let subscriber = try await RawSubscriber.subscribe(port: broker.port, filter: "test/properties")
                defer { subscriber.close() }
                let message = MosquittoMessage(
                    topic: "test/properties", payload: Array(#"{"hello":"wörld"}"#.utf8), qos: .atLeastOnce,
                    userProperties: [
                        MosquittoUserProperty(name: "source", value: "backend"),
                        MosquittoUserProperty(name: "trace", value: "1"),
                        MosquittoUserProperty(name: "trace", value: "2"),
                    ],
                    contentType: "application/json", messageExpiryInterval: 300, payloadFormat: .utf8,
                    responseTopic: "reply/here", correlationData: [0, 1, 2, 255])
                try await pool.publish(message)

                let received = try await subscriber.nextPublish()
                #expect(received.payload == message.payload)
                #expect(
                    received.userProperties == [
                        .init(name: "source", value: "backend"), .init(name: "trace", value: "1"),
                        .init(name: "trace", value: "2"),
                    ])
                #expect(received.contentType == "application/json")
                #expect(received.payloadFormat == 1)
                #expect(received.responseTopic == "reply/here")
                #expect(received.correlationData == [0, 1, 2, 255])
                let expiry = try #require(received.messageExpiryInterval)
                #expect(expiry <= 300 && expiry >= 295)
            }
        }
    }

    @Test("a retained message reaches a later subscriber with the retain flag")
    func retained() async throws {
        try await withBroker { broker in
            try await withPool(options(for: broker)) { pool in
                try await waitUntil("the pool is connected") { pool.connectedCount >= 1 }
                try await pool.publish(
                    MosquittoMessage(topic: "test/retained", payload: Array("last value".utf8), qos: .atLeastOnce, retain: true))
                let subscriber = try await RawSubscriber.subscribe(port: broker.port, filter: "test/#")
                defer { subscriber.close() }
                let received = try await subscriber.nextPublish()
                #expect(received.topic == "test/retained")
                #expect(received.retain)
                #expect(received.payload == Array("last value".utf8))
            }
        }
    }

    @Test("MQTT 3.1.1: plain messages work, properties are refused instead of dropped")
    func mqtt311() async throws {
        try await withBroker { broker in
            let connection = try MosquittoConnection(options: options(for: broker, .v3_1_1))
            try await connection.connect()
            let subscriber = try await RawSubscriber.subscribe(port: broker.port, filter: "test/v311")
            defer { subscriber.close() }
            try await connection.publish(MosquittoMessage(topic: "test/v311", payload: [1, 2, 3], qos: .exactlyOnce))
            #expect(try await subscriber.nextPublish().payload == [1, 2, 3])

            let refused = await failure {
                try await connection.publish(
                    MosquittoMessage(topic: "test/v311", payload: [], contentType: "text/plain"))
            }
            #expect(refused?.kind == .invalidMessage)
            await connection.disconnect()
        }
    }

    @Test("invalid topics are refused before anything is sent")
    func invalidTopic() async throws {
        try await withBroker { broker in
            try await withPool(options(for: broker)) { pool in
                try await waitUntil("the pool is connected") { pool.connectedCount >= 1 }
                for topic in ["a/+/b", "#", "", "a\u{0}b"] {
                    let error = await failure { try await pool.publish(MosquittoMessage(topic: topic, payload: [])) }
                    #expect(error?.kind == .invalidTopic, "\(topic): \(String(describing: error))")
                }
            }
        }
    }

    @Test("the broker's ACL refusal comes back as 'not authorised' (MQTT 5 PUBACK reason 0x87)")
    func aclDenied() async throws {
        let directory = try makeReadableTemporaryDirectory()
        let aclFile = directory.appendingPathComponent("acl").path
        try "topic readwrite allowed/#\n".write(toFile: aclFile, atomically: true, encoding: .utf8)
        try await withBroker(extraConfig: "acl_file \(aclFile)") { broker in
            let connection = try MosquittoConnection(options: options(for: broker))
            try await connection.connect()
            try await connection.publish(MosquittoMessage(topic: "allowed/x", payload: [1], qos: .atLeastOnce))
            let denied = await failure {
                try await connection.publish(MosquittoMessage(topic: "denied/x", payload: [1], qos: .atLeastOnce))
            }
            #expect(denied?.kind == .notAuthorized, "\(String(describing: denied))\n\(broker.log())")
            #expect(denied?.reasonCode == 0x87)
            await connection.disconnect()
        }
    }

    @Test("broker down: publish fails fast with .unavailable; the pool reconnects after a restart")
    func brokerDownAndBack() async throws {
        try await withBroker { broker in
            let policy = MosquittoReconnectPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(1))
            try await withPool(options(for: broker), size: 2, reconnect: policy) { pool in
                try await waitUntil("both members are connected") { pool.connectedCount == 2 }
                try await pool.publish(MosquittoMessage(topic: "test/up", payload: [1], qos: .atLeastOnce))

                await broker.stop()
                try await waitUntil("the pool noticed") { pool.connectedCount == 0 }
                let start = ContinuousClock.now
                let error = await failure {
                    try await pool.publish(MosquittoMessage(topic: "test/down", payload: [1], qos: .atLeastOnce))
                }
                let elapsed = ContinuousClock.now - start
                #expect(error?.kind == .unavailable, "\(String(describing: error))")
                #expect(elapsed < .milliseconds(200), "took \(elapsed)")

                try await broker.restart()
                try await waitUntil("both members reconnected", timeout: .seconds(15)) { pool.connectedCount == 2 }
                let subscriber = try await RawSubscriber.subscribe(port: broker.port, filter: "test/again")
                defer { subscriber.close() }
                try await pool.publish(MosquittoMessage(topic: "test/again", payload: [2], qos: .atLeastOnce))
                #expect(try await subscriber.nextPublish().payload == [2])
            }
        }
    }

    @Test("200 concurrent QoS 1 publishes on one connection complete with distinct message ids")
    func concurrentPublishes() async throws {
        try await withBroker { broker in
            let connection = try MosquittoConnection(options: options(for: broker))
            try await connection.connect()
            let ids = try await withThrowingTaskGroup(of: Int32.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        try await connection.publish(
                            MosquittoMessage(topic: "test/load/\(index % 7)", payload: Array("\(index)".utf8), qos: .atLeastOnce)
                        ).messageID
                    }
                }
                return try await group.reduce(into: [Int32]()) { $0.append($1) }
            }
            #expect(ids.count == 200)
            #expect(Set(ids).count == 200)
            await connection.disconnect()
        }
    }

    @Test("300 concurrent publishes of every QoS through the pool all complete")
    func concurrentPoolPublishes() async throws {
        try await withBroker { broker in
            try await withPool(options(for: broker), size: 3) { pool in
                try await waitUntil("the pool is connected") { pool.connectedCount == 3 }
                let count = try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<300 {
                        group.addTask {
                            let qos = MosquittoMessage.QoS(rawValue: index % 3) ?? .atMostOnce
                            try await pool.publish(MosquittoMessage(topic: "test/pool", payload: [UInt8(index % 256)], qos: qos))
                        }
                    }
                    return try await group.reduce(0) { count, _ in count + 1 }
                }
                #expect(count == 300)
            }
        }
    }

    @Test("disconnect lets publishes in flight finish: none is lost, late ones are refused unsent")
    func disconnectDrains() async throws {
        try await withBroker { broker in
            let connection = try MosquittoConnection(options: options(for: broker))
            try await connection.connect()
            let outcomes = await withTaskGroup(of: MosquittoError?.self) { group in
                for index in 0..<100 {
                    group.addTask {
                        await failure {
                            try await connection.publish(MosquittoMessage(topic: "test/drain", payload: [UInt8(index)], qos: .exactlyOnce))
                        }
                    }
                }
                group.addTask {
                    await connection.disconnect()
                    return nil
                }
                return await group.reduce(into: [MosquittoError?]()) { $0.append($1) }
            }
            let failures = outcomes.compactMap { $0 }
            #expect(failures.allSatisfy { $0.kind == .unavailable }, "\(failures)")
            #expect(!connection.isConnected)
            let after = await failure { try await connection.publish(MosquittoMessage(topic: "test/drain", payload: [])) }
            #expect(after?.kind == .unavailable)
        }
    }
}
