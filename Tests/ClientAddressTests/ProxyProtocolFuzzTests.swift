import BridgeTestSupport
import ClientAddress
import NIOCore
import Testing

/// Garbage never crashes the parser, and its contract holds for every input: nil leaves the buffer untouched, a
/// throw leaves it untouched, a header consumes a prefix and leaves the rest.
@Suite("PROXY protocol fuzzing")
struct ProxyProtocolFuzzTests {
    private func checkContract(_ input: [UInt8], parser: ProxyProtocolParser, _ context: @autoclosure () -> String) {
        var buffer = buffer(input)
        do {
            if let header = try parser.parse(&buffer) {
                let consumed = input.count - buffer.readableBytes
                #expect(consumed > 0 && bytes(of: buffer) == Array(input[consumed...]), "\(context())")
                // The same bytes, cut right after the header, give the same header.
                var exact = ByteBuffer(bytes: input[..<consumed])
                #expect((try? parser.parse(&exact)) == header, "\(context())")
                #expect(header.version == .v1 ? consumed <= 107 : consumed <= parser.maximumHeaderSize, "\(context())")
            } else {
                #expect(bytes(of: buffer) == input, "\(context())")
                #expect(input.count < max(107, parser.maximumHeaderSize), "never waits beyond the limit: \(context())")
            }
        } catch {
            #expect(bytes(of: buffer) == input, "\(context())")
            #expect(!error.description.isEmpty)
        }
    }

    @Test func randomBytes() {
        var random = SeededRandom(seed: 1)
        let parser = ProxyProtocolParser(maximumHeaderSize: 512)
        for iteration in 0..<20000 {
            var input = random.bytes(Int.random(in: 0...300, using: &random))
            // Start with a signature most of the time, or the parser rejects at byte 0.
            switch iteration % 3 {
            case 0: input = v2Signature + input
            case 1: input = ascii("PROXY ") + input
            default: break
            }
            self.checkContract(input, parser: parser, "seed 1, iteration \(iteration)")
        }
    }

    @Test func mutatedValidHeaders() {
        var random = SeededRandom(seed: 2)
        let parser = ProxyProtocolParser()
        let seeds = validHeaders.map(\.bytes)
        for iteration in 0..<20000 {
            var input = seeds[iteration % seeds.count]
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                switch Int.random(in: 0..<5, using: &random) {
                case 0 where !input.isEmpty:
                    input[Int.random(in: 0..<input.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                case 1 where !input.isEmpty:
                    input.removeLast(Int.random(in: 0...input.count, using: &random))
                case 2:
                    input += random.bytes(Int.random(in: 1...40, using: &random))
                case 3 where input.count > 15:
                    // Play with the v2 length field.
                    input[14] = UInt8.random(in: 0...255, using: &random)
                    input[15] = UInt8.random(in: 0...255, using: &random)
                default:
                    if !input.isEmpty {
                        input.insert(
                            UInt8.random(in: 0...255, using: &random),
                            at: Int.random(in: 0..<input.count, using: &random)
                        )
                    }
                }
            }
            self.checkContract(input, parser: parser, "seed 2, iteration \(iteration)")
        }
    }

    @Test func randomV1Lines() {
        var random = SeededRandom(seed: 3)
        let alphabet = ascii("PROXY TCP46UNKOW0123456789.:abcdefABCDEF \r\n")
        for iteration in 0..<20000 {
            let length = Int.random(in: 0...110, using: &random)
            let input = ascii("PROXY ") + (0..<length).map { _ in alphabet.randomElement(using: &random) ?? 0x20 }
            self.checkContract(input, parser: ProxyProtocolParser(), "seed 3, iteration \(iteration)")
        }
    }

    @Test func randomForwardedForEntries() throws {
        var random = SeededRandom(seed: 4)
        let trusted = try TrustedProxies(["10.0.0.0/8", "::1"])
        let alphabet = ascii("0123456789abcdef.:[]\", _-unknowUNKNOWN%\t")
        for _ in 0..<5000 {
            let lines = (0..<Int.random(in: 0...3, using: &random)).map { _ in
                String(
                    decoding: (0..<Int.random(in: 0...60, using: &random)).map { _ in
                        alphabet.randomElement(using: &random) ?? 0x20
                    },
                    as: UTF8.self
                )
            }
            let answer = resolveClientAddress(peer: "10.0.0.1", xForwardedFor: lines, xRealIP: nil, trusted: trusted)
            #expect(IPAddress(answer) != nil, "always an address: \(lines) → \(answer)")
        }
    }
}
