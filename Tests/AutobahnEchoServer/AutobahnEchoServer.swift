import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import WebSocketTransport

// A WebSocket echo server on the project's own transport, for the Autobahn testsuite's fuzzingclient
// (Scripts/autobahn). Test-only: it is not a product and nothing ships it.
//
// It runs the codec the relay runs — the same reader, assembler, writer, state machine and permessage-deflate — in
// the configuration Autobahn needs: whole messages (`.messages`) and text accepted (UTF-8 checked as it arrives).
// The HTTP request is parsed by NIOHTTP1; the handshake values (accept key, permessage-deflate negotiation) are the
// transport's.
//
//   autobahn-echo-server [port]     port 0 (default): an ephemeral one; the bound port is printed as "listening PORT"

/// Echoes every message back with its kind.
final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketMessage
    typealias OutboundOut = WebSocketOutbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = self.unwrapInboundIn(data)
        let echo: WebSocketOutbound = message.kind == .text ? .text(message.data) : .binary(message.data)
        context.writeAndFlush(self.wrapOutboundOut(echo), promise: nil)
    }
}

/// A request without a valid `Sec-WebSocket-Key` or with another version than 13: NIO answers it 400.
struct NotAWebSocketRequest: Error {}

/// The server side of the opening handshake (RFC 6455 §4.2), with permessage-deflate (RFC 7692).
struct EchoUpgrader: HTTPServerProtocolUpgrader, Sendable {
    static let compression = PerMessageDeflate.Settings(
        serverMaxWindowBits: 15, clientMaxWindowBits: 15, compressionLevel: 1, memoryLevel: 8, threshold: 0)

    let supportedProtocol = "websocket"
    /// (NIO checks that the `Connection` header names these; the WebSocket headers are checked below instead.)
    let requiredUpgradeHeaders: [String] = []

    func buildUpgradeResponse(
        channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        let headers = upgradeRequest.headers
        guard let key = headers.first(name: "sec-websocket-key"), WebSocketHandshake.isValidKey(key),
            headers.first(name: "sec-websocket-version") == "13"
        else {
            return channel.eventLoop.makeFailedFuture(NotAWebSocketRequest())
        }
        // (NIO adds `Upgrade` and `Connection`.)
        var response = initialResponseHeaders
        response.add(name: "Sec-WebSocket-Accept", value: WebSocketHandshake.acceptValue(forKey: key))
        if let agreement = Self.agreement(for: upgradeRequest) {
            response.add(name: "Sec-WebSocket-Extensions", value: agreement.responseHeaderValue)
        }
        return channel.eventLoop.makeSucceededFuture(response)
    }

    func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        let compression = Self.agreement(for: upgradeRequest).map {
            WebSocketMessageCodec.Configuration.Compression(agreement: $0, settings: Self.compression)
        }
        // Autobahn's largest messages are 16 MiB (cases 9.*).
        let codec = WebSocketMessageCodec(
            configuration: .init(maximumFrameSize: 64 << 20, inbound: .messages, acceptsText: true, compression: compression))
        return context.eventLoop.makeCompletedFuture {
            try context.pipeline.syncOperations.addHandlers(codec, EchoHandler())
        }
    }

    private static func agreement(for request: HTTPRequestHead) -> PerMessageDeflate.Agreement? {
        PerMessageDeflate.negotiate(offers: request.headers["sec-websocket-extensions"], settings: Self.compression)
    }
}

let port = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 0
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let channel = try await ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.pipeline.configureHTTPServerPipeline(
            withServerUpgrade: (upgraders: [EchoUpgrader()], completionHandler: { _ in }))
    }
    .bind(host: "127.0.0.1", port: port)
    .get()
// Unbuffered, so the script reading the pipe sees the line at once.
FileHandle.standardOutput.write(Data("listening \(channel.localAddress?.port ?? 0)\n".utf8))
try await channel.closeFuture.get()
