import CoreMetrics
import NIOConcurrencyHelpers

/// A `MetricsFactory` that remembers every value, keyed by label and dimensions, so a test can read what a
/// component reported without bootstrapping the global metrics system (tests run in parallel).
final class RecordingMetricsFactory: MetricsFactory {
    /// `label{key=value,…}` with the dimensions sorted, e.g. `mqtt_ws_bridge_closes_total{code=1000,initiator=broker,route=wss}`.
    typealias Key = String

    private let values = NIOLockedValueBox<[Key: Double]>([:])
    /// Every value recorded by recorders and timers, in order.
    private let samples = NIOLockedValueBox<[Key: [Double]]>([:])

    static func key(_ label: String, _ dimensions: [(String, String)]) -> Key {
        let sorted = dimensions.sorted { $0.0 < $1.0 }.map { "\($0.0)=\($0.1)" }
        return sorted.isEmpty ? label : "\(label){\(sorted.joined(separator: ","))}"
    }

    /// The current value of a counter or meter (0 when nothing was reported).
    func value(_ label: String, _ dimensions: [(String, String)] = []) -> Double {
        self.values.withLockedValue { $0[Self.key(label, dimensions)] ?? 0 }
    }

    /// What recorders and timers with this key recorded.
    func recorded(_ label: String, _ dimensions: [(String, String)] = []) -> [Double] {
        self.samples.withLockedValue { $0[Self.key(label, dimensions)] ?? [] }
    }

    /// Every key with a non-zero counter or meter value, for failure messages and "nothing else moved" checks.
    var nonZeroValues: [Key: Double] {
        self.values.withLockedValue { $0.filter { $0.value != 0 } }
    }

    fileprivate func add(_ amount: Double, to key: Key) {
        self.values.withLockedValue { $0[key, default: 0] += amount }
    }

    fileprivate func set(_ value: Double, for key: Key) {
        self.values.withLockedValue { $0[key] = value }
    }

    fileprivate func record(_ value: Double, for key: Key) {
        self.samples.withLockedValue { $0[key, default: []].append(value) }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        Handler(factory: self, key: Self.key(label, dimensions))
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        Handler(factory: self, key: Self.key(label, dimensions))
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        Handler(factory: self, key: Self.key(label, dimensions))
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        Handler(factory: self, key: Self.key(label, dimensions))
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        Handler(factory: self, key: Self.key(label, dimensions))
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    /// One handler type for every metric kind: it writes straight into the factory's tables.
    private final class Handler: CounterHandler, FloatingPointCounterHandler, MeterHandler, RecorderHandler, TimerHandler {
        let factory: RecordingMetricsFactory
        let key: Key

        init(factory: RecordingMetricsFactory, key: Key) {
            self.factory = factory
            self.key = key
        }

        // Counter
        func increment(by amount: Int64) { self.factory.add(Double(amount), to: self.key) }
        // FloatingPointCounter, Meter
        func increment(by amount: Double) { self.factory.add(amount, to: self.key) }
        func decrement(by amount: Double) { self.factory.add(-amount, to: self.key) }
        func reset() { self.factory.set(0, for: self.key) }
        // Meter (set), Recorder
        func set(_ value: Int64) { self.factory.set(Double(value), for: self.key) }
        func set(_ value: Double) { self.factory.set(value, for: self.key) }
        func record(_ value: Int64) { self.factory.record(Double(value), for: self.key) }
        func record(_ value: Double) { self.factory.record(value, for: self.key) }
        // Timer
        func recordNanoseconds(_ duration: Int64) { self.factory.record(Double(duration), for: self.key) }
    }
}
