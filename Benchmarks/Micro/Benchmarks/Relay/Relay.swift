import Benchmark
import MQTTWire
import RelayRig

// One scaled iteration = one relayed MQTT message, so every metric reads "per message" (×1000 per iteration).
// The rig and the messages are Benchmarks/RelayRig's (shared with relay-cost's instruction counts): 64-byte QoS 0
// PUBLISHes (83 bytes with the fixed header and topic), relayed in bursts of 50 — what a busy session sees per read.
// No sockets, no TLS: this is the bridge's own code, on one core.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 2_000
    )

    Benchmark("framer: whole packets out of 16 KiB reads") { benchmark in
        let stream = RelayMessages.stream(count: benchmark.scaledIterations.count)
        let reads = RelayMessages.chunks(of: stream, size: 16 * 1024)
        benchmark.startMeasurement()
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: 1 << 20)
        var packets = 0
        for read in reads {
            accumulator.append(read)
            while let packet = try accumulator.nextPacket() {
                packets += 1
                blackHole(packet)
            }
        }
        benchmark.stopMeasurement()
        precondition(packets == benchmark.scaledIterations.count)
    }

    Benchmark("client→broker: masked frames in, MQTT bytes to the upstream") { benchmark in
        let rig = try RelayRig()
        let bursts = RelayMessages.maskedFrameBursts(count: benchmark.scaledIterations.count, perBurst: RelayMessages.burst)
        benchmark.startMeasurement()
        for burst in bursts {
            rig.clientRead(burst)
        }
        benchmark.stopMeasurement()
        blackHole(rig.drainUpstream())
    }

    Benchmark("broker→client: MQTT bytes in, one binary frame per packet out") { benchmark in
        let rig = try RelayRig()
        let bursts = RelayMessages.plainBursts(count: benchmark.scaledIterations.count, perBurst: RelayMessages.burst)
        benchmark.startMeasurement()
        for burst in bursts {
            rig.upstreamRead(burst)
        }
        benchmark.stopMeasurement()
        blackHole(rig.drainClient())
    }
}
