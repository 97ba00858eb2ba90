/// Reads a fuzz input from the front: a few control bytes that choose how the code under test is driven, then the
/// payload. A short input reads as zeros, so every input is valid and libFuzzer's mutations are never wasted.
public struct FuzzInput {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The next byte, or 0 past the end.
    public mutating func byte() -> UInt8 {
        defer { offset += 1 }
        return offset < bytes.count ? bytes[offset] : 0
    }

    /// The next two bytes as a big-endian integer (zeros past the end).
    public mutating func uint16() -> UInt16 {
        UInt16(byte()) << 8 | UInt16(byte())
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { offset = bytes.count }
        return offset < bytes.count ? Array(bytes[offset...]) : []
    }
}

/// A small deterministic generator (SplitMix64): cut points and choices derived from an input byte, so that the
/// same input always drives the code the same way.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    /// The parts between `separator` bytes, empty ones included, at most `maximumParts` (the last keeps the rest).
    public func parts(separatedBy separator: UInt8, maximumParts: Int) -> [ArraySlice<UInt8>] {
        split(separator: separator, maxSplits: maximumParts - 1, omittingEmptySubsequences: false)
    }
}
