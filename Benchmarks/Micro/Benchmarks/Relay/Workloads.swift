import MQTTWire
import NIOCore
import RelayRig

// The measured work of each benchmark, apart from ordo-one's Benchmark API: `init` prepares (outside the
// measurement), `run()` is what is measured. Kept free of the Benchmark module so that Scripts/check-outside-access can
// type-check everything this package uses of the bridge's public surface without building the benchmark tooling.

/// The MQTT framer: whole packets out of 16 KiB reads of a stream of `count` PUBLISHes.
struct FramerWorkload {
    let reads: [ByteBuffer]
    let count: Int

    init(count: Int) {
        self.count = count
        self.reads = RelayMessages.chunks(of: RelayMessages.stream(count: count), size: 16 * 1024)
    }

    /// Returns the packets framed (always `count`).
    func run() throws -> Int {
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
        var packets = 0
        for read in self.reads {
            accumulator.append(read)
            while try accumulator.nextPacket() != nil { packets += 1 }
        }
        return packets
    }
}

/// One relay direction through the real codec and session (RelayRig), in bursts of `RelayMessages.burst`.
struct RelayWorkload {
    enum Direction {
        /// Masked frames in, MQTT bytes to the upstream.
        case clientToBroker
        /// MQTT bytes in, one binary frame per packet out.
        case brokerToClient
    }

    let rig: RelayRig
    let direction: Direction
    let bursts: [ByteBuffer]

    init(_ direction: Direction, count: Int) throws {
        self.rig = try RelayRig()
        self.direction = direction
        switch direction {
        case .clientToBroker: self.bursts = RelayMessages.maskedFrameBursts(count: count)
        case .brokerToClient: self.bursts = RelayMessages.plainBursts(count: count)
        }
    }

    /// Returns the bytes relayed.
    func run() -> Int {
        var relayed = 0
        for burst in self.bursts {
            switch self.direction {
            case .clientToBroker: relayed += self.rig.clientRead(burst)
            case .brokerToClient: relayed += self.rig.upstreamRead(burst)
            }
        }
        return relayed
    }
}
