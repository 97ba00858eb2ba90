/// What an `UpstreamPool` is made of. Plain values; `validate()` says what is wrong with them.
public struct UpstreamPoolSettings: Sendable, Hashable {
    /// The brokers, each at most once (by `UpstreamServer.name`). Their order does not matter to `clientID` routing.
    package var servers: [UpstreamServer]
    package var balance: UpstreamBalance
    /// How many servers must be up for the bridge to call itself ready (`UpstreamPoolStatus.isReady`).
    package var minHealthy: Int
    /// The rest a server gets after a failed dial.
    package var backoff: UpstreamBackoff

    public init(servers: [UpstreamServer], balance: UpstreamBalance = .clientID, minHealthy: Int = 1, backoff: UpstreamBackoff = .init()) {
        self.servers = servers
        self.balance = balance
        self.minHealthy = minHealthy
        self.backoff = backoff
    }

    /// A dial plan tracks the servers it tried in one 64-bit mask.
    package static let maximumServerCount = 64
    /// Weights are relative; beyond this they only make mistakes (a typo of 1000 for 10) less visible.
    package static let weightRange = 1...1000

    /// Throws every problem at once, each naming the setting it is about.
    package func validate() throws(UpstreamPoolSettingsError) {
        var problems: [UpstreamPoolSettingsError.Problem] = []
        func add(_ setting: UpstreamPoolSettingsError.Setting, _ message: String) {
            problems.append(.init(setting: setting, message: message))
        }
        if servers.isEmpty {
            add(.servers, "must list at least one server")
        } else if servers.count > Self.maximumServerCount {
            add(.servers, "lists \(servers.count) servers; at most \(Self.maximumServerCount) are supported")
        }
        var indexByName: [String: Int] = [:]
        for (index, server) in servers.enumerated() {
            do {
                let parsed = try UpstreamServer(parsing: server.description, weight: server.weight)
                if parsed.host != server.host { add(.server(index), "'\(server.host)' is not a host name or IP address") }
            } catch {
                add(.server(index), error.description)
            }
            if !Self.weightRange.contains(server.weight) {
                add(.weight(index), "\(server.weight) is out of range (\(Self.weightRange.lowerBound) to \(Self.weightRange.upperBound))")
            }
            if let first = indexByName[server.name] {
                add(.server(index), "'\(server)' is listed twice (also entry \(first))")
            } else {
                indexByName[server.name] = index
            }
        }
        if minHealthy < 1 {
            add(.minHealthy, "must be at least 1")
        } else if !servers.isEmpty && minHealthy > servers.count {
            add(.minHealthy, "is \(minHealthy), but there \(servers.count == 1 ? "is only 1 server" : "are only \(servers.count) servers")")
        }
        if backoff.initial <= .zero {
            add(.initialBackoff, "must be longer than zero")
        }
        if backoff.maximum < backoff.initial {
            add(.maximumBackoff, "must not be shorter than the initial backoff (\(backoff.initial))")
        }
        guard problems.isEmpty else { throw UpstreamPoolSettingsError(problems: problems) }
    }
}

/// Everything wrong with an `UpstreamPoolSettings`.
public struct UpstreamPoolSettingsError: Error, Hashable, CustomStringConvertible {
    /// Which setting a problem is about, so that a configuration file can name its own key for it.
    package enum Setting: Sendable, Hashable {
        case servers
        /// The server at this index of `servers`.
        case server(Int)
        /// The weight of the server at this index.
        case weight(Int)
        case minHealthy
        case initialBackoff
        case maximumBackoff
    }

    package struct Problem: Sendable, Hashable {
        package var setting: Setting
        package var message: String
    }

    package var problems: [Problem]

    public var description: String {
        problems.map { "\($0.setting): \($0.message)" }.joined(separator: "; ")
    }
}
