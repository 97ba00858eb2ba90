import BridgeRelay
import NIOCore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How sessions end: MQTT violations, timeouts, an unreachable or closing broker, the client's close, a drain.
@Suite struct SessionClosingTests {
    static let connect = MQTTSample.connect()

    /// The bridge's close frame and nothing else after `before` frames; the client then answers and the socket goes.
    func expectBridgeClose(
        _ harness: SessionHarness, code: UInt16, reasonContains: String? = nil, before: [ServerFrame] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let frames = try harness.framesToClient()
        #expect(frames.dropLast() == before[...], "frames before the close: \(frames)", sourceLocation: sourceLocation)
        #expect(frames.last?.closeCode == code, "close frame: \(frames)", sourceLocation: sourceLocation)
        if let reasonContains {
            #expect(
                frames.last?.closeReason?.contains(reasonContains) == true, "reason: \(frames.last?.closeReason ?? "-")",
                sourceLocation: sourceLocation)
        }
        #expect(harness.clientIsOpen, "waits for the client's close frame", sourceLocation: sourceLocation)
        try harness.send(.close(code))
        #expect(!harness.clientIsOpen, "closed once the client answered", sourceLocation: sourceLocation)
        #expect(try harness.framesToClient().isEmpty, "nothing after the close frame", sourceLocation: sourceLocation)
    }

    // MARK: MQTT rules

    @Test(arguments: [MQTTSample.publish(payload: [1]), MQTTSample.pingreq, MQTTSample.subscribe(), MQTTSample.connackAccepted])
    func firstPacketNotConnectIs1002(_ first: [UInt8]) throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.send(.binary(first))
        try self.expectBridgeClose(harness, code: 1002, reasonContains: "CONNECT")
        #expect(harness.connector.dials == 0)
        #expect(harness.accessLine?.metadata["closed_by"] == "bridge")
    }

    @Test func firstPacketNotConnectIsRefusedAsSoonAsItsHeaderArrives() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.send(.binary([0x30], fin: false))  // a PUBLISH's first byte; its length is not known yet
        #expect(try harness.framesToClient().isEmpty)
        try harness.send(.continuation([0x10]))
        #expect(try harness.framesToClient().map(\.closeCode) == [1002])
    }

    @Test func packetOverTheLimitWhileRelayingIs1009AndTheUpstreamIsClosed() throws {
        let harness = try SessionHarness(settings: SessionSettings(maximumPacketSize: 4096))
        defer { harness.finish() }
        try harness.connect()
        #expect(try harness.bytesToBroker() == Self.connect)
        // Only the header is needed to know: the body never has to arrive.
        try harness.send(.binary(Array(MQTTSample.publish(totalLength: 4097).prefix(3)), fin: false))
        try self.expectBridgeClose(harness, code: 1009)
        #expect(try harness.bytesToBroker().isEmpty, "nothing of the oversized packet reaches the broker")
        #expect(!harness.upstreamIsOpen)
    }

    @Test func connectOverTheLimitIs1009WithoutDialling() throws {
        let harness = try SessionHarness(settings: SessionSettings(maximumPacketSize: 64))
        defer { harness.finish() }
        try harness.send(.binary(MQTTSample.connect(clientID: String(repeating: "x", count: 100))))
        try self.expectBridgeClose(harness, code: 1009)
        #expect(harness.connector.dials == 0)
    }

    static let malformedLengths: [[UInt8]] = [
        [0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],  // five length bytes
        [0x10, 0x80, 0x00],  // over-long encoding of 0
        [0x10, 0x80, 0x80, 0x00],
    ]

    @Test(arguments: malformedLengths)
    func malformedRemainingLengthAsFirstPacketIs1002(_ bytes: [UInt8]) throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.send(.binary(bytes))
        try self.expectBridgeClose(harness, code: 1002)
        #expect(harness.connector.dials == 0)
    }

    @Test(arguments: malformedLengths)
    func malformedRemainingLengthWhileRelayingIs1002(_ bytes: [UInt8]) throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        _ = try harness.bytesToBroker()
        var packet = bytes
        packet[0] = 0x30
        // Byte by byte: the scanner must catch it across reads too.
        for (index, byte) in packet.enumerated() where harness.clientIsOpen {
            try harness.send(index == 0 ? .binary([byte], fin: false) : .continuation([byte], fin: false))
        }
        let frames = try harness.framesToClient()
        #expect(frames.map(\.closeCode) == [1002])
        #expect(!harness.upstreamIsOpen)
    }

    @Test func malformedConnectIs1002() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        var connect = Self.connect
        connect[4...7] = [0x58, 0x58, 0x58, 0x58]  // protocol name "XXXX"
        try harness.send(.binary(connect))
        try self.expectBridgeClose(harness, code: 1002, reasonContains: "CONNECT")
        #expect(harness.connector.dials == 0)
    }

    @Test func textFrameIs1003() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        try harness.send(.text("{\"cmd\":\"connect\"}"))
        let frames = try harness.framesToClient()
        #expect(frames.map(\.closeCode) == [1003])
        #expect(!harness.clientIsOpen, "a protocol violation closes at once")
        #expect(!harness.upstreamIsOpen)
        #expect(harness.accessLine?.metadata["close_code"] == "1003")
        #expect(harness.accessLine?.metadata["closed_by"] == "bridge")
    }

    // MARK: CONNECT timeout

    @Test func connectTimeoutIs1002() throws {
        let harness = try SessionHarness(settings: SessionSettings(maximumPacketSize: 4096, connectPacketTimeout: .seconds(10)))
        defer { harness.finish() }
        harness.advance(by: .milliseconds(9999))
        #expect(try harness.framesToClient().isEmpty)
        harness.advance(by: .milliseconds(1))
        let frames = try harness.framesToClient()
        #expect(frames.map(\.closeCode) == [1002])
        #expect(frames.first?.closeReason?.contains("CONNECT") == true)
        // The client does not answer: the socket goes after the close handshake timeout.
        harness.advance(by: .seconds(3))
        #expect(!harness.clientIsOpen)
        #expect(harness.accessLine?.metadata["close_code"] == "1002")
    }

    @Test func connectTimeoutCountsAPartialConnect() throws {
        let harness = try SessionHarness(settings: SessionSettings(maximumPacketSize: 4096, connectPacketTimeout: .seconds(10)))
        defer { harness.finish() }
        try harness.send(.binary(Array(Self.connect.prefix(10)), fin: false))
        harness.advance(by: .seconds(10))
        #expect(try harness.framesToClient().map(\.closeCode) == [1002])
        #expect(harness.connector.dials == 0)
    }

    @Test func noConnectTimeoutOnceTheConnectArrived() throws {
        let harness = try SessionHarness(settings: SessionSettings(maximumPacketSize: 4096, connectPacketTimeout: .seconds(10)))
        defer { harness.finish() }
        try harness.connect()
        harness.advance(by: .seconds(60))
        #expect(try harness.framesToClient().isEmpty)
        #expect(harness.clientIsOpen && harness.upstreamIsOpen)
    }

    // MARK: Broker unreachable

    static let connacks: [(UInt8, [UInt8])] = [
        (3, [0x20, 0x02, 0x00, 0x03]),
        (4, [0x20, 0x02, 0x00, 0x03]),
        (5, [0x20, 0x03, 0x00, 0x88, 0x00]),
    ]

    @Test(arguments: connacks)
    func refusedBrokerAnswersConnackServerUnavailableThen1013(_ level: UInt8, _ connack: [UInt8]) throws {
        let harness = try SessionHarness(.refuse)
        defer { harness.finish() }
        try harness.send(.binary(MQTTSample.connect(level: level) + MQTTSample.subscribe()))
        try self.expectBridgeClose(harness, code: 1013, before: [.binary(connack)])
        #expect(harness.accessLine?.metadata["reason"] == "broker unavailable: connection refused (fake)")
        #expect(harness.upstream == nil)
        #expect(harness.accessLine?.metadata["closed_by"] == "bridge")
        #expect(harness.accessLine?.metadata["close_code"] == "1013")
    }

    @Test(arguments: connacks)
    func dialFailingLaterAnswersTheSame(_ level: UInt8, _ connack: [UInt8]) throws {
        let harness = try SessionHarness(.manual)
        defer { harness.finish() }
        try harness.send(.binary(MQTTSample.connect(level: level)))
        #expect(try harness.framesToClient().isEmpty)
        try harness.connector.failDial()
        try self.expectBridgeClose(harness, code: 1013, before: [.binary(connack)])
    }

    @Test func unknownProtocolLevelGetsA311Connack() throws {
        let harness = try SessionHarness(.refuse)
        defer { harness.finish() }
        try harness.send(.binary(MQTTSample.connect(level: 6)))
        try self.expectBridgeClose(harness, code: 1013, before: [.binary([0x20, 0x02, 0x00, 0x03])])
    }

    @Test func brokerNotReadyInTimeAnswersConnackAndClosesTheUpstream() throws {
        let harness = try SessionHarness(
            .connectAwaitingTLS, settings: SessionSettings(maximumPacketSize: 4096, upstreamReadyTimeout: .seconds(5)))
        defer { harness.finish() }
        try harness.connect()
        #expect(harness.upstreamIsOpen)
        #expect(try harness.bytesToBroker().isEmpty, "nothing is written before the TLS handshake completed")
        harness.advance(by: .seconds(5))
        try self.expectBridgeClose(harness, code: 1013, before: [.binary([0x20, 0x02, 0x00, 0x03])])
        #expect(harness.accessLine?.metadata["reason"]?.contains("5 s") == true)
        #expect(!harness.upstreamIsOpen)
        #expect(harness.upstreamCloseModes == [.all], "a connection that never became ready is simply closed")
    }

    @Test func tlsUpstreamGetsTheConnectOnlyAfterTheHandshake() throws {
        let harness = try SessionHarness(.connectAwaitingTLS)
        defer { harness.finish() }
        try harness.connect()
        #expect(try harness.bytesToBroker().isEmpty)
        harness.connector.finishTLSHandshake(of: try #require(harness.upstream))
        #expect(try harness.bytesToBroker() == Self.connect)
        harness.advance(by: .seconds(30))
        #expect(harness.clientIsOpen && harness.upstreamIsOpen, "the ready timeout was cancelled")
    }

    @Test func tlsFailureBeforeReadyAnswersConnackWithTheReason() throws {
        struct HandshakeFailed: Error, CustomStringConvertible {
            var description: String { "handshake failed: unknown CA" }
        }
        let harness = try SessionHarness(.connectAwaitingTLS)
        defer { harness.finish() }
        try harness.connect()
        try #require(harness.upstream).channel.pipeline.fireErrorCaught(HandshakeFailed())
        try self.expectBridgeClose(harness, code: 1013, before: [.binary([0x20, 0x02, 0x00, 0x03])])
        #expect(harness.accessLine?.metadata["reason"] == "broker unavailable: handshake failed: unknown CA")
    }

    @Test func brokerClosingDuringSetUpAnswersConnack() throws {
        let harness = try SessionHarness(.connectAwaitingTLS)
        defer { harness.finish() }
        try harness.connect(level: 5)
        harness.brokerCloses()
        try self.expectBridgeClose(harness, code: 1013, before: [.binary([0x20, 0x03, 0x00, 0x88, 0x00])])
    }

    // MARK: Broker ends

    @Test func brokerEOFDeliversWholePacketsThenCloses1000() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let publish = MQTTSample.publish(payload: [9, 9, 9])
        try harness.brokerSends(MQTTSample.connackAccepted + publish + MQTTSample.publish(payload: [1, 2, 3, 4]).prefix(4))
        harness.brokerCloses()
        try self.expectBridgeClose(harness, code: 1000, before: [.binary(MQTTSample.connackAccepted), .binary(publish)])
        #expect(harness.accessLine?.metadata["closed_by"] == "broker")
        #expect(harness.accessLine?.metadata["close_code"] == "1000")
    }

    @Test func brokerEOFAfterTheClientsDisconnectIsLoggedAsTheClients() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        try harness.brokerSends(MQTTSample.connackAccepted)
        try harness.send(.binary(MQTTSample.disconnect))
        #expect(try harness.bytesToBroker().suffix(2) == MQTTSample.disconnect[...], "relayed unchanged")
        harness.brokerCloses()
        try self.expectBridgeClose(harness, code: 1000, before: [.binary(MQTTSample.connackAccepted)])
        #expect(harness.accessLine?.metadata["closed_by"] == "client")
        #expect(harness.accessLine?.metadata["reason"] == "client sent MQTT DISCONNECT")
    }

    /// Eclipse Paho sends DISCONNECT and its close frame back to back, often in one segment: the broker has not closed
    /// yet when the close frame arrives, and the access line must still name the DISCONNECT.
    @Test(arguments: [true, false])
    func disconnectFollowedAtOnceByACloseFrameIsLoggedAsTheDisconnect(_ oneSegment: Bool) throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        try harness.brokerSends(MQTTSample.connackAccepted)
        if oneSegment {
            try harness.send(.binary(MQTTSample.disconnect), .close(1000))
        } else {
            try harness.send(.binary(MQTTSample.disconnect))
            try harness.send(.close(1000))
        }
        #expect(try harness.bytesToBroker() == Self.connect + MQTTSample.disconnect)
        #expect(!harness.clientIsOpen)
        let line = try #require(harness.accessLine)
        #expect(line.metadata["closed_by"] == "client")
        #expect(line.metadata["close_code"] == "1000")
        #expect(line.metadata["reason"] == "client sent MQTT DISCONNECT")
    }

    @Test func brokerEOFRightAfterAReadStillDeliversItsPackets() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let upstream = try #require(harness.upstream)
        // A read and the EOF in one go, with no channelReadComplete in between.
        upstream.channel.pipeline.fireChannelRead(ByteBuffer(bytes: MQTTSample.connackAccepted + MQTTSample.suback))
        harness.brokerCloses()
        try self.expectBridgeClose(harness, code: 1000, before: [.binary(MQTTSample.connackAccepted), .binary(MQTTSample.suback)])
        #expect(harness.accessLine?.metadata["bytes_out"] == String(MQTTSample.connackAccepted.count + MQTTSample.suback.count))
    }

    @Test func upstreamErrorIs1011() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        try #require(harness.upstream).channel.pipeline.fireErrorCaught(
            IOError(errnoCode: ECONNRESET, reason: "read(descriptor:pointer:size:)"))
        try self.expectBridgeClose(harness, code: 1011)
        #expect(harness.accessLine?.metadata["reason"] == "upstream error: connection reset")
        #expect(!harness.upstreamIsOpen)
        #expect(harness.accessLine?.metadata["closed_by"] == "broker")
    }

    // MARK: Client ends

    @Test func clientCloseFrameClosesTheUpstreamAfterThePendingBytes() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        let publish = MQTTSample.publish(payload: Array(repeating: 7, count: 50), packetID: 2)
        // Data and close in one segment: the data must reach the broker before its connection is closed.
        try harness.send(.binary(publish), .binary(MQTTSample.disconnect), .close(1000, reason: "bye"))
        #expect(try harness.bytesToBroker() == Self.connect + publish + MQTTSample.disconnect)
        #expect(!harness.upstreamIsOpen)
        #expect(harness.upstreamCloseModes.first == .output, "an orderly end of stream (FIN) after the bytes")
        #expect(try harness.framesToClient() == [.close(1000)], "the codec echoes the code")
        #expect(!harness.clientIsOpen)
        let line = try #require(harness.accessLine)
        #expect(line.metadata["closed_by"] == "client")
        #expect(line.metadata["close_code"] == "1000")
        #expect(line.metadata["reason"] == "client sent MQTT DISCONNECT", "the first cause, not the close that followed it")
        #expect(line.metadata["bytes_in"] == String(Self.connect.count + publish.count + MQTTSample.disconnect.count))
    }

    @Test func clientCloseWhileTheBrokerIsDialledDropsTheHeldBytes() throws {
        let harness = try SessionHarness(.manual)
        defer { harness.finish() }
        try harness.connect()
        try harness.send(.close(1001))
        #expect(!harness.clientIsOpen)
        #expect(harness.accessLine?.metadata["close_code"] == "1001")
    }

    @Test func clientEOFClosesTheUpstream() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        try harness.send(.binary(MQTTSample.pingreq))
        harness.client.close(promise: nil)
        #expect(try harness.bytesToBroker() == Self.connect + MQTTSample.pingreq)
        #expect(!harness.upstreamIsOpen)
        let line = try #require(harness.accessLine)
        #expect(line.metadata["closed_by"] == "client")
        #expect(line.metadata["close_code"] == "1006")
    }

    @Test func clientTransportErrorIsTheReason() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        harness.client.pipeline.fireErrorCaught(IOError(errnoCode: ECONNRESET, reason: "read"))
        #expect(!harness.clientIsOpen)
        #expect(!harness.upstreamIsOpen)
        #expect(harness.accessLine?.metadata["reason"] == "connection reset")
    }

    @Test func bridgeCloseWithoutAnswerClosesAfterTheCloseTimeout() throws {
        let harness = try SessionHarness()
        defer { harness.finish() }
        try harness.connect()
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        harness.advance(by: .milliseconds(2999))
        #expect(harness.clientIsOpen)
        harness.advance(by: .milliseconds(1))
        #expect(!harness.clientIsOpen)
    }

    // MARK: Broker connections that complete after the session ended

    /// The real connector adds `UpstreamHandler` only once the host name is resolved (HappyEyeballs runs
    /// getaddrinfo off the loop); until then `UpstreamHandler.partnerClose` has no context and does nothing.
    @Test func brokerConnectionCompletingAfterTheClientLeftIsClosed() throws {
        let harness = try SessionHarness(.manual)
        defer { harness.finish() }
        try harness.connect()
        harness.client.close(promise: nil)
        let upstream = try harness.connector.completeDial()
        #expect(!upstream.channel.isActive)
    }

    @Test func brokerConnectionCompletingAfterADrainIsClosed() throws {
        let harness = try SessionHarness(.manual)
        defer { harness.finish() }
        try harness.connect()
        harness.client.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(try harness.framesToClient().map(\.closeCode) == [1001])
        let upstream = try harness.connector.completeDial()
        #expect(try harness.bytesToBroker().isEmpty, "nothing is relayed to a session that is closing")
        #expect(!upstream.channel.isActive)
    }

    @Test func brokerConnectionCompletingAfterTheReadyTimeoutIsClosed() throws {
        let harness = try SessionHarness(.manual, settings: SessionSettings(maximumPacketSize: 4096, upstreamReadyTimeout: .seconds(5)))
        defer { harness.finish() }
        try harness.connect()
        harness.advance(by: .seconds(5))
        #expect(try harness.framesToClient().map(\.closeCode) == [nil, 1013], "CONNACK, then close 1013")
        let upstream = try harness.connector.completeDial()
        #expect(try harness.bytesToBroker().isEmpty)
        #expect(!upstream.channel.isActive)
    }

    @Test func brokerConnectionNotYetConnectedWhenTheClientLeftIsClosed() throws {
        // The handler is already in the (connecting) channel: partnerClose can close it.
        let harness = try SessionHarness(.addedThenManual)
        defer { harness.finish() }
        try harness.connect()
        let upstream = try #require(harness.upstream)
        #expect(!upstream.channel.isActive)
        harness.client.close(promise: nil)
        #expect(upstream.closes.modes == [.all])
        try harness.connector.completeDial()
        #expect(!upstream.channel.isActive)
        #expect(try harness.bytesToBroker().isEmpty)
    }

    @Test func brokerConnectionThatConnectsLaterIsUsed() throws {
        let harness = try SessionHarness(.addedThenManual)
        defer { harness.finish() }
        try harness.connect()
        try harness.send(.binary(MQTTSample.pingreq))
        try harness.connector.completeDial()
        #expect(try harness.bytesToBroker() == Self.connect + MQTTSample.pingreq)
    }

    // MARK: Closing the broker connection

    @Test func brokerConnectionIsHalfClosedThenFullyClosedAfterTheLinger() throws {
        let harness = try SessionHarness(
            emulateHalfClose: true, settings: SessionSettings(maximumPacketSize: 4096, upstreamLingerTimeout: .seconds(3)))
        defer { harness.finish() }
        try harness.connect()
        try harness.send(.binary(MQTTSample.disconnect), .close(1000))
        #expect(try harness.bytesToBroker() == Self.connect + MQTTSample.disconnect)
        #expect(harness.upstreamCloseModes == [.output])
        #expect(harness.upstreamIsOpen, "the broker gets time to close its side")
        harness.advance(by: .milliseconds(2999))
        #expect(harness.upstreamIsOpen)
        harness.advance(by: .milliseconds(1))
        #expect(!harness.upstreamIsOpen)
        #expect(harness.upstreamCloseModes == [.output, .all])
    }

    @Test func brokerClosingItsSideAfterTheHalfCloseNeedsNoFullClose() throws {
        let harness = try SessionHarness(emulateHalfClose: true)
        defer { harness.finish() }
        try harness.connect()
        try harness.send(.close(1000))
        #expect(harness.upstreamCloseModes == [.output])
        // The broker answers the FIN by closing: the session is already gone, nothing else happens.
        try #require(harness.upstream).channel.pipeline.fireChannelInactive()
        harness.advance(by: .seconds(10))
        #expect(harness.logs.entries(label: "access").count == 1)
    }

    // MARK: What the client is told

    /// The close reason goes to any client on the internet; the broker's address and error details belong in the
    /// bridge's own log only.
    @Test func closeReasonDoesNotRevealTheBrokersAddress() throws {
        struct InternalDetail: Error, CustomStringConvertible {
            // What UpstreamErrorDescription makes of a NIOConnectionError without per-address errors.
            var description: String { "cannot connect to mqtt-broker.internal.example:1883" }
        }
        let harness = try SessionHarness(.manual)
        defer { harness.finish() }
        try harness.connect()
        try harness.connector.failDial(InternalDetail())
        let frames = try harness.framesToClient()
        #expect(frames.last?.closeCode == 1013)
        #expect(frames.last?.closeReason?.contains("internal.example") == false, "reason: \(frames.last?.closeReason ?? "")")
        #expect(harness.logs.entries.contains { $0.description.contains("internal.example") }, "the detail is logged")
    }
}
