import NIOCore

/// One `LoopWorker` per event loop of the generator's group, reachable from any thread.
struct LoopWorkers: Sendable {
    private let workers: [NIOLoopBound<LoopWorker>]

    /// Creates a worker on each loop of `group` (a worker may only be touched from its loop).
    static func make(on group: any EventLoopGroup, topics: Int) async throws -> LoopWorkers {
        var workers: [NIOLoopBound<LoopWorker>] = []
        for eventLoop in group.makeIterator() {
            let worker = try await eventLoop.submit {
                NIOLoopBound(LoopWorker(eventLoop: eventLoop, topics: topics), eventLoop: eventLoop)
            }.get()
            workers.append(worker)
        }
        return LoopWorkers(workers: workers)
    }

    /// The worker of `eventLoop`; call it on that loop.
    func worker(for eventLoop: any EventLoop) -> LoopWorker? {
        self.workers.first { $0.eventLoop === eventLoop }?.value
    }

    /// Runs `body` on every loop with its worker and collects the results (in loop order).
    func onEach<T: Sendable>(_ body: @escaping @Sendable (LoopWorker) -> T) async throws -> [T] {
        var results: [T] = []
        for worker in self.workers {
            results.append(try await worker.eventLoop.submit { body(worker.value) }.get())
        }
        return results
    }

    func snapshots(takingLatency: Bool) async throws -> [LoopSnapshot] {
        try await self.onEach { $0.snapshot(takingLatency: takingLatency) }
    }

    func startPublishing() async throws {
        let now = NIODeadline.now().uptimeNanoseconds
        _ = try await self.onEach { $0.startPublishing(now: now) }
    }

    func stopPublishing() async throws {
        _ = try await self.onEach { $0.stopPublishing() }
    }

    /// DISCONNECT and close every connection; waits until all are closed (at most `timeout`).
    func disconnectAll(timeout: TimeAmount) async {
        await self.onEachUntilClosed(timeout: timeout) { $0.disconnectAll() }
    }

    /// Cuts every connection at once (reset, no goodbye); waits until all are closed (at most `timeout`).
    func cutAll(timeout: TimeAmount) async {
        await self.onEachUntilClosed(timeout: timeout) { $0.cutAll() }
    }

    private func onEachUntilClosed(timeout: TimeAmount, _ body: @escaping @Sendable (LoopWorker) -> EventLoopFuture<Void>) async {
        var futures: [EventLoopFuture<Void>] = []
        for worker in self.workers {
            let future = worker.eventLoop.flatSubmit { body(worker.value) }
            futures.append(future)
        }
        guard let first = self.workers.first else { return }
        let all = EventLoopFuture.andAllComplete(futures, on: first.eventLoop)
        let deadline = first.eventLoop.scheduleTask(in: timeout) {}
        _ = try? await first.eventLoop.any([all, deadline.futureResult]).get()
        deadline.cancel()
    }
}

extension EventLoop {
    /// Completes when the first of `futures` completes (whatever its result).
    fileprivate func any(_ futures: [EventLoopFuture<Void>]) -> EventLoopFuture<Void> {
        let promise = self.makePromise(of: Void.self)
        for future in futures {
            future.whenComplete { _ in promise.succeed(()) }
        }
        return promise.futureResult
    }
}
