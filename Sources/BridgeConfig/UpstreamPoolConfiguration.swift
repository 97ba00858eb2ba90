import UpstreamPool
import Yams

// MARK: - upstream.servers, upstream.balance, upstream.health_check

/// `upstream.health_check`: how the upstream pool learns which servers are up.
package struct UpstreamHealthCheckConfiguration: Sendable, Equatable {
    /// `interval`: time between the starts of two probes of one server (a real MQTT CONNECT/CONNACK).
    package var interval: Duration
    /// `timeout`: how long one probe may take (DNS, TCP, TLS and CONNACK together); at most `interval`.
    package var timeout: Duration
    /// `min_healthy`: the bridge is ready (`/readyz` 200) while at least this many servers are up.
    package var minHealthy: Int
    /// `backoff`: a server whose dial failed rests about this long (jittered: between half and all of it) before
    /// sessions are sent to it again; each further failure doubles the rest.
    package var backoff: Duration
    /// `max_backoff`: the longest rest.
    package var maxBackoff: Duration

    package init(
        interval: Duration = .seconds(5), timeout: Duration = .seconds(2), minHealthy: Int = 1, backoff: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(30)
    ) {
        self.interval = interval
        self.timeout = timeout
        self.minHealthy = minHealthy
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// Probing a broker more often than this only adds load.
    package static let minimumInterval = Duration.milliseconds(100)
}

extension UpstreamConfiguration {
    /// The brokers sessions are relayed to: `servers`, or the one at `host`:`port` when `servers` is empty.
    package var serverList: [UpstreamServer] {
        servers.isEmpty ? [UpstreamServer(host: host, port: port)] : servers
    }

    /// What the upstream pool (`UpstreamPool`) is made of.
    package var poolSettings: UpstreamPoolSettings {
        UpstreamPoolSettings(
            servers: serverList, balance: balance, minHealthy: healthCheck.minHealthy,
            backoff: UpstreamBackoff(initial: healthCheck.backoff, maximum: healthCheck.maxBackoff))
    }
}

// MARK: - Decoding

extension UpstreamHealthCheckConfiguration {
    /// `upstream.health_check`.
    static func decode(_ reader: SectionReader, base: UpstreamHealthCheckConfiguration) -> UpstreamHealthCheckConfiguration {
        UpstreamHealthCheckConfiguration(
            interval: reader.value("interval", .duration, default: base.interval),
            timeout: reader.value("timeout", .duration, default: base.timeout),
            minHealthy: reader.value("min_healthy", .count, default: base.minHealthy),
            backoff: reader.value("backoff", .duration, default: base.backoff),
            maxBackoff: reader.value("max_backoff", .duration, default: base.maxBackoff)
        )
    }
}

extension ValueType where Value == [UpstreamServer] {
    /// `upstream.servers`: a list whose entries are `host:port` (IPv6 in brackets) or `{address: host:port, weight: N}`.
    /// A single `host:port` is a list of one (handy in an environment variable).
    static var upstreamServers: ValueType<[UpstreamServer]> {
        ValueType { raw throws(ValueError) in
            switch raw.node {
            case .sequence(let sequence):
                guard !sequence.isEmpty else {
                    throw ValueError("lists no servers (give at least one, or leave the key out and use upstream.host and upstream.port)")
                }
                var servers: [UpstreamServer] = []
                for (index, item) in sequence.enumerated() {
                    do throws(ValueError) {
                        servers.append(try server(RawValue(node: item, baseDirectory: nil)))
                    } catch {
                        throw ValueError("entry \(index): \(error.message)")
                    }
                }
                return servers
            case .mapping where raw.originalText == nil:
                throw ValueError("expected a list of servers such as [broker-a:1883, broker-b:1883], found a section (key: value pairs)")
            default:
                return [try server(raw)]
            }
        }
    }

    /// One entry: `host:port`, or a section with `address` and `weight`.
    private static func server(_ raw: RawValue) throws(ValueError) -> UpstreamServer {
        var address: String?
        var weight = 1
        if case .mapping(let mapping) = raw.node {
            for (keyNode, valueNode) in mapping {
                let value = RawValue(node: valueNode, baseDirectory: nil)
                switch keyNode.string {
                case "address":
                    address = try value.text()
                case "weight":
                    let text = try value.text()
                    guard let number = Int(text) else { throw ValueError("weight '\(text)' is not a whole number") }
                    weight = number
                default:
                    throw ValueError("unknown key '\(keyNode.string ?? "?")' (an entry has address and weight)")
                }
            }
            guard let address else { throw ValueError("has no address (write address: host:port)") }
            return try parse(address, weight: weight)
        }
        return try parse(try raw.text(), weight: weight)
    }

    private static func parse(_ address: String, weight: Int) throws(ValueError) -> UpstreamServer {
        do {
            return try UpstreamServer(parsing: address, weight: weight)
        } catch {
            throw ValueError(error.description)
        }
    }
}

extension ValueType {
    /// This key's own syntax, refused when `upstream.servers` is given: `host` and `port` are the one-server form of
    /// the same thing, and a file with both would leave the reader guessing which one the bridge uses.
    func onlyWithoutServers(_ servers: [UpstreamServer]) -> ValueType<Value> {
        ValueType { raw throws(ValueError) in
            guard servers.isEmpty else {
                throw ValueError(
                    "cannot be given together with upstream.servers: host and port are the one-server form; list every broker under upstream.servers instead"
                )
            }
            return try parse(raw)
        }
    }
}

// MARK: - Validation

extension UpstreamConfiguration {
    /// The pool's own rules (`UpstreamPoolSettings.validate`), reported under this file's keys, and the health check's.
    func validatePool(into report: inout ValidationReport) {
        do {
            try poolSettings.validate()
        } catch {
            for problem in error.problems {
                switch problem.setting {
                case .servers: report.add("upstream.servers", problem.message)
                // The one-server form is checked by the upstream.host and upstream.port rules.
                case .server(let index) where !servers.isEmpty: report.add("upstream.servers[\(index)]", problem.message)
                case .weight(let index) where !servers.isEmpty: report.add("upstream.servers[\(index)].weight", problem.message)
                case .server, .weight: break
                case .minHealthy: report.add("upstream.health_check.min_healthy", problem.message)
                case .initialBackoff: report.add("upstream.health_check.backoff", problem.message)
                case .maximumBackoff: report.add("upstream.health_check.max_backoff", problem.message)
                }
            }
        }
        if healthCheck.interval < UpstreamHealthCheckConfiguration.minimumInterval {
            report.add("upstream.health_check.interval", "must be at least 100ms (every probe is a real MQTT connection to the broker)")
        }
        report.checkPositive(healthCheck.timeout, "upstream.health_check.timeout")
        if healthCheck.timeout > healthCheck.interval {
            report.add(
                "upstream.health_check.timeout",
                "must not be longer than upstream.health_check.interval (a probe must end before the next is due)")
        }
    }
}
