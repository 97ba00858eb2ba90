import Yams

/// Yams calls and their errors, turned into something a user can act on.
enum YAMLParsing {
    /// A YAML error as a position (when libyaml knows it) and one line of text.
    struct Failure: Error {
        let mark: Mark?
        let message: String
    }

    /// The document's root node; `nil` for an empty document or one with only comments.
    ///
    /// A document whose aliases expand it far beyond what it writes (`b: &b [*a, *a, …]`, `c: &c [*b, *b, …]`, …: a
    /// few hundred bytes that stand for billions of values) is refused here, before anything walks or re-serialises
    /// the tree: loading it would take minutes and gigabytes. Found by fuzzing (docs/RELIABILITY.md).
    static func compose(_ text: String) throws(Failure) -> Node? {
        let root: Node?
        do {
            // The encoding is explicit because `.default` consults (and prints about) an environment variable.
            root = try Yams.compose(yaml: text, .default, .default, .utf8)
        } catch let error as YamlError {
            throw failure(from: error)
        } catch {
            throw Failure(mark: nil, message: "cannot parse YAML")
        }
        let limit = maximumValues(forTextOfLength: text.utf8.count)
        if let root, !root.hasAtMost(limit) {
            throw Failure(
                mark: root.mark,
                message: "aliases (*name) expand this YAML to more than \(limit) values; write the values out, or nest fewer aliases"
            )
        }
        return root
    }

    /// How many values (scalars, lists and sections, aliases expanded) a text may stand for. Without aliases a text
    /// never holds more values than characters; aliases may add up to 10,000 (`<<: *defaults` in every route).
    static func maximumValues(forTextOfLength length: Int) -> Int {
        max(length, 0) + 10_000
    }

    /// One key of a mapping, as written or as a merge key brought it in.
    struct Entry {
        let key: String
        let keyNode: Node
        let value: Node
    }

    /// What `entries(of:)` leaves out, for the caller to report.
    enum Omission {
        /// A key that is not a plain name (`? [a, b] : x`).
        case complexKey(Node)
        /// A merge key whose value is neither a section nor a list of sections.
        case mergeValue(Node)
    }

    /// The mapping's keys and values in file order, with YAML merge keys (`<<: *defaults`) expanded in front of the
    /// keys written next to them, so that written keys win where the last entry of a key is taken.
    static func entries(of mapping: Node.Mapping, omitting omitted: (Omission) -> Void = { _ in }) -> [Entry] {
        var merged: [Entry] = []
        var written: [Entry] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                omitted(.complexKey(keyNode))
                continue
            }
            guard scalar.string == "<<", scalar.style == .plain || scalar.style == .any else {
                written.append(Entry(key: scalar.string, keyNode: keyNode, value: value))
                continue
            }
            switch value {
            case .mapping(let source):
                merged += entries(of: source, omitting: omitted)
            case .sequence(let sources):
                // Earlier mappings in the list win, so they go last.
                for case .mapping(let source) in sources.reversed() {
                    merged += entries(of: source, omitting: omitted)
                }
            default:
                omitted(.mergeValue(value))
            }
        }
        return merged + written
    }

    /// `node` written back as YAML that composes to the same value, scalar styles included (a null stays a null, a
    /// quoted `"~"` stays text); how the file layer hands its values to swift-configuration. Empty for a plain null.
    static func text(of node: Node) throws(Failure) -> String {
        do {
            // No line width: a long value is never folded.
            return try Yams.serialize(node: node, width: -1, allowUnicode: true)
        } catch {
            throw Failure(mark: node.mark, message: "cannot read this value: \(error)")
        }
    }

    /// libyaml's words for the usual cause of a syntax error in a configuration file: an unquoted value that YAML
    /// reads as syntax (`address: ::`, `server_name: *.example.com`, `path: @x`).
    private static let quotingProblems = [
        "mapping values are not allowed", "did not find expected node content", "found character that cannot start any token",
        "found undefined alias", "did not find expected alphabetic or numeric character",
    ]
    private static let quotingHint =
        "put quotes around a value that starts with a YAML symbol (: * & ! @ ` % | >) or contains ': ' or ' #', e.g. address: \"::\""

    private static func failure(from error: YamlError) -> Failure {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
            }
            if quotingProblems.contains(where: problem.contains) {
                message += "; " + quotingHint
            }
            return Failure(mark: mark, message: message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return Failure(mark: context.mark, message: "duplicate key \(keys): each key may appear only once in a section")
        case .reader(let problem, _, _, _):
            return Failure(mark: nil, message: "cannot read the YAML text: \(problem)")
        default:
            return Failure(mark: nil, message: "cannot parse YAML: \(error)")
        }
    }
}

extension Node {
    /// Whether the tree, with every alias expanded, has at most `limit` nodes. Stops counting past the limit, so the
    /// cost is bounded by `limit` however much the aliases multiply.
    fileprivate func hasAtMost(_ limit: Int) -> Bool {
        var left = limit
        return fits(within: &left)
    }

    private func fits(within left: inout Int) -> Bool {
        left -= 1
        guard left >= 0 else { return false }
        switch self {
        case .scalar, .alias:
            return true
        case .sequence(let sequence):
            return sequence.allSatisfy { $0.fits(within: &left) }
        case .mapping(let mapping):
            return mapping.allSatisfy { $0.key.fits(within: &left) && $0.value.fits(within: &left) }
        }
    }
}
