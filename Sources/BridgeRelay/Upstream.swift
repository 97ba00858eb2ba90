/// How sessions reach the broker: the kind of connection (`upstream.kind`) and the servers to choose from.
/// Built once at start-up and shared by every session; only `UpstreamDial` uses it to dial.
package struct Upstream: Sendable {
    package var connector: any UpstreamConnector
    package var servers: any UpstreamServerSelector
    /// `upstream.max_concurrent_dials`, one gate per event loop.
    package var dialGates: UpstreamDialGates

    package init(connector: any UpstreamConnector, servers: any UpstreamServerSelector, dialGates: UpstreamDialGates = .unlimited) {
        self.connector = connector
        self.servers = servers
        self.dialGates = dialGates
    }

    /// Every server as the logs name it, e.g. `tcp://127.0.0.1:1883`.
    package var description: String {
        self.servers.servers.map { self.connector.endpointDescription(of: $0) }.joined(separator: ", ")
    }
}
