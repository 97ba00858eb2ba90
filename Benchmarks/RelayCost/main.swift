// The relay's hot path per message, for instruction counts (issue 10: the typed entrance against the side door;
// issue 14: the whole server side, TLS included).
//
// Two rigs, each run without the benchmark package so a profiler sees nothing else:
// - `broker-to-client`, `client-to-broker`: Benchmarks/Micro's relay rig (Benchmarks/RelayRig: the real codec and
//   session on EmbeddedChannels, an upstream that is an embedded channel). No TLS: the relay's own code.
// - `tls-broker-to-client`, `tls-client-to-broker`: the TLS pipeline rig (Benchmarks/RelayRig/TLSPipelineRig.swift:
//   the bridge's side of a wss connection as the bridge builds it, NIOSSLServerHandler and the front end's upgrade
//   included, with a real NIOSSL client on another EmbeddedChannel). The client's encryption and decryption run
//   outside the measured part; the relayed bytes are checked against the messages sent after it.
// 64-byte QoS 0 PUBLISHes, 50 per read unless BURST says otherwise (1: one message per read and per TLS record, as
// a broker with `set_tcp_nodelay true` delivers them to a cold session).
//
//   swift build -c release --product relay-cost
//   strip --strip-debug -o /tmp/relay-cost .build/release/relay-cost   # valgrind 3.19 cannot read Swift 6.3's DWARF
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*passBursts*' /tmp/relay-cost broker-to-client 20000
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*passBursts*' /tmp/relay-cost tls-broker-to-client 20000 1
//
// Instructions per message: the total divided by the messages (only `passBursts` is counted). The split by library
// and layer, with malloc calls per message: `Benchmarks/relay-cost-split callgrind.out.PID MESSAGES`; how to leave
// the EmbeddedChannels' own work out: docs/PERFORMANCE.md, "Where a message's CPU goes (issue 14)".
//
// The figures, before and after each change to the relay, and what they show: docs/PERFORMANCE.md, "Relay cost per
// message".
import Foundation
import NIOCore
import RelayRig

let directions = ["broker-to-client", "client-to-broker", "tls-broker-to-client", "tls-client-to-broker"]
let arguments = Array(CommandLine.arguments.dropFirst())
guard (2...3).contains(arguments.count), directions.contains(arguments[0]), let count = Int(arguments[1]), count > 0,
    let perBurst = arguments.count == 3 ? Int(arguments[2]) : RelayMessages.burst, perBurst > 0
else {
    print("usage: relay-cost \(directions.joined(separator: "|")) MESSAGES [BURST]")
    exit(2)
}
let direction = arguments[0]
let brokerToClient = direction.hasSuffix("broker-to-client")

// The bursts, prepared before the messages run.
let bursts =
    brokerToClient
    ? RelayMessages.plainBursts(count: count, perBurst: perBurst) : RelayMessages.maskedFrameBursts(count: count, perBurst: perBurst)

/// The measured part (`valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*passBursts*'` counts only
/// this): every burst through the pipeline, and the written bytes taken as a socket would take them.
@inline(never)
func passBursts(_ bursts: [ByteBuffer], through rig: RelayRig, brokerToClient: Bool) -> Int {
    var relayed = 0
    for bytes in bursts {
        relayed += brokerToClient ? rig.upstreamRead(bytes) : rig.clientRead(bytes)
    }
    return relayed
}

/// The measured part with TLS: every read through the bridge's side; what it writes is kept for the check after.
@inline(never)
func passBursts(_ reads: [ByteBuffer], through rig: TLSPipelineRig, brokerToClient: Bool) -> [ByteBuffer] {
    var written: [ByteBuffer] = []
    // Room for every write, so that keeping them costs no allocation inside the measurement.
    written.reserveCapacity(reads.count * 4)
    for bytes in reads {
        if brokerToClient { rig.upstreamRead(bytes, into: &written) } else { rig.serverRead(bytes, into: &written) }
    }
    return written
}

do {
    if direction.hasPrefix("tls-") {
        let rig = try TLSPipelineRig()
        let reads = brokerToClient ? bursts : try rig.encryptFromClient(bursts)
        let written = passBursts(reads, through: rig, brokerToClient: brokerToClient)
        if brokerToClient {
            try TLSPipelineRig.verify(received: [rig.decryptAtClient(written)], expected: TLSPipelineRig.expectedFrames(count: count))
        } else {
            try TLSPipelineRig.verify(received: written, expected: RelayMessages.stream(count: count))
        }
        print("\(direction): \(count) messages in bursts of \(perBurst), \(reads.count) reads, \(written.count) writes, intact")
    } else {
        let rig = try RelayRig()
        let relayed = passBursts(bursts, through: rig, brokerToClient: brokerToClient)
        print("\(direction): \(count) messages, \(relayed) bytes relayed")
    }
} catch {
    print("relay-cost: \(error)")
    exit(1)
}
