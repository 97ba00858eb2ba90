import NIOConcurrencyHelpers

/// The last refused handshakes, for the operations page: a fixed-size ring, so a refusal storm costs no memory.
/// Written once per refused handshake (never per message); read once a second by the admin listener.
package final class RefusalLog: Sendable {
    package struct Refusal: Sendable, Equatable {
        package var at: ContinuousClock.Instant
        package var route: String
        /// The handshake result as the metrics name it: `origin_refused`, `rate_limited`, `not_found` …
        package var result: String
    }

    private struct Ring {
        var items: [Refusal] = []
        var next = 0
    }

    package let capacity: Int
    private let ring = NIOLockedValueBox(Ring())

    package init(capacity: Int = 20) {
        self.capacity = max(capacity, 1)
    }

    package func record(route: String, result: String, at: ContinuousClock.Instant = .now) {
        let refusal = Refusal(at: at, route: route, result: result)
        ring.withLockedValue { ring in
            if ring.items.count < capacity {
                ring.items.append(refusal)
            } else {
                ring.items[ring.next] = refusal
            }
            ring.next = (ring.next + 1) % capacity
        }
    }

    /// Newest first.
    package func recent() -> [Refusal] {
        ring.withLockedValue { ring in
            guard ring.items.count == capacity else { return ring.items.reversed() }
            return Array((ring.items[ring.next...] + ring.items[..<ring.next]).reversed())
        }
    }
}
