// Per-address admission (`ClientAdmission`) under a large table: the cost of one admission + release while N
// addresses each hold an open session (the worst case for pruning: no entry can be forgotten), single-threaded and
// from two threads at once. Issue 12 §6 measured 0.18 ms per admission at 9,000 addresses before the fix.
//
//   swift build -c release --product admission-bench && .build/release/admission-bench [--admissions N] [SIZES…]
//   valgrind --tool=callgrind .build/release/admission-bench --admissions 2000 50000   # instruction counts
//
// The shipped limits: 1,000 sessions and 20 new sessions per second (bursts of 100) per address.
//
// Figures (2026-12-06, release build, shared 2-core machine; instructions by callgrind, per admission + release,
// from the difference between runs of 1,000 and 3,000 admissions):
//
//   addresses   before (fe96b1e): ns / instructions     after: ns / instructions
//   9,000       621 ns / 8,300                          793 ns / 9,100
//   15,000      141,515 ns / 1,669,500                  782 ns / 9,000
//   50,000      453,939 ns / (not run under callgrind)  837 ns / 9,300
//
// Before, every admission above 10,000 addresses filtered the whole table under one lock; after, the cost is flat.
// The two-thread column is not comparable on a shared machine; it shows the shards letting both threads run.
import BridgeFrontEnd
import Foundation

var arguments = Array(CommandLine.arguments.dropFirst())
var admissions = 20_000
if let flag = arguments.firstIndex(of: "--admissions"), flag + 1 < arguments.count, let count = Int(arguments[flag + 1]) {
    admissions = count
    arguments.removeSubrange(flag...(flag + 1))
}
let sizes = arguments.compactMap { Int($0) }.isEmpty ? [1_000, 9_000, 15_000, 50_000] : arguments.compactMap { Int($0) }

/// `10.a.b.c` for 0 ≤ index < 2²⁴.
func address(_ index: Int) -> String {
    "10.\((index >> 16) & 0xFF).\((index >> 8) & 0xFF).\(index & 0xFF)"
}

/// A table of `size` addresses, each with one open session.
func filledTable(_ size: Int) -> ClientAdmission {
    let admission = ClientAdmission(maxSessions: 1_000, rate: 20, burst: 100)
    for index in 0..<size {
        _ = admission.admit(address(index))
    }
    return admission
}

/// `count` short sessions from addresses spread over the table (`offset` keeps two threads on different addresses).
func churn(_ admission: ClientAdmission, size: Int, count: Int, offset: Int = 0) -> Int {
    var admitted = 0
    for step in 0..<count {
        if case .admitted(let key) = admission.admit(address((offset + step * 7919) % size)) {
            admission.release(key)
            admitted += 1
        }
    }
    return admitted
}

func nanoseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
}

print("addresses  admissions  ns/admission (1 thread)  admissions/s (2 threads)")
for size in sizes {
    let table = filledTable(size)
    let clock = ContinuousClock()
    let start = clock.now
    let admitted = churn(table, size: size, count: admissions)
    let single = nanoseconds(clock.now - start) / Double(admissions)

    let shared = filledTable(size)
    let perThread = admissions / 2
    let twoStart = clock.now
    DispatchQueue.concurrentPerform(iterations: 2) { thread in
        _ = churn(shared, size: size, count: perThread, offset: thread * (size / 2))
    }
    let rate = Double(2 * perThread) / (nanoseconds(clock.now - twoStart) / 1e9)
    print(
        String(size).padding(toLength: 11, withPad: " ", startingAt: 0)
            + String(admitted).padding(toLength: 12, withPad: " ", startingAt: 0)
            + String(format: "%-25.0f", single) + String(format: "%.0f", rate))
}
