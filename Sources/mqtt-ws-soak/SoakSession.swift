import MQTTWire
import NIOCore

/// One persistent MQTT session (clean session false, a fixed client id) that reconnects until stopped.
///
/// Confined to `loop`: every method runs on it (the closures from `MQTTLinkHandler` arrive there too), which is
/// why the class can be shared with the timers and futures that call back into it.
final class SoakSession: @unchecked Sendable {
    let name: String
    let clientID: String
    let loop: any EventLoop
    private let endpoint: SoakEndpoint
    private let keepAlive: UInt16 = 30

    /// Called after every accepted CONNACK, with its session-present flag.
    var onConnected: (_ sessionPresent: Bool) -> Void = { _ in }
    /// Called for every packet other than CONNACK and PINGRESP.
    var onPacket: (_ header: MQTTFixedHeader, _ packet: ByteBuffer) -> Void = { _, _ in }

    private(set) var isConnected = false
    /// Connections that ended while the session was running (each was followed by a reconnect).
    private(set) var disconnects = 0
    private(set) var failedDials = 0
    private var channel: (any Channel)?
    private var stopped = false
    private var pinger: RepeatedTask?

    init(name: String, clientID: String, endpoint: SoakEndpoint, loop: any EventLoop) {
        self.name = name
        self.clientID = clientID
        self.endpoint = endpoint
        self.loop = loop
    }

    func start() {
        self.loop.preconditionInEventLoop()
        self.dial()
    }

    /// Writes packets built by `build` (not flushed); dropped when not connected (the caller resends on reconnect).
    func write(_ build: (inout ByteBuffer) -> Void) {
        self.loop.preconditionInEventLoop()
        guard self.isConnected, let channel = self.channel else { return }
        var buffer = channel.allocator.buffer(capacity: 128)
        build(&buffer)
        channel.write(buffer, promise: nil)
    }

    func flush() {
        self.channel?.flush()
    }

    /// Closes the connection without DISCONNECT (a network cut as the client sees it); the session reconnects.
    func cut() {
        self.channel?.close(promise: nil)
    }

    /// DISCONNECT, close, and no more reconnects.
    func stop() -> EventLoopFuture<Void> {
        self.loop.preconditionInEventLoop()
        self.stopped = true
        self.pinger?.cancel()
        guard let channel = self.channel else { return self.loop.makeSucceededVoidFuture() }
        if self.isConnected {
            var buffer = channel.allocator.buffer(capacity: 2)
            MQTTPacket.writeDisconnect(version: .v3_1_1, to: &buffer)
            channel.writeAndFlush(buffer, promise: nil)
        }
        channel.close(promise: nil)
        return channel.closeFuture
    }

    private func dial() {
        guard !self.stopped else { return }
        let events = NIOLoopBound<(MQTTLinkEvent) -> Void>({ [self] event in self.handle(event) }, eventLoop: self.loop)
        self.endpoint.connect(on: self.loop, events: events).whenComplete { [self] result in
            switch result {
            case .success(let channel):
                // The session adopts the channel once MQTT can flow on it (`.ready`).
                if self.stopped {
                    channel.close(promise: nil)
                }
            case .failure:
                self.failedDials += 1
                self.redialSoon()
            }
        }
    }

    private func redialSoon() {
        guard !self.stopped else { return }
        self.loop.scheduleTask(in: .milliseconds(100)) { [self] in self.dial() }
    }

    private func handle(_ event: MQTTLinkEvent) {
        switch event {
        case .ready(let channel):
            guard !self.stopped else {
                channel.close(promise: nil)
                return
            }
            self.channel = channel
            var buffer = channel.allocator.buffer(capacity: 64)
            MQTTPacket.writeConnect(
                version: .v3_1_1, clientID: self.clientID, keepAlive: self.keepAlive, cleanStart: false, to: &buffer)
            channel.writeAndFlush(buffer, promise: nil)
        case .packet(let header, let packet):
            switch header.type {
            case .connack:
                guard let connack = try? MQTTPacket.Connack(parsing: packet, version: .v3_1_1), connack.returnCode == 0
                else {
                    self.cut()
                    return
                }
                self.isConnected = true
                self.startPinging()
                self.onConnected(connack.sessionPresent)
            case .pingresp:
                break
            default:
                self.onPacket(header, packet)
            }
        case .readComplete:
            self.flush()
        case .closed:
            let wasOpen = self.isConnected
            self.isConnected = false
            self.channel = nil
            self.pinger?.cancel()
            self.pinger = nil
            if wasOpen && !self.stopped {
                self.disconnects += 1
            }
            self.redialSoon()
        }
    }

    private func startPinging() {
        self.pinger?.cancel()
        let interval = TimeAmount.seconds(Int64(self.keepAlive) / 2)
        self.pinger = self.loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            self.write { MQTTPacket.writePingreq(to: &$0) }
            self.flush()
        }
    }
}
