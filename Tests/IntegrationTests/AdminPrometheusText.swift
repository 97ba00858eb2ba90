import BridgeTestSupport

/// A strict reader of the Prometheus text exposition format (0.0.4), written for the tests so that `/metrics` is
/// checked by something other than the library that produced it.
///
/// It checks: metric and label names, quoted and escaped label values, float values (`+Inf`, `NaN` included), a
/// `# TYPE` line before a family's samples and at most one per family, no duplicate series, and for histograms that
/// bucket counts never decrease, end with `le="+Inf"` and equal `_count`.
struct PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    private(set) var types: [String: String] = [:]
    private(set) var samples: [Sample] = []

    static func parse(_ text: String) throws -> PrometheusText {
        var result = PrometheusText()
        var seen = Set<String>()
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            func fail(_ message: String) -> TestSupportError {
                TestSupportError("line \(number + 1) \"\(line)\": \(message)")
            }
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3)
                guard parts.count >= 3, parts[0] == "#" else { continue }  // a comment
                if parts[1] == "TYPE" {
                    let name = String(parts[2])
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw fail("bad TYPE line")
                    }
                    guard isMetricName(name) else { throw fail("bad metric name") }
                    guard result.types[name] == nil else { throw fail("second TYPE line for \(name)") }
                    result.types[name] = String(parts[3])
                }
                continue
            }
            let sample = try parseSample(Substring(line), fail: fail)
            guard result.family(of: sample.name) != nil else { throw fail("no TYPE line before the sample") }
            let key =
                sample.name + "{" + sample.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") + "}"
            guard seen.insert(key).inserted else { throw fail("duplicate series") }
            result.samples.append(sample)
        }
        try result.checkHistograms()
        return result
    }

    /// The family a sample belongs to: its own name, or for histograms the name without `_bucket`/`_sum`/`_count`.
    func family(of name: String) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let type = types[base], type == "histogram" || type == "summary" { return base }
        }
        return nil
    }

    /// The value of the one sample with this name whose labels include `labels`; nil when there is none.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in
            sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value }
        }
        return matching.count == 1 ? matching[0].value : nil
    }

    /// The sum over every sample with this name whose labels include `labels` (0 when none).
    func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
            .reduce(0) { $0 + $1.value }
    }

    private static func parseSample(_ line: Substring, fail: (String) -> TestSupportError) throws -> Sample {
        var rest = line
        let name = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
        guard isMetricName(name) else { throw fail("bad metric name") }
        rest = rest.dropFirst(name.count)
        var labels: [String: String] = [:]
        if rest.first == "{" {
            rest = rest.dropFirst()
            while rest.first != "}" {
                let labelName = String(rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                guard !labelName.isEmpty, !(labelName.first?.isNumber ?? true) else { throw fail("bad label name") }
                rest = rest.dropFirst(labelName.count)
                guard rest.hasPrefix("=\"") else { throw fail("expected =\" after label \(labelName)") }
                rest = rest.dropFirst(2)
                var value = ""
                while true {
                    guard let character = rest.first else { throw fail("unterminated label value") }
                    rest = rest.dropFirst()
                    if character == "\"" { break }
                    if character == "\\" {
                        guard let escaped = rest.first else { throw fail("unterminated escape") }
                        rest = rest.dropFirst()
                        switch escaped {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw fail("bad escape \\\(escaped)")
                        }
                    } else {
                        value.append(character)
                    }
                }
                guard labels[labelName] == nil else { throw fail("label \(labelName) twice") }
                labels[labelName] = value
                if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" { throw fail("expected , or }") }
            }
            rest = rest.dropFirst()
        }
        guard rest.first == " " else { throw fail("expected a space before the value") }
        let fields = rest.split(separator: " ")
        guard (1...2).contains(fields.count), let value = parseValue(fields[0]) else { throw fail("bad value") }
        if fields.count == 2 && Int64(fields[1]) == nil { throw fail("bad timestamp") }
        return Sample(name: name, labels: labels, value: value)
    }

    private static func parseValue(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }

    private static func isMetricName(_ name: String) -> Bool {
        guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == ":" }
    }

    private func checkHistograms() throws {
        for (name, type) in types where type == "histogram" {
            let buckets = samples.filter { $0.name == name + "_bucket" }
            var series: [String: [(Double, Double)]] = [:]
            for bucket in buckets {
                guard let le = bucket.labels["le"], let bound = Self.parseValue(Substring(le)) else {
                    throw TestSupportError("\(name): bucket without a valid le label")
                }
                var others = bucket.labels
                others["le"] = nil
                let key = others.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
                series[key, default: []].append((bound, bucket.value))
            }
            for (key, points) in series {
                let sorted = points.sorted { $0.0 < $1.0 }
                guard sorted.last?.0 == .infinity else { throw TestSupportError("\(name){\(key)}: no +Inf bucket") }
                for (previous, next) in zip(sorted, sorted.dropFirst()) where next.1 < previous.1 {
                    throw TestSupportError("\(name){\(key)}: bucket counts decrease")
                }
                let labels = Dictionary(
                    uniqueKeysWithValues: key.split(separator: ",").map { pair -> (String, String) in
                        let parts = pair.split(separator: "=", maxSplits: 1)
                        return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                    })
                let count = samples.first { $0.name == name + "_count" && $0.labels == labels }?.value
                guard count == sorted.last?.1 else {
                    throw TestSupportError("\(name){\(key)}: _count \(count.map { "\($0)" } ?? "missing") differs from the +Inf bucket")
                }
            }
        }
    }
}
