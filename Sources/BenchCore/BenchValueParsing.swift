import Foundation

/// Parsers for the command line's value syntax, shared by the options and their tests.
///
/// The syntax follows the bridge's configuration: durations `10s`, `500ms`, `2m` or a bare number of seconds;
/// sizes `64`, `16KiB`, `1MiB` (1024-based) or `1KB`, `1MB` (1000-based).
package enum BenchValueParsing {
    /// A duration: a number (decimals allowed) with an optional unit `ns`, `us`, `ms`, `s`, `m`, `h` (default `s`).
    package static func duration(_ text: String, option: String) throws(BenchUsageError) -> Duration {
        let (number, unit) = Self.splitNumber(Substring(text.trimmingCharacters(in: .whitespaces)))
        guard let value = Double(number), value >= 0, value.isFinite else {
            throw BenchUsageError("\(option): \"\(text)\" is not a duration (e.g. 10s, 500ms, 2m)")
        }
        let nanosecondsPerUnit: Double
        switch unit.lowercased() {
        case "ns": nanosecondsPerUnit = 1
        case "us", "µs": nanosecondsPerUnit = 1e3
        case "ms": nanosecondsPerUnit = 1e6
        case "", "s": nanosecondsPerUnit = 1e9
        case "m", "min": nanosecondsPerUnit = 60e9
        case "h": nanosecondsPerUnit = 3600e9
        default:
            throw BenchUsageError("\(option): unknown duration unit \"\(unit)\" in \"\(text)\" (ns, us, ms, s, m, h)")
        }
        let nanoseconds = value * nanosecondsPerUnit
        guard nanoseconds < 1e18 else {
            throw BenchUsageError("\(option): \"\(text)\" is too long")
        }
        return .nanoseconds(Int64(nanoseconds.rounded()))
    }

    /// A byte count: an integer with an optional unit `B`, `KiB`, `MiB`, `GiB`, `KB`, `MB`, `GB` (case-insensitive
    /// `k`/`m`/`g` shorthands are 1024-based).
    package static func size(_ text: String, option: String) throws(BenchUsageError) -> Int {
        let (number, unit) = Self.splitNumber(Substring(text.trimmingCharacters(in: .whitespaces)))
        guard let value = Double(number), value >= 0, value.isFinite else {
            throw BenchUsageError("\(option): \"\(text)\" is not a size (e.g. 64, 16KiB, 1MiB)")
        }
        let multiplier: Double
        switch unit.lowercased() {
        case "", "b": multiplier = 1
        case "k", "kib": multiplier = 1024
        case "m", "mib": multiplier = 1024 * 1024
        case "g", "gib": multiplier = 1024 * 1024 * 1024
        case "kb": multiplier = 1000
        case "mb": multiplier = 1_000_000
        case "gb": multiplier = 1_000_000_000
        default:
            throw BenchUsageError("\(option): unknown size unit \"\(unit)\" in \"\(text)\" (B, KiB, MiB, GiB, KB, MB, GB)")
        }
        let bytes = value * multiplier
        guard bytes == bytes.rounded(), bytes <= Double(Int32.max) * 64 else {
            throw BenchUsageError("\(option): \"\(text)\" is not a whole number of bytes in range")
        }
        return Int(bytes)
    }

    /// A message rate in messages per second; `0`, `unlimited` or `max` mean "as fast as the writability allows".
    package static func rate(_ text: String, option: String) throws(BenchUsageError) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed == "unlimited" || trimmed == "max" {
            return nil
        }
        var number = Substring(trimmed)
        var multiplier = 1.0
        if number.hasSuffix("/s") { number = number.dropLast(2) }
        if number.hasSuffix("k") {
            multiplier = 1000
            number = number.dropLast()
        }
        guard let value = Double(number), value >= 0, value.isFinite else {
            throw BenchUsageError("\(option): \"\(text)\" is not a rate (messages per second, e.g. 5000, 5k, unlimited)")
        }
        return value == 0 ? nil : value * multiplier
    }

    /// Splits "12.5ms" into ("12.5", "ms").
    static func splitNumber(_ text: Substring) -> (number: Substring, unit: Substring) {
        let unitStart = text.firstIndex { !($0.isNumber || $0 == "." || $0 == "-" || $0 == "+") } ?? text.endIndex
        return (text[..<unitStart], Substring(text[unitStart...].trimmingCharacters(in: .whitespaces)))
    }
}
