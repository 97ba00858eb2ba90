import NIOCore
import NIOEmbedded
import WebSocketTransport

/// Stands in front of the codec where the socket would be, and behaves like one about closing:
/// `EmbeddedChannel` happily accepts writes after `close`, a real socket fails them. The gate fails
/// them too (and counts them), so a close frame written after the channel closed is visibly lost.
final class WireGate: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private(set) var closed = false
    /// Writes that reached the socket after it was closed (each one is data the peer never sees).
    private(set) var writesAfterClose = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !closed else {
            writesAfterClose += 1
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(data, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        closed = true
        context.close(mode: mode, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }
}

/// The handler behind the codec: records everything that reaches it, in order, and can run a hook
/// (to test reentrancy: closing or writing from inside a callback). It reads `ByteBuffer`s (`.byteStream` mode) and
/// `WebSocketMessage`s (`.messages` mode).
final class Recorder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = WebSocketOutbound

    enum Entry: Equatable {
        case read([UInt8])
        case message(WebSocketMessageKind, [UInt8])
        case readComplete
        case event(WebSocketEvent)
        case inactive
    }

    private(set) var log: [Entry] = []
    var onRead: ((ChannelHandlerContext, ByteBuffer) -> Void)?
    var onEvent: ((ChannelHandlerContext, WebSocketEvent) -> Void)?

    /// What `.messages` mode passes on.
    private final class MessageReader: ChannelInboundHandler {
        typealias InboundIn = WebSocketMessage
    }

    /// Set for a codec in `.messages` mode.
    var readsMessages = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if readsMessages {
            let message = MessageReader.unwrapInboundIn(data)
            log.append(.message(message.kind, Array(message.data.readableBytesView)))
            onRead?(context, message.data)
            return
        }
        let buffer = unwrapInboundIn(data)
        log.append(.read(Array(buffer.readableBytesView)))
        onRead?(context, buffer)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        log.append(.readComplete)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? WebSocketEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        log.append(.event(event))
        onEvent?(context, event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        log.append(.inactive)
    }

    /// All payload bytes delivered so far, concatenated.
    var delivered: [UInt8] {
        log.flatMap { entry -> [UInt8] in
            if case .read(let bytes) = entry { return bytes }
            return []
        }
    }

    /// The messages delivered in `.messages` mode.
    var messages: [WebSocketMessage] {
        log.compactMap { entry in
            if case .message(let kind, let bytes) = entry { return WebSocketMessage(kind: kind, data: ByteBuffer(bytes: bytes)) }
            return nil
        }
    }

    /// The number of `channelRead`s that reached this handler.
    var readCount: Int {
        log.count { if case .read = $0 { true } else { false } }
    }

    var events: [WebSocketEvent] {
        log.compactMap { entry in
            if case .event(let event) = entry { return event }
            return nil
        }
    }

    /// Close codes of `.protocolViolation` events.
    var violationCodes: [UInt16] {
        events.compactMap { event in
            if case .protocolViolation(let error) = event { return error.closeCode.rawValue }
            return nil
        }
    }

    /// Whether the first `WebSocketEvent` (other than a pong) reached this handler before `channelInactive`:
    /// the handler must learn why the connection ends before it ends.
    var terminalEventPrecedesInactive: Bool {
        let event = log.firstIndex { entry in
            if case .event(let event) = entry, event != .pongReceived { return true }
            return false
        }
        guard let event else { return false }
        guard let inactive = log.firstIndex(of: .inactive) else { return true }
        return event < inactive
    }

    /// Whether any bytes were delivered after the first event (violation or close).
    var deliveredAfterFirstEvent: Bool {
        guard let first = log.firstIndex(where: { if case .event = $0 { true } else { false } }) else { return false }
        return log[first...].contains { if case .read = $0 { true } else { false } }
    }
}

/// The completion of a promise, observed on the embedded loop.
final class PromiseOutcome {
    private(set) var result: Result<Void, any Error>?

    init(_ future: EventLoopFuture<Void>) {
        future.assumeIsolated().whenComplete { self.result = $0 }
    }

    var isPending: Bool { result == nil }
    var succeeded: Bool {
        if case .success = result { return true }
        return false
    }
    var failed: Bool {
        if case .failure = result { return true }
        return false
    }
}

/// `WireGate → WebSocketMessageCodec → Recorder` on an `EmbeddedChannel`.
///
/// Inbound bytes are fed as the socket would deliver them (`channelRead`s, then `channelReadComplete`);
/// outbound bytes are what reached the socket. Every test must end with `finish()` (also done in `deinit`)
/// so that no scheduled task is left on the embedded loop.
final class CodecHarness {
    let channel: EmbeddedChannel
    let gate = WireGate()
    let recorder = Recorder()
    let configuration: WebSocketMessageCodec.Configuration
    private var finished = false

    init(_ configuration: WebSocketMessageCodec.Configuration = .init()) throws {
        self.configuration = configuration
        recorder.readsMessages = configuration.inbound == .messages
        self.channel = EmbeddedChannel(handlers: [gate, WebSocketMessageCodec(configuration: configuration), recorder])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    }

    deinit {
        finish()
    }

    func finish() {
        guard !finished else { return }
        finished = true
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    private func buffer(_ bytes: [UInt8]) -> ByteBuffer {
        channel.allocator.buffer(bytes: bytes)
    }

    /// One `channelRead` without `channelReadComplete` (part of a read burst).
    func read(_ bytes: [UInt8]) {
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(buffer(bytes)))
    }

    /// One `channelRead` of a buffer the test keeps (to check what the codec retains of it).
    func read(buffer: ByteBuffer) {
        channel.pipeline.syncOperations.fireChannelRead(NIOAny(buffer))
    }

    func readComplete() {
        channel.pipeline.syncOperations.fireChannelReadComplete()
    }

    /// One read burst: one `channelRead` per chunk, then `channelReadComplete`.
    func feed(_ chunks: [UInt8]...) {
        feed(chunks: chunks)
    }

    func feed(chunks: [[UInt8]]) {
        for chunk in chunks { read(chunk) }
        readComplete()
    }

    /// Writes one binary message with a promise, without flushing.
    @discardableResult
    func write(_ bytes: [UInt8]) -> PromiseOutcome {
        write(.binary(buffer(bytes)))
    }

    /// Writes one outbound value with a promise, without flushing.
    @discardableResult
    func write(_ outbound: WebSocketOutbound) -> PromiseOutcome {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.write(outbound, promise: promise)
        return PromiseOutcome(promise.futureResult)
    }

    func flush() {
        channel.flush()
    }

    @discardableResult
    func requestClose(_ code: WebSocketCloseCode, reason: String = "", keepsReceiving: Bool = false) -> PromiseOutcome {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(WebSocketOutbound.close(code, reason: reason, keepsReceiving: keepsReceiving), promise: promise)
        return PromiseOutcome(promise.futureResult)
    }

    /// The buffers that reached the socket since the last call, in order.
    func outboundBuffers() throws -> [ByteBuffer] {
        var buffers: [ByteBuffer] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            buffers.append(buffer)
        }
        return buffers
    }

    /// The frames that reached the socket since the last call (parsed independently).
    func outboundFrames() throws -> [ServerFrame] {
        try ServerFrame.parseAll(outboundBuffers().flatMap { Array($0.readableBytesView) })
    }

    var isClosed: Bool { !channel.isActive }
}
