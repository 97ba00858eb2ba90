import Benchmark

// One scaled iteration = one relayed MQTT message, so every metric reads "per message" (×1000 per iteration).
// The rig and the messages are Benchmarks/RelayRig's (shared with relay-cost's instruction counts): 64-byte QoS 0
// PUBLISHes (83 bytes with the fixed header and topic), relayed in bursts of 50 — what a busy session sees per read.
// No sockets, no TLS: this is the bridge's own code, on one core. The measured work is in Workloads.swift.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .cpuTotal, .throughput, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 2_000
    )

    Benchmark("framer: whole packets out of 16 KiB reads") { benchmark in
        let workload = FramerWorkload(count: benchmark.scaledIterations.count)
        benchmark.startMeasurement()
        let packets = try workload.run()
        benchmark.stopMeasurement()
        precondition(packets == workload.count)
    }

    Benchmark("client→broker: masked frames in, MQTT bytes to the upstream") { benchmark in
        let workload = try RelayWorkload(.clientToBroker, count: benchmark.scaledIterations.count)
        benchmark.startMeasurement()
        blackHole(workload.run())
        benchmark.stopMeasurement()
    }

    Benchmark("broker→client: MQTT bytes in, one binary frame per packet out") { benchmark in
        let workload = try RelayWorkload(.brokerToClient, count: benchmark.scaledIterations.count)
        benchmark.startMeasurement()
        blackHole(workload.run())
        benchmark.stopMeasurement()
    }
}
