import Crypto
import NIOConcurrencyHelpers
import NIOCore

/// Allow and deny answers of the callout, reused for `cache_ttl` when the same attempt comes again.
///
/// The key is the SHA-256 of the request body (everything the backend was told), so an answer is reused only for
/// exactly the same question, and the cache holds no credentials in clear. Every entry lives equally long, so the
/// insertion order is also the expiry order: one FIFO gives both expiry and the size bound.
final class CalloutCache: Sendable {
    enum Answer: Sendable, Hashable {
        case allow(CalloutAnswer)
        case deny
    }

    private struct Storage {
        var answers: [SHA256Digest: (answer: Answer, expires: NIODeadline)] = [:]
        var order = CircularBuffer<(key: SHA256Digest, expires: NIODeadline)>()
    }

    private let ttl: TimeAmount
    private let capacity: Int
    private let storage = NIOLockedValueBox(Storage())

    init(ttl: TimeAmount, capacity: Int) {
        self.ttl = ttl
        self.capacity = capacity
    }

    var isEnabled: Bool { self.ttl > .zero && self.capacity > 0 }

    func answer(for key: SHA256Digest, now: NIODeadline) -> Answer? {
        guard self.isEnabled else { return nil }
        return self.storage.withLockedValue { storage in
            Self.expire(&storage, now: now)
            return storage.answers[key]?.answer
        }
    }

    func store(_ answer: Answer, for key: SHA256Digest, now: NIODeadline) {
        guard self.isEnabled else { return }
        let expires = now + self.ttl
        self.storage.withLockedValue { storage in
            Self.expire(&storage, now: now)
            while storage.order.count >= self.capacity, let oldest = storage.order.popFirst() {
                Self.remove(oldest, from: &storage)
            }
            storage.answers[key] = (answer, expires)
            storage.order.append((key, expires))
        }
    }

    var count: Int { self.storage.withLockedValue { $0.answers.count } }

    private static func expire(_ storage: inout Storage, now: NIODeadline) {
        while let oldest = storage.order.first, oldest.expires <= now {
            storage.order.removeFirst()
            Self.remove(oldest, from: &storage)
        }
    }

    /// Removes the answer unless a later `store` of the same key replaced it (its own FIFO entry removes it then).
    private static func remove(_ entry: (key: SHA256Digest, expires: NIODeadline), from storage: inout Storage) {
        if storage.answers[entry.key]?.expires == entry.expires {
            storage.answers[entry.key] = nil
        }
    }
}
