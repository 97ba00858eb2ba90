import BridgeTestSupport
import ClientAddress
import NIOCore
import NIOEmbedded
import Testing

/// Records what reaches the handler after `ProxyProtocolHandler`, in order.
final class Recorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    enum Item: Hashable {
        case event(ProxyProtocolEvent)
        case data([UInt8])
        case inactive
    }

    var items: [Item] = []

    var events: [ProxyProtocolEvent] {
        self.items.compactMap { item -> ProxyProtocolEvent? in
            guard case .event(let event) = item else {
                return nil
            }
            return event
        }
    }

    /// Every byte passed on, reads concatenated.
    var data: [UInt8] {
        self.items.flatMap { item -> [UInt8] in
            guard case .data(let chunk) = item else {
                return []
            }
            return chunk
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.items.append(.data(bytes(of: self.unwrapInboundIn(data))))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ProxyProtocolEvent {
            self.items.append(.event(event))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.items.append(.inactive)
        context.fireChannelInactive()
    }
}

/// A class so that its channel is finished when the test lets go of it: an open `EmbeddedChannel` and its pipeline
/// hold each other, and LeakSanitizer reported every unfinished harness (its handlers, buffers and promises) at exit.
final class HandlerHarness {
    let channel: EmbeddedChannel
    let handler: ProxyProtocolHandler
    let recorder: Recorder

    static let trusted: TrustedProxies = {
        do {
            return try TrustedProxies(["10.0.0.0/8", "::1"])
        } catch {
            preconditionFailure("\(error)")
        }
    }()

    /// A connected channel whose peer is `peer` (nil: no remote address), with the handler and a recorder.
    /// (EmbeddedChannel takes the address it connects to as its remote address.)
    init(peer: String?, configuration: ProxyProtocolHandler.Configuration, addAfterActive: Bool = false) throws {
        self.channel = EmbeddedChannel()
        self.handler = ProxyProtocolHandler(configuration: configuration)
        self.recorder = Recorder()
        let peerAddress = try SocketAddress(ipAddress: peer ?? "127.0.0.1", port: 50000)
        if addAfterActive || peer == nil {
            try self.channel.pipeline.syncOperations.addHandler(self.recorder)
            try self.channel.connect(to: peerAddress).wait()
            if peer == nil {
                self.channel.remoteAddress = nil
            }
            try self.channel.pipeline.syncOperations.addHandler(self.handler, position: .first)
        } else {
            try self.channel.pipeline.syncOperations.addHandlers([self.handler, self.recorder])
            try self.channel.connect(to: peerAddress).wait()
        }
        #expect(self.channel.remoteAddress == (peer == nil ? nil : peerAddress))
    }

    deinit {
        _ = try? self.channel.finish(acceptAlreadyClosed: true)
    }

    func write(_ bytes: [UInt8]) throws {
        try self.channel.writeInbound(ByteBuffer(bytes: bytes))
    }

    var handlerIsInPipeline: Bool {
        (try? self.channel.pipeline.syncOperations.handler(type: ProxyProtocolHandler.self)) != nil
    }
}

@Suite("ProxyProtocolHandler")
struct ProxyProtocolHandlerTests {
    let required = ProxyProtocolHandler.Configuration.required(trusting: HandlerHarness.trusted)
    let optional = ProxyProtocolHandler.Configuration.optional(trusting: HandlerHarness.trusted)

    @Test func trustedPeerWithHeaderAndPayloadInOneRead() throws {
        let harness = try HandlerHarness(peer: "10.0.0.5", configuration: self.required)
        let payload = ascii("GET /mqtt HTTP/1.1\r\n")
        try harness.write(ascii("PROXY TCP4 203.0.113.7 10.0.0.1 40000 443\r\n") + payload)
        let expected = ProxyProtocolHeader(
            version: .v1,
            command: .proxy,
            transport: .tcp4,
            source: .ip(ip("203.0.113.7"), port: 40000),
            destination: .ip(ip("10.0.0.1"), port: 443)
        )
        #expect(harness.recorder.items == [.event(.received(expected)), .data(payload)], "event first, then the bytes")
        #expect(harness.handler.outcome.state == .received(expected))
        #expect(harness.handler.outcome.header == expected)
        #expect(
            harness.handler.outcome.clientAddress(peer: harness.channel.remoteAddress)
                == (try SocketAddress(ipAddress: "203.0.113.7", port: 40000))
        )
        #expect(!harness.handlerIsInPipeline, "removed itself")
        #expect(harness.channel.isActive)

        // Later reads go straight through.
        try harness.write(ascii("Host: x\r\n"))
        #expect(harness.recorder.data == payload + ascii("Host: x\r\n"))
        #expect(try harness.channel.finish().isClean)
    }

    @Test func headerWithoutPayloadForwardsNothing() throws {
        let harness = try HandlerHarness(peer: "10.0.0.5", configuration: self.required)
        try harness.write(V2Vectors.tcp4)
        #expect(harness.recorder.items.count == 1)
        #expect(harness.recorder.events.first.map { if case .received = $0 { true } else { false } } == true)
        #expect(!harness.handlerIsInPipeline)
        try harness.write([1, 2, 3])
        #expect(harness.recorder.data == [1, 2, 3])
    }

    @Test(arguments: validHeaders.indices)
    func splitAcrossTwoReadsAtEveryPosition(index: Int) throws {
        let (name, header) = validHeaders[index]
        let payload = [0x16, 0x03, 0x01] + ascii("rest of a TLS ClientHello")
        let stream = header + payload
        for cut in 1..<stream.count {
            let harness = try HandlerHarness(peer: "::1", configuration: self.required)
            try harness.write(Array(stream[..<cut]))
            try harness.write(Array(stream[cut...]))
            #expect(harness.recorder.events.count == 1, "\(name), cut at \(cut)")
            guard case .received? = harness.recorder.events.first else {
                Issue.record("\(name), cut at \(cut): \(harness.recorder.items)")
                continue
            }
            #expect(harness.recorder.items.first.map { if case .event = $0 { true } else { false } } == true)
            #expect(harness.recorder.data == payload, "\(name), cut at \(cut): no loss, no duplication")
            #expect(!harness.handlerIsInPipeline)
        }
    }

    @Test(arguments: validHeaders.indices)
    func oneByteAtATime(index: Int) throws {
        let (name, header) = validHeaders[index]
        let harness = try HandlerHarness(peer: "10.1.1.1", configuration: self.optional)
        for byte in header + ascii("xyz") {
            try harness.write([byte])
        }
        #expect(harness.recorder.events.count == 1, "\(name)")
        #expect(harness.recorder.data == ascii("xyz"), "\(name)")
    }

    @Test func untrustedPeerSendingAHeaderIsClosed() throws {
        let harness = try HandlerHarness(peer: "198.51.100.1", configuration: self.optional)
        try harness.write(ascii("PROXY TCP4 1.1.1.1 2.2.2.2 1 2\r\nGET / HTTP/1.1\r\n"))
        guard case .rejected(let error)? = harness.recorder.events.first else {
            Issue.record("expected a rejection, got \(harness.recorder.items)")
            return
        }
        #expect(error.code == .untrustedPeer)
        #expect(error.description.contains("198.51.100.1"))
        #expect(harness.recorder.data.isEmpty, "nothing passed on")
        #expect(!harness.channel.isActive)
        #expect(harness.handler.outcome.state == .rejected(error))
        #expect(
            harness.handler.outcome.clientAddress(peer: harness.channel.remoteAddress) == harness.channel.remoteAddress
        )
    }

    @Test func untrustedPeerIsRefusedOnSightWhenRequired() throws {
        let harness = try HandlerHarness(peer: "198.51.100.1", configuration: self.required)
        #expect(!harness.channel.isActive, "closed before any byte arrived")
        guard case .rejected(let error)? = harness.recorder.events.first else {
            Issue.record("expected a rejection, got \(harness.recorder.items)")
            return
        }
        #expect(error.code == .untrustedPeer)
        #expect(harness.recorder.events.count == 1, "one decision only, even though the channel went inactive after it")
    }

    @Test func missingRemoteAddressIsUntrusted() throws {
        let harness = try HandlerHarness(peer: nil, configuration: self.required)
        #expect(
            harness.recorder.events.first.map {
                if case .rejected(let error) = $0 { error.code == .untrustedPeer } else { false }
            } == true
        )
    }

    @Test func untrustedPeerWithoutHeaderPassesThroughWhenAllowed() throws {
        let harness = try HandlerHarness(peer: "198.51.100.1", configuration: self.optional)
        let clientHello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]
        try harness.write(clientHello)
        #expect(harness.recorder.items == [.event(.absent), .data(clientHello)])
        #expect(harness.handler.outcome.state == .absent)
        #expect(
            harness.handler.outcome.clientAddress(peer: harness.channel.remoteAddress) == harness.channel.remoteAddress
        )
        #expect(!harness.handlerIsInPipeline)
    }

    @Test func signaturePrefixIsHeldThenPassedOnIntact() throws {
        // "P" could start "PROXY"; "POST" cannot. The held byte comes out with the rest, once.
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: self.optional)
        try harness.write(ascii("P"))
        #expect(harness.recorder.items.isEmpty)
        try harness.write(ascii("OST /api HTTP/1.1\r\n"))
        #expect(harness.recorder.items == [.event(.absent), .data(ascii("POST /api HTTP/1.1\r\n"))])
        // Same with a v2 signature prefix followed by something else.
        let other = try HandlerHarness(peer: "10.0.0.9", configuration: self.optional)
        try other.write([0x0D, 0x0A])
        try other.write([0x0D, 0x0A, 0x41])
        #expect(other.recorder.items == [.event(.absent), .data([0x0D, 0x0A, 0x0D, 0x0A, 0x41])])
    }

    @Test func trustedPeerWithoutHeaderIsClosedWhenRequired() throws {
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: self.required)
        try harness.write(ascii("GET / HTTP/1.1\r\n"))
        guard case .rejected(let error)? = harness.recorder.events.first else {
            Issue.record("expected a rejection, got \(harness.recorder.items)")
            return
        }
        #expect(error.code == .missingHeader)
        #expect(error.description.contains("47 45 54"), "shows what arrived instead: \(error)")
        #expect(harness.recorder.data.isEmpty)
        #expect(!harness.channel.isActive)
    }

    @Test func trustedPeerWithoutHeaderPassesWhenOptional() throws {
        var configuration = self.required
        configuration.requireHeaderFromTrustedPeers = false
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: configuration)
        try harness.write(ascii("GET / HTTP/1.1\r\n"))
        #expect(harness.recorder.items == [.event(.absent), .data(ascii("GET / HTTP/1.1\r\n"))])
    }

    @Test func invalidHeaderIsClosed() throws {
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: self.required)
        try harness.write(ascii("PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\nGET"))
        guard case .rejected(let error)? = harness.recorder.events.first else {
            Issue.record("expected a rejection, got \(harness.recorder.items)")
            return
        }
        #expect(error.code == .invalidV1Header)
        #expect(harness.recorder.data.isEmpty)
        #expect(!harness.channel.isActive)
        #expect(harness.recorder.items.last == .inactive)
        #expect(harness.recorder.events.count == 1)
        // Bytes that still arrive are dropped, not forwarded.
        try? harness.write(ascii("more"))
        #expect(harness.recorder.data.isEmpty)
    }

    @Test func oversizedHeaderIsRefusedWithoutBuffering() throws {
        var configuration = self.required
        configuration.parser = ProxyProtocolParser(maximumHeaderSize: 512)
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: configuration)
        try harness.write(v2Signature + hexBytes("21 11 FFFF"))  // announces 65551 bytes; only 16 sent
        #expect(
            harness.recorder.events.first.map {
                if case .rejected(let error) = $0 { error.code == .headerTooLarge } else { false }
            } == true
        )
        #expect(!harness.channel.isActive)
        // v1 without CRLF: refused at 107 bytes whatever the reads.
        let v1 = try HandlerHarness(peer: "10.0.0.9", configuration: self.required)
        for _ in 0..<20 {
            try? v1.write(ascii("PROXY "))
        }
        #expect(
            v1.recorder.events.first.map {
                if case .rejected(let error) = $0 { error.code == .headerTooLarge } else { false }
            } == true
        )
    }

    @Test func versionsCanBeRestricted() throws {
        var configuration = self.required
        configuration.parser.acceptedVersions = [.v2]
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: configuration)
        try harness.write(ascii("PROXY UNKNOWN\r\n"))
        #expect(
            harness.recorder.events.first.map {
                if case .rejected(let error) = $0 { error.code == .unsupportedVersion } else { false }
            } == true
        )
    }

    @Test func localHeaderMeansThePeerItself() throws {
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: self.required)
        try harness.write(V2Vectors.local)
        #expect(harness.handler.outcome.header?.command == .local)
        #expect(
            harness.handler.outcome.clientAddress(peer: harness.channel.remoteAddress) == harness.channel.remoteAddress
        )
    }

    @Test func peerClosingBeforeTheHeaderIsReported() throws {
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: self.required)
        try harness.write(Array(V2Vectors.tcp4.prefix(10)))
        try harness.channel.close().wait()
        guard case .rejected(let error)? = harness.recorder.events.first else {
            Issue.record("expected a rejection, got \(harness.recorder.items)")
            return
        }
        #expect(error.code == .connectionClosedBeforeHeader)
        #expect(error.description.contains("10 bytes"))
        #expect(harness.recorder.items.last == .inactive)
        #expect(harness.handler.outcome.state == .rejected(error))

        let silent = try HandlerHarness(peer: "10.0.0.9", configuration: self.required)
        try silent.channel.close().wait()
        #expect(
            silent.recorder.events.first.map {
                if case .rejected(let error) = $0 {
                    error.description.contains("before sending anything")
                } else {
                    false
                }
            } == true
        )
    }

    @Test func halfClosureBeforeTheHeaderCloses() throws {
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: self.required)
        try harness.write(ascii("PROXY TCP4"))
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        guard case .rejected(let error)? = harness.recorder.events.first else {
            Issue.record("expected a rejection, got \(harness.recorder.items)")
            return
        }
        #expect(error.code == .connectionClosedBeforeHeader)
        #expect(error.description.contains("10 bytes"))
        #expect(harness.recorder.events.count == 1)
        #expect(!harness.channel.isActive)
    }

    @Test func handlerAddedToAnActiveChannel() throws {
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: self.required, addAfterActive: true)
        try harness.write(V2Vectors.tcp6 + [7])
        #expect(harness.handler.outcome.header?.sourceIP == ip("2001:db8::1"))
        #expect(harness.recorder.data == [7])
        let refused = try HandlerHarness(peer: "8.8.8.8", configuration: self.required, addAfterActive: true)
        #expect(!refused.channel.isActive)
    }

    @Test func closingOnTheEventStopsTheBytes() throws {
        /// Closes the channel when told the client address, as a per-IP limit would.
        final class Limiter: ChannelInboundHandler {
            typealias InboundIn = ByteBuffer
            func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
                if case .received? = event as? ProxyProtocolEvent {
                    context.close(promise: nil)
                }
                context.fireUserInboundEventTriggered(event)
            }
        }
        let harness = try HandlerHarness(peer: "10.0.0.9", configuration: self.required)
        try harness.channel.pipeline.syncOperations.addHandler(Limiter(), position: .before(harness.recorder))
        try harness.write(V2Vectors.tcp4 + ascii("CONNECT"))
        #expect(!harness.channel.isActive)
        #expect(harness.recorder.data.isEmpty, "no bytes after the connection was closed")
        #expect(harness.handler.outcome.header != nil)
        #expect(harness.recorder.events.count == 1)
    }

    @Test func callerProvidedOutcomeIsResolved() throws {
        let outcome = ProxyProtocolOutcome()
        #expect(outcome.state == .pending)
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        try channel.pipeline.syncOperations.addHandler(
            ProxyProtocolHandler(configuration: self.required, outcome: outcome)
        )
        try channel.connect(to: SocketAddress(ipAddress: "10.0.0.1", port: 1)).wait()
        try channel.writeInbound(ByteBuffer(bytes: V2Vectors.tcp4WithChecksum + [1]))
        #expect(outcome.header?.authority == "example.com")
        #expect(try channel.readInbound(as: ByteBuffer.self).map { bytes(of: $0) } == [1])
    }

    @Test func randomChunksOfGarbageNeverCrash() throws {
        var random = SeededRandom(seed: 5)
        let configurations = [self.required, self.optional]
        for iteration in 0..<3000 {
            let configuration = configurations[iteration % 2]
            let peer = iteration % 3 == 0 ? "198.51.100.1" : "10.0.0.1"
            let harness = try HandlerHarness(peer: peer, configuration: configuration)
            var stream: [UInt8]
            switch iteration % 4 {
            case 0: stream = validHeaders[iteration % validHeaders.count].bytes + random.bytes(20)
            case 1: stream = v2Signature + random.bytes(Int.random(in: 0...100, using: &random))
            case 2: stream = ascii("PROXY ") + random.bytes(Int.random(in: 0...120, using: &random))
            default: stream = random.bytes(Int.random(in: 1...60, using: &random))
            }
            if iteration % 5 == 0, !stream.isEmpty {
                stream[Int.random(in: 0..<stream.count, using: &random)] ^= 0xFF
            }
            var index = 0
            while index < stream.count {
                let size = min(Int.random(in: 1...16, using: &random), stream.count - index)
                try? harness.write(Array(stream[index..<(index + size)]))
                index += size
            }
            _ = try? harness.channel.close().wait()
            #expect(harness.recorder.events.count == 1, "exactly one decision, iteration \(iteration)")
            #expect(harness.handler.outcome.state != .pending, "iteration \(iteration)")
            switch harness.handler.outcome.state {
            case .received(let header):
                var reparsed = ByteBuffer(bytes: stream)
                #expect((try? ProxyProtocolParser().parse(&reparsed)) == header)
                #expect(harness.recorder.data == bytes(of: reparsed), "iteration \(iteration)")
            case .absent:
                #expect(harness.recorder.data == stream, "iteration \(iteration)")
            case .rejected, .pending:
                #expect(harness.recorder.data.isEmpty, "iteration \(iteration)")
            }
        }
    }
}
