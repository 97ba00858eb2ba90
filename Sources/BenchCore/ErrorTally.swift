/// Errors of many connections, summarised: a count per kind and the first distinct messages (a run with
/// 20,000 identical refusals must not print 20,000 lines).
public struct ErrorTally: Sendable, Hashable {
    /// How many distinct messages are kept.
    public static let keptMessages = 10

    public private(set) var counts: [BenchClientError.Kind: UInt64] = [:]
    public private(set) var messages: [String] = []

    public init() {}

    public var total: UInt64 { self.counts.values.reduce(0, +) }
    public var isEmpty: Bool { self.counts.isEmpty }

    public mutating func record(_ error: BenchClientError) {
        self.counts[error.kind, default: 0] += 1
        let text = error.description
        if self.messages.count < Self.keptMessages, !self.messages.contains(text) {
            self.messages.append(text)
        }
    }

    public mutating func merge(_ other: ErrorTally) {
        for (kind, count) in other.counts {
            self.counts[kind, default: 0] += count
        }
        for message in other.messages where self.messages.count < Self.keptMessages && !self.messages.contains(message) {
            self.messages.append(message)
        }
    }
}
