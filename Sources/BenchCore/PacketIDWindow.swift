/// The packet identifiers of a QoS 1 publisher's unacknowledged PUBLISHes (1...65535, one bit each).
struct PacketIDWindow: Sendable {
    private var inUse = [UInt64](repeating: 0, count: 1024)
    private var next: UInt16 = 1
    /// Identifiers taken and not yet released.
    private(set) var count = 0

    init() {}

    /// A free identifier, marked in use.
    ///
    /// - Precondition: `count < 65535` (callers keep far fewer in flight).
    mutating func take() -> UInt16 {
        precondition(self.count < Int(UInt16.max), "every packet identifier is in use")
        while self.contains(self.next) {
            self.advance()
        }
        let packetID = self.next
        self.advance()
        self.set(packetID, true)
        self.count += 1
        return packetID
    }

    /// Releases an identifier; false when it was not in use (a PUBACK for nothing in flight).
    mutating func release(_ packetID: UInt16) -> Bool {
        guard self.contains(packetID) else { return false }
        self.set(packetID, false)
        self.count -= 1
        return true
    }

    func contains(_ packetID: UInt16) -> Bool {
        self.inUse[Int(packetID) >> 6] & (1 << UInt64(packetID & 63)) != 0
    }

    private mutating func advance() {
        self.next = self.next == UInt16.max ? 1 : self.next + 1
    }

    private mutating func set(_ packetID: UInt16, _ value: Bool) {
        let word = Int(packetID) >> 6
        let bit: UInt64 = 1 << UInt64(packetID & 63)
        if value {
            self.inUse[word] |= bit
        } else {
            self.inUse[word] &= ~bit
        }
    }
}
