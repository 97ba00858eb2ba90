import Foundation

extension Duration {
    /// The duration in seconds, for `Date` arithmetic (token times are `Date`s, as jwt-kit's claims give them).
    var timeInterval: TimeInterval {
        TimeInterval(self.components.seconds) + TimeInterval(self.components.attoseconds) / 1e18
    }
}
