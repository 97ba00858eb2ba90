/// Message counters, kept per event loop and summed for the report. Values only grow, so the traffic of a window
/// is the difference of two snapshots.
package struct TrafficCounters: Sendable, Hashable {
    /// PUBLISH packets written by publishers.
    package var published: UInt64 = 0
    /// Payload bytes of those.
    package var publishedBytes: UInt64 = 0
    /// PUBLISH packets received by subscribers.
    package var delivered: UInt64 = 0
    /// Payload bytes of those.
    package var deliveredBytes: UInt64 = 0
    /// Received messages carrying a stamp from this run, seen for the first time by their subscriber.
    package var uniqueStamped: UInt64 = 0
    /// Received messages seen before by the same subscriber.
    package var duplicates: UInt64 = 0
    /// Messages a subscriber never got although a later one from the same publisher arrived.
    package var gaps: UInt64 = 0
    /// PUBACKs received by QoS 1 publishers.
    package var acknowledged: UInt64 = 0
    /// Messages a rate-paced publisher could not send on time (it was held back by backpressure).
    package var rateSkipped: UInt64 = 0

    package init() {}

    package static func + (lhs: TrafficCounters, rhs: TrafficCounters) -> TrafficCounters {
        var sum = lhs
        sum.published += rhs.published
        sum.publishedBytes += rhs.publishedBytes
        sum.delivered += rhs.delivered
        sum.deliveredBytes += rhs.deliveredBytes
        sum.uniqueStamped += rhs.uniqueStamped
        sum.duplicates += rhs.duplicates
        sum.gaps += rhs.gaps
        sum.acknowledged += rhs.acknowledged
        sum.rateSkipped += rhs.rateSkipped
        return sum
    }

    /// The traffic between two snapshots (`self` the later one).
    package func since(_ earlier: TrafficCounters) -> TrafficCounters {
        var difference = self
        difference.published -= earlier.published
        difference.publishedBytes -= earlier.publishedBytes
        difference.delivered -= earlier.delivered
        difference.deliveredBytes -= earlier.deliveredBytes
        difference.uniqueStamped -= earlier.uniqueStamped
        difference.duplicates -= earlier.duplicates
        difference.gaps -= earlier.gaps
        difference.acknowledged -= earlier.acknowledged
        difference.rateSkipped -= earlier.rateSkipped
        return difference
    }
}
