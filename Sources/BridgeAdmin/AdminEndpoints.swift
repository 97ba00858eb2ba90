import Logging
import MosquittoClient
import NIOCore
import NIOHTTP1

/// What each admin path does. Transport-free: the connection code asks `plan(for:)` what to do with a request head,
/// reads the body it allows, and writes what `respond(to:head:body:)` returns.
final class AdminEndpoints: Sendable {
    enum Endpoint: Sendable, Hashable {
        case health, readiness, metrics, publish
    }

    /// What to do with a request, decided from its head alone.
    enum Plan: Sendable {
        /// Read the body, at most `limit` bytes (more → `bodyTooLarge`), then `respond`.
        case read(Endpoint, limit: Int)
        /// Answer now without reading the body: wrong path or method, no token, wrong content type, too large.
        case reject(AdminResponse)
    }

    static let publishPath = "/api/v1/publish"
    /// Bodies sent to the GET endpoints are read and ignored, up to this much.
    static let otherBodyLimit = 4096

    private let monitor: ReadinessMonitor
    private let publisher: MosquittoPublisherPool?
    private let export: MetricsExport
    private let metrics: AdminMetrics
    private let token: BearerToken?
    private let maxBodySize: Int
    private let ackTimeout: Duration
    private let broker: String
    private let logger: Logger

    init(
        monitor: ReadinessMonitor, publisher: MosquittoPublisherPool?, export: MetricsExport, metrics: AdminMetrics,
        token: BearerToken?, maxBodySize: Int, ackTimeout: Duration, broker: String, logger: Logger
    ) {
        self.monitor = monitor
        self.publisher = publisher
        self.export = export
        self.metrics = metrics
        self.token = token
        self.maxBodySize = maxBodySize
        self.ackTimeout = ackTimeout
        self.broker = broker
        self.logger = logger
    }

    // MARK: Routing

    func plan(for head: HTTPRequestHead) -> Plan {
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
        switch path {
        case "/healthz": return readOnly(.health, head)
        case "/readyz": return readOnly(.readiness, head)
        case "/metrics": return readOnly(.metrics, head)
        case Self.publishPath: return planPublish(head)
        default:
            return .reject(.error(
                .notFound, "no such endpoint: \(path) (endpoints: GET /healthz, GET /readyz, GET /metrics, POST \(Self.publishPath))"))
        }
    }

    private func readOnly(_ endpoint: Endpoint, _ head: HTTPRequestHead) -> Plan {
        guard head.method == .GET || head.method == .HEAD else {
            return .reject(.error(.methodNotAllowed, "use GET or HEAD", headers: [("Allow", "GET, HEAD")]))
        }
        return .read(endpoint, limit: Self.otherBodyLimit)
    }

    private func planPublish(_ head: HTTPRequestHead) -> Plan {
        guard publisher != nil else {
            return .reject(.error(.notFound, "the publish API is disabled (admin.publish.enabled: false)"))
        }
        guard head.method == .POST else {
            return .reject(publishFailure(.methodNotAllowed, "use POST with a JSON body", headers: [("Allow", "POST")]))
        }
        if let token {
            let authorization = head.headers.first(name: "Authorization")
            guard token.accepts(authorization: authorization) else {
                let challenge = authorization == nil
                    ? #"Bearer realm="mqtt-ws-bridge""#
                    : #"Bearer realm="mqtt-ws-bridge", error="invalid_token""#
                let message = authorization == nil
                    ? "missing bearer token (Authorization: Bearer <admin.publish.token>)"
                    : "invalid bearer token"
                return .reject(publishFailure(.unauthorized, message, headers: [("WWW-Authenticate", challenge)]))
            }
        }
        guard Self.isJSON(head.headers.first(name: "Content-Type")) else {
            return .reject(publishFailure(
                .unsupportedMediaType, "Content-Type must be application/json (curl: -H 'Content-Type: application/json')"))
        }
        if let length = head.headers.first(name: "Content-Length").flatMap({ Int($0) }), length > maxBodySize {
            return .reject(bodyTooLarge(.publish))
        }
        return .read(.publish, limit: maxBodySize)
    }

    /// `application/json`, with or without parameters. Requiring it also keeps browsers from posting here across
    /// origins without a CORS preflight (which this listener never approves).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        var mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        while let first = mediaType.first, first == " " || first == "\t" { mediaType.removeFirst() }
        while let last = mediaType.last, last == " " || last == "\t" { mediaType.removeLast() }
        return mediaType.lowercased() == "application/json"
    }

    /// The 413 for a body over its limit (announced in `Content-Length`, or found while reading).
    func bodyTooLarge(_ endpoint: Endpoint) -> AdminResponse {
        guard endpoint == .publish else {
            return .error(.payloadTooLarge, "request bodies are not used here (at most \(Self.otherBodyLimit) bytes are accepted)")
        }
        return publishFailure(.tooLarge, "the body is larger than admin.publish.max_body_size (\(maxBodySize) bytes)")
    }

    // MARK: Answers

    func respond(to endpoint: Endpoint, head: HTTPRequestHead, body: ByteBuffer) async -> AdminResponse {
        switch endpoint {
        case .health:
            var json = JSONWriter.object()
            json.field("status", "ok")
            return .json(.ok, json)
        case .readiness:
            let readiness = monitor.current()
            return .json(readiness.isReady ? .ok : .serviceUnavailable, readiness.json(broker: broker))
        case .metrics:
            _ = monitor.current()  // refreshes mqtt_ws_bridge_ready
            metrics.setPublisherConnections(publisher?.connectedCount ?? 0)
            return AdminResponse(
                status: .ok, headers: [("Content-Type", MetricsExport.contentType), ("Cache-Control", "no-store")],
                body: export.render())
        case .publish:
            return await publish(Array(body.readableBytesView))
        }
    }

    private func publish(_ body: [UInt8]) async -> AdminResponse {
        let message: MosquittoMessage
        do {
            message = try PublishRequest.parse(body)
        } catch {
            return publishFailure(error.result, error.message, field: error.field)
        }
        guard let publisher else {
            return publishFailure(.unavailable, "the publish API is disabled")
        }
        let start = ContinuousClock.now
        do {
            let receipt = try await publisher.publish(message)
            metrics.publishAcknowledged(after: .now - start)
            metrics.published(.published)
            logger.debug("published", metadata: [
                "topic": "\(message.topic)", "qos": "\(message.qos.rawValue)", "bytes": "\(message.payload.count)",
                "message_id": "\(receipt.messageID)",
            ])
            var json = JSONWriter.object()
            json.field("message_id", Int(receipt.messageID))
            json.field("topic", message.topic)
            json.field("qos", message.qos.rawValue)
            json.field("retain", message.retain)
            json.field("reason_code", Int(receipt.reasonCode))
            json.field("no_matching_subscribers", receipt.noMatchingSubscribers)
            return .json(.ok, json)
        } catch {
            let response = failure(for: error)
            logger.warning("publish failed", metadata: [
                "topic": "\(message.topic)", "qos": "\(message.qos.rawValue)", "status": "\(response.status.code)",
                "reason": "\(error)",
            ])
            return response
        }
    }

    /// libmosquitto's verdict as an HTTP status; the message says whether the message may have been delivered.
    private func failure(for error: MosquittoError) -> AdminResponse {
        switch error.kind {
        case .unavailable, .cancelled:
            return publishFailure(
                .unavailable, "\(error.reason); nothing was sent, retry later",
                headers: [("Retry-After", "1")])
        case .timeout:
            return publishFailure(
                .timeout,
                "no acknowledgement from the broker within admin.publish.ack_timeout (\(ackTimeout.secondsText)); the message may or may not have been delivered")
        case .connectionLost:
            return publishFailure(
                .brokerError,
                "the broker connection closed before the acknowledgement (\(error.reason)); the message may or may not have been delivered")
        case .notAuthorized:
            return publishFailure(.forbidden, "the broker refused the publish: \(error.reason)")
        case .invalidMessage, .invalidTopic:
            return publishFailure(.invalidMessage, "the message cannot be published: \(error.reason)")
        default:
            return publishFailure(.brokerError, "the broker refused the message: \(error)")
        }
    }

    /// An error answer of the publish API, counted by result.
    private func publishFailure(
        _ result: PublishResult, _ message: String, field: String? = nil, headers: [(String, String)] = []
    ) -> AdminResponse {
        metrics.published(result)
        return .error(HTTPResponseStatus(statusCode: result.status), message, field: field, headers: headers)
    }
}
