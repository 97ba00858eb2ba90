import MQTTWire
import NIOCore
import Testing

/// Exact bytes, written by hand from the MQTT 3.1, 3.1.1 and 5.0 specifications.
@Suite struct EncoderTests {
    static func encode(_ write: (inout ByteBuffer) -> Void) -> [UInt8] {
        var buffer = ByteBuffer()
        write(&buffer)
        return bytes(of: buffer)
    }

    @Test func bridgePackets() {
        let allocator = ByteBufferAllocator()
        #expect(
            bytes(of: MQTTPacket.connackServerUnavailable(version: .v3_1, allocator: allocator))
                == hexBytes("20 02 00 03")
        )
        #expect(
            bytes(of: MQTTPacket.connackServerUnavailable(version: .v3_1_1, allocator: allocator))
                == hexBytes("20 02 00 03")
        )
        #expect(
            bytes(of: MQTTPacket.connackServerUnavailable(version: .v5, allocator: allocator))
                == hexBytes("20 03 00 88 00")
        )
        #expect(
            bytes(of: MQTTPacket.disconnect(reasonCode: 0x8B, version: .v5, allocator: allocator))
                == hexBytes("E0 02 8B 00")
        )
        #expect(
            bytes(of: MQTTPacket.disconnect(reasonCode: 0x8B, version: .v3_1_1, allocator: allocator))
                == hexBytes("E0 00")
        )
        #expect(
            bytes(of: MQTTPacket.disconnect(reasonCode: 0x8B, version: .v3_1, allocator: allocator))
                == hexBytes("E0 00")
        )
    }

    @Test func connect() {
        #expect(
            Self.encode { MQTTPacket.writeConnect(version: .v3_1_1, clientID: "abc", to: &$0) }
                == hexBytes("10 0F 00 04 4D 51 54 54 04 02 00 3C 00 03 61 62 63")
        )
        #expect(
            Self.encode { MQTTPacket.writeConnect(version: .v3_1, clientID: "abc", to: &$0) }
                == hexBytes("10 11 00 06 4D 51 49 73 64 70 03 02 00 3C 00 03 61 62 63")
        )
        #expect(
            Self.encode {
                MQTTPacket.writeConnect(
                    version: .v5,
                    clientID: "c",
                    username: "u",
                    password: "p",
                    keepAlive: 10,
                    cleanStart: false,
                    will: .init(topic: "w", payload: ByteBuffer(string: "x"), qos: 1, retain: true),
                    to: &$0
                )
            } == hexBytes("10 1B 00 04 4D 51 54 54 05 EC 00 0A 00 00 01 63 00 00 01 77 00 01 78 00 01 75 00 01 70")
        )
        #expect(
            Self.encode {
                MQTTPacket.writeConnect(version: .v3_1_1, clientID: "b", keepAlive: 0, isBridge: true, to: &$0)
            }
                == hexBytes("10 0D 00 04 4D 51 54 54 84 02 00 00 00 01 62")
        )
    }

    @Test func publish() {
        #expect(
            Self.encode {
                MQTTPacket.writePublish(topic: "a/b", payload: ByteBuffer(string: "hi"), version: .v3_1_1, to: &$0)
            } == hexBytes("30 07 00 03 61 2F 62 68 69")
        )
        #expect(
            Self.encode {
                MQTTPacket.writePublish(
                    topic: "t",
                    payload: ByteBuffer(string: "p"),
                    qos: 1,
                    retain: true,
                    dup: true,
                    packetID: 10,
                    version: .v5,
                    to: &$0
                )
            } == hexBytes("3B 07 00 01 74 00 0A 00 70")
        )
        // 203 bytes remaining: a two-byte length, CB 01.
        let large = Self.encode {
            MQTTPacket.writePublish(
                topic: "t",
                payload: ByteBuffer(repeating: 0xEE, count: 200),
                version: .v3_1_1,
                to: &$0
            )
        }
        #expect(Array(large.prefix(6)) == hexBytes("30 CB 01 00 01 74"))
        #expect(large.count == 206)
    }

    @Test func acknowledgements() {
        #expect(Self.encode { MQTTPacket.writePuback(packetID: 0x1234, to: &$0) } == hexBytes("40 02 12 34"))
        #expect(Self.encode { MQTTPacket.writePubrec(packetID: 0x1234, to: &$0) } == hexBytes("50 02 12 34"))
        #expect(Self.encode { MQTTPacket.writePubrel(packetID: 0x1234, to: &$0) } == hexBytes("62 02 12 34"))
        #expect(Self.encode { MQTTPacket.writePubcomp(packetID: 0x1234, to: &$0) } == hexBytes("70 02 12 34"))
        #expect(
            Self.encode { MQTTPacket.writeAcknowledgement(.puback, packetID: 1, reasonCode: 0x10, to: &$0) }
                == hexBytes("40 03 00 01 10")
        )
    }

    @Test func subscribeAndUnsubscribe() {
        #expect(
            Self.encode {
                MQTTPacket.writeSubscribe(packetID: 1, filters: [("a/#", 1), ("b", 0)], version: .v3_1_1, to: &$0)
            } == hexBytes("82 0C 00 01 00 03 61 2F 23 01 00 01 62 00")
        )
        #expect(
            Self.encode { MQTTPacket.writeSubscribe(packetID: 1, filters: [("a", 2)], version: .v5, to: &$0) }
                == hexBytes("82 07 00 01 00 00 01 61 02")
        )
        #expect(
            Self.encode { MQTTPacket.writeUnsubscribe(packetID: 2, topicFilters: ["a/#"], version: .v3_1_1, to: &$0) }
                == hexBytes("A2 07 00 02 00 03 61 2F 23")
        )
        #expect(
            Self.encode { MQTTPacket.writeUnsubscribe(packetID: 2, topicFilters: ["a/#"], version: .v5, to: &$0) }
                == hexBytes("A2 08 00 02 00 00 03 61 2F 23")
        )
    }

    @Test func zeroLengthPackets() {
        #expect(Self.encode { MQTTPacket.writePingreq(to: &$0) } == hexBytes("C0 00"))
        #expect(Self.encode { MQTTPacket.writePingresp(to: &$0) } == hexBytes("D0 00"))
        #expect(Self.encode { MQTTPacket.writeDisconnect(version: .v3_1_1, to: &$0) } == hexBytes("E0 00"))
        #expect(Self.encode { MQTTPacket.writeDisconnect(version: .v5, to: &$0) } == hexBytes("E0 02 00 00"))
    }

    @Test func brokerPackets() {
        #expect(
            Self.encode { MQTTPacket.writeConnack(sessionPresent: true, returnCode: 0, version: .v3_1_1, to: &$0) }
                == hexBytes("20 02 01 00")
        )
        #expect(
            Self.encode { MQTTPacket.writeSuback(packetID: 1, returnCodes: [1, 0x80], version: .v3_1_1, to: &$0) }
                == hexBytes("90 04 00 01 01 80")
        )
        #expect(
            Self.encode { MQTTPacket.writeSuback(packetID: 1, returnCodes: [1, 0x80], version: .v5, to: &$0) }
                == hexBytes("90 05 00 01 00 01 80")
        )
        #expect(
            Self.encode { MQTTPacket.writeUnsuback(packetID: 2, reasonCodes: [0], version: .v3_1_1, to: &$0) }
                == hexBytes("B0 02 00 02")
        )
        #expect(
            Self.encode { MQTTPacket.writeUnsuback(packetID: 2, reasonCodes: [0], version: .v5, to: &$0) }
                == hexBytes("B0 04 00 02 00 00")
        )
    }

    @Test func batchesIntoOneBuffer() throws {
        var buffer = ByteBufferAllocator().buffer(capacity: 4_096)
        let storage = buffer.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        for id in UInt16(1)...100 {
            MQTTPacket.writePublish(
                topic: "bench/1",
                payload: ByteBuffer(string: "x"),
                qos: 1,
                packetID: id,
                version: .v3_1_1,
                to: &buffer
            )
        }
        #expect(buffer.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == storage)
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 100)
        accumulator.append(buffer)
        var ids: [UInt16] = []
        while let packet = try accumulator.nextPacket() {
            ids.append(try #require(try MQTTPacket.Publish(parsing: packet, version: .v3_1_1).packetID))
        }
        #expect(ids == Array(1...100))
    }
}
