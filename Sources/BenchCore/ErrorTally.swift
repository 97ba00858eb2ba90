/// Errors of many connections, summarised: a count per kind and the first distinct messages (a run with
/// 20,000 identical refusals must not print 20,000 lines).
package struct ErrorTally: Sendable, Hashable {
    /// How many distinct messages are kept.
    package static let keptMessages = 10

    package private(set) var counts: [BenchClientError.Kind: UInt64] = [:]
    package private(set) var messages: [String] = []

    package init() {}

    package var total: UInt64 { self.counts.values.reduce(0, +) }
    package var isEmpty: Bool { self.counts.isEmpty }

    package mutating func record(_ error: BenchClientError) {
        self.counts[error.kind, default: 0] += 1
        let text = error.description
        if self.messages.count < Self.keptMessages, !self.messages.contains(text) {
            self.messages.append(text)
        }
    }

    package mutating func merge(_ other: ErrorTally) {
        for (kind, count) in other.counts {
            self.counts[kind, default: 0] += count
        }
        for message in other.messages where self.messages.count < Self.keptMessages && !self.messages.contains(message) {
            self.messages.append(message)
        }
    }
}
