import BridgeTestSupport
import Foundation
import NIOCore
import Testing

@testable import BridgeFrontEnd

/// `ClientAdmission` with a controlled clock: its decisions, its forgetting of idle addresses, and its session cap
/// under concurrency.
@Suite("Per-address admission")
struct ClientAdmissionTests {
    /// The rules without any forgetting: one token bucket and one session count per key, kept forever.
    struct ReferenceModel {
        var sessions: [String: Int] = [:]
        var buckets: [String: (tokens: Double, at: NIODeadline)] = [:]
        let maxSessions: Int
        let rate: Double
        let burst: Double

        mutating func admit(_ key: String, now: NIODeadline) -> ClientAdmission.Decision {
            var bucket = buckets[key] ?? (burst, now)
            if rate > 0 {
                let elapsed = Double((now - bucket.at).nanoseconds) / 1e9
                if elapsed > 0 { bucket = (min(burst, bucket.tokens + elapsed * rate), now) }
            }
            defer { buckets[key] = bucket }
            if maxSessions > 0, sessions[key, default: 0] >= maxSessions { return .tooManySessions(limit: maxSessions) }
            if rate > 0 {
                guard bucket.tokens >= 1 else {
                    return .rateLimited(retryAfter: max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))))
                }
                bucket.tokens -= 1
            }
            sessions[key, default: 0] += 1
            return .admitted(key: key)
        }

        mutating func release(_ key: String) {
            sessions[key] = max(0, sessions[key, default: 0] - 1)
        }
    }

    @Test(
        "forgetting idle addresses never changes a decision: random traffic over 40 addresses against a model that forgets nothing",
        arguments: [(3, 2.0, 4), (2, 0.0, 1), (0, 5.0, 2)] as [(Int, Double, Int)])
    func sameDecisions(maxSessions: Int, rate: Double, burst: Int) {
        var random = SeededRandom(seed: 0x5EED_AD15)
        let admission = ClientAdmission(maxSessions: maxSessions, rate: rate, burst: burst, shardCount: 4)
        var model = ReferenceModel(maxSessions: maxSessions, rate: rate, burst: Double(burst))
        var open: [String] = []
        var now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for step in 0..<20_000 {
            now = now + .milliseconds(Int64.random(in: 0...400, using: &random))
            if !open.isEmpty, Bool.random(using: &random) {
                let key = open.remove(at: Int.random(in: 0..<open.count, using: &random))
                admission.release(key, now: now)
                model.release(key)
                continue
            }
            let address = "192.0.2.\(Int.random(in: 0..<40, using: &random))"
            let decision = admission.admit(address, now: now)
            #expect(decision == model.admit(address, now: now), "step \(step), \(address)")
            if case .admitted(let key) = decision { open.append(key) }
        }
    }

    @Test("an address is forgotten once it has no session and a full bucket, whatever the size of the table")
    func forgetsIdleAddresses() {
        // 20 per second, bursts of 100: an empty bucket is full again after 5 s.
        let admission = ClientAdmission(maxSessions: 1_000, rate: 20, burst: 100, shardCount: 1)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var keys: [String] = []
        for index in 0..<1_000 {
            if case .admitted(let key) = admission.admit("198.51.100.\(index % 250)-\(index)", now: start) { keys.append(key) }
        }
        #expect(admission.trackedAddresses == 1_000)
        // Half end their sessions; the other half stay open past the refill time.
        for key in keys.prefix(500) { admission.release(key, now: start + .seconds(1)) }
        _ = admission.admit("203.0.113.1", now: start + .seconds(4))
        #expect(admission.trackedAddresses == 1_001, "not yet: the buckets are still refilling")
        _ = admission.admit("203.0.113.2", now: start + .seconds(6))
        #expect(admission.trackedAddresses == 502, "the 500 idle ones are gone, the 500 open ones and the 2 new stay")
        for key in keys.suffix(500) { admission.release(key, now: start + .seconds(7)) }
        _ = admission.admit("203.0.113.3", now: start + .seconds(20))
        #expect(admission.trackedAddresses == 3, "all forgotten but the three new ones, whose sessions are open")
    }

    @Test("without a rate limit, an address is forgotten when its last session ends")
    func sessionsOnly() {
        let admission = ClientAdmission(maxSessions: 2, rate: 0, burst: 1)
        guard case .admitted(let first) = admission.admit("192.0.2.1"), case .admitted(let second) = admission.admit("192.0.2.1") else {
            Issue.record("not admitted")
            return
        }
        #expect(admission.admit("192.0.2.1") == .tooManySessions(limit: 2))
        admission.release(first)
        #expect(admission.trackedAddresses == 1)
        admission.release(second)
        #expect(admission.trackedAddresses == 0)
    }

    @Test("the session cap holds when many threads admit the same address at once")
    func capAcrossThreads() {
        let admission = ClientAdmission(maxSessions: 5, rate: 0, burst: 1)
        let counts = Counts()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<500 {
                if case .admitted = admission.admit("2001:db8:1:2::\(Int.random(in: 1...9))") { counts.add() }
            }
        }
        #expect(counts.value == 5, "one /64, five sessions, never released")
    }

    final class Counts: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func add() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }
}
