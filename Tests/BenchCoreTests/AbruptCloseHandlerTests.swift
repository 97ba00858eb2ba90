import NIOCore
import NIOEmbedded
import Testing

@testable import BenchCore

/// A storm's cut closes the connection below everything else, reached through the pipeline, not by type.
@Suite struct AbruptCloseHandlerTests {
    /// Stands for the handlers between the client handler and the bottom (TLS, WebSocket): it forwards outbound
    /// events as NIOSSL's handler does, and records whether it was asked to close.
    final class Middle: ChannelOutboundHandler {
        typealias OutboundIn = NIOAny
        var closeRequests = 0
        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            self.closeRequests += 1
            context.close(mode: mode, promise: promise)
        }
    }

    struct OtherEvent: Sendable {}

    @Test func theRequestClosesTheChannelBelowTheHandlersAboveIt() throws {
        let middle = Middle()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([AbruptCloseHandler(), middle])
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1883)).wait()
        let openBefore = channel.isActive
        let top = try channel.pipeline.syncOperations.context(handler: middle)

        let closed = channel.eventLoop.makePromise(of: Void.self)
        top.triggerUserOutboundEvent(AbruptCloseHandler.Request(), promise: closed)
        try closed.futureResult.wait()
        let openAfter = channel.isActive
        #expect(openBefore && !openAfter)
        #expect(middle.closeRequests == 0, "the handlers above the cut never see a close")
    }

    @Test func otherEventsPassOn() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(AbruptCloseHandler())
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 1883)).wait()
        let passed = channel.eventLoop.makePromise(of: Void.self)
        channel.pipeline.triggerUserOutboundEvent(OtherEvent(), promise: passed)
        // EmbeddedChannel's head refuses user events it does not know: the event reached it, the channel stays open.
        var refusedByTheHead = false
        passed.futureResult.whenFailure { _ in refusedByTheHead = true }
        let stillOpen = channel.isActive
        #expect(refusedByTheHead && stillOpen)
        _ = try? channel.finish()
    }
}
