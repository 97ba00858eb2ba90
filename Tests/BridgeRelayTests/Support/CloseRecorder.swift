import NIOConcurrencyHelpers
import NIOCore

/// Sits next to the head of a broker connection and records how the bridge closes it.
///
/// `EmbeddedChannel` treats every close as a full close. With `emulateHalfClose`, a `.output` close is only
/// recorded and succeeded, so the channel stays active like a socket whose write side was shut down; that is how
/// a test sees the bridge's later full close.
final class CloseRecorder: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = ByteBuffer

    private let recorded = NIOLockedValueBox<[CloseMode]>([])
    let emulateHalfClose: Bool

    init(emulateHalfClose: Bool) {
        self.emulateHalfClose = emulateHalfClose
    }

    var modes: [CloseMode] { self.recorded.withLockedValue { $0 } }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        self.recorded.withLockedValue { $0.append(mode) }
        if mode == .output && self.emulateHalfClose {
            promise?.succeed()
            return
        }
        context.close(mode: mode, promise: promise)
    }
}
