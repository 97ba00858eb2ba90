import SettingsSupport

/// What a certificate reload did, pair by pair: `BridgeServer.reloadCertificates()` returns it (tests, an admin
/// endpoint) and the log carries the same facts.
package struct CertificateReloadReport: Sendable, CustomStringConvertible {
    package enum Outcome: Sendable, Equatable {
        /// A new pair is in use for new handshakes; open sessions keep the one they started with.
        case loaded(serial: String, previousSerial: String)
        /// The files hold the pair already in use (it was checked again, and is still valid).
        case unchanged(serial: String)
        /// The files were refused (the reason names the file); the pair in use stays.
        case refused(reason: String, keptSerial: String)
    }

    package struct Entry: Sendable, Equatable {
        /// The listener's name (`listeners.<name>`).
        package var listener: String
        /// `default` for the listener's own pair, else the `tls.sni.<name>` entry.
        package var name: String
        package var outcome: Outcome
    }

    /// Listeners in name order, each with its default pair first.
    package var entries: [Entry]

    package init(entries: [Entry]) {
        self.entries = entries
    }

    /// True when nothing was refused.
    package var isSuccess: Bool { self.refused.isEmpty }

    /// The entries whose new files were refused.
    package var refused: [Entry] {
        self.entries.filter { if case .refused = $0.outcome { true } else { false } }
    }

    /// The outcome for one pair, if the reload covered it.
    package func outcome(listener: String, name: String = CertificatePairName.listenerDefault) -> Outcome? {
        self.entries.first { $0.listener == listener && $0.name == name }?.outcome
    }

    /// One line per pair, e.g. `wss/default: loaded 3A…F2 (was 11…07)`.
    package var description: String {
        guard !self.entries.isEmpty else { return "no TLS listener: nothing to reload" }
        return self.entries.map { entry in
            let what =
                switch entry.outcome {
                case .loaded(let serial, let previous): "loaded \(serial) (was \(previous))"
                case .unchanged(let serial): "unchanged \(serial)"
                case .refused(let reason, let kept): "refused, keeping \(kept): \(reason)"
                }
            return "\(entry.listener)/\(entry.name): \(what)"
        }.joined(separator: "\n")
    }
}
