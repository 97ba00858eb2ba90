/// The number-with-unit syntax shared by sizes (`512KiB`) and durations (`1.5s`).
///
/// Deliberately small: digits with an optional decimal fraction, optional spaces, an optional unit.
/// No signs, exponents, `inf` or `nan`, so `-1s` and `1e3` are reported as not a duration instead of surprising anyone.
enum Quantity {
    /// Splits `1.5 MiB` into `(1.5, "mib")` (unit lowercased); `nil` when the text does not start with a plain number.
    static func split(_ text: String) -> (number: Double, unit: String)? {
        let trimmed = Substring(text).drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
        let characters = Array(trimmed)
        let numberLength = characters.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }.count
        let numberText = String(characters[..<numberLength])
        guard !numberText.isEmpty, numberText.first != ".", numberText.last != ".",
            numberText.filter({ $0 == "." }).count <= 1,
            let number = Double(numberText), number.isFinite
        else { return nil }
        let unit = String(characters[numberLength...].drop(while: \.isWhitespace)).lowercased()
        return (number, unit)
    }

    /// Bytes per unit. `KiB`/`MiB`/`GiB` are 1024-based (IEC); `KB`/`MB`/`GB` are 1000-based (SI), as the names say.
    static let byteUnits: [String: Double] = [
        "": 1, "b": 1,
        "kib": 1024, "mib": 1024 * 1024, "gib": 1024 * 1024 * 1024,
        "kb": 1000, "mb": 1_000_000, "gb": 1_000_000_000,
    ]

    /// Seconds per unit; a bare number is seconds.
    static let durationUnits: [String: Double] = ["": 1, "us": 0.000_001, "µs": 0.000_001, "ms": 0.001, "s": 1, "m": 60, "h": 3600]

    /// The size in bytes, still as a `Double` so the caller can tell fractions and overflow apart; `nil` if not a size.
    static func bytes(_ text: String) -> Double? {
        guard let (number, unit) = split(text), let scale = byteUnits[unit] else { return nil }
        return number * scale
    }

    /// The duration in nanoseconds, as a `Double` so the caller can check the range; `nil` if not a duration.
    static func nanoseconds(_ text: String) -> Double? {
        guard let (number, unit) = split(text), let scale = durationUnits[unit] else { return nil }
        return (number * scale * 1_000_000_000).rounded()
    }
}
