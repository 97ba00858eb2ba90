/// A problem with the command line or the configuration, reported before any connection is opened.
package struct BenchUsageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One sentence naming the option or value and what is wrong with it.
    package var message: String

    package init(_ message: String) {
        self.message = message
    }

    package var description: String { self.message }
}
