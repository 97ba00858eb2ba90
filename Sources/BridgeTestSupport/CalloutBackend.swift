import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A real HTTP server on an ephemeral loopback port, standing in for the auth backend: it records every request
/// body and answers with what `respond` says (nil: never answer, to test the timeout).
package final class CalloutBackend: Sendable {
    package struct Answer: Sendable {
        package var status: HTTPResponseStatus = .ok
        package var body: String

        package init(status: HTTPResponseStatus = .ok, body: String) {
            self.status = status
            self.body = body
        }
    }

    package let channel: any Channel
    private let received = NIOLockedValueBox<[Data]>([])
    private let respond: @Sendable ([String: Any]) -> Answer?

    package var url: String { "http://127.0.0.1:\(self.channel.localAddress?.port ?? 0)/auth" }

    /// Every request body, parsed as a JSON object.
    package var requests: [[String: Any]] { self.received.withLockedValue { $0 }.map(Self.parse) }

    private static func parse(_ body: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    private init(channel: any Channel, respond: @escaping @Sendable ([String: Any]) -> Answer?) {
        self.channel = channel
        self.respond = respond
    }

    package static func with<T>(
        respond: @escaping @Sendable ([String: Any]) -> Answer?, _ body: (CalloutBackend) async throws -> T
    ) async throws -> T {
        let box = NIOLockedValueBox<CalloutBackend?>(nil)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(
                        RequestHandler { request in box.withLockedValue { $0 }?.handle(request) })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let backend = CalloutBackend(channel: channel, respond: respond)
        box.withLockedValue { $0 = backend }
        do {
            let result = try await body(backend)
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private func handle(_ body: ByteBuffer) -> Answer? {
        let data = Data(body.readableBytesView)
        self.received.withLockedValue { $0.append(data) }
        return self.respond(Self.parse(data))
    }

    private final class RequestHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private let answer: @Sendable (ByteBuffer) -> Answer?
        private let body = NIOLockedValueBox(ByteBuffer())

        init(_ answer: @escaping @Sendable (ByteBuffer) -> Answer?) {
            self.answer = answer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch self.unwrapInboundIn(data) {
            case .head:
                self.body.withLockedValue { $0.clear() }
            case .body(var chunk):
                self.body.withLockedValue { _ = $0.writeBuffer(&chunk) }
            case .end:
                guard let answer = self.answer(self.body.withLockedValue { $0 }) else { return }
                let bytes = ByteBuffer(string: answer.body)
                let head = HTTPResponseHead(
                    version: .http1_1, status: answer.status,
                    headers: ["content-type": "application/json", "content-length": "\(bytes.readableBytes)"])
                context.write(self.wrapOutboundOut(.head(head)), promise: nil)
                context.write(self.wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
