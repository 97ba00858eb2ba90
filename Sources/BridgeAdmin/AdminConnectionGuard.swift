import Logging
import NIOCore
import NIOHTTP1

/// Bounds what one admin connection may cost, in time and in memory, whatever the client does.
///
/// - **Waiting for the client** (`idleTimeout`, `admin.idle_timeout`): from accept or from the moment the last
///   answer has reached the socket until the next request head, and from that head until the request's end. The clock stops while complete requests
///   are being answered (a QoS 2 publish may wait for the broker; `admin.publish.ack_timeout` bounds that).
/// - **Waiting for the client to read** (`writeTimeout`, `admin.write_timeout`): while any part of an answer is
///   written but not yet handed to the socket, each write must complete within this time. A client that stops
///   reading is closed; one that reads slowly but steadily — or a long-lived answer that keeps flowing — is not.
/// - **Pipelining**: at most `maxPipelinedRequests` complete requests may wait for their answers. More than that in
///   what the client sent is a flood (a client pipelining thousands of `GET /metrics` and reading nothing), and the
///   connection is closed at once rather than queueing their answers.
///
/// It sits between the HTTP decoder and `HTTPServerPipelineHandler`, so it sees every request as decoded, before
/// the pipeline handler holds the pipelined ones back.
final class AdminConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    struct Limits: Sendable {
        var idleTimeout: TimeAmount
        var writeTimeout: TimeAmount
        var maxPipelinedRequests: Int
    }

    /// Requests per connection waiting for their answers: a browser or a scraper never has more than one; a client
    /// that pipelines has a few.
    static let maxPipelinedRequests = 16

    private let limits: Limits
    private let logger: Logger
    private var idleTimer: Scheduled<Void>?
    private var writeTimer: Scheduled<Void>?
    /// Requests received to their end whose answer has not ended yet.
    private var unanswered = 0
    /// Writes not yet completed (handed to the socket, or failed).
    private var pendingWrites = 0
    /// Once closing, nothing more is passed on: the decoder may still hold requests from the same read.
    private var isClosing = false

    init(limits: Limits, logger: Logger) {
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armIdle(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armIdle(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosing else { return }
        switch unwrapInboundIn(data) {
        case .head:
            if unanswered == 0 { armIdle(context) }
        case .body:
            break
        case .end:
            unanswered += 1
            idleTimer?.cancel()
            idleTimer = nil
            if unanswered > limits.maxPipelinedRequests {
                close(context, "more than \(limits.maxPipelinedRequests) pipelined requests waiting for answers")
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            // An answer sent before its request was read to the end (401, 413 …) answers nothing that was counted.
            unanswered = max(0, unanswered - 1)
        }
        let written = promise ?? context.eventLoop.makePromise()
        pendingWrites += 1
        if pendingWrites == 1 { armWrite(context) }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        written.futureResult.assumeIsolated().whenComplete { [self] _ in
            pendingWrites -= 1
            if pendingWrites > 0 {
                armWrite(loopBound.value)  // progress: the next write gets its own time
                return
            }
            writeTimer?.cancel()
            writeTimer = nil
            // Everything answered has reached the socket: now the server waits for the client's next request.
            if unanswered == 0 { armIdle(loopBound.value) }
        }
        context.write(data, promise: written)
    }

    private func armIdle(_ context: ChannelHandlerContext) {
        idleTimer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: limits.idleTimeout) { [self] in
            close(loopBound.value, "no request within admin.idle_timeout")
        }
    }

    private func armWrite(_ context: ChannelHandlerContext) {
        writeTimer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        writeTimer = context.eventLoop.assumeIsolated().scheduleTask(in: limits.writeTimeout) { [self] in
            close(loopBound.value, "the client did not read the answer within admin.write_timeout")
        }
    }

    private func close(_ context: ChannelHandlerContext, _ reason: String) {
        guard !isClosing else { return }
        isClosing = true
        cancelTimers()
        logger.debug(
            "admin connection closed",
            metadata: [
                "reason": "\(reason)", "client": "\(context.channel.remoteAddress.map { "\($0)" } ?? "?")",
            ])
        context.close(promise: nil)
    }

    private func cancelTimers() {
        idleTimer?.cancel()
        idleTimer = nil
        writeTimer?.cancel()
        writeTimer = nil
    }
}
