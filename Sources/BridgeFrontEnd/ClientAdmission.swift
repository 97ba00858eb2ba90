import NIOCore
import Synchronization

/// Per-client-address limits on new sessions: at most `maxSessions` open at once, and new ones at
/// `rate` per second with bursts of `burst` (a token bucket).
///
/// Addresses are the real client addresses (after PROXY protocol / trusted X-Forwarded-For). IPv6
/// clients are counted per /64, the block one subscriber usually gets, so rotating through one's own
/// addresses does not multiply the allowance. Memory stays bounded: entries with no open session and a
/// full bucket carry no information and are pruned once the table grows.
public final class ClientAdmission: Sendable {
    public enum Decision: Equatable, Sendable {
        /// Admitted; call `release(_:)` with the key when the session ends.
        case admitted(key: String)
        case tooManySessions(limit: Int)
        /// Retry after this many whole seconds.
        case rateLimited(retryAfter: Int)
    }

    private struct Entry {
        var sessions = 0
        var tokens: Double
        var refilledAt: NIODeadline
    }

    private let maxSessions: Int
    private let rate: Double
    private let burst: Double
    private let entries = Mutex<[String: Entry]>([:])
    /// Above this many tracked addresses, idle ones are pruned.
    private let pruneThreshold: Int

    /// - Parameters: 0 for `maxSessions` or `rate` turns that limit off.
    public init(maxSessions: Int, rate: Double, burst: Int, pruneThreshold: Int = 10_000) {
        self.maxSessions = maxSessions
        self.rate = rate
        self.burst = Double(max(burst, 1))
        self.pruneThreshold = pruneThreshold
    }

    public var isUnlimited: Bool { self.maxSessions == 0 && self.rate == 0 }

    public func admit(_ address: String, now: NIODeadline = .now()) -> Decision {
        let key = Self.key(for: address)
        if self.isUnlimited { return .admitted(key: key) }
        return self.entries.withLock { entries in
            var entry = entries[key] ?? Entry(tokens: self.burst, refilledAt: now)
            self.refill(&entry, now: now)
            if self.maxSessions > 0 && entry.sessions >= self.maxSessions {
                entries[key] = entry
                return .tooManySessions(limit: self.maxSessions)
            }
            if self.rate > 0 {
                guard entry.tokens >= 1 else {
                    entries[key] = entry
                    return .rateLimited(retryAfter: max(1, Int(((1 - entry.tokens) / self.rate).rounded(.up))))
                }
                entry.tokens -= 1
            }
            entry.sessions += 1
            entries[key] = entry
            if entries.count > self.pruneThreshold { self.prune(&entries, now: now) }
            return .admitted(key: key)
        }
    }

    /// A session admitted under `key` has ended.
    public func release(_ key: String) {
        guard !self.isUnlimited else { return }
        self.entries.withLock { entries in
            guard var entry = entries[key] else { return }
            entry.sessions = max(0, entry.sessions - 1)
            entries[key] = entry
        }
    }

    private func refill(_ entry: inout Entry, now: NIODeadline) {
        guard self.rate > 0 else { return }
        let elapsed = Double((now - entry.refilledAt).nanoseconds) / 1e9
        if elapsed > 0 {
            entry.tokens = min(self.burst, entry.tokens + elapsed * self.rate)
            entry.refilledAt = now
        }
    }

    private func prune(_ entries: inout [String: Entry], now: NIODeadline) {
        entries = entries.filter { _, entry in
            var entry = entry
            self.refill(&entry, now: now)
            return entry.sessions > 0 || (self.rate > 0 && entry.tokens < self.burst)
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
