/// A problem with the command line or the configuration, reported before any connection is opened.
public struct BenchUsageError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One sentence naming the option or value and what is wrong with it.
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { self.message }
}
