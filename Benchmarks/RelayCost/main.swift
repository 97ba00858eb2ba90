// The relay's hot path per message, for instruction counts (issue 10: the typed entrance against the side door).
//
// Benchmarks/Micro's relay rig (Benchmarks/RelayRig: the real codec and session on EmbeddedChannels, an upstream
// that is an embedded channel, 64-byte QoS 0 PUBLISHes in bursts of 50) without the benchmark package. It only runs
// the messages, so a profiler sees nothing else:
//
//   swift build -c release --product relay-cost
//   strip --strip-debug -o /tmp/relay-cost .build/release/relay-cost   # valgrind 3.19 cannot read Swift 6.3's DWARF
//   valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*passBursts*' /tmp/relay-cost broker-to-client 20000
//
// Instructions per message: the total divided by the messages (only `passBursts` is counted).
//
// The figures, before and after each change to the relay, and what they show: docs/PERFORMANCE.md, "Relay cost per
// message".
import Foundation
import NIOCore
import RelayRig

let arguments = CommandLine.arguments.dropFirst()
guard arguments.count == 2, let direction = arguments.first, ["broker-to-client", "client-to-broker"].contains(direction),
    let count = Int(arguments.last!), count > 0
else {
    print("usage: relay-cost broker-to-client|client-to-broker MESSAGES")
    exit(2)
}

let rig = try RelayRig()
// The bursts, prepared before the messages run.
let brokerToClient = direction == "broker-to-client"
let bursts = brokerToClient ? RelayMessages.plainBursts(count: count) : RelayMessages.maskedFrameBursts(count: count)

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

let relayed = passBursts(bursts, through: rig, brokerToClient: brokerToClient)
print("\(direction): \(count) messages, \(relayed) bytes relayed")
