import ClientAddress

/// Which sessions a listing wants: every criterion given must match (exact strings; an address range for `address`).
package struct SessionFilter: Sendable, Equatable {
    package var clientID: String?
    package var username: String?
    package var subject: String?
    /// An address or CIDR block: `203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32`.
    package var address: IPAddressRange?
    package var route: String?
    package var broker: String?

    package init(
        clientID: String? = nil, username: String? = nil, subject: String? = nil, address: IPAddressRange? = nil,
        route: String? = nil, broker: String? = nil
    ) {
        self.clientID = clientID
        self.username = username
        self.subject = subject
        self.address = address
        self.route = route
        self.broker = broker
    }

    package static let all = SessionFilter()

    package func matches(_ record: SessionRecord) -> Bool {
        if let clientID, record.clientID != clientID { return false }
        if let username, record.username != username { return false }
        if let subject, record.subject != subject { return false }
        if let route, record.route != route { return false }
        if let broker, record.broker != broker { return false }
        if let address {
            guard let ip = record.clientIP, address.contains(ip) else { return false }
        }
        return true
    }
}
