import NIOCore
import Synchronization

/// Sits next to the channel's head and counts the `read()` calls that reach it.
///
/// `EmbeddedChannel` ignores `read()`, so this is how a test sees whether a handler passed a read on or held it
/// back (backpressure). The count is atomic only so the handler can be kept in a `Sendable` fake connector.
final class ReadCounter: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = ByteBuffer

    private let reads = Atomic<Int>(0)

    var count: Int { self.reads.load(ordering: .relaxed) }

    func read(context: ChannelHandlerContext) {
        self.reads.add(1, ordering: .relaxed)
        context.read()
    }
}
