import CoreMetrics
import MQTTWire
import NIOConcurrencyHelpers
import NIOCore
import SessionRegistry

/// Metric handles, created once per route at start-up so the relay never looks a metric up by name on
/// its hot path. Counts are added per read burst, not per message.
///
/// Names follow Prometheus conventions (`_total`, `_seconds`, `_bytes`); the exporter is set up by
/// whoever bootstraps swift-metrics (the admin listener), so without one these are no-ops.
package final class BridgeMetrics: Sendable {
    package enum Direction: String, Sendable, CaseIterable {
        case clientToBroker = "client_to_broker"
        case brokerToClient = "broker_to_client"
    }

    /// Per-route handles.
    package final class Route: Sendable {
        package let name: String
        let openSessions: Meter
        let sessions: Counter
        let bytes: [Counter]  // indexed by Direction order
        let packets: [[Counter]]  // [direction][packet type raw value]
        let topicPolicyDenials: Counter
        /// Sessions closed because a client packet was not completed within `timeouts.packet`.
        let packetDeadlineCloses: Counter
        /// Flushes a busy session deferred to the end of its coalescing window (`FlushCoalescing`), by direction.
        let deferredFlushes: [Counter]  // indexed by Direction order
        private let factory: any MetricsFactory
        private let closes = NIOLockedValueBox<[String: Counter]>([:])
        private let handshakes = NIOLockedValueBox<[String: Counter]>([:])
        /// Where refused handshakes are remembered for the operations page (shared by the routes).
        private let refusals: RefusalLog?
        private let authentications = NIOLockedValueBox<[String: Counter]>([:])

        init(name: String, factory: any MetricsFactory, refusals: RefusalLog? = nil) {
            self.name = name
            self.factory = factory
            self.refusals = refusals
            self.openSessions = Meter(label: "mqtt_ws_bridge_sessions_open", dimensions: [("route", name)], factory: factory)
            self.sessions = Counter(label: "mqtt_ws_bridge_sessions_total", dimensions: [("route", name)], factory: factory)
            self.bytes = Direction.allCases.map {
                Counter(
                    label: "mqtt_ws_bridge_mqtt_bytes_total", dimensions: [("route", name), ("direction", $0.rawValue)], factory: factory)
            }
            self.topicPolicyDenials = Counter(
                label: "mqtt_ws_bridge_topic_policy_denials_total", dimensions: [("route", name)], factory: factory)
            self.packetDeadlineCloses = Counter(
                label: "mqtt_ws_bridge_packet_deadline_closes_total", dimensions: [("route", name)], factory: factory)
            self.deferredFlushes = Direction.allCases.map {
                Counter(
                    label: "mqtt_ws_bridge_deferred_flushes_total", dimensions: [("route", name), ("direction", $0.rawValue)],
                    factory: factory)
            }
            self.packets = Direction.allCases.map { direction in
                MQTTPacketType.allCases.map { type in
                    Counter(
                        label: "mqtt_ws_bridge_mqtt_packets_total",
                        dimensions: [("route", name), ("direction", direction.rawValue), ("type", type.description)],
                        factory: factory
                    )
                }
            }
        }

        /// One handshake outcome: `accepted` or a refusal reason such as `subprotocol_refused`.
        package func handshake(_ result: String) {
            if result != "accepted" { self.refusals?.record(route: self.name, result: result) }
            self.counter(in: self.handshakes, key: result) {
                Counter(
                    label: "mqtt_ws_bridge_handshakes_total", dimensions: [("route", self.name), ("result", result)], factory: self.factory)
            }.increment()
        }

        /// One session ended with this WebSocket close code (`1006` when no close frame was exchanged).
        func closed(code: UInt16, initiator: String) {
            let key = "\(code)/\(initiator)"
            self.counter(in: self.closes, key: key) {
                Counter(
                    label: "mqtt_ws_bridge_closes_total",
                    dimensions: [("route", self.name), ("code", String(code)), ("initiator", initiator)],
                    factory: self.factory
                )
            }.increment()
        }

        /// One edge authentication outcome (routes with `auth`): `stage` is `upgrade`, `connect` or `session`; `result`
        /// e.g. `accepted`, `anonymous`, `deferred` (decided at the CONNECT), `refused`, `expired`.
        package func authentication(stage: String, result: String) {
            self.counter(in: self.authentications, key: "\(stage)/\(result)") {
                Counter(
                    label: "mqtt_ws_bridge_auth_total", dimensions: [("route", self.name), ("stage", stage), ("result", result)],
                    factory: self.factory)
            }.increment()
        }

        /// One refusal by edge authentication, by `AuthFailure.label` (`expired`, `wrong_audience`, `missing`, …).
        package func authenticationRefused(stage: String, reason: String) {
            self.counter(in: self.authentications, key: "refused:\(stage)/\(reason)") {
                Counter(
                    label: "mqtt_ws_bridge_auth_refusals_total", dimensions: [("route", self.name), ("stage", stage), ("reason", reason)],
                    factory: self.factory)
            }.increment()
        }

        /// A client broke the route's topic policy and was disconnected.
        func topicPolicyDenied() {
            self.topicPolicyDenials.increment()
        }

        func record(_ counts: inout PacketCounts, direction: Direction) {
            let perType = self.packets[direction == .clientToBroker ? 0 : 1]
            counts.drain { type, count in perType[Int(type)].increment(by: Int64(count)) }
        }

        func deferredFlushes(_ direction: Direction) -> Counter {
            self.deferredFlushes[direction == .clientToBroker ? 0 : 1]
        }

        func recordBytes(_ count: Int, direction: Direction) {
            guard count > 0 else { return }
            self.bytes[direction == .clientToBroker ? 0 : 1].increment(by: Int64(count))
        }

        private func counter(in cache: borrowing NIOLockedValueBox<[String: Counter]>, key: String, make: () -> Counter) -> Counter {
            cache.withLockedValue { counters in
                if let counter = counters[key] { return counter }
                let counter = make()
                counters[key] = counter
                return counter
            }
        }
    }

    private let routes: [String: Route]
    /// Handshakes that matched no route (unknown path) or failed before routing (bad request, timeout).
    package let unrouted: Route
    let upstreamConnectDuration: CoreMetrics.Timer
    let upstreamConnectFailures: Counter
    /// Dials waiting for, or delayed by, `upstream.max_concurrent_dials` (`UpstreamDialGates`).
    package let upstreamDials: UpstreamDialGateMetrics
    /// The last refused handshakes (all routes), for the admin listener's event stream.
    package let refusals: RefusalLog

    package init(routeNames: [String], factory: any MetricsFactory = MetricsSystem.factory) {
        let refusals = RefusalLog()
        var routes: [String: Route] = [:]
        for name in routeNames { routes[name] = Route(name: name, factory: factory, refusals: refusals) }
        self.refusals = refusals
        self.routes = routes
        self.unrouted = Route(name: "none", factory: factory, refusals: refusals)
        self.upstreamConnectDuration = CoreMetrics.Timer(label: "mqtt_ws_bridge_upstream_connect_seconds", dimensions: [], factory: factory)
        self.upstreamConnectFailures = Counter(label: "mqtt_ws_bridge_upstream_connect_failures_total", dimensions: [], factory: factory)
        self.upstreamDials = UpstreamDialGateMetrics(factory: factory)
    }

    /// A broker connection became ready for MQTT (its attempt started `since`). Recorded by `UpstreamDial` only.
    func recordUpstreamConnect(since started: NIODeadline) {
        self.upstreamConnectDuration.recordNanoseconds((NIODeadline.now() - started).nanoseconds)
    }

    /// One attempt to connect a broker failed (with several servers, each failed attempt counts). By `UpstreamDial` only.
    func upstreamConnectFailed() {
        self.upstreamConnectFailures.increment()
    }

    package func route(_ name: String) -> Route {
        self.routes[name] ?? self.unrouted
    }
}

/// MQTT packets counted by type within one read burst, without allocating.
struct PacketCounts {
    private var counts = InlineArray<16, UInt32>(repeating: 0)
    private(set) var isEmpty = true

    mutating func add(_ type: MQTTPacketType) {
        self.counts[Int(type.rawValue)] &+= 1
        self.isEmpty = false
    }

    /// Packets of every type (for the session's own totals, once per burst).
    var sum: Int {
        guard !self.isEmpty else { return 0 }
        var sum = 0
        for index in 0..<16 { sum += Int(self.counts[index]) }
        return sum
    }

    /// Calls `body` for each non-zero count and resets the counts.
    mutating func drain(_ body: (UInt8, UInt32) -> Void) {
        guard !self.isEmpty else { return }
        for index in 0..<16 where self.counts[index] > 0 {
            body(UInt8(index), self.counts[index])
            self.counts[index] = 0
        }
        self.isEmpty = true
    }
}
