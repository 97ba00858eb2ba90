/// How a call to `POST /api/v1/publish` ended: the `result` label of `mqtt_ws_bridge_publish_requests_total`, and the
/// HTTP status it is answered with.
enum PublishResult: String, Sendable, Hashable, CaseIterable {
    /// 200: QoS 0 written to the broker connection, QoS 1 PUBACK, QoS 2 PUBCOMP.
    case published
    /// 400: not JSON, a missing or mistyped field, an unknown field.
    case badRequest = "bad_request"
    /// 400: the topic breaks MQTT's rules (libmosquitto's check).
    case invalidTopic = "invalid_topic"
    /// 400: libmosquitto or the broker's announced limits refuse the message (too large, QoS not supported, …).
    case invalidMessage = "invalid_message"
    /// 401: no or wrong bearer token.
    case unauthorized
    /// 403: the broker refused the publish (its ACL: MQTT 5 reason 0x87).
    case forbidden
    /// 405: not a POST.
    case methodNotAllowed = "method_not_allowed"
    /// 413: the body is larger than `admin.publish.max_body_size`.
    case tooLarge = "too_large"
    /// 415: not `Content-Type: application/json`.
    case unsupportedMediaType = "unsupported_media_type"
    /// 502: the broker connection closed while waiting, or the broker refused the message with another reason code.
    case brokerError = "broker_error"
    /// 503: no publisher connection is up (broker down), or the bridge is shutting down. Nothing was sent.
    case unavailable
    /// 504: no acknowledgement within `admin.publish.ack_timeout`; the message may or may not have been delivered.
    case timeout

    var status: Int {
        switch self {
        case .published: 200
        case .badRequest, .invalidTopic, .invalidMessage: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .methodNotAllowed: 405
        case .tooLarge: 413
        case .unsupportedMediaType: 415
        case .brokerError: 502
        case .unavailable: 503
        case .timeout: 504
        }
    }
}
