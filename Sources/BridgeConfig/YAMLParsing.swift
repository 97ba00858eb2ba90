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

    /// An environment or `--set` value, read with YAML's rules so that `[mqtt, mqttv3.1]` is a list and `8443` a number.
    /// An empty value is YAML's null.
    static func composeValue(_ text: String) throws(ValueError) -> Node {
        do {
            return try compose(text) ?? Node("")
        } catch {
            throw ValueError("'\(text)' is not a valid YAML value: \(error.message) (quote it if it starts with a YAML symbol such as * & ! % @)")
        }
    }

    private static func failure(from error: YamlError) -> Failure {
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context {
                message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))"
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
