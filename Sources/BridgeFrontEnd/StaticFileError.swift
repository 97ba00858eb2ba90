/// Why the static files could not be loaded; `description` is a sentence for the log and the 500 page.
public struct StaticFileError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
