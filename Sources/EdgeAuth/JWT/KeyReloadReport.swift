/// What a key reload did, file by file: `TokenVerifier.reload()` returns it and the log carries the same facts.
package struct KeyReloadReport: Sendable, CustomStringConvertible {
    package enum Outcome: Sendable, Equatable {
        /// New keys are in use for new sessions; open sessions are not touched (they were verified at connect).
        case loaded(keyIDs: [String], previousKeyIDs: [String])
        /// The file holds the keys already in use.
        case unchanged(keyIDs: [String])
        /// The file was refused; the keys it gave before stay in use.
        case refused(reason: String, keptKeyIDs: [String])
    }

    package struct Entry: Sendable, Equatable {
        /// The file as configured (`auth.jwt.keys[i]` or `auth.jwt.secret_file`).
        package var file: String
        package var outcome: Outcome
    }

    /// In the settings' order. A timer reload lists only files that changed or newly failed.
    package var entries: [Entry]

    /// True when nothing was refused.
    package var isSuccess: Bool { self.refused.isEmpty }

    /// The entries whose file was refused.
    package var refused: [Entry] {
        self.entries.filter { if case .refused = $0.outcome { true } else { false } }
    }

    /// The outcome for one file, if the reload covered it.
    package func outcome(file: String) -> Outcome? {
        self.entries.first { $0.file == file }?.outcome
    }

    /// One line per file, e.g. `keys/jwks.json: loaded 2026-05, 2026-06 (was 2026-04, 2026-05)`.
    package var description: String {
        guard !self.entries.isEmpty else { return "no key file changed" }
        return self.entries.map { entry in
            let what =
                switch entry.outcome {
                case .loaded(let ids, let previous): "loaded \(ids.joined(separator: ", ")) (was \(previous.joined(separator: ", ")))"
                case .unchanged(let ids): "unchanged \(ids.joined(separator: ", "))"
                case .refused(let reason, let kept): "refused, keeping \(kept.joined(separator: ", ")): \(reason)"
                }
            return "\(entry.file): \(what)"
        }.joined(separator: "\n")
    }
}
