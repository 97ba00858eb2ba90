import NIOCore

extension TimeAmount {
    /// `300 ms`, `10 s`: a timeout as people write it, for close reasons and log lines (here and in the relay).
    package var humanDescription: String {
        let milliseconds = self.nanoseconds / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
