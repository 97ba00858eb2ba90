import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// The auth callout (`auth.http`): asks a backend about an attempt, for tokens the bridge cannot verify itself
/// (a WeChat session key checked by the backend, an opaque token).
///
/// One `HTTPClient` (async-http-client) serves every attempt: connections are pooled and reused, at most
/// `maximumConnections` of them; redirects are not followed (an answer must come from the configured URL, and a
/// redirect could carry the password elsewhere). Each exchange has a deadline of `timeout`; an error, a timeout, a
/// status other than 2xx/401/403 or an unusable body is "unavailable", which is never cached. The answer comes back
/// on the caller's event loop.
///
/// The client runs on one event loop of the group (`exchangeLoop`), for its requests and its connections alike.
/// async-http-client 1.37.0 reports a connection as released to its pool from the request-end write's promise, which
/// it makes on the request's event loop; when that is not the connection's loop (the caller's loop with a connection
/// on another one, reused from the pool), the release reaches the pool two loop hops after the response has been
/// delivered. If the pool has removed the connection meanwhile (closed by the backend, or by `shutdown()` right
/// after the last answer), the late release trips the pool's `preconditionFailure("A connection that we don't know was
/// released? …")` and takes the process down. Seen under AddressSanitizer in "Answers are cached for cache_ttl"
/// (docs/RELIABILITY.md, Sanitizers, with links to the library code). On one loop there is no hop: the release happens
/// while the request end is written, before the backend can answer.
final class AuthCallout: Sendable {
    enum Decision: Sendable, Hashable {
        case allow(CalloutAnswer)
        case deny
        /// The reason is for the log (it may name the backend); clients only learn "unavailable".
        case unavailable(String)
    }

    /// Answers are small JSON objects; more is a misconfigured URL.
    static let maximumAnswerSize = 64 * 1024

    let settings: AuthCalloutSettings
    let forwardedHeaders: Set<String>
    private let client: HTTPClient
    /// The one loop the client runs on (see above); answers hop from it to the caller's loop.
    private let exchangeLoop: any EventLoop
    private let cache: CalloutCache
    private let logger: Logger

    init(settings: AuthCalloutSettings, eventLoopGroup: any EventLoopGroup, logger: Logger) throws(EdgeAuthError) {
        try Self.validate(settings)
        self.settings = settings
        self.forwardedHeaders = Set(settings.headers.map { $0.lowercased() })
        self.cache = CalloutCache(ttl: TimeAmount(settings.cacheTTL), capacity: settings.maximumCacheEntries)
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: TimeAmount(settings.timeout), read: TimeAmount(settings.timeout))
        configuration.connectionPool = .init(
            idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: settings.maximumConnections)
        // An event loop is a group of one: every request and connection of the client is on it, and `.indifferent`
        // requests share its pooled connections (`.delegateAndChannel(on:)` would open a connection per request).
        self.exchangeLoop = eventLoopGroup.next()
        self.client = HTTPClient(
            eventLoopGroupProvider: .shared(self.exchangeLoop), configuration: configuration, backgroundActivityLogger: logger)
    }

    /// The URL must be one async-http-client can send to, over http or https.
    static func validate(_ settings: AuthCalloutSettings) throws(EdgeAuthError) {
        guard let url = URL(string: settings.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            url.host?.isEmpty == false, (try? HTTPClient.Request(url: settings.url, method: .POST)) != nil
        else {
            throw EdgeAuthError(key: "auth.http.url", "'\(settings.url)' is not an http:// or https:// URL")
        }
        if settings.timeout <= .zero {
            throw EdgeAuthError(key: "auth.http.timeout", "must be longer than zero")
        }
        if settings.maximumConnections < 1 {
            throw EdgeAuthError(key: "auth.http", "needs at least one connection")
        }
    }

    /// The backend's decision about `request`, from the cache when the same attempt was answered within `cache_ttl`.
    func decide(_ request: CalloutRequest, on eventLoop: any EventLoop) -> EventLoopFuture<Decision> {
        let body: Data
        do {
            body = try request.body()
        } catch {
            return eventLoop.makeSucceededFuture(.unavailable("the request could not be encoded: \(error)"))
        }
        let key = SHA256.hash(data: body)
        switch self.cache.answer(for: key, now: .now()) {
        case .allow(let answer): return eventLoop.makeSucceededFuture(.allow(answer))
        case .deny: return eventLoop.makeSucceededFuture(.deny)
        case nil: break
        }

        let httpRequest: HTTPClient.Request
        do {
            httpRequest = try HTTPClient.Request(
                url: self.settings.url, method: .POST,
                headers: ["content-type": "application/json", "accept": "application/json"], body: .bytes(body))
        } catch {
            return eventLoop.makeSucceededFuture(.unavailable("bad URL: \(error)"))
        }
        let accumulator = ResponseAccumulator(request: httpRequest, maxBodySize: Self.maximumAnswerSize)
        let deadline = NIODeadline.now() + TimeAmount(self.settings.timeout)
        return self.client.execute(
            request: httpRequest, delegate: accumulator, eventLoop: .indifferent, deadline: deadline
        )
        .futureResult
        .hop(to: eventLoop)
        .map { response in
            let decision = Self.decision(from: response)
            switch decision {
            case .allow(let answer): self.cache.store(.allow(answer), for: key, now: .now())
            case .deny: self.cache.store(.deny, for: key, now: .now())
            case .unavailable: break
            }
            return decision
        }
        .recover { error in .unavailable(Self.describe(error)) }
        .map { decision in
            if case .unavailable(let reason) = decision {
                self.logger.warning(
                    "auth callout unavailable",
                    metadata: ["url": "\(self.settings.url)", "reason": "\(reason)", "route": "\(request.route)"])
            }
            return decision
        }
    }

    static func decision(from response: HTTPClient.Response) -> Decision {
        switch response.status.code {
        case 200..<300:
            guard let body = response.body,
                let answer = try? JSONDecoder().decode(CalloutAnswer.self, from: Data(body.readableBytesView)), answer.isUsable
            else {
                return .unavailable(#"the answer is not {"allow": true|false, "sub": …, "publish": […], "subscribe": […]}"#)
            }
            return answer.allow ? .allow(answer) : .deny
        case 401, 403:
            return .deny
        default:
            return .unavailable("HTTP \(response.status.code)")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            "no answer within the timeout"
        default:
            "\(error)"
        }
    }

    /// Closes the pooled connections. Call once, when the bridge stops.
    func shutdown() async throws {
        try await self.client.shutdown()
    }
}
