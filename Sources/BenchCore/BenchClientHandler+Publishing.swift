import MQTTWire
import NIOCore

// The publisher role: unpaced (as fast as writability and the QoS 1 window allow), paced (`RatePacer`), closed
// loop, or bounded by the run's outstanding window. Every path ends in `writeBatch`: many PUBLISHes encoded into
// one buffer, one write and one flush.
extension BenchClientHandler {
    /// Starts publishing (publisher role, once ready); `now` is the schedule's start for a paced publisher.
    /// After this, `LoopWorker` calls `publishTick()` every millisecond.
    func startPublishing(now: UInt64) {
        guard case .publisher = self.role, case .ready = self.state, !self.publishing else {
            return
        }
        self.publishing = true
        if let rate = self.settings.ratePerPublisher {
            // A burst limit of 100 ms worth of messages (at least 16) bounds the catch-up after a stall.
            self.pacer = RatePacer(rate: rate, startNanoseconds: now, maximumBurst: max(Int(rate / 10), 16))
        }
        self.publishTick()
    }

    /// Stops publishing; messages in flight still complete.
    func stopPublishing() {
        self.publishing = false
        if let pacer = self.pacer {
            self.worker.counters.rateSkipped += pacer.skipped
            self.pacer = nil
        }
    }

    var isPublisher: Bool {
        if case .publisher = self.role { return true }
        return false
    }

    /// The loop's publishing timer: a paced publisher sends what is due, an unpaced one tops up its socket.
    ///
    /// Why a timer and not `eventLoop.execute` to keep an unpaced publisher going: SwiftNIO runs tasks that were
    /// enqueued while it runs tasks in the same loop tick, so a publisher that re-enqueues itself keeps the loop
    /// from ever reading — subscribers on the same loop would starve. An unpaced publisher instead writes until
    /// its channel stops being writable and resumes on `channelWritabilityChanged` (an I/O event); the timer
    /// only matters when the server absorbs everything (then the generator is the bottleneck anyway).
    func publishTick() {
        if self.pacer != nil {
            self.publishDue()
        } else {
            self.pump()
        }
    }

    fileprivate var windowIsOpen: Bool {
        (self.packetIDs?.count ?? 0) < self.settings.inflight
    }

    /// Unlimited rate: batches until the channel is not writable, the QoS 1 window is full, or 16 batches went
    /// out in this call (then the loop gets to read before the next timer tick).
    fileprivate func pump() {
        guard self.publishing, self.pacer == nil, !self.pumping, let context = self.context else { return }
        self.pumping = true
        defer { self.pumping = false }
        var batches = 0
        while batches < 16, self.publishing, context.channel.isWritable, self.windowIsOpen {
            if self.writeBatch(context: context, maximumCount: Int.max) == 0 { break }
            batches += 1
        }
    }

    /// Paced rate: sends what the schedule says is due, as far as writability allows.
    fileprivate func publishDue() {
        guard self.publishing, let context = self.context, var pacer = self.pacer else { return }
        let due = pacer.due(at: NIODeadline.now().uptimeNanoseconds)
        var sent = 0
        while sent < due, context.channel.isWritable, self.windowIsOpen {
            let written = self.writeBatch(context: context, maximumCount: due - sent)
            if written == 0 { break }
            sent += written
        }
        if sent < due {
            pacer.giveBack(due - sent)
        }
        self.pacer = pacer
    }

    /// Encodes up to `maximumCount` PUBLISHes (bounded by the batch size and the QoS 1 window) into one buffer and
    /// writes and flushes it. Returns how many were written.
    fileprivate func writeBatch(context: ChannelHandlerContext, maximumCount: Int) -> Int {
        let packetEstimate = self.settings.payloadSize + self.topic.utf8.count + 16
        let capacity = min(max(self.settings.batchBytes, packetEstimate), packetEstimate * min(maximumCount, 1 << 16))
        var batch = context.channel.allocator.buffer(capacity: capacity)
        let now = NIODeadline.now().uptimeNanoseconds
        var count = 0
        var maximumCount = maximumCount
        if self.settings.closedLoop {
            guard self.worker.allDelivered else { return 0 }
            maximumCount = 1
        }
        let fanOut = self.settings.fanOut.isEmpty ? 1 : max(1, self.settings.fanOut[self.topicIndex])
        if let window = self.settings.outstanding {
            maximumCount = min(maximumCount, window.room / fanOut)
            guard maximumCount > 0 else { return 0 }
        }
        let publisherIndex: UInt32
        if case .publisher(let index, _) = self.role {
            publisherIndex = UInt32(truncatingIfNeeded: index)
        } else {
            return 0
        }
        while count < maximumCount && self.windowIsOpen && (count == 0 || batch.readableBytes + packetEstimate <= self.settings.batchBytes)
        {
            self.sequence += 1
            if self.settings.stampsPayloads {
                LatencyStamp(publisher: publisherIndex, sequence: self.sequence, sentAt: now).write(into: &self.payload)
            }
            var packetID: UInt16?
            if self.settings.qos > 0 {
                packetID = self.packetIDs?.take()
            }
            MQTTPacket.writePublish(
                topic: self.topic, payload: self.payload, qos: self.settings.qos, packetID: packetID,
                version: self.settings.version, to: &batch)
            count += 1
        }
        guard count > 0 else { return 0 }
        self.worker.counters.published += UInt64(count)
        self.worker.counters.publishedBytes += UInt64(count * self.settings.payloadSize)
        self.worker.publishedPerTopic[self.topicIndex] += UInt64(count)
        self.worker.expectedDeliveries += UInt64(count) * UInt64(self.worker.subscribersPerTopic[self.topicIndex])
        self.settings.outstanding?.published(deliveries: count * fanOut)
        context.writeAndFlush(self.wrapOutboundOut(batch), promise: nil)
        return count
    }
}
