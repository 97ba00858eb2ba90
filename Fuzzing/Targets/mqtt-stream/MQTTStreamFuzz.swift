import FuzzSupport
import MQTTWire
import NIOCore
import SamplePackets

/// The two framers of the relay on one byte stream, cut into chunks as the network might cut it: the packet
/// accumulator (broker → client: whole packets, or the start of a large one that is then streamed) and the stream
/// scanner (client → broker: headers only).
///
/// Input: 2 bytes of maximum packet size (2 + value), 1 byte of streaming threshold (0: whole packets only), 1 byte
/// choosing the chunk sizes, then the stream.
///
/// Invariants, after every chunk:
/// - the packets handed out (and the bytes a streamed packet leaves to the caller) concatenate to the stream's prefix
///   that was consumed, and what is buffered is exactly the rest;
/// - each packet's header is the one its first bytes carry, and it is no larger than the limit;
/// - the scanner has seen the same headers in the same order (plus the one of a packet still arriving), is at a
///   packet boundary exactly when nothing is pending, and fails on the same chunk with the same error code;
/// - an idle accumulator keeps no storage, a busy one no more than the stream or the reservation limit explains;
/// - after an error both keep failing with it, and the accumulator holds nothing;
/// - the headers do not depend on how the stream was cut (the same stream in one piece gives the same ones).
enum MQTTStreamFuzz: FuzzTarget {
    struct Outcome {
        var headers: [MQTTFixedHeader] = []
        var failure: MQTTWireError.Code?
    }

    static func test(_ bytes: [UInt8]) {
        var input = FuzzInput(bytes)
        let maximumPacketSize = 2 + Int(input.uint16())
        let threshold = Int(input.byte())
        let cutting = input.byte()
        let stream = input.rest()

        let chunked = run(stream, chunkSizes: chunkSizes(for: stream.count, cutting), maximumPacketSize, threshold)
        let whole = run(stream, chunkSizes: [stream.count], maximumPacketSize, threshold)
        fuzzCheck(
            chunked.headers == whole.headers && chunked.failure == whole.failure,
            "cutting the stream changed the outcome: \(chunked) in chunks, \(whole) in one piece"
        )
    }

    /// Chunk sizes covering `count` bytes: at most 1, 2, 3, 7, 16, 64 or 512 bytes each, or one chunk.
    static func chunkSizes(for count: Int, _ cutting: UInt8) -> [Int] {
        let largest = [1, 2, 3, 7, 16, 64, 512, Int.max][Int(cutting & 7)]
        var generator = SplitMix64(seed: UInt64(cutting >> 3))
        var sizes: [Int] = []
        var left = count
        while left > 0 {
            let size = largest == Int.max ? left : min(left, 1 + Int(generator.next() % UInt64(largest)))
            sizes.append(size)
            left -= size
        }
        return sizes
    }

    static func run(_ stream: [UInt8], chunkSizes: [Int], _ maximumPacketSize: Int, _ threshold: Int) -> Outcome {
        var accumulator = MQTTPacketAccumulator(maximumPacketSize: maximumPacketSize)
        var scanner = MQTTStreamScanner(maximumPacketSize: maximumPacketSize)
        var scanned: [MQTTFixedHeader] = []
        var scanFailure: MQTTWireError?
        var outcome = Outcome()
        var accumulatorFailure: MQTTWireError?
        var handedOut: [UInt8] = []
        // Bytes of a streamed packet that the caller takes from the stream itself, not through the accumulator.
        var bodyToSkip = 0
        var consumed = 0
        var checked = 0
        var headersChecked = 0

        for size in chunkSizes {
            // A slice in the middle of a larger buffer, as reads are, so that reader indices are not always 0.
            var backing = ByteBuffer(bytes: [0xEE, 0xEE])
            backing.writeBytes(stream[consumed..<(consumed + size)])
            backing.moveReaderIndex(forwardBy: 2)
            var chunk = backing
            consumed += size

            do {
                try scanner.scan(chunk) { scanned.append($0) }
            } catch {
                scanFailure = error
            }

            let skipped = min(bodyToSkip, chunk.readableBytes)
            if let body = chunk.readSlice(length: skipped) {
                handedOut += body.readableBytesView
                bodyToSkip -= skipped
            }
            accumulator.append(chunk)
            do {
                while true {
                    if threshold == 0 {
                        guard let (header, packet) = try accumulator.nextPacketWithHeader() else { break }
                        check(packet, header, maximumPacketSize, whole: true)
                        handedOut += packet.readableBytesView
                        outcome.headers.append(header)
                        continue
                    }
                    switch try accumulator.next(streamingPacketsLongerThan: threshold) {
                    case nil:
                        break
                    case .packet(let header, let packet):
                        check(packet, header, maximumPacketSize, whole: true)
                        handedOut += packet.readableBytesView
                        outcome.headers.append(header)
                        continue
                    case .start(let header, let firstPart):
                        check(firstPart, header, maximumPacketSize, whole: false)
                        fuzzCheck(
                            header.packetLength > threshold, "streamed a packet of \(header.packetLength) bytes, threshold \(threshold)")
                        handedOut += firstPart.readableBytesView
                        bodyToSkip = header.packetLength - firstPart.readableBytes
                        outcome.headers.append(header)
                        continue
                    }
                    break
                }
            } catch {
                accumulatorFailure = error
            }

            fuzzCheck(
                (scanFailure == nil) == (accumulatorFailure == nil) && scanFailure?.code == accumulatorFailure?.code,
                "after \(consumed) bytes: scanner \(String(describing: scanFailure)), accumulator \(String(describing: accumulatorFailure))"
            )
            if accumulatorFailure != nil {
                break
            }
            // Only what was handed out since the last chunk is compared, so that a bytewise cut stays linear.
            fuzzCheck(
                handedOut[checked...].elementsEqual(stream[checked..<handedOut.count]),
                "the packets handed out are not the stream's prefix"
            )
            checked = handedOut.count
            fuzzCheck(
                handedOut.count + accumulator.bufferedByteCount == consumed,
                "\(handedOut.count) bytes handed out and \(accumulator.bufferedByteCount) buffered of \(consumed) consumed"
            )
            let pending = accumulator.bufferedByteCount > 0 || bodyToSkip > 0
            fuzzCheck(scanner.isAtPacketBoundary == !pending, "the scanner's packet boundary disagrees with the accumulator")
            fuzzCheck(
                (0...1).contains(scanned.count - outcome.headers.count)
                    && scanned[headersChecked..<outcome.headers.count].elementsEqual(outcome.headers[headersChecked...]),
                "scanner saw \(scanned), accumulator \(outcome.headers)"
            )
            headersChecked = outcome.headers.count
            if accumulator.bufferedByteCount == 0 {
                fuzzCheck(
                    accumulator.retainedStorageCapacity == 0, "an idle accumulator keeps \(accumulator.retainedStorageCapacity) bytes")
            }
            let bound = 4 * max(stream.count + 2, min(maximumPacketSize, MQTTPacketAccumulator.reservationLimit)) + 64
            fuzzCheck(accumulator.retainedStorageCapacity <= bound, "the accumulator keeps \(accumulator.retainedStorageCapacity) bytes")
        }

        if let accumulatorFailure {
            fuzzCheck(
                accumulator.bufferedByteCount == 0 && accumulator.retainedStorageCapacity == 0, "the accumulator kept bytes after an error")
            do {
                _ = try accumulator.nextPacket()
                fuzzCheck(false, "the accumulator forgot its error")
            } catch {
                fuzzCheck(error == accumulatorFailure, "the accumulator rethrew \(error), not \(accumulatorFailure)")
            }
            do {
                try scanner.scan(ByteBuffer(bytes: [0x30, 0x00])) { _ in fuzzCheck(false, "the scanner went on after an error") }
                fuzzCheck(false, "the scanner forgot its error")
            } catch {
                fuzzCheck(error == scanFailure, "the scanner rethrew \(error), not \(String(describing: scanFailure))")
            }
            outcome.failure = accumulatorFailure.code
        }
        return outcome
    }

    /// A packet (or the first part of a streamed one) starts with the header it was handed out with.
    static func check(_ bytes: ByteBuffer, _ header: MQTTFixedHeader, _ maximumPacketSize: Int, whole: Bool) {
        let peeked = try? MQTTFixedHeader.peek(in: bytes, maximumPacketSize: maximumPacketSize)
        fuzzCheck(peeked == header, "packet handed out with header \(header) starts with \(String(describing: peeked))")
        fuzzCheck(header.packetLength <= maximumPacketSize, "packet of \(header.packetLength) bytes, limit \(maximumPacketSize)")
        if whole {
            fuzzCheck(
                bytes.readableBytes == header.packetLength, "packet of \(bytes.readableBytes) bytes, header says \(header.packetLength)")
        } else {
            fuzzCheck(bytes.readableBytes < header.packetLength, "a whole packet was handed out as the start of one")
        }
    }

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        // Control bytes: maximum packet size 2 + 0x0400, whole packets / streaming above 64 bytes, various cuts.
        func seed(_ packets: [ByteBuffer], threshold: UInt8, cutting: UInt8) -> [UInt8] {
            [0x04, 0x00, threshold, cutting] + packets.flatMap { Array($0.readableBytesView) }
        }
        let session = SamplePackets.session
        return [
            ("session-whole", seed(session, threshold: 0, cutting: 7)),
            ("session-bytewise", seed(session, threshold: 0, cutting: 0)),
            ("session-chunks-7", seed(session, threshold: 0, cutting: 3 | 5 << 3)),
            ("session-streaming", seed(session, threshold: 64, cutting: 5)),
            ("large-publish-streaming", seed([SamplePackets.largePublish], threshold: 64, cutting: 4 | 9 << 3)),
            ("large-publish-too-large", [0x00, 0x40, 0, 6] + SamplePackets.largePublish.readableBytesView),
            ("overlong-length", [0x04, 0x00, 0, 1, 0x30, 0x80, 0x00]),
            ("length-too-long", [0x04, 0x00, 0, 1, 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        ]
    }
}

@_cdecl("LLVMFuzzerInitialize")
func initialize(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    FuzzEntry.initialize(MQTTStreamFuzz.self)
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.test(MQTTStreamFuzz.self, data, size)
}
