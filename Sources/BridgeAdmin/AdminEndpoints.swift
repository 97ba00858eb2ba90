import Foundation
import Logging
import MosquittoClient
import NIOCore
import NIOHTTP1
import SessionRegistry

/// What each admin path does, as `AdminRoute`s: `/healthz`, `/readyz`, `/metrics`, `POST /api/v1/publish` and the
/// sessions API (`SessionsAPI`).
/// Transport-free: `AdminConnection` serves whatever `router` says.
final class AdminEndpoints: Sendable {
    static let publishPath = "/api/v1/publish"
    /// Bodies sent to the GET endpoints are read and ignored, up to this much.
    static let otherBodyLimit = 4096

    private let monitor: ReadinessMonitor
    private let publisher: MosquittoPublisherPool?
    private let export: MetricsExport
    private let metrics: AdminMetrics
    private let access: AdminAccess
    private let sessions: SessionsAPI?
    private let events: EventStream?
    private let maxBodySize: Int
    private let ackTimeout: Duration
    private let broker: String
    private let logger: Logger

    init(
        monitor: ReadinessMonitor, publisher: MosquittoPublisherPool?, export: MetricsExport, metrics: AdminMetrics,
        access: AdminAccess, sessions: SessionRegistry?, refusals: RefusalLog? = nil, eventInterval: Duration = .seconds(1),
        maxBodySize: Int, ackTimeout: Duration, broker: String, logger: Logger
    ) {
        self.monitor = monitor
        self.publisher = publisher
        self.export = export
        self.metrics = metrics
        self.access = access
        self.sessions = sessions.map { SessionsAPI(registry: $0, access: access, logger: logger) }
        self.events = sessions.map { registry in
            let sampler = OperationsSampler(
                sessions: registry, export: export, refusals: refusals, minimumInterval: eventInterval / 2,
                readiness: { monitor.current().json(broker: broker) })
            return EventStream(sampler: sampler, interval: eventInterval, access: access)
        }
        self.maxBodySize = maxBodySize
        self.ackTimeout = ackTimeout
        self.broker = broker
        self.logger = logger
    }

    // MARK: Routes

    var router: AdminRouter {
        AdminRouter(
            [
                readOnly("/healthz") { _ in
                    var json = JSONWriter.object()
                    json.field("status", "ok")
                    return .json(.ok, json)
                },
                readOnly("/readyz") { endpoints in
                    let readiness = endpoints.monitor.current()
                    return .json(readiness.isReady ? .ok : .serviceUnavailable, readiness.json(broker: endpoints.broker))
                },
                readOnly("/metrics") { endpoints in
                    _ = endpoints.monitor.current()  // refreshes mqtt_ws_bridge_ready
                    endpoints.metrics.setPublisherConnections(endpoints.publisher?.connectedCount ?? 0)
                    return AdminResponse(
                        status: .ok, headers: [("Content-Type", MetricsExport.contentType), ("Cache-Control", "no-store")],
                        body: endpoints.export.render())
                },
                AdminRoute(
                    path: Self.publishPath, methods: [.POST],
                    admission: { [self] head in publishAdmission(head) },
                    bodyLimit: publisher == nil ? 0 : maxBodySize,
                    tooLarge: { [self] in publishTooLarge() },
                    wrongMethod: { [self] allow in
                        publisher == nil
                            ? publishDisabled
                            : publishFailure(.methodNotAllowed, "use POST with a JSON body", headers: [("Allow", allow)])
                    },
                    respond: { [self] _, body in await publish(Array(body.readableBytesView)) }),
            ] + (sessions?.routes ?? []) + (events.map { [$0.route] + OperationsPage().routes } ?? []))
    }

    /// A GET endpoint: no authentication, bodies read and ignored.
    private func readOnly(_ path: String, _ answer: @escaping @Sendable (AdminEndpoints) -> AdminResponse) -> AdminRoute {
        AdminRoute(
            path: path, methods: [.GET], bodyLimit: Self.otherBodyLimit,
            tooLarge: { .error(.payloadTooLarge, "request bodies are not used here (at most \(Self.otherBodyLimit) bytes are accepted)") },
            respond: { [self] _, _ in answer(self) })
    }

    private var publishDisabled: AdminResponse {
        .error(.notFound, "the publish API is disabled (admin.publish.enabled: false)")
    }

    /// Before the body: the API is on, a bearer token (`admin.token` or `admin.publish.token`, if either is set), the
    /// content type, an announced size.
    private func publishAdmission(_ head: HTTPRequestHead) -> AdminResponse? {
        guard publisher != nil else { return publishDisabled }
        let verdict = access.verdict(head, scope: .publish)
        if verdict != .allowed {
            let refusal = AdminAccess.unauthorized(verdict, scope: .publish)
            metrics.published(.unauthorized)
            return refusal
        }
        guard Self.isJSON(head.headers.first(name: "Content-Type")) else {
            return publishFailure(
                .unsupportedMediaType, "Content-Type must be application/json (curl: -H 'Content-Type: application/json')")
        }
        if let length = head.headers.first(name: "Content-Length").flatMap({ Int($0) }), length > maxBodySize {
            return publishTooLarge()
        }
        return nil
    }

    /// The 413 for a body over `admin.publish.max_body_size` (announced, or found while reading), counted.
    private func publishTooLarge() -> AdminResponse {
        publishFailure(.tooLarge, "the body is larger than admin.publish.max_body_size (\(maxBodySize) bytes)")
    }

    /// `application/json`, with or without parameters. Requiring it also keeps browsers from posting here across
    /// origins without a CORS preflight (which this listener never approves).
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }

    // MARK: Publishing

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
            logger.debug(
                "published",
                metadata: [
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
            logger.warning(
                "publish failed",
                metadata: [
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
                "no acknowledgement from the broker within admin.publish.ack_timeout (\(ackTimeout.secondsText)); the message may or may not have been delivered"
            )
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
