/// How often each numbered message (0..<count) arrived at one subscriber: lost = never, duplicated = more than once.
struct DeliveryLedger: Sendable {
    private var arrivals: [UInt16]
    /// Deliveries beyond the first, summed over all messages.
    private(set) var duplicates = 0
    private(set) var distinct = 0
    /// Payloads that carried no valid sequence number (should stay 0).
    private(set) var malformed = 0

    init(count: Int) {
        self.arrivals = [UInt16](repeating: 0, count: count)
    }

    var count: Int { self.arrivals.count }
    var lost: Int { self.arrivals.count - self.distinct }
    var isComplete: Bool { self.distinct == self.arrivals.count }

    mutating func record(sequence: UInt64?) {
        guard let sequence, sequence < UInt64(self.arrivals.count) else {
            self.malformed += 1
            return
        }
        let index = Int(sequence)
        if self.arrivals[index] == 0 {
            self.distinct += 1
        } else {
            self.duplicates += 1
        }
        self.arrivals[index] &+= 1
    }

    /// The first few missing sequence numbers, for the report.
    func missing(limit: Int) -> [Int] {
        var result: [Int] = []
        for (index, arrivals) in self.arrivals.enumerated() where arrivals == 0 {
            result.append(index)
            if result.count == limit { break }
        }
        return result
    }
}
