import Logging
import NIOCore
import NIOHTTP1
import WebSocketTransport

/// Answers plain HTTP `GET`/`HEAD` requests for paths that are not WebSocket routes, from the files of
/// `static_files.directory` (the dashboard). `WebSocketUpgradeHandler` asks it first, before its own 404.
///
/// One request per connection: the answer carries `Connection: close` and the connection is closed after it,
/// like every other non-101 answer of the front end (a page of four files costs four short connections, and the
/// upgrade handler stays a one-request state machine).
///
/// A client that reads slowly costs little and not for long: the body goes out one chunk at a time as the client
/// reads (`StaticFileSender`), the whole answer must be sent within `static_files.send_timeout`, and one client
/// address may be sent at most `static_files.max_requests_per_ip` answers at once (429 beyond).
///
/// Headers on every answer:
/// - `Cache-Control: no-cache` with an `ETag`: the browser revalidates each time (a 304 when unchanged), so a
///   dashboard updated with the bridge is never stale.
/// - `X-Content-Type-Options: nosniff`, and an exact `Content-Type` (`StaticFileContentType`).
/// - `Content-Security-Policy`: only this origin's scripts, styles and images, no inline code, no framing; the page
///   may open WebSockets (`ws:`/`wss:`) only to the host it was loaded from (`connectSources(host:)`).
final class StaticFileResponder: Sendable {
    private enum Content: Sendable {
        case files(StaticFileSet)
        /// Loading failed at start-up: every request answers 500 (the reason is logged).
        case failed(StaticFileError)
    }

    private let content: Content
    private let logger: Logger
    private let sendTimeout: TimeAmount
    /// `max_requests_per_ip`: answers being sent at once per client address.
    private let requestsPerAddress: ClientAdmission
    private let maxRequestsPerIP: Int

    /// Loads the directory (blocking: call at start-up, not on an event loop) and logs what will be served.
    init(settings configuration: StaticFileSettings, logger: Logger) {
        self.logger = logger
        self.sendTimeout = TimeAmount(configuration.sendTimeout)
        self.maxRequestsPerIP = configuration.maxRequestsPerAddress
        self.requestsPerAddress = ClientAdmission(maxSessions: configuration.maxRequestsPerAddress, rate: 0, burst: 1)
        do {
            let set = try StaticFileSet.load(directory: configuration.directory, maxSize: configuration.maxSize)
            for (path, reason) in set.skipped {
                logger.warning("static file left out", metadata: ["path": "\(path)", "reason": "\(reason)"])
            }
            if set.file(at: "/") == nil {
                logger.warning(
                    "static_files.directory has no index.html: / answers 404", metadata: ["directory": "\(configuration.directory)"])
            }
            logger.notice(
                "serving static files",
                metadata: ["directory": "\(configuration.directory)", "files": "\(set.files.count)", "bytes": "\(set.totalSize)"])
            self.content = .files(set)
        } catch {
            logger.error("static files not loaded: pages answer 500", metadata: ["error": "\(error)"])
            self.content = .failed(error)
        }
    }

    /// Answers `head` and closes the connection, or returns `false` without doing anything when the request is
    /// not a plain `GET`/`HEAD` (other methods and WebSocket upgrades keep the front end's usual answers).
    ///
    /// - Parameter client: the real client address (after PROXY protocol and trusted X-Forwarded-For), for
    ///   `max_requests_per_ip`; nil counts the TCP peer, which behind a proxy is the proxy.
    func respond(to head: HTTPRequestHead, path: String, client: String? = nil, context: ChannelHandlerContext) -> Bool {
        guard head.method == .GET || head.method == .HEAD, !head.headers.containsToken("websocket", in: "Upgrade") else {
            return false
        }
        let address = client ?? context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard case .admitted(let key) = self.requestsPerAddress.admit(address) else {
            let reason = "too many requests from your address at once (limit \(self.maxRequestsPerIP)); retry in a moment"
            self.logger.debug("static file request refused", metadata: ["client": "\(address)", "path": "\(path)", "status": "429"])
            let refusal = HTTPResponse.refusal(429, reason, extraHeaders: [("Retry-After", "1")], allocator: context.channel.allocator)
            context.writeAndFlush(NIOAny(refusal)).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            return true
        }
        let requests = self.requestsPerAddress
        context.channel.closeFuture.whenComplete { _ in requests.release(key) }
        let (status, file) = self.resolve(head, path: path)
        var headers: [(String, String)] = [
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            ("Content-Security-Policy", Self.contentSecurityPolicy(host: head.headers.first(name: "Host"))),
            ("Referrer-Policy", "no-referrer"),
        ]
        var body: ByteBuffer?
        switch (status, file) {
        case (200, let file?), (304, let file?):
            headers.append(("ETag", file.etag))
            if status == 200 {
                headers.append(("Content-Type", file.contentType))
                headers.append(("Content-Length", "\(file.body.readableBytes)"))
                body = file.body
            }
        default:
            // The reason names server paths: it goes to the log, not to every client.
            let text =
                status == 500
                ? "static files are not available: static_files.directory could not be loaded at start-up (the bridge's log says why)\n"
                : "not found\n"
            headers.append(("Content-Type", "text/plain; charset=utf-8"))
            headers.append(("Content-Length", "\(text.utf8.count)"))
            body = context.channel.allocator.buffer(string: text)
        }
        headers.append(("Connection", "close"))

        self.logger.debug(
            "static file request",
            metadata: [
                "client": "\(clientAddress(of: context.channel))", "method": "\(head.method.rawValue)", "path": "\(path)",
                "status": "\(status)",
            ])
        // The file's buffer is shared, never copied: the sender hands out slices of it, one chunk at a time.
        let responseHead = HTTPResponse.head(status: status, headers: headers, allocator: context.channel.allocator)
        StaticFileSender.send(
            head: responseHead, body: head.method == .GET ? body : nil, deadline: self.sendTimeout, context: context)
        return true
    }

    private func resolve(_ head: HTTPRequestHead, path: String) -> (status: Int, file: StaticFileSet.File?) {
        switch self.content {
        case .failed:
            return (500, nil)
        case .files(let set):
            guard let decoded = Self.percentDecoded(path), let file = set.file(at: decoded) else { return (404, nil) }
            // If-None-Match compares weakly (RFC 9110 §13.1.2): a W/ prefix does not matter.
            let validators = WebSocketHandshake.tokens(in: head.headers["If-None-Match"]).map {
                $0.hasPrefix("W/") ? String($0.dropFirst(2)) : $0
            }
            if validators.contains(file.etag) || validators.contains("*") {
                return (304, file)
            }
            return (200, file)
        }
    }

    /// Restrictive: same-origin scripts, styles and images only, no inline code, no plugins, no framing, no form
    /// posts. `connect-src` adds `wss://HOST` and `ws://HOST` for the request's own `Host` (host and port, as the
    /// browser sent it), because `'self'` has matched WebSocket URLs only in recent browsers. A `Host` that is not
    /// a plain host name or address (it is the client's input) is left out, which leaves `'self'` alone.
    static func contentSecurityPolicy(host: String?) -> String {
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self'",
            "connect-src 'self'" + (host.flatMap(Self.webSocketSources) ?? ""),
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ].joined(separator: "; ")
    }

    private static func webSocketSources(host: String) -> String? {
        let allowed = host.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ":")
                || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]")
        }
        guard allowed, !host.isEmpty, host.utf8.count <= 261 else { return nil }
        return " wss://\(host) ws://\(host)"
    }

    /// `%XX` sequences decoded; `nil` for a malformed escape, an encoded NUL or bytes that are not UTF-8
    /// (no such file can exist in the set). `+` stays `+`: it means a space only in query strings.
    static func percentDecoded(_ path: String) -> String? {
        guard path.utf8.contains(UInt8(ascii: "%")) else { return path }
        var bytes: [UInt8] = []
        var iterator = path.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { return nil }
            let decoded = high << 4 | low
            guard decoded != 0 else { return nil }
            bytes.append(decoded)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
