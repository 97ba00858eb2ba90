import NIOHTTP1
import ServiceLifecycle

/// `GET /api/v1/events`: the operations view as Server-Sent Events, one `stats` event per `interval`.
///
/// Bounded per viewer: an event is written only when the previous write was taken (the writer waits while the
/// channel's write buffer is over its high watermark), and events are not queued — a viewer that falls behind gets
/// the latest sample next, never a backlog. A viewer that stops reading altogether is closed by `AdminConnectionGuard` once a write has
/// waited `admin.write_timeout`. Samples are shared: all viewers together cost one sample per interval.
struct EventStream: Sendable {
    static let path = "/api/v1/events"
    /// Browsers reconnect after this long when the stream breaks.
    static let retryMilliseconds = 2000

    let sampler: OperationsSampler
    let interval: Duration
    let access: AdminAccess

    var route: AdminRoute {
        AdminRoute(
            path: Self.path, methods: [.GET],
            admission: { [access] head in access.refusal(head, scope: .admin) },
            bodyLimit: AdminEndpoints.otherBodyLimit,
            tooLarge: { .error(.payloadTooLarge, "request bodies are not used here") },
            respond: { _, _ in
                AdminResponse(
                    status: .ok,
                    headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"), ("X-Accel-Buffering", "no")],
                    stream: AdminBodyStream { write in try await run(write) })
            })
    }

    /// Writes events until the client goes (a write throws) or the listener shuts down.
    func run(_ write: @Sendable ([UInt8]) async throws -> Void) async throws {
        try await write(Array("retry: \(Self.retryMilliseconds)\n\n".utf8))
        try await Self.pace(interval: interval, clock: ContinuousClock()) {
            try await write(Self.event(sampler.current()))
        }
    }

    /// Calls `emit` once, then once per `interval` after the previous call returned, until shutdown or cancellation.
    /// A slow `emit` (a viewer that reads slowly) delays the next one: never more than one event is in flight.
    static func pace<C: Clock>(
        interval: Duration, clock: C, _ emit: () async throws -> Void
    ) async throws where C.Duration == Duration {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try await emit()
            try await clock.sleep(for: interval)
        }
    }

    /// `event: stats` with one line of JSON as its data.
    static func event(_ json: [UInt8]) -> [UInt8] {
        Array("event: stats\ndata: ".utf8) + json + Array("\n\n".utf8)
    }
}
