import BridgeTestSupport
import NIOCore
import Testing
import WebSocketTransport

/// Seeded random input: the codec must never crash, never deliver bytes after it gave up or the
/// peer closed, and always leave well-formed server frames on the wire.
@Suite struct CodecFuzzTests {
    /// Checks the invariants that hold for any input; returns a description of the first broken one.
    private func brokenInvariant(_ harness: CodecHarness) -> String? {
        let log = harness.recorder.log
        let terminal = log.firstIndex { entry in
            if case .event(let event) = entry, event != .pongReceived { return true }
            return false
        }
        let terminalEvents = harness.recorder.events.filter { $0 != .pongReceived }
        if terminalEvents.count > 1 { return "more than one terminal event: \(terminalEvents)" }
        if let terminal, log[terminal...].contains(where: { if case .read = $0 { true } else { false } }) {
            return "bytes delivered after \(terminalEvents)"
        }

        let frames: [ServerFrame]
        do {
            frames = try harness.outboundFrames()
        } catch {
            return "malformed output: \(error)"
        }
        if let bad = frames.first(where: { $0.masked || !$0.fin || $0.rsv != 0 || ![0x8, 0xA].contains($0.opcode) }) {
            return "unexpected frame \(bad)"
        }
        if let closeIndex = frames.firstIndex(where: { $0.opcode == 0x8 }), closeIndex != frames.count - 1 {
            return "frames after the close frame: \(frames)"
        }
        if frames.contains(where: { $0.opcode == 0xA && $0.payload.count > 125 }) { return "pong over 125 bytes" }

        switch terminalEvents.first {
        case .protocolViolation(let error):
            if !harness.isClosed { return "still open after \(error)" }
            if frames.last?.closeCode != error.closeCode.rawValue { return "close frame \(String(describing: frames.last)) for \(error)" }
        case .closeReceived(let code, _):
            if !harness.isClosed { return "still open after the peer's close" }
            if frames.last?.opcode != 0x8 || frames.last?.closeCode != code?.rawValue {
                return "answer \(String(describing: frames.last)) to close \(String(describing: code))"
            }
        default:
            if harness.isClosed { return "closed without a reason" }
            if frames.last?.opcode == 0x8 { return "close frame without a reason" }
        }
        if harness.gate.writesAfterClose != 0 { return "\(harness.gate.writesAfterClose) writes after close" }
        return nil
    }

    private func feedRandomly(_ bytes: [UInt8], into harness: CodecHarness, random: inout SeededRandom) {
        for chunk in random.chunks(of: bytes, maxChunk: Int.random(in: 1...64, using: &random)) {
            harness.read(chunk)
            if Int.random(in: 0..<4, using: &random) == 0 { harness.readComplete() }
        }
        harness.readComplete()
    }

    @Test func randomBytes() throws {
        var random = SeededRandom(seed: 0x5EED_0400)
        var refused = 0
        var delivering = 0
        for iteration in 0..<3000 {
            var bytes = random.bytes(Int.random(in: 0...300, using: &random))
            // Half the time make the first header plausible so the codec gets past the first checks.
            if bytes.count >= 2, Bool.random(using: &random) {
                bytes[0] = [0x82, 0x02, 0x80, 0x00, 0x89, 0x8A, 0x88][Int.random(in: 0..<7, using: &random)]
                bytes[1] |= 0x80
            }
            let harness = try CodecHarness(
                .init(
                    maximumFrameSize: Int.random(in: 1...100_000, using: &random),
                    inbound: .byteStream(flushThreshold: Int.random(in: 1...512, using: &random)))
            )
            defer { harness.finish() }
            feedRandomly(bytes, into: harness, random: &random)
            if !harness.recorder.violationCodes.isEmpty { refused += 1 }
            if !harness.recorder.delivered.isEmpty { delivering += 1 }
            if let broken = brokenInvariant(harness) {
                Issue.record("iteration \(iteration): \(broken)")
                return
            }
        }
        // The generator must reach both outcomes, or the invariants above were checked on nothing.
        #expect(refused > 1000)
        #expect(delivering > 100)
    }

    /// A valid client stream with its expected delivered payload and, per frame, where it ends and how
    /// many payload bytes had been delivered once it was complete.
    private struct ValidStream {
        var bytes: [UInt8] = []
        var payload: [UInt8] = []
        /// (end offset in `bytes`, `payload.count` after this frame)
        var frameEnds: [(end: Int, delivered: Int)] = []
        var endsWithClose = false

        /// The payload bytes that must be delivered whatever happens at or after `position`.
        func intactPrefix(before position: Int) -> [UInt8] {
            let delivered = frameEnds.last { $0.end <= position }?.delivered ?? 0
            return Array(payload[..<delivered])
        }
    }

    private func validStream(_ random: inout SeededRandom) -> ValidStream {
        var stream = ValidStream()
        var inMessage = false
        for _ in 0..<Int.random(in: 1...8, using: &random) {
            let kind = Int.random(in: 0..<10, using: &random)
            let key = random.key()
            if kind < 7 {
                let count = [0, 1, 3, 8, 50, 125, 126, 200, 700][Int.random(in: 0..<9, using: &random)]
                let part = random.bytes(count)
                let fin = Bool.random(using: &random)
                stream.bytes += TestFrame.frame(fin: fin, opcode: inMessage ? 0x0 : 0x2, mask: key, payload: part)
                stream.payload += part
                inMessage = !fin
            } else if kind < 9 {
                stream.bytes += TestFrame.ping(random.bytes(Int.random(in: 0...125, using: &random)), mask: key)
            } else {
                stream.bytes += TestFrame.frame(opcode: 0xA, mask: key, payload: random.bytes(Int.random(in: 0...10, using: &random)))
            }
            stream.frameEnds.append((stream.bytes.count, stream.payload.count))
        }
        if Int.random(in: 0..<4, using: &random) == 0 {
            stream.bytes += TestFrame.close(code: 1000, reason: Array("done".utf8))
            stream.frameEnds.append((stream.bytes.count, stream.payload.count))
            stream.endsWithClose = true
        }
        return stream
    }

    @Test func validStreamsInRandomChunksAreDeliveredExactly() throws {
        var random = SeededRandom(seed: 0x5EED_0401)
        for iteration in 0..<2000 {
            let stream = validStream(&random)
            let harness = try CodecHarness(.init(inbound: .byteStream(flushThreshold: Int.random(in: 1...1000, using: &random))))
            defer { harness.finish() }
            feedRandomly(stream.bytes, into: harness, random: &random)
            if let broken = brokenInvariant(harness) {
                Issue.record("iteration \(iteration): \(broken)")
                return
            }
            guard harness.recorder.delivered == stream.payload,
                harness.recorder.violationCodes.isEmpty,
                harness.isClosed == stream.endsWithClose
            else {
                Issue.record(
                    "iteration \(iteration): delivered \(harness.recorder.delivered.count)/\(stream.payload.count), events \(harness.recorder.events)"
                )
                return
            }
        }
    }

    @Test func validThenCorruptedStreams() throws {
        var random = SeededRandom(seed: 0x5EED_0402)
        var outcomes: [String: Int] = [:]
        for iteration in 0..<3000 {
            let stream = validStream(&random)
            var bytes = stream.bytes
            let position = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0: bytes[position] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
            case 1: bytes[position] = UInt8.random(in: .min ... .max, using: &random)
            case 2: bytes.insert(contentsOf: random.bytes(Int.random(in: 1...20, using: &random)), at: position)
            default: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...20, using: &random)))
            }
            let harness = try CodecHarness(
                .init(inbound: .byteStream(flushThreshold: Int.random(in: 1...1000, using: &random)))
            )
            defer { harness.finish() }
            feedRandomly(bytes, into: harness, random: &random)

            if let broken = brokenInvariant(harness) {
                Issue.record("iteration \(iteration): \(broken)")
                return
            }
            let prefix = stream.intactPrefix(before: position)
            guard harness.recorder.delivered.starts(with: prefix) else {
                Issue.record("iteration \(iteration): frames before the corruption at \(position) were not delivered intact")
                return
            }
            let outcome = harness.recorder.violationCodes.first.map { "refused \($0)" } ?? (harness.isClosed ? "closed by peer" : "open")
            outcomes[outcome, default: 0] += 1
        }
        // Corruption must lead to refusals with several codes and, sometimes, to nothing detectable.
        #expect(outcomes["refused 1002", default: 0] > 300, "\(outcomes)")
        #expect(outcomes["open", default: 0] > 300, "\(outcomes)")
        #expect(outcomes.count >= 4, "\(outcomes)")
    }
}
