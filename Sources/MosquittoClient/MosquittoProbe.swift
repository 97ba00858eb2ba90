/// A readiness probe: is the broker accepting MQTT sessions right now?
///
/// Each `probe()` opens a fresh connection, waits for CONNACK and disconnects — a real CONNECT/CONNACK with the
/// configured credentials, so a broker that accepts TCP but refuses logins is reported as not ready. Probes are
/// independent and may run concurrently; none blocks the calling thread.
package struct MosquittoProbe: Sendable {
    package var options: MosquittoConnectionOptions

    /// `options.connectTimeout` bounds each probe (DNS, TCP, TLS and CONNACK together).
    package init(options: MosquittoConnectionOptions) {
        self.options = options
    }

    package func probe() async -> MosquittoProbeResult {
        let start = ContinuousClock.now
        let connection: MosquittoConnection
        do {
            connection = try MosquittoConnection(options: options)
        } catch {
            return .notReady(error)
        }
        do {
            try await connection.connect()
        } catch {
            // The failed connection tears itself down in the background; the answer need not wait for that.
            return .notReady(error)
        }
        let latency = ContinuousClock.now - start
        await connection.disconnect()
        return .ready(latency: latency)
    }
}

/// The answer of one `MosquittoProbe.probe()`.
package enum MosquittoProbeResult: Sendable, Hashable, CustomStringConvertible {
    /// CONNACK success arrived `latency` after the probe started.
    case ready(latency: Duration)
    /// Why not: `error.kind` is `.unreachable` ("Connection refused"), `.notAuthorized`, `.timeout`, `.tls`,
    /// `.refused`, …; `error.reason` is libmosquitto's text.
    case notReady(MosquittoError)

    package var isReady: Bool {
        if case .ready = self { return true }
        return false
    }

    /// `ready (3ms)`, or the error's `kind: reason`, e.g. `not authorised: Connection Refused: not authorised.`,
    /// `unreachable: Connection refused`, `timeout: no CONNACK within 2s`.
    package var description: String {
        switch self {
        case .ready(let latency): "ready (\(latency.shortDescription))"
        case .notReady(let error): error.description
        }
    }
}
