/// One broker in the pool: where to dial it and its share of sessions.
public struct UpstreamServer: Sendable, Hashable, CustomStringConvertible {
    /// A host name or an IPv4/IPv6 literal, without brackets.
    package let host: String
    package let port: Int
    /// The server's share of sessions relative to the others (1 by default): a server of weight 2 gets twice the ids
    /// of a server of weight 1 (`client_id`), twice the turns (`round_robin`), or is filled to twice the sessions
    /// (`least_sessions`).
    package let weight: Int

    public init(host: String, port: Int, weight: Int = 1) {
        self.host = host
        self.port = port
        self.weight = weight
    }

    /// Parses `host:port`, `[IPv6]:port` (brackets required around IPv6 literals, as in URLs).
    package init(parsing address: String, weight: Int = 1) throws(UpstreamServerAddressError) {
        let (host, port) = try Self.split(address)
        self.init(host: host, port: port, weight: weight)
    }

    /// `host:port`, IPv6 in brackets: how logs, `/readyz` and metrics labels name the server.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The identity rendezvous hashing uses: `description` with the host lower-cased (DNS names are case-insensitive),
    /// so `Broker-A:1883` and `broker-a:1883` are one server. Not the weight: changing a weight moves only the ids
    /// that the new weight takes or gives up.
    package var name: String {
        let host = self.host.lowercased()
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private static func split(_ address: String) throws(UpstreamServerAddressError) -> (String, Int) {
        let host: Substring
        let portText: Substring
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]") else {
                throw UpstreamServerAddressError(address, "has no ']' after the IPv6 address")
            }
            host = address[address.index(after: address.startIndex)..<close]
            let rest = address[address.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw UpstreamServerAddressError(address, "needs a port after the IPv6 address, e.g. [\(host)]:1883")
            }
            portText = rest.dropFirst()
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." || $0 == "%" }) else {
                throw UpstreamServerAddressError(address, "'\(host)' in brackets is not an IPv6 address")
            }
        } else {
            guard let colon = address.lastIndex(of: ":") else {
                throw UpstreamServerAddressError(address, "has no port (write host:port, e.g. \(address):1883)")
            }
            host = address[..<colon]
            portText = address[address.index(after: colon)...]
            if host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) {
                throw UpstreamServerAddressError(address, "looks like an IPv6 address: put it in brackets, e.g. [\(host)]:\(portText)")
            }
            guard !host.isEmpty else {
                throw UpstreamServerAddressError(address, "has no host before the port")
            }
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }) else {
                throw UpstreamServerAddressError(address, "'\(host)' is not a host name or IP address (letters, digits, '-', '.', '_')")
            }
        }
        guard !portText.isEmpty else {
            throw UpstreamServerAddressError(address, "has no port after ':'")
        }
        guard portText.allSatisfy(\.isASCIIDigit), let port = Int(portText), (1...65535).contains(port) else {
            throw UpstreamServerAddressError(address, "'\(portText)' is not a port number (1-65535)")
        }
        return (String(host), port)
    }
}

/// Why a server address could not be parsed; `description` quotes the address and says what is wrong.
package struct UpstreamServerAddressError: Error, Hashable, CustomStringConvertible {
    package let address: String
    package let reason: String

    init(_ address: String, _ reason: String) {
        self.address = address
        self.reason = reason
    }

    package var description: String { "'\(address)' \(reason)" }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
