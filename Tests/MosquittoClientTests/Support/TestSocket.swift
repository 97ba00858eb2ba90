import BridgeTestSupport
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking TCP socket for test peers (raw MQTT subscriber, fake brokers). Every read waits at most `timeout`.
/// Blocking calls must run through `offload`, never on a cooperative thread.
struct TestSocket: Sendable {
    let fd: Int32

    static func connect(host: String = "127.0.0.1", port: Int) throws -> TestSocket {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed: \(errno)") }
        var address = Self.loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                systemConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            systemClose(fd)
            throw TestSupportError("connect to \(host):\(port) failed: \(String(cString: strerror(code)))")
        }
        return TestSocket(fd: fd)
    }

    /// A listening socket on 127.0.0.1 and an ephemeral port. Connections complete in the kernel's backlog even if
    /// nobody calls `accept` — which is how the "broker that never answers" is made.
    static func listen() throws -> (socket: TestSocket, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed: \(errno)") }
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, systemListen(fd, 16) == 0 else {
            systemClose(fd)
            throw TestSupportError("bind/listen failed: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (TestSocket(fd: fd), Int(UInt16(bigEndian: address.sin_port)))
    }

    func accept(timeout: Duration) throws -> TestSocket {
        try waitReadable(timeout: timeout, what: "a connection")
        let client = systemAccept(fd)
        guard client >= 0 else { throw TestSupportError("accept() failed: \(errno)") }
        return TestSocket(fd: client)
    }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let result = bytes.withUnsafeBytes { systemSend(fd, $0.baseAddress! + sent, bytes.count - sent) }
            guard result > 0 else { throw TestSupportError("send() failed: \(errno)") }
            sent += result
        }
    }

    /// Exactly `count` bytes, or throws on EOF/timeout.
    func receive(exactly count: Int, timeout: Duration) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var received = 0
        let deadline = ContinuousClock.now + timeout
        while received < count {
            try waitReadable(timeout: deadline - ContinuousClock.now, what: "\(count) bytes")
            let result = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + received, count - received, 0) }
            guard result > 0 else { throw TestSupportError(result == 0 ? "peer closed the connection" : "recv() failed: \(errno)") }
            received += result
        }
        return buffer
    }

    /// True when the peer has closed the connection within `timeout` (data before the EOF is discarded).
    func waitForClose(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            guard (try? waitReadable(timeout: deadline - ContinuousClock.now, what: "EOF")) != nil else { return false }
            let result = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, 4096, 0) }
            if result <= 0 { return true }
        }
    }

    func close() {
        systemShutdown(fd)
        systemClose(fd)
    }

    private func waitReadable(timeout: Duration, what: String) throws {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = max(
            0, Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        let ready = poll(&descriptor, 1, milliseconds)
        guard ready > 0 else { throw TestSupportError("timed out waiting for \(what)") }
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

/// Runs blocking test I/O on a Dispatch thread so no cooperative thread is held.
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try body() })
        }
    }
}

// The system calls under names that do not collide with TestSocket's methods.
private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}
private func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 { listen(fd, backlog) }
private func systemAccept(_ fd: Int32) -> Int32 { accept(fd, nil, nil) }
private func systemSend(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    send(fd, bytes, count, Int32(MSG_NOSIGNAL))
    #else
    send(fd, bytes, count, 0)
    #endif
}
private func systemShutdown(_ fd: Int32) { _ = shutdown(fd, Int32(SHUT_RDWR)) }
private func systemClose(_ fd: Int32) { _ = close(fd) }
