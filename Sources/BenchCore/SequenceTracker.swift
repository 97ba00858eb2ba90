/// Per receiving connection: the last sequence number seen from each publisher, to count duplicates and gaps.
///
/// MQTT keeps the order of messages from one publisher on one topic to one subscriber (for QoS 0 and 1 within a
/// session), so for each publisher the sequence numbers arrive increasing: a number at or below the last one is a
/// duplicate (or a reordering, which MQTT does not allow either); a jump forward leaves a gap of lost messages.
package struct SequenceTracker: Sendable {
    /// Publisher indexes above this are not tracked (counted as foreign): keeps a corrupt stamp from allocating.
    package static let maximumPublisherIndex = 1 << 20

    private var lastSequence: [UInt64] = []
    /// Messages received with a sequence number seen before.
    package private(set) var duplicates: UInt64 = 0
    /// Messages never received that later ones prove were sent (jumps in the sequence).
    package private(set) var gaps: UInt64 = 0
    /// Distinct messages received.
    package private(set) var unique: UInt64 = 0
    /// Messages whose stamp named an impossible publisher.
    package private(set) var foreign: UInt64 = 0

    package init() {}

    /// What one received message turned out to be.
    package enum Outcome: Sendable, Hashable {
        /// Not seen before; `gap` messages from the same publisher were skipped since the previous one.
        case new(gap: UInt64)
        case duplicate
        /// The stamp names an impossible publisher or sequence number.
        case foreign
    }

    /// Records one received message.
    @discardableResult
    package mutating func record(publisher: UInt32, sequence: UInt64) -> Outcome {
        let index = Int(publisher)
        guard index <= Self.maximumPublisherIndex, sequence > 0 else {
            self.foreign += 1
            return .foreign
        }
        if index >= self.lastSequence.count {
            self.lastSequence.append(contentsOf: repeatElement(0, count: index + 1 - self.lastSequence.count))
        }
        let last = self.lastSequence[index]
        if sequence <= last {
            self.duplicates += 1
            return .duplicate
        }
        let gap = sequence - last - 1
        self.gaps += gap
        self.lastSequence[index] = sequence
        self.unique += 1
        return .new(gap: gap)
    }
}
