import NIOConcurrencyHelpers
import NIOCore

/// Where `ProxyProtocolHandler` leaves its decision, for code that needs the real client address later and
/// synchronously (access log, per-IP limits, the outbound PROXY header) without catching the event.
///
/// Create one per connection (or let the handler create it) and keep a reference next to the handler; it stays
/// valid after the handler has removed itself. Thread-safe: the state sits behind a lock, and it changes once,
/// from `.pending` to a final state, on the channel's event loop.
package final class ProxyProtocolOutcome: Sendable {
    package enum State: Hashable, Sendable {
        /// The handler is still waiting for the first bytes, or has not been added yet.
        case pending
        /// A header was accepted.
        case received(ProxyProtocolHeader)
        /// No header (allowed by configuration): the connection's own addresses apply.
        case absent
        /// The connection was refused.
        case rejected(ProxyProtocolError)
    }

    private let storage = NIOLockedValueBox(State.pending)

    package init() {}

    /// The current state.
    package var state: State {
        self.storage.withLockedValue { $0 }
    }

    /// The accepted header, if any.
    package var header: ProxyProtocolHeader? {
        guard case .received(let header) = self.state else {
            return nil
        }
        return header
    }

    /// The client's address: the header's source when a header with a PROXY command and an IP source was accepted,
    /// `peer` (the channel's remote address) in every other case.
    package func clientAddress(peer: SocketAddress?) -> SocketAddress? {
        self.header?.sourceAddress ?? peer
    }

    /// Records the final state; later calls are ignored (the first decision stands).
    func resolve(_ state: State) {
        self.storage.withLockedValue { current in
            if current == .pending {
                current = state
            }
        }
    }
}
