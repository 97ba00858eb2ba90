import BridgeTestSupport
import MQTTWire
import NIOCore
import Testing

/// Seeded random inputs: the parsers must throw or succeed, never trap; the framers must agree with each other.
@Suite struct FuzzTests {
    /// Runs every parser on `buffer`, ignoring the outcome: a trap fails the whole test run.
    static func parseEverything(_ buffer: ByteBuffer) {
        _ = try? MQTTConnectInfo(parsing: buffer)
        for version in MQTTProtocolVersion.allCases {
            _ = try? MQTTPublishInfo(parsing: buffer, version: version)
            _ = try? MQTTSubscribeInfo(parsing: buffer, version: version)
            _ = try? MQTTPacket.Publish(parsing: buffer, version: version)
            _ = try? MQTTPacket.Connack(parsing: buffer, version: version)
            _ = try? MQTTPacket.Suback(parsing: buffer, version: version)
            _ = try? MQTTPacket.Unsuback(parsing: buffer, version: version)
            _ = try? MQTTPacket.Acknowledgement(parsing: buffer, version: version)
            _ = try? MQTTPacket.Disconnect(parsing: buffer, version: version)
        }
        _ = try? MQTTFixedHeader.peek(in: buffer, maximumPacketSize: 1_000)?.validateFlags()
    }

    static func randomBytes(count: Int, using generator: inout SeededGenerator) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    @Test func randomPacketsNeverTrap() {
        var generator = SeededGenerator(seed: 1)
        for _ in 0..<20_000 {
            let body = Self.randomBytes(count: Int.random(in: 0...64, using: &generator), using: &generator)
            let firstByte = UInt8.random(in: 0...255, using: &generator)
            if Bool.random(using: &generator) {
                Self.parseEverything(packet(firstByte, body))  // a consistent fixed header
            } else {
                Self.parseEverything(ByteBuffer(bytes: [firstByte] + body))  // anything at all
            }
        }
    }

    @Test func mutatedRealPacketsNeverTrap() {
        var seeds = ConnectInfoTests.realWorldPackets.map(bytes(of:))
        var buffer = ByteBuffer()
        MQTTPacket.writePublish(
            topic: "a/b",
            payload: ByteBuffer(string: "xyz"),
            qos: 1,
            packetID: 3,
            version: .v5,
            to: &buffer
        )
        MQTTPacket.writeSubscribe(packetID: 4, filters: [("a/#", 1), ("b", 2)], version: .v5, to: &buffer)
        MQTTPacket.writeConnack(sessionPresent: false, returnCode: 0, version: .v5, to: &buffer)
        MQTTPacket.writeSuback(packetID: 4, returnCodes: [1, 2], version: .v5, to: &buffer)
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1_000)
        accumulator.append(buffer)
        while let packet = try? accumulator.nextPacket() {
            seeds.append(bytes(of: packet))
        }
        #expect(seeds.count == 8)

        var generator = SeededGenerator(seed: 2)
        for _ in 0..<20_000 {
            var mutated = seeds[Int.random(in: 0..<seeds.count, using: &generator)]
            for _ in 0..<Int.random(in: 1...3, using: &generator) {
                let index = Int.random(in: 0..<mutated.count, using: &generator)
                switch Int.random(in: 0..<4, using: &generator) {
                case 0: mutated[index] ^= UInt8(1) << UInt8.random(in: 0...7, using: &generator)
                case 1: mutated[index] = UInt8.random(in: 0...255, using: &generator)
                case 2: mutated.remove(at: index)
                default: mutated.insert(UInt8.random(in: 0...255, using: &generator), at: index)
                }
                if mutated.isEmpty {
                    mutated = [0x10]
                }
            }
            Self.parseEverything(ByteBuffer(bytes: mutated))
            // Keep the fixed header consistent with the mutated body too, to reach the field parsers.
            if mutated.count >= 2,
                let header = try? MQTTFixedHeader.peek(in: ByteBuffer(bytes: mutated), maximumPacketSize: .max)
            {
                Self.parseEverything(
                    packet(mutated[0], Array(mutated.dropFirst(min(header.headerLength, mutated.count))))
                )
            }
        }
    }

    @Test func randomConnectsRoundTrip() throws {
        var generator = SeededGenerator(seed: 3)
        let alphabet = Array("aZ09/+#-_ é中😀")
        func randomString(maxLength: Int) -> String {
            String(
                (0..<Int.random(in: 0...maxLength, using: &generator)).map { _ in
                    alphabet.randomElement(using: &generator) ?? "a"
                }
            )
        }
        for _ in 0..<2_000 {
            let version = MQTTProtocolVersion.allCases.randomElement(using: &generator) ?? .v5
            let clientID = randomString(maxLength: 30)
            let username: String? = Bool.random(using: &generator) ? randomString(maxLength: 10) : nil
            // 3.x forbids a password without a user name.
            let password: String? =
                Bool.random(using: &generator) && (username != nil || version == .v5)
                ? randomString(maxLength: 10) : nil
            let will: MQTTPacket.WillMessage? =
                Bool.random(using: &generator)
                ? .init(
                    topic: randomString(maxLength: 20),
                    payload: ByteBuffer(
                        bytes: Self.randomBytes(count: Int.random(in: 0...40, using: &generator), using: &generator)
                    ),
                    qos: UInt8.random(in: 0...2, using: &generator),
                    retain: Bool.random(using: &generator)
                ) : nil
            let keepAlive = UInt16.random(in: 0...UInt16.max, using: &generator)
            let cleanStart = Bool.random(using: &generator)
            let isBridge = Bool.random(using: &generator)
            var buffer = ByteBuffer()
            MQTTPacket.writeConnect(
                version: version,
                clientID: clientID,
                username: username,
                password: password,
                keepAlive: keepAlive,
                cleanStart: cleanStart,
                will: will,
                isBridge: isBridge,
                to: &buffer
            )
            let info = try MQTTConnectInfo(parsing: buffer)
            #expect(info.version == version)
            #expect(info.isBridge == isBridge)
            #expect(info.clientID == clientID)
            #expect(info.username == username)
            #expect(info.hasPassword == (password != nil))
            #expect(info.keepAlive == keepAlive)
            #expect(info.cleanStart == cleanStart)
            #expect(info.will == will.map { .init(topic: $0.topic, qos: $0.qos, retain: $0.retain) })
        }
    }

    /// On random streams — mostly valid packets with the odd corrupted length — the scanner and the accumulator
    /// see the same headers and fail at the same point with the same code, however the stream is cut.
    @Test func scannerAndAccumulatorAgreeOnRandomStreams() {
        var generator = SeededGenerator(seed: 4)
        for _ in 0..<300 {
            var stream: [UInt8] = []
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                if Int.random(in: 0..<10, using: &generator) == 0 {
                    stream += Self.randomBytes(count: Int.random(in: 1...6, using: &generator), using: &generator)
                } else {
                    let firstByte = UInt8.random(in: 0...255, using: &generator)
                    let length = [0, 1, 5, 127, 128, 300, 16_400].randomElement(using: &generator) ?? 0
                    // The body's content does not matter to framing: a constant fill keeps this test fast.
                    stream += bytes(of: packet(firstByte, Array(repeating: firstByte, count: length)))
                }
            }
            let cuts = (0..<Int.random(in: 0...6, using: &generator)).map { _ in
                Int.random(in: 0...stream.count, using: &generator)
            }
            let pieces = chunks(of: stream, splitAt: cuts)
            let limit = [1_000, 30_000].randomElement(using: &generator) ?? 1_000

            var scanner = MQTTStreamScanner(maximumPacketSize: limit)
            var scanned: [MQTTFixedHeader] = []
            var scanError: MQTTWireError?
            var accumulator = MQTTPacketAccumulator(maximumPacketSize: limit)
            var accumulated: [MQTTFixedHeader] = []
            var accumulateError: MQTTWireError?
            for piece in pieces {
                if scanError == nil {
                    do {
                        try scanner.scan(piece) { scanned.append($0) }
                    } catch {
                        scanError = error
                    }
                }
                accumulator.append(piece)
                do {
                    while let (header, packet) = try accumulator.nextPacketWithHeader() {
                        accumulated.append(header)
                        #expect(packet.readableBytes == header.packetLength)
                    }
                } catch {
                    accumulateError = accumulateError ?? error
                }
            }
            // The accumulator only returns whole packets; the scanner may have reported the header of the last,
            // incomplete one.
            let pendingHeader = scanned.count == accumulated.count + 1
            #expect(Array(scanned.prefix(accumulated.count)) == accumulated)
            #expect(scanned.count == accumulated.count || pendingHeader)
            if pendingHeader {
                #expect(accumulateError == nil)
                #expect(!scanner.isAtPacketBoundary)
            } else {
                #expect(scanError?.code == accumulateError?.code)
            }
            if scanError == nil && accumulateError == nil {
                #expect(scanner.isAtPacketBoundary == (accumulator.bufferedByteCount == 0))
            } else {
                #expect(!scanner.isAtPacketBoundary)
            }
        }
    }
}
