import BridgeTestSupport
import NIOCore
import Testing
import WebSocketTransport

/// The word-at-a-time masking against the byte-by-byte definition of RFC 6455 §5.3.
@Suite struct WebSocketMaskingTests {
    private func key(_ bytes: [UInt8]) -> WebSocketMaskingKey {
        WebSocketMaskingKey(bytes[0], bytes[1], bytes[2], bytes[3])
    }

    @Test func keyBytesAreInWireOrder() {
        #expect(WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D).networkOrder == 0x37FA_213D)
        #expect(WebSocketMaskingKey(0x37, 0xFA, 0x21, 0x3D) == WebSocketMaskingKey(networkOrder: 0x37FA_213D))
    }

    @Test func rfc6455MaskedHelloExample() {
        // RFC 6455 §5.7: "A single-frame masked text message" 0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58.
        let hello = Array("Hello".utf8)
        let masked: [UInt8] = [0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(TestFrame.text(hello) == [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D] + masked)  // the test encoder itself

        var output = ByteBuffer()
        output.writeMaskedBytes(of: ByteBuffer(bytes: hello), key: key(TestFrame.exampleKey), keyOffset: 0)
        #expect(Array(output.readableBytesView) == masked)

        var inPlace = ByteBuffer(bytes: masked)
        inPlace.maskReadableBytes(key: key(TestFrame.exampleKey))
        #expect(Array(inPlace.readableBytesView) == hello)
    }

    @Test func writeMaskedBytesMatchesTheNaiveDefinition() {
        var random = SeededRandom(seed: 0x5EED_0002)
        let keys = [[0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], TestFrame.exampleKey] + (0..<12).map { _ in random.key() }
        for keyBytes in keys {
            for length in 0...70 {
                for keyOffset in 0...7 {
                    let payload = random.bytes(length)
                    // Unaligned source and destination: bytes before the reader index of the source, and
                    // bytes already written in the destination, must be left alone.
                    let sourceSkip = Int.random(in: 0...7, using: &random)
                    var source = ByteBuffer(bytes: random.bytes(sourceSkip) + payload)
                    source.moveReaderIndex(forwardBy: sourceSkip)
                    let sourceBefore = source
                    let existing = random.bytes(Int.random(in: 0...7, using: &random))
                    var output = ByteBuffer(bytes: existing)

                    output.writeMaskedBytes(of: source, key: key(keyBytes), keyOffset: keyOffset)

                    let expected = existing + TestFrame.naiveMask(payload, key: keyBytes, keyOffset: keyOffset)
                    guard Array(output.readableBytesView) == expected, source == sourceBefore else {
                        Issue.record("key \(keyBytes) length \(length) keyOffset \(keyOffset)")
                        return
                    }
                }
            }
        }
    }

    @Test func maskReadableBytesMatchesTheNaiveDefinition() {
        var random = SeededRandom(seed: 0x5EED_0003)
        let keys = [[0, 0, 0, 0], [0xFF, 0xFF, 0xFF, 0xFF], TestFrame.exampleKey] + (0..<12).map { _ in random.key() }
        for keyBytes in keys {
            for length in 0...70 {
                for keyOffset in 0...7 {
                    let payload = random.bytes(length)
                    let prefix = random.bytes(Int.random(in: 0...7, using: &random))
                    var buffer = ByteBuffer(bytes: prefix + payload)
                    buffer.moveReaderIndex(forwardBy: prefix.count)

                    buffer.maskReadableBytes(key: key(keyBytes), keyOffset: keyOffset)

                    let expected = TestFrame.naiveMask(payload, key: keyBytes, keyOffset: keyOffset)
                    var whole = buffer
                    whole.moveReaderIndex(to: 0)
                    let untouchedPrefix = Array(whole.readableBytesView.prefix(prefix.count)) == prefix
                    guard Array(buffer.readableBytesView) == expected, untouchedPrefix else {
                        Issue.record("key \(keyBytes) length \(length) keyOffset \(keyOffset)")
                        return
                    }
                }
            }
        }
    }

    @Test func maskingInPiecesWithRunningOffsetEqualsMaskingAtOnce() {
        var random = SeededRandom(seed: 0x5EED_0004)
        for _ in 0..<300 {
            let keyBytes = random.key()
            let payload = random.bytes(Int.random(in: 0...300, using: &random))
            var output = ByteBuffer()
            var offset = 0
            while offset < payload.count {
                let size = min(Int.random(in: 1...40, using: &random), payload.count - offset)
                output.writeMaskedBytes(of: ByteBuffer(bytes: payload[offset..<offset + size]), key: key(keyBytes), keyOffset: offset)
                offset += size
            }
            expectSameBytes(Array(output.readableBytesView), TestFrame.naiveMask(payload, key: keyBytes))
        }
    }

    @Test func largeBuffersAndDoubleMaskingIsIdentity() {
        var random = SeededRandom(seed: 0x5EED_0005)
        for length in [4095, 4096, 4097, 65_539] {
            let keyBytes = random.key()
            let payload = random.bytes(length)
            var buffer = ByteBuffer(bytes: payload)
            buffer.maskReadableBytes(key: key(keyBytes), keyOffset: 3)
            expectSameBytes(Array(buffer.readableBytesView), TestFrame.naiveMask(payload, key: keyBytes, keyOffset: 3))
            buffer.maskReadableBytes(key: key(keyBytes), keyOffset: 3)
            expectSameBytes(Array(buffer.readableBytesView), payload)

            var copied = ByteBuffer()
            copied.writeMaskedBytes(of: ByteBuffer(bytes: payload), key: key(keyBytes), keyOffset: 1)
            expectSameBytes(Array(copied.readableBytesView), TestFrame.naiveMask(payload, key: keyBytes, keyOffset: 1))
        }
    }

    @Test func randomKeysDiffer() {
        let keys = Set((0..<64).map { _ in WebSocketMaskingKey.random() })
        #expect(keys.count > 60)
    }
}
