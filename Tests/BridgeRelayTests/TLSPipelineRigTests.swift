import NIOCore
import RelayRig
import Testing

/// `relay-cost`'s TLS modes stay usable (Benchmarks/RelayRig/TLSPipelineRig.swift: the bridge's wss pipeline as the
/// bridge builds it, TLS included, on EmbeddedChannels): 100 messages each way arrive intact, in bursts of 50 and one
/// per read, through the same calls the tool measures.
@Suite struct TLSPipelineRigTests {
    static let count = 100

    @Test(arguments: [1, 50])
    func brokerToClientArrivesIntact(perBurst: Int) throws {
        let rig = try TLSPipelineRig()
        var records: [ByteBuffer] = []
        for burst in RelayMessages.plainBursts(count: Self.count, perBurst: perBurst) {
            rig.upstreamRead(burst, into: &records)
        }
        try TLSPipelineRig.verify(received: [rig.decryptAtClient(records)], expected: TLSPipelineRig.expectedFrames(count: Self.count))
    }

    @Test(arguments: [1, 50])
    func clientToBrokerArrivesIntact(perBurst: Int) throws {
        let rig = try TLSPipelineRig()
        let records = try rig.encryptFromClient(RelayMessages.maskedFrameBursts(count: Self.count, perBurst: perBurst))
        var packets: [ByteBuffer] = []
        for record in records { rig.serverRead(record, into: &packets) }
        try TLSPipelineRig.verify(received: packets, expected: RelayMessages.stream(count: Self.count))
    }

    /// The check the tool relies on notices a changed byte.
    @Test func verifyRefusesChangedBytes() {
        let expected = RelayMessages.stream(count: 2)
        var changed = expected
        changed.setInteger(UInt8(0xFF), at: changed.readerIndex + 90)
        #expect(throws: TLSPipelineRig.RigError.self) { try TLSPipelineRig.verify(received: [changed], expected: expected) }
    }
}
