/// Sums read back from the Prometheus exposition the admin listener already renders for `/metrics`.
///
/// swift-prometheus keeps no readable values, and the relay counts into it once per read burst: reading its text
/// once a second (for every event stream viewer together) costs the relay nothing. Only the few series the
/// operations view needs are kept, summed over the labels it does not show.
struct PrometheusTotals: Equatable, Sendable {
    /// `mqtt_ws_bridge_handshakes_total` by `result`.
    var handshakes: [String: Double] = [:]
    /// `mqtt_ws_bridge_mqtt_packets_total{type="publish"}` by `direction`.
    var messages: [String: Double] = [:]
    /// `mqtt_ws_bridge_mqtt_bytes_total` by `direction`.
    var bytes: [String: Double] = [:]

    init() {}

    init(exposition: [UInt8]) {
        for line in exposition.split(separator: UInt8(ascii: "\n")) where line.first != UInt8(ascii: "#") {
            guard let sample = Self.sample(String(decoding: line, as: UTF8.self)) else { continue }
            switch sample.name {
            case "mqtt_ws_bridge_handshakes_total":
                if let result = sample.labels["result"] { handshakes[result, default: 0] += sample.value }
            case "mqtt_ws_bridge_mqtt_packets_total":
                if sample.labels["type"] == "publish", let direction = sample.labels["direction"] {
                    messages[direction, default: 0] += sample.value
                }
            case "mqtt_ws_bridge_mqtt_bytes_total":
                if let direction = sample.labels["direction"] { bytes[direction, default: 0] += sample.value }
            default:
                break
            }
        }
    }

    /// `name{a="x",b="y"} 12` → (name, labels, 12); nil for anything else.
    static func sample(_ line: String) -> (name: String, labels: [String: String], value: Double)? {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else { return (String(series), [:], value) }
        guard series.last == "}" else { return nil }
        var labels: [String: String] = [:]
        var rest = series[series.index(after: brace)..<series.index(before: series.endIndex)]
        while let equals = rest.firstIndex(of: "=") {
            let key = rest[..<equals].drop { $0 == "," || $0 == " " }
            var index = rest.index(after: equals)
            guard index < rest.endIndex, rest[index] == "\"" else { return nil }
            index = rest.index(after: index)
            var value = ""
            var escaped = false
            while index < rest.endIndex {
                let character = rest[index]
                index = rest.index(after: index)
                if escaped {
                    value.append(character == "n" ? "\n" : character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    break
                } else {
                    value.append(character)
                }
            }
            labels[String(key)] = value
            rest = rest[index...]
        }
        return (String(series[..<brace]), labels, value)
    }

    /// Per second since `earlier`, each key; counters that went down (a restart of the registry) count as 0.
    static func rates(_ now: [String: Double], since earlier: [String: Double], over seconds: Double) -> [String: Double] {
        guard seconds > 0 else { return now.mapValues { _ in 0 } }
        return now.mapValues { _ in 0 }.merging(now.map { key, value in (key, max(0, value - (earlier[key] ?? 0)) / seconds) }) { $1 }
    }
}
