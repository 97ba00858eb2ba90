import Logging
import MQTTWire
import NIOCore

/// The access log's one line per session: who, over which listener, route and subprotocol, as which MQTT client, to
/// which broker, how many bytes each way, for how long, and who ended it and why. Never the password.
struct SessionAccessLine {
    var descriptor: SessionDescriptor
    /// The session's id in the admin API's registry; nil without a registry or before a CONNECT.
    var session: UInt64?
    var connect: MQTTConnectInfo?
    /// nil when no broker connection was made.
    var broker: UpstreamServer?
    var bytesIn: Int
    var bytesOut: Int
    var duration: TimeAmount
    var ending: SessionEnding
    /// Edge authentication's verdict; nil on a route without `auth` (`auth=-`).
    var auth: SessionAuthRecord? = nil

    var metadata: Logger.Metadata {
        [
            "client": "\(self.descriptor.clientAddress)",
            "session": "\(self.session.map(String.init) ?? "-")",
            "listener": "\(self.descriptor.listener)",
            "route": "\(self.descriptor.route)",
            "subprotocol": "\(self.descriptor.subprotocol ?? "none")",
            "mqtt_version": "\(self.connect?.version?.description ?? "-")",
            "client_id": "\(self.connect?.clientID ?? "-")",
            "username": "\(self.connect?.username ?? "-")",
            "broker": "\(self.broker?.description ?? "-")",
            "bytes_in": "\(self.bytesIn)",
            "bytes_out": "\(self.bytesOut)",
            "duration_ms": "\(self.duration.nanoseconds / 1_000_000)",
            "closed_by": "\(self.ending.initiator.rawValue)",
            "close_code": "\(self.ending.code.rawValue)",
            "reason": "\(self.ending.reason)",
            "auth": "\(self.auth?.result ?? "-")",
            "sub": "\(self.auth?.subject ?? "-")",
        ]
    }
}
