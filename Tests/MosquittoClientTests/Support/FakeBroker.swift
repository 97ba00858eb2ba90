import BridgeTestSupport
import Dispatch
import NIOConcurrencyHelpers
import Synchronization

/// A scripted stand-in for a broker on 127.0.0.1, for what a real Mosquitto will not do on demand: accept a session
/// and then never acknowledge, or drop the connection while publishes are waiting.
final class FakeBroker: Sendable {
    enum Script: Sendable {
        /// CONNACK success, then read and ignore everything.
        case acceptAndIgnore
        /// CONNACK success, read `count` PUBLISH packets without answering, then close the connection.
        case acceptThenCloseAfterPublishes(count: Int)
    }

    let port: Int
    private let listener: TestSocket
    private let client = NIOLockedValueBox<TestSocket?>(nil)
    /// How many PUBLISH packets arrived (for assertions).
    private let publishesSeen = Synchronization.Atomic<Int>(0)
    private let done = DispatchSemaphore(value: 0)

    init(_ script: Script) throws {
        (listener, port) = try TestSocket.listen()
        DispatchQueue.global().async { [self] in
            defer { done.signal() }
            guard let connection = try? listener.accept(timeout: .seconds(20)) else { return }
            client.withLockedValue { $0 = connection }
            do {
                let connect = try RawMQTT.readPacket(connection, timeout: .seconds(10))
                guard connect.type == 1 else { return }
                try connection.send(RawMQTT.connackAccepted)
                switch script {
                case .acceptAndIgnore:
                    while true {
                        let packet = try RawMQTT.readPacket(connection, timeout: .seconds(30))
                        if packet.type == 3 { publishesSeen.add(1, ordering: .relaxed) }
                    }
                case .acceptThenCloseAfterPublishes(let count):
                    while publishesSeen.load(ordering: .relaxed) < count {
                        let packet = try RawMQTT.readPacket(connection, timeout: .seconds(10))
                        if packet.type == 3 { publishesSeen.add(1, ordering: .relaxed) }
                    }
                    connection.close()
                    client.withLockedValue { $0 = nil }
                }
            } catch {
                // The client went away or a timeout passed: the script ends.
            }
        }
    }

    var publishCount: Int { publishesSeen.load(ordering: .relaxed) }

    /// Closes everything and waits for the script's thread to end.
    func stop() async {
        client.withLockedValue {
            $0?.close()
            $0 = nil
        }
        listener.close()
        _ = try? await offload { [done] in done.wait() }
    }
}
