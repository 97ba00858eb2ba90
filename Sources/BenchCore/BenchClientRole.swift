/// What one connection of the generator does once its CONNACK has arrived.
package enum BenchClientRole: Sendable, Hashable {
    /// Publishes to one topic when told to start (`LoopWorker.startPublishing`).
    case publisher(index: Int, topicIndex: Int)
    /// Subscribes to one topic and counts, times and checks what arrives.
    case subscriber(index: Int, topicIndex: Int)
    /// Stays connected and idle (PINGREQ at the keep-alive interval): the connect and hold scenarios.
    case idle(index: Int)

    /// The client id: "<prefix>-p3", "<prefix>-s3", "<prefix>-c3".
    func clientID(prefix: String) -> String {
        switch self {
        case .publisher(let index, _): "\(prefix)-p\(index)"
        case .subscriber(let index, _): "\(prefix)-s\(index)"
        case .idle(let index): "\(prefix)-c\(index)"
        }
    }
}
