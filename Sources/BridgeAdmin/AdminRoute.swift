import NIOCore
import NIOHTTP1

/// One path of the admin listener: the methods it answers, who may call it, the most body it reads, and what it
/// answers. `AdminRouter` holds them; the connection code asks it what to do with each request head.
///
/// New endpoints are new routes. Authentication is a route's `admission` (the publish API's bearer token today);
/// a listener-wide token would be one more check that `AdminRouter` runs before every route's own.
struct AdminRoute: Sendable {
    var path: String
    /// Also answers the paths below `path` (`/api/v1/sessions/17` for `/api/v1/sessions`); `respond` reads the rest.
    var matchesSubpaths = false
    /// `HEAD` is answered wherever `GET` is, without the body.
    var methods: [HTTPMethod]
    /// Checked on the request head, before any body is read: nil lets the request through, an answer refuses it
    /// (401, 415, an announced body that is too large …).
    var admission: @Sendable (HTTPRequestHead) -> AdminResponse? = { _ in nil }
    /// The most body bytes read; a larger body is answered with `tooLarge` without reading the rest.
    var bodyLimit: Int
    var tooLarge: @Sendable () -> AdminResponse
    /// The 405 for another method, given the `Allow` value; nil: the router's ("use GET or HEAD").
    var wrongMethod: (@Sendable (_ allow: String) -> AdminResponse)?
    var respond: @Sendable (HTTPRequestHead, ByteBuffer) async -> AdminResponse
}

/// The admin listener's routes, by path.
struct AdminRouter: Sendable {
    /// What to do with a request, decided from its head alone.
    enum Plan: Sendable {
        /// Read the body, at most `route.bodyLimit` bytes (more → `route.tooLarge()`), then `route.respond`.
        case read(AdminRoute)
        /// Answer now without reading the body: unknown path, wrong method, refused by the route's admission.
        case reject(AdminResponse)
    }

    private let routes: [String: AdminRoute]
    /// For the 404's list of endpoints, in the order given.
    private let summary: String

    init(_ routes: [AdminRoute]) {
        self.routes = Dictionary(routes.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        summary = routes.map { route in
            "\(route.methods.filter { $0 != .HEAD }.map(\.rawValue).joined(separator: "/")) \(route.path)"
        }.joined(separator: ", ")
    }

    /// The largest body any route reads.
    var largestBodyLimit: Int {
        routes.values.map(\.bodyLimit).max() ?? 0
    }

    func plan(for head: HTTPRequestHead) -> Plan {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        guard let route = routes[path] ?? routes.values.first(where: { $0.matchesSubpaths && path.hasPrefix($0.path + "/") }) else {
            return .reject(.error(.notFound, "no such endpoint: \(path) (endpoints: \(summary))"))
        }
        let methods = route.methods.contains(.GET) && !route.methods.contains(.HEAD) ? route.methods + [.HEAD] : route.methods
        guard methods.contains(head.method) else {
            let allow = methods.map(\.rawValue).joined(separator: ", ")
            let refusal =
                route.wrongMethod?(allow)
                ?? .error(.methodNotAllowed, "use \(methods.map(\.rawValue).joined(separator: " or "))", headers: [("Allow", allow)])
            return .reject(refusal)
        }
        if let refusal = route.admission(head) {
            return .reject(refusal)
        }
        return .read(route)
    }
}
