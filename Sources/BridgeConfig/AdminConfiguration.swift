// MARK: - Admin listener

/// `admin`: the operations listener — plain HTTP on its own address and port, separate from the WebSocket listeners
/// so that it can stay on loopback (or a private network) while the WebSocket listeners face the internet.
///
/// It serves `/healthz`, `/readyz`, `/metrics`, the sessions API (`/api/v1/sessions`) and, unless `publish.enabled` is
/// false, `POST /api/v1/publish`.
package struct AdminConfiguration: Sendable, Equatable {
    /// `enabled`: false runs the bridge without the admin listener (no readiness probe, no metrics export, no
    /// publish API).
    package var enabled: Bool
    /// `address`: an IPv4 or IPv6 literal or a host name. Loopback by default: the listener has no TLS, and the APIs
    /// are protected by bearer tokens (`token`, `publish.token`), which a non-loopback address requires.
    package var address: String
    /// `token`: the bearer token of the admin API (`Authorization: Bearer <token>`): the sessions API, and the publish
    /// API as well as `publish.token`. Absent → no authentication, allowed only while `address` is a loopback address.
    /// `/healthz`, `/readyz` and `/metrics` never need it. Same format as `publish.token`.
    package var token: String?
    /// `port`: 0 picks a free port (tests).
    package var port: Int
    /// `idle_timeout`: a connection that sends no request for this long, or takes longer than this to send one
    /// request (head and body), is closed. Keep-alive connections from scrapers are reused within it.
    package var idleTimeout: Duration
    /// `write_timeout`: while an answer is being sent, each write must reach the socket within this time; a client
    /// that stops reading (while pipelining requests, say) is closed instead of holding the answers in memory.
    package var writeTimeout: Duration
    /// `max_connections`: open admin connections at most; more are closed at accept. 0: no limit.
    package var maxConnections: Int
    /// `readiness`: the probe behind `/readyz`.
    package var readiness: AdminReadinessConfiguration
    /// `publish`: `POST /api/v1/publish`.
    package var publish: AdminPublishConfiguration
    /// `sessions.enabled`: the operator's view — the sessions API (`/api/v1/sessions`), the event stream and the
    /// operations page. False answers them with 404, and then `token` may be left out on any address (as
    /// `publish.token` may with `publish.enabled: false`).
    package var sessionsEnabled: Bool
    /// `broker_port`: the broker's MQTT (TCP) port for the readiness probe and the publish API; absent →
    /// `upstream.port`. Needed with `upstream.kind: ws`, since libmosquitto speaks MQTT over TCP only.
    package var brokerPort: Int?

    package init(
        enabled: Bool = true,
        address: String = "127.0.0.1",
        token: String? = nil,
        port: Int = 9090,
        idleTimeout: Duration = .seconds(30),
        writeTimeout: Duration = .seconds(10),
        maxConnections: Int = 128,
        readiness: AdminReadinessConfiguration = .init(),
        publish: AdminPublishConfiguration = .init(),
        sessionsEnabled: Bool = true,
        brokerPort: Int? = nil
    ) {
        self.enabled = enabled
        self.address = address
        self.token = token
        self.port = port
        self.idleTimeout = idleTimeout
        self.writeTimeout = writeTimeout
        self.maxConnections = maxConnections
        self.readiness = readiness
        self.publish = publish
        self.sessionsEnabled = sessionsEnabled
        self.brokerPort = brokerPort
    }
}

/// `admin.readiness`: a real MQTT CONNECT/CONNACK against `upstream.host`/`upstream.port` (with `upstream.tls`),
/// repeated every `interval` in the background. `/readyz` answers from the last result and never probes itself, so a
/// busy load balancer cannot turn into a connection storm on the broker.
package struct AdminReadinessConfiguration: Sendable, Equatable {
    /// `interval`: time between the starts of two probes. A result older than three intervals counts as stale.
    package var interval: Duration
    /// `timeout`: how long one probe may take (DNS, TCP, TLS and CONNACK together); at most `interval`.
    package var timeout: Duration
    /// `username`: sent in the probe's CONNECT; absent → none (the broker must then allow anonymous logins, or the
    /// probe reports `not authorised`).
    package var username: String?
    /// `password`: sent with `username`. Prefer the environment variable to writing it in the file.
    package var password: String?
    /// `client_id`: the probe's MQTT client identifier; absent → a fresh random one per probe. A fixed one lets broker
    /// ACLs and logs recognise the probe; it must not be used by any other client (the broker would disconnect one).
    package var clientID: String?
    /// `failure_threshold`: probes that must fail in a row before `/readyz` turns 503; fewer are tolerated, so a
    /// broker busy with a reconnect storm does not take the bridge out of rotation. 1 to 100.
    package var failureThreshold: Int
    /// `success_threshold`: probes that must succeed in a row before `/readyz` answers 200 again (and at start). 1 to 100.
    package var successThreshold: Int

    package init(
        interval: Duration = .seconds(5),
        timeout: Duration = .seconds(2),
        username: String? = nil,
        password: String? = nil,
        clientID: String? = nil,
        failureThreshold: Int = 3,
        successThreshold: Int = 1
    ) {
        self.interval = interval
        self.timeout = timeout
        self.username = username
        self.password = password
        self.clientID = clientID
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
    }

    /// Limits for `failure_threshold` and `success_threshold`.
    package static let thresholdRange = 1...100

    /// Probe results older than this are "stale": the probe loop is stuck or far behind.
    package var staleAfter: Duration { interval * 3 }
}

/// `admin.publish`: the server-side push API (`POST /api/v1/publish`), served by a small pool of persistent MQTT
/// connections to `upstream.host`/`upstream.port` (with `upstream.tls`).
package struct AdminPublishConfiguration: Sendable, Equatable {
    /// `enabled`: false answers the publish path with 404 and opens no broker connections for it.
    package var enabled: Bool
    /// `token`: the bearer token a request must carry (`Authorization: Bearer <token>`); absent → no authentication,
    /// which is only allowed while `admin.address` is a loopback address. At least 16 characters of
    /// `A-Z a-z 0-9 - . _ ~ + /`, optionally ending in `=`. Prefer the environment variable to writing it in the file.
    package var token: String?
    /// `max_body_size`: the largest request body accepted; larger → 413 without reading the rest. JSON and base64
    /// add overhead: a 1 MiB body carries about 750 KiB of base64 payload.
    package var maxBodySize: Int
    /// `pool_size`: persistent broker connections (1-16). Each reconnects on its own with backoff; a publish uses any
    /// connected one and fails fast (503) when none is.
    package var poolSize: Int
    /// `ack_timeout`: how long a publish may wait for the broker (QoS 1 PUBACK, QoS 2 PUBCOMP; QoS 0 until written);
    /// after it the answer is 504 and the message may or may not have been delivered.
    package var ackTimeout: Duration
    /// `username`: for the pool's CONNECTs; absent → none.
    package var username: String?
    /// `password`: sent with `username`. Prefer the environment variable to writing it in the file.
    package var password: String?
    /// `client_id`: the pool's client identifiers are this with `-1`, `-2`, … appended; absent → random ones.
    package var clientID: String?

    package init(
        enabled: Bool = true,
        token: String? = nil,
        maxBodySize: Int = 1 << 20,
        poolSize: Int = 2,
        ackTimeout: Duration = .seconds(10),
        username: String? = nil,
        password: String? = nil,
        clientID: String? = nil
    ) {
        self.enabled = enabled
        self.token = token
        self.maxBodySize = maxBodySize
        self.poolSize = poolSize
        self.ackTimeout = ackTimeout
        self.username = username
        self.password = password
        self.clientID = clientID
    }
}
