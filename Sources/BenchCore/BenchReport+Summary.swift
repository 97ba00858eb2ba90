extension BenchReport {
    /// A few lines for people: the headline figures, the generator's load and the problems.
    package func humanSummary() -> String {
        var lines: [String] = []
        let offer = self.transport == .mqtt ? "" : ", subprotocol \(self.subprotocol ?? "none")"
        lines.append(
            "mqtt-ws-bench \(self.scenario) \(self.target) (MQTT \(self.settings.mqttVersion)\(offer), \(self.settings.threads) threads)")
        let settings = self.settings
        if let traffic = self.traffic {
            let rate = settings.rateTotal.map { "\(Self.grouped($0)) msg/s target" } ?? "unlimited rate"
            lines.append(
                "  traffic     \(settings.publishers ?? 0) publishers → \(settings.subscribers ?? 0) subscribers on \(settings.topics ?? 0) topics, QoS \(settings.qos ?? 0), \(settings.payloadBytes ?? 0) B payload, \(rate)"
            )
            lines.append(
                "  delivered   \(Self.grouped(traffic.deliveredPerSecond)) msg/s (\(Self.bytes(traffic.deliveredBytesPerSecond))/s) over \(traffic.windowSeconds.formatted1) s; published \(Self.grouped(traffic.publishedPerSecond)) msg/s"
            )
            var delivery = "  delivery    lost \(traffic.lost) of \(traffic.expectedDeliveries), duplicated \(traffic.duplicated)"
            if !traffic.drained { delivery += " (drain timed out)" }
            if traffic.rateSkipped > 0 { delivery += "; \(traffic.rateSkipped) sends skipped (rate not met)" }
            lines.append(delivery)
        }
        if let latency = self.latency {
            lines.append("  latency     " + Self.describe(latency))
        }
        if let connect = self.connect {
            lines.append(
                "  connect     \(self.connections.established)/\(self.connections.attempted) connections, \(settings.concurrency ?? 0) at a time: \(Self.grouped(connect.connectionsPerSecond)) conn/s over \(connect.elapsedSeconds.formatted1) s"
            )
            if let handshake = connect.handshake {
                lines.append("  handshake   " + Self.describe(handshake))
            }
        }
        if let hold = self.hold {
            lines.append(
                "  hold        \(hold.held)/\(self.connections.attempted) connections held \(hold.holdSeconds.formatted1) s (ramp \(hold.rampSeconds.formatted1) s), \(hold.dropped) dropped"
            )
            if let handshake = hold.handshake {
                lines.append("  handshake   " + Self.describe(handshake))
            }
        }
        if let storm = self.storm {
            func seconds(_ value: Double?) -> String { value.map { "\($0.formatted1) s" } ?? "never" }
            lines.append(
                "  storm       \(storm.sessions) sessions cut (ramp \(storm.rampSeconds.formatted1) s): \(storm.reconnected) back, 99% after \(seconds(storm.secondsTo99Percent)), all after \(seconds(storm.secondsToAll)); \(storm.attempts) attempts"
            )
            let refusals = storm.refusals.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
            lines.append("  refusals    " + (refusals.isEmpty ? "none" : refusals.joined(separator: ", ")))
            if let handshake = storm.transportHandshake {
                lines.append("  tls+ws      " + Self.describe(handshake))
            }
            if let connack = storm.connack {
                lines.append("  connack     " + Self.describe(connack))
            }
        }
        let generator = self.generator
        var load = "  generator   CPU \(generator.cpuSeconds) s over \(generator.wallSeconds.formatted1) s = \(generator.cores) cores"
        if let busy = generator.threadBusy, let busiest = busy.max() {
            load += ", busiest loop \(Int((busiest * 100).rounded()))%"
        }
        if let start = generator.loadAverageStart, let end = generator.loadAverageEnd {
            load += ", machine load \(start) → \(end)"
        }
        if generator.saturated {
            load += " — SATURATED: the generator may be the bottleneck; add --threads or a second machine"
        }
        lines.append(load)
        for process in self.watched {
            var line = "  \(process.label.padding(12))CPU \(process.cpuSeconds) s"
            if let perMillion = process.cpuSecondsPerMillionMessages {
                line += " (\(perMillion) CPU-s per million messages)"
            }
            if let syscalls = process.readWriteSyscallsPerMessage, let switches = process.contextSwitchesPerMessage {
                line +=
                    ", \(syscalls) read/write syscalls and \(switches) context switches per \(self.connect != nil || self.storm != nil ? "connection" : "message")"
            }
            if let perThousand = process.cpuSecondsPerThousandConnections {
                line += " (\(perThousand) CPU-s per 1000 connections)"
            }
            line += ", RSS \(Self.kib(process.rssKibStart)) → \(Self.kib(process.rssKibEnd)) (peak \(Self.kib(process.rssKibPeak)))"
            if let perConnection = process.rssKibPerConnection {
                line += ", \(perConnection.formatted1) KiB per connection"
            }
            if !process.missingPids.isEmpty {
                line += " [unreadable PIDs: \(process.missingPids.map(String.init).joined(separator: ", "))]"
            }
            lines.append(line)
        }
        if self.problems.isEmpty {
            lines.append("  result      OK")
        } else {
            lines.append("  result      FAILED")
            for problem in self.problems {
                lines.append("    - \(problem)")
            }
            for message in self.errors.messages {
                lines.append("    · \(message)")
            }
        }
        return lines.joined(separator: "\n")
    }

    static func describe(_ latency: LatencySummary) -> String {
        "p50 \(latency.p50Ms) ms  p90 \(latency.p90Ms) ms  p99 \(latency.p99Ms) ms  p99.9 \(latency.p999Ms) ms  max \(latency.maxMs) ms  (n=\(latency.count))"
    }

    /// 123456.7 → "123,457".
    static func grouped(_ value: Double) -> String {
        let digits = String(Int(value.rounded()))
        var result = ""
        for (offset, character) in digits.reversed().enumerated() {
            if offset > 0 && offset % 3 == 0 && character != "-" { result.append(",") }
            result.append(character)
        }
        return String(result.reversed())
    }

    static func bytes(_ value: Double) -> String {
        if value >= 1024 * 1024 { return "\((value / 1024 / 1024).formatted1) MiB" }
        if value >= 1024 { return "\((value / 1024).formatted1) KiB" }
        return "\(Int(value)) B"
    }

    static func kib(_ value: UInt64) -> String {
        value >= 10 * 1024 ? "\((Double(value) / 1024).formatted1) MiB" : "\(value) KiB"
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        self.count >= width ? self + " " : self + String(repeating: " ", count: width - self.count)
    }
}
