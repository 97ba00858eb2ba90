import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How a listener accepts: one listening socket per event loop, all on the same address and port (`SO_REUSEPORT`),
/// the way nginx's workers each accept from the socket.
///
/// Why: with one socket, the one loop that owns it accepts every connection and also runs its share of the TLS
/// handshakes. In a reconnect storm the accepts wait behind handshakes, the kernel's accept queue overflows and new
/// SYNs are dropped — each of those clients retries only after a second or more. With a socket per loop the kernel
/// spreads new connections over the sockets (by a hash of the addresses and ports), every loop accepts its own, and
/// the connections it accepts stay on it (the loop is its own `childGroup`: no hand-off between threads). A loop busy
/// with handshakes delays only its own share, and no accept waits behind another loop's work.
///
/// Only where `SO_REUSEPORT` balances: Linux. macOS and the BSDs accept the option but give every connection to one of
/// the sockets, so there a listener keeps one socket whose connections are spread over the group, as NIO does by
/// default. Linux lets a socket join a port bound with `SO_REUSEPORT` only if its process has the same effective user
/// ID as the first one's: no other user's process can take a share of the connections, but one of the same user can
/// (a second bridge started by mistake shares the port instead of failing); `listeners.<name>.reuse_port: false`
/// gives one socket for operators who want that failure.
///
/// Each socket is a server channel of its own: every per-socket piece (accept back-off, the accept error log, the
/// `limits.max_connections` handler, a `ServerQuiescingHelper` for the drain) is set up on each, by the `configure`
/// closure of `bind`. Closing a socket resets the connections still waiting in its accept queue; a drain closes every
/// socket at once, so none is left accepting while the others are gone.
package enum ListenerSockets {
    /// The accept queue of each socket (`listen(2)`'s backlog): Linux's `net.core.somaxconn` up to 4096 (the kernel
    /// caps the backlog at somaxconn anyway), elsewhere 1024. A reconnect storm fills a short queue before the loops
    /// catch up; a long one only holds connections the kernel has already completed.
    package static let defaultBacklog: Int32 = {
        #if os(Linux)
        return Self.backlog(somaxconn: Self.readSmallFile("/proc/sys/net/core/somaxconn"))
        #else
        return Self.fallbackBacklog
        #endif
    }()

    /// One socket per loop: only where the kernel balances `SO_REUSEPORT` sockets.
    package static let socketPerLoop: Bool = {
        #if os(Linux)
        return true
        #else
        return false
        #endif
    }()

    static let fallbackBacklog: Int32 = 1024
    static let largestBacklog: Int32 = 4096

    /// The backlog for the text of `/proc/sys/net/core/somaxconn` (nil: unreadable).
    package static func backlog(somaxconn text: String?) -> Int32 {
        let trimmed = text?.filter { !$0.isWhitespace } ?? ""
        guard let value = Int32(trimmed), value > 0 else { return Self.fallbackBacklog }
        return min(value, Self.largestBacklog)
    }

    /// The loops that get a socket: all of `group`'s where the kernel balances (`socketPerLoop`) and `reusePort` asks
    /// for it, else one.
    package static func acceptLoops(of group: any EventLoopGroup, reusePort: Bool = true) -> [any EventLoop] {
        Self.socketPerLoop && reusePort ? Array(group.makeIterator()) : [group.next()]
    }

    /// Binds one listener: a socket per loop of `acceptLoops(of: group, reusePort:)`, each from a bootstrap that
    /// `configure` completes (it is called once per socket, in order), with the backlog and, for more than one,
    /// `SO_REUSEPORT`. `bindFirst` binds the first socket (it resolves a host name, and port 0 lets the kernel choose);
    /// the others are bound to the address the first one got, so all share one port. If any bind fails, the sockets
    /// already bound are closed.
    ///
    /// - Returns: the sockets, the first one's first (its `localAddress` is the listener's).
    package static func bind(
        group: any EventLoopGroup,
        reusePort: Bool = true,
        backlog: Int32 = Self.defaultBacklog,
        configure: (ServerBootstrap) -> ServerBootstrap,
        bindFirst: (ServerBootstrap) async throws -> any Channel
    ) async throws -> [any Channel] {
        let loops = Self.acceptLoops(of: group, reusePort: reusePort)
        let sharePort = loops.count > 1
        func bootstrap(_ loop: any EventLoop) -> ServerBootstrap {
            // One socket: its connections spread over the group. A socket per loop: they stay on its loop.
            var base = sharePort ? ServerBootstrap(group: loop, childGroup: loop) : ServerBootstrap(group: group)
            base = base.serverChannelOption(.backlog, value: backlog)
            if sharePort {
                base = base.serverChannelOption(.socketOption(.so_reuseport), value: 1)
            }
            return configure(base)
        }
        let first = try await bindFirst(bootstrap(loops[0]))
        var channels = [first]
        do {
            guard sharePort else { return channels }
            guard let address = first.localAddress else {
                throw ChannelError.unknownLocalAddress
            }
            for loop in loops.dropFirst() {
                channels.append(try await bootstrap(loop).bind(to: address).get())
            }
            return channels
        } catch {
            for channel in channels { try? await channel.close() }
            throw error
        }
    }

    /// A small `/proc` file's text; nil if it cannot be read. Blocking, but only at start-up, off the event loops.
    private static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}

extension NIOBSDSocket.Option {
    /// `SO_REUSEPORT`, which NIO does not name.
    package static let so_reuseport = NIOBSDSocket.Option(rawValue: SO_REUSEPORT)
}
