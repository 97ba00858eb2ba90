/// Why the static files could not be loaded; `description` is a sentence for the log and the 500 page.
package struct StaticFileError: Error, CustomStringConvertible, Sendable {
    package let description: String
    init(_ description: String) { self.description = description }
}
