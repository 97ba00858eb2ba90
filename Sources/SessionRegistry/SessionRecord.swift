import ClientAddress

/// What an operator sees of one session that is fixed once its CONNECT has been read.
package struct SessionRecord: Sendable {
    /// Assigned by the registry, increasing; the access log's `session`.
    package let id: UInt64
    package var clientID: String
    package var username: String?
    /// The authenticated subject (edge auth's `sub`); nil where the route has no authentication.
    package var subject: String?
    /// As the access log shows it: the real client (after PROXY protocol / X-Forwarded-For), with its port if known.
    package var clientAddress: String
    /// `clientAddress` without the port, parsed once at registration for the `address` filter.
    package let clientIP: IPAddress?
    package var listener: String
    package var route: String
    package var subprotocol: String?
    /// `3.1`, `3.1.1`, `5.0`.
    package var mqttVersion: String
    /// The broker it was connected to (`host:port`); nil until the dial succeeded.
    package var broker: String?
    package var connectedAt: ContinuousClock.Instant

    package init(
        id: UInt64, clientID: String, username: String?, subject: String? = nil, clientAddress: String, listener: String,
        route: String, subprotocol: String?, mqttVersion: String, broker: String? = nil,
        connectedAt: ContinuousClock.Instant = .now
    ) {
        self.id = id
        self.clientID = clientID
        self.username = username
        self.subject = subject
        self.clientAddress = clientAddress
        self.clientIP = Self.ip(inDisplay: clientAddress)
        self.listener = listener
        self.route = route
        self.subprotocol = subprotocol
        self.mqttVersion = mqttVersion
        self.broker = broker
        self.connectedAt = connectedAt
    }

    /// `203.0.113.7:51234` → 203.0.113.7, `[2001:db8::1]:51234` → 2001:db8::1, a bare address as it is.
    static func ip(inDisplay display: String) -> IPAddress? {
        if display.hasPrefix("["), let end = display.firstIndex(of: "]") {
            return IPAddress(String(display[display.index(after: display.startIndex)..<end]))
        }
        if display.filter({ $0 == ":" }).count == 1, let colon = display.firstIndex(of: ":") {
            return IPAddress(String(display[..<colon]))
        }
        return IPAddress(display)
    }
}

/// A session's traffic so far, read on its own event loop (the relay adds to it once per read burst).
package struct SessionCounters: Sendable, Equatable {
    package var bytesFromClient: Int
    package var bytesToClient: Int
    package var packetsFromClient: Int
    package var packetsToClient: Int

    package init(bytesFromClient: Int = 0, bytesToClient: Int = 0, packetsFromClient: Int = 0, packetsToClient: Int = 0) {
        self.bytesFromClient = bytesFromClient
        self.bytesToClient = bytesToClient
        self.packetsFromClient = packetsFromClient
        self.packetsToClient = packetsToClient
    }
}

/// How the admin API reaches a live session: both calls hop to the session's event loop and answer from there.
package struct SessionControl: Sendable {
    /// The counters now; nil when the session has ended meanwhile.
    package var counters: @Sendable () async -> SessionCounters?
    /// Closes the session as an administrative action (`closed_by=admin`); false when it was already ending.
    package var close: @Sendable (_ reason: String) async -> Bool

    package init(
        counters: @escaping @Sendable () async -> SessionCounters?,
        close: @escaping @Sendable (_ reason: String) async -> Bool
    ) {
        self.counters = counters
        self.close = close
    }
}
