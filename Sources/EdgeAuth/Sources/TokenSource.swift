/// Where a route looks for a token (`routes.<name>.auth.sources`), tried in the order listed.
///
/// The three request sources are read from the HTTP upgrade request, so a token there is judged before the 101.
/// `mqttPassword` can only be read once the CONNECT has arrived: it is the fallback when no request source gave a
/// valid token, whatever its place in the list (a password that arrives after a valid request token belongs to
/// the broker, and is forwarded untouched).
public enum TokenSource: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// `Authorization: Bearer <token>` (RFC 6750 §2.1). WeChat's `wx.connectSocket` sets it with its `header` option.
    case header
    /// A query parameter of the request URI (`?token=…`, RFC 6750 §2.3); browsers cannot set WebSocket headers.
    case query
    /// A cookie of the request.
    case cookie
    /// The CONNECT packet's password field (mqtt.js sends it from every platform).
    case mqttPassword = "mqtt_password"

    /// Whether the token comes with the HTTP upgrade request (rather than in the CONNECT).
    package var isInUpgradeRequest: Bool { self != .mqttPassword }

    public var description: String { self.rawValue }
}
