import ClientAddress
import Foundation
import SessionRegistry

/// The query string of a sessions request: filters, `limit`, `cursor` and, for closing, `reason`.
///
/// Unknown parameters are refused rather than ignored: a misspelt filter (`clientid=`) must not list — or close —
/// every session.
struct SessionQuery: Equatable, Sendable {
    static let defaultLimit = 100
    static let maximumLimit = 1000
    /// A close frame's reason has at most 123 bytes; ours stays well inside.
    static let maximumReasonLength = 100
    static let defaultReason = "closed by administrator"

    var filter = SessionFilter()
    var limit = Self.defaultLimit
    /// The last id of the previous page.
    var cursor: UInt64?
    var reason = Self.defaultReason

    /// A parameter the request got wrong: 400 naming it.
    struct Problem: Error, Equatable {
        var field: String
        var message: String
    }

    static let parameters = ["client_id", "username", "sub", "address", "route", "broker", "limit", "cursor", "reason"]

    /// Parses the query part of `uri` (percent-decoded; `+` is a literal plus, as in RFC 3986).
    init(uri: String) throws(Problem) {
        let items = URLComponents(string: uri)?.queryItems ?? []
        var seen = Set<String>()
        for item in items {
            guard Self.parameters.contains(item.name) else {
                throw Problem(
                    field: item.name, message: "unknown parameter '\(item.name)' (known: \(Self.parameters.joined(separator: ", ")))")
            }
            guard seen.insert(item.name).inserted else {
                throw Problem(field: item.name, message: "'\(item.name)' is given more than once")
            }
            let value = item.value ?? ""
            guard !value.isEmpty else {
                throw Problem(field: item.name, message: "'\(item.name)' needs a value")
            }
            switch item.name {
            case "client_id": filter.clientID = value
            case "username": filter.username = value
            case "sub": filter.subject = value
            case "route": filter.route = value
            case "broker": filter.broker = value
            case "address":
                do {
                    filter.address = try IPAddressRange(value)
                } catch {
                    throw Problem(field: "address", message: "not an address or CIDR block: \(error)")
                }
            case "limit":
                guard let limit = Int(value), (1...Self.maximumLimit).contains(limit) else {
                    throw Problem(field: "limit", message: "must be a whole number from 1 to \(Self.maximumLimit)")
                }
                self.limit = limit
            case "cursor":
                guard let cursor = UInt64(value) else {
                    throw Problem(field: "cursor", message: "not a cursor from a previous answer's next_cursor")
                }
                self.cursor = cursor
            case "reason":
                guard value.utf8.count <= Self.maximumReasonLength,
                    !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
                else {
                    throw Problem(field: "reason", message: "must be at most \(Self.maximumReasonLength) bytes without control characters")
                }
                reason = value
            default:
                break
            }
        }
    }

    init(filter: SessionFilter = SessionFilter(), limit: Int = Self.defaultLimit, cursor: UInt64? = nil) {
        self.filter = filter
        self.limit = limit
        self.cursor = cursor
    }
}
