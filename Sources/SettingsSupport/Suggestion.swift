/// "Did you mean …?" for misspelt keys, values and environment variable names (and, in BridgeTLS, cipher suite names).
package enum Suggestion {
    /// The candidate closest to `word`, if it is close enough to be a plausible typo.
    ///
    /// Distance is counted on lowercased text with adjacent transpositions as one edit (`hots` → `host`).
    /// The allowance grows with the word: one edit for short words, at most three for long ones. An abbreviation
    /// of three or more letters (`warn` for `warning`) counts as one edit.
    package static func closest(to word: String, in candidates: some Sequence<String>) -> String? {
        let target = Array(word.lowercased())
        var best: (candidate: String, distance: Int)?
        for candidate in candidates where candidate != word {
            let lowercased = Array(candidate.lowercased())
            var distance = editDistance(target, lowercased)
            if target.count >= 3, lowercased.starts(with: target) {
                distance = min(distance, 1)
            }
            let allowance = max(1, min(3, (candidate.count + 1) / 4))
            guard distance <= allowance else { continue }
            if let current = best, current.distance < distance || (current.distance == distance && current.candidate < candidate) {
                continue
            }
            best = (candidate, distance)
        }
        return best?.candidate
    }

    /// ` (did you mean 'x'?)`, or nothing.
    package static func didYouMean(_ word: String, in candidates: some Sequence<String>) -> String {
        closest(to: word, in: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        // rows[i][j] = distance between a[..<i] and b[..<j]; only three rows are ever needed.
        var beforePrevious = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], beforePrevious[j - 2] + 1)
                }
            }
            (beforePrevious, previous, current) = (previous, current, beforePrevious)
        }
        return previous[b.count]
    }
}
