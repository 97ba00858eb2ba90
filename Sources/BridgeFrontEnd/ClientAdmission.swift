import NIOConcurrencyHelpers
import NIOCore

/// Per-client-address limits on new sessions: at most `maxSessions` open at once, and new ones at `rate` per second
/// with bursts of `burst` (a token bucket).
///
/// Addresses are the real client addresses (after PROXY protocol / trusted X-Forwarded-For). IPv6 clients are counted
/// per /64, the block one subscriber usually gets, so rotating through one's own addresses does not multiply the
/// allowance.
///
/// **Cost stays flat however many addresses are tracked.** An address's entry is forgotten once it carries no
/// information (no open session and a full bucket) — which is exactly `refillTime` after its last token was taken,
/// if no session is open by then. Each entry therefore waits in an expiry queue, in the order its tokens were taken;
/// every admission and release first forgets the entries at the head of the queue whose time has come. Each entry
/// is queued at most once and looked at once per `refillTime`, so the work per admission is constant on average:
/// there is no sweep over the whole table (the old design filtered all entries on every admission above 10,000
/// addresses, under one process-wide lock).
///
/// **Shards by address, not by event loop.** State is split over `shardCount` independently locked shards chosen by
/// the address's hash, so admissions on different event loops rarely meet on a lock, and never for long (the work
/// under it is a dictionary lookup and a few queue operations). Per-event-loop state without locks would be wrong
/// here: a client's connections are spread over all loops by the accept round-robin, so each loop would see only
/// its share of an address's sessions and a cap of 2 would let 2 sessions in per loop; making it right would mean
/// hopping every admission to the address's owning loop, an asynchronous step in the middle of the upgrade
/// decision. With every address in exactly one shard, the session cap and the token bucket stay exact across loops.
///
/// Forgetting an idle entry never changes a decision: a fresh entry (no sessions, full bucket) is what the forgotten
/// one would have been by then.
public final class ClientAdmission: Sendable {
    public enum Decision: Equatable, Sendable {
        /// Admitted; call `release(_:)` with the key when the session ends.
        case admitted(key: String)
        case tooManySessions(limit: Int)
        /// Retry after this many whole seconds.
        case rateLimited(retryAfter: Int)
    }

    private let maxSessions: Int
    private let rate: Double
    private let burst: Double
    /// How long an empty bucket takes to fill: an entry whose last token was taken this long ago, and that has no
    /// open session, is idle.
    private let refillTime: TimeAmount
    private let shards: [Shard]

    /// - Parameters: 0 for `maxSessions` or `rate` turns that limit off. `shardCount` is rounded up to a power of two.
    package init(maxSessions: Int, rate: Double, burst: Int, shardCount: Int = 64) {
        self.maxSessions = maxSessions
        self.rate = rate
        self.burst = Double(max(burst, 1))
        self.refillTime = rate > 0 ? .nanoseconds(Int64((Double(max(burst, 1)) / rate * 1e9).rounded(.up))) : .zero
        var count = 1
        while count < max(1, shardCount) { count <<= 1 }
        self.shards = (0..<count).map { _ in Shard() }
    }

    package var isUnlimited: Bool { self.maxSessions == 0 && self.rate == 0 }

    /// Addresses currently tracked, over all shards (tests, benchmarks).
    package var trackedAddresses: Int {
        self.shards.reduce(0) { total, shard in total + shard.state.withLockedValue { $0.entries.count } }
    }

    package func admit(_ address: String, now: NIODeadline = .now()) -> Decision {
        let key = Self.key(for: address)
        if self.isUnlimited { return .admitted(key: key) }
        return self.shard(for: key).state.withLockedValue { state in
            state.forgetIdle(now: now)
            var entry = state.entries[key] ?? Entry(tokens: self.burst, refilledAt: now)
            self.refill(&entry, now: now)
            if self.maxSessions > 0 && entry.sessions >= self.maxSessions {
                state.entries[key] = entry
                return .tooManySessions(limit: self.maxSessions)
            }
            if self.rate > 0 {
                guard entry.tokens >= 1 else {
                    state.entries[key] = entry
                    return .rateLimited(retryAfter: max(1, Int(((1 - entry.tokens) / self.rate).rounded(.up))))
                }
                entry.tokens -= 1
                entry.idleAt = now + self.refillTime
                if !entry.isQueued {
                    entry.isQueued = true
                    state.expiry.append(Expiry(due: entry.idleAt, key: key))
                }
            }
            entry.sessions += 1
            state.entries[key] = entry
            return .admitted(key: key)
        }
    }

    /// A session admitted under `key` has ended.
    package func release(_ key: String, now: NIODeadline = .now()) {
        guard !self.isUnlimited else { return }
        self.shard(for: key).state.withLockedValue { state in
            state.forgetIdle(now: now)
            guard var entry = state.entries[key] else { return }
            entry.sessions = max(0, entry.sessions - 1)
            if entry.sessions == 0 && (self.rate == 0 || entry.idleAt <= now) {
                state.entries[key] = nil  // nothing left to remember
                return
            }
            if entry.sessions == 0 && !entry.isQueued {
                entry.isQueued = true
                state.expiry.append(Expiry(due: entry.idleAt, key: key))
            }
            state.entries[key] = entry
        }
    }

    private func shard(for key: String) -> Shard {
        self.shards[key.hashValue & (self.shards.count - 1)]
    }

    private func refill(_ entry: inout Entry, now: NIODeadline) {
        guard self.rate > 0 else { return }
        let elapsed = Double((now - entry.refilledAt).nanoseconds) / 1e9
        if elapsed > 0 {
            entry.tokens = min(self.burst, entry.tokens + elapsed * self.rate)
            entry.refilledAt = now
        }
    }

    /// IPv4 addresses as they are; IPv6 addresses by their /64 prefix; anything unparsable as given.
    static func key(for address: String) -> String {
        guard address.contains(":"), let parsed = try? SocketAddress(ipAddress: address, port: 0),
            case .v6(let v6) = parsed
        else { return address }
        let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        // An IPv4-mapped address (::ffff:a.b.c.d) is an IPv4 client.
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return "\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}

extension ClientAdmission {
    fileprivate struct Entry {
        var sessions = 0
        var tokens: Double
        var refilledAt: NIODeadline
        /// When the bucket is full again if no token is taken before: `refillTime` after the last one was.
        var idleAt = NIODeadline.uptimeNanoseconds(0)
        /// Whether the entry has a place in its shard's expiry queue.
        var isQueued = false
    }

    fileprivate struct Expiry {
        var due: NIODeadline
        var key: String
    }

    fileprivate struct ShardState {
        var entries: [String: Entry] = [:]
        /// Entries in the order they may become idle. Mostly sorted by `due`: an entry touched again goes to the
        /// back with its new time, which may be slightly earlier than its new neighbours'; such an entry is then
        /// forgotten a little late (never early), at most `refillTime` later.
        var expiry = CircularBuffer<Expiry>()

        /// Forgets the entries at the head of the queue that are idle by `now`; puts back those touched since.
        mutating func forgetIdle(now: NIODeadline) {
            while let head = expiry.first, head.due <= now {
                expiry.removeFirst()
                guard var entry = entries[head.key] else { continue }
                if entry.idleAt > now {
                    expiry.append(Expiry(due: entry.idleAt, key: head.key))  // a token was taken since
                } else if entry.sessions > 0 {
                    entry.isQueued = false  // queued again by `release` when the last session ends
                    entries[head.key] = entry
                } else {
                    entries[head.key] = nil
                }
            }
        }
    }

    fileprivate final class Shard: Sendable {
        let state = NIOLockedValueBox(ShardState())
    }
}
