import UpstreamPool

/// PoolChoice [rule servers iterations]
///   rule: client_id, client_id_weighted, least_sessions, round_robin; or session (`client_id`, equal weights,
///   through the relay's `PooledUpstreamServers`: a new session's dialPlan, next, sessionOpened and sessionClosed)
/// Without arguments: every rule with 3, 5 and 10 servers, 2,000,000 choices each, and the ns per choice.
/// With arguments: that one case, printing a checksum (for instruction counts under callgrind, where the difference
/// between two iteration counts is the cost of the extra choices).

/// Client ids as WeChat mini-programs and mqtt.js make them: 23 characters (longer than a small string, so on the heap
/// like ids decoded from a CONNECT).
let clientIDs: [String] = (0..<4096).map { index in
    var generator = SplitMix64(seed: UInt64(index))
    let hex = (0..<10).map { _ in String(generator.next() & 0xFF, radix: 16).leftPadded(to: 2) }.joined()
    return "wx_" + hex
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

func makeView(rule: String, servers: Int) throws -> UpstreamPoolView {
    try makePool(rule: rule, servers: servers).makeView()
}

func makePool(rule: String, servers: Int) throws -> UpstreamPool {
    let balance: UpstreamBalance
    switch rule {
    case "least_sessions": balance = .leastSessions
    case "round_robin": balance = .roundRobin
    default: balance = .clientID
    }
    let list = (0..<servers).map {
        UpstreamServer(host: "broker-\($0).mqtt.internal", port: 1883, weight: rule == "client_id_weighted" ? 1 + $0 % 3 : 1)
    }
    return try UpstreamPool(settings: UpstreamPoolSettings(servers: list, balance: balance))
}

/// The loop measured: one new session's first choice.
@inline(never)
func choose(_ view: UpstreamPoolView, iterations: Int) -> Int {
    var checksum = 0
    for iteration in 0..<iterations {
        var plan = view.plan(clientID: clientIDs[iteration & 4095])
        checksum &+= plan.next()?.index ?? 0
    }
    return checksum
}

let arguments = CommandLine.arguments.dropFirst()
if arguments.count == 3, let servers = Int(arguments[arguments.startIndex + 1]), let iterations = Int(arguments[arguments.startIndex + 2]) {
    let rule = arguments[arguments.startIndex]
    if rule == "session" {
        print(try SessionPath(servers: servers).chooseForSessions(iterations: iterations))
    } else {
        print(choose(try makeView(rule: rule, servers: servers), iterations: iterations))
    }
} else {
    let iterations = 2_000_000
    print("rule                 servers   ns/choice")
    for rule in ["client_id", "client_id_weighted", "least_sessions", "round_robin"] {
        for servers in [3, 5, 10] {
            let view = try makeView(rule: rule, servers: servers)
            _ = choose(view, iterations: 100_000)  // warm up
            let clock = ContinuousClock()
            var checksum = 0
            let elapsed = clock.measure { checksum = choose(view, iterations: iterations) }
            let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
            print(
                "\(rule.padding(20)) \(String(servers).spacePadded(to: 8))   \(format2(nanoseconds / Double(iterations)).spacePadded(to: 9))   (checksum \(checksum))"
            )
        }
    }
    for servers in [3, 5, 10] {
        let path = try SessionPath(servers: servers)
        _ = path.chooseForSessions(iterations: 100_000)  // warm up
        let clock = ContinuousClock()
        var checksum = 0
        let elapsed = clock.measure { checksum = path.chooseForSessions(iterations: iterations) }
        let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        print(
            "\("session".padding(20)) \(String(servers).spacePadded(to: 8))   \(format2(nanoseconds / Double(iterations)).spacePadded(to: 9))   (checksum \(checksum))"
        )
    }
}

func format2(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    return "\(hundredths / 100).\(String(hundredths % 100).leftPadded(to: 2))"
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
    func spacePadded(to width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
