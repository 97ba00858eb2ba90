#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Rendezvous (highest-random-weight) hashing: each client id ranks every server by a score computed from the id and
/// the server's name alone; the session goes to the highest-ranked server that is up.
///
/// Nothing is shared between bridge instances and nothing depends on the order of `upstream.servers`, so every
/// instance that lists the same servers sends an id to the same broker. When a server leaves, only the ids that ranked
/// it first move (each to its own second choice, spread over the rest); when it returns, exactly those ids come back.
///
/// The score, exactly (so it can be reproduced outside the bridge):
///
///     k      = XXH64(client id as UTF-8, seed 0)
///     s      = XXH64(server name as UTF-8, seed 0)      server name: "host:port", host lower-cased, IPv6 in brackets
///     h      = fmix64(k XOR s)                          MurmurHash3's 64-bit finaliser
///     u      = (floor(h / 2^11) + 0.5) / 2^53           uniform in (0, 1)
///     score  = -weight / ln(u)                          weighted HRW (Schindelhauer & Schomaker, "Weighted
///                                                       distributed hash tables", 2005)
///
/// The weighted form gives each server a share of ids proportional to its weight, and keeps the minimal-disruption
/// property. When all weights are equal the score is a monotonic function of `h`, so the ranking compares `h` directly
/// and needs no logarithm; ties (equal `h`) go to the larger `s`.
enum Rendezvous {
    /// MurmurHash3's 64-bit finaliser (`fmix64`): a bijection with full avalanche, so the XOR of two hashes becomes a
    /// fresh, uniformly distributed value per (id, server) pair.
    @inline(__always)
    static func mix(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return h
    }

    /// `h` for one (id, server) pair.
    @inline(__always)
    static func pairHash(key: UInt64, server: UInt64) -> UInt64 {
        mix(key ^ server)
    }

    /// The weighted score `-weight / ln(u)`; larger is better.
    @inline(__always)
    static func weightedScore(pairHash h: UInt64, weight: Double) -> Double {
        let unit = (Double(h >> 11) + 0.5) * 0x1p-53
        return -weight / log(unit)
    }
}
