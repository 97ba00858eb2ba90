import Yams

/// Yams calls and their errors, turned into something a user can act on.
enum YAMLParsing {
    /// A YAML error as a position (when libyaml knows it) and one line of text.
    struct Failure: Error {
        let mark: Mark?
        let message: String
    }

    /// The document's root node; `nil` for an empty document or one with only comments.
    static func compose(_ text: String) throws(Failure) -> Node? {
        do {
            // The encoding is explicit because `.default` consults (and prints about) an environment variable.
            return try Yams.compose(yaml: text, .default, .default, .utf8)
        } catch let error as YamlError {
            throw failure(from: error)
        } catch {
            throw Failure(mark: nil, message: "cannot parse YAML")
        }
    }

    /// libyaml's words for the usual cause of a syntax error in a configuration file: an unquoted value that YAML
    /// reads as syntax (`address: ::`, `server_name: *.example.com`, `path: @x`).
    private static let quotingProblems = [
        "mapping values are not allowed", "did not find expected node content", "found character that cannot start any token",
        "found undefined alias", "did not find expected alphabetic or numeric character",
    ]
    private static let quotingHint = "put quotes around a value that starts with a YAML symbol (: * & ! @ ` % | >) or contains ': ' or ' #', e.g. address: \"::\""

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
