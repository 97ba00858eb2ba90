import CoreMetrics
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOPosix
import NIOSSL

/// One TLS listener's certificates: the pairs in use, the single `NIOSSLContext` that serves them, and reloading.
///
/// The context is built once. Its `sslContextCallback` runs at every client hello and hands BoringSSL the chain and
/// key for the client's SNI server name from the current `CertificateSelection`; a reload swaps that selection under
/// a lock. So new handshakes get the new pair at once, sessions already open keep theirs (TLS never looks at the
/// certificate again after the handshake), and no context is rebuilt per connection or per reload.
///
/// Each pair is checked on its own when reloaded: one domain's bad renewal does not hold back another's good one.
/// A refused pair leaves the previous one in use and is logged with the key, the file and the reason.
package final class CertificateStore: Sendable {
    /// What started a reload, in logs. A timer reload skips files that did not change and refusals already logged.
    package enum Trigger: String, Sendable {
        case request, timer
    }

    /// Warn when a certificate in use has less than this left (renewal tools such as certbot renew at 30 days).
    static let expiryWarningWindow: TimeInterval = 14 * 86_400
    /// The expiry warning for one certificate is repeated at most this often.
    static let expiryWarningRepeat: TimeInterval = 86_400
    /// Without a `reload_interval`, expiry is still checked this often.
    static let expiryCheckPeriod = Duration.seconds(3_600)
    static let expiryMetricLabel = "mqtt_ws_bridge_certificate_expiry_timestamp_seconds"

    let listener: String
    let reloadInterval: Duration
    /// Versions and TLS 1.2 suites (`profile`, `ciphers`, `min_version`).
    let policy: TLSPolicy
    private let sources: [CertificateSource]
    private let logger: Logger
    /// One per source, `name` label = source name: the expiry (Unix seconds) of the pair in use.
    private let expiryGauges: [Gauge]
    /// Read at every handshake; written only by a reload, with a finished selection.
    private let selection: NIOLockedValueBox<CertificateSelection>
    /// Held for a whole reload so that SIGHUP and the timer do not interleave. Blocking file I/O happens under it,
    /// so it is never taken on an event loop (handshakes only take `selection`).
    private let reloadState: NIOLockedValueBox<ReloadState>

    private struct ReloadState {
        /// Per source: the digest (hex) or read error of the last refused files, so a timer does not log them again.
        var lastRefusal: [String?]
        /// Per source: when the expiry warning was last logged, and for which certificate.
        var lastExpiryWarning: [(serial: String, at: Date)?]
    }

    /// Loads and checks every pair; a pair that fails is a start-up error naming its key.
    package init(
        listener: String, tls: ListenerTLSSettings, logger: Logger, metricsFactory: any MetricsFactory,
        now: Date = Date()
    ) throws(TLSConfigurationError) {
        let section = "listeners.\(listener).tls"
        let policy = try TLSPolicy(
            profile: tls.profile, cipherNames: tls.cipherSuites, minimumVersion: tls.minimumVersion, section: section)
        let sources = try CertificateSource.sources(for: tls, listener: listener)
        var entries: [CertificateSelection.Entry] = []
        for source in sources {
            do throws(CertificateLoadError) {
                let contents = try CertificateFileContents.read(source)
                let pair = try CertificatePair(contents, source: source, now: now)
                try Self.check(pair, servedBy: policy, source: source, section: section)
                entries.append(.init(source: source, pair: pair))
            } catch {
                throw TLSConfigurationError(key: error.key, error.reason)
            }
        }
        self.listener = listener
        self.reloadInterval = tls.reloadInterval
        self.policy = policy
        self.sources = sources
        self.logger = logger
        self.expiryGauges = sources.map { source in
            Gauge(label: Self.expiryMetricLabel, dimensions: [("listener", listener), ("name", source.name)], factory: metricsFactory)
        }
        self.selection = NIOLockedValueBox(CertificateSelection(entries: entries))
        self.reloadState = NIOLockedValueBox(
            ReloadState(
                lastRefusal: Array(repeating: nil, count: sources.count),
                lastExpiryWarning: Array(repeating: nil, count: sources.count)))
        self.reloadState.withLockedValue { state in
            for (index, entry) in entries.enumerated() {
                self.took(entry.pair, index: index, previous: nil, trigger: "startup", now: now, state: &state)
            }
        }
        logger.info(
            "TLS policy",
            metadata: [
                "listener": "\(listener)", "profile": "\(policy.profile.rawValue)", "versions": "\(policy.versions)",
                "tls12_ciphers": "\(policy.tls12Description)",
            ])
    }

    /// A pair whose key no allowed TLS 1.2 suite can use would fail every TLS 1.2 handshake (an RSA certificate with
    /// only ECDSA suites in `ciphers`, say): refused like a key that does not match.
    private static func check(
        _ pair: CertificatePair, servedBy policy: TLSPolicy, source: CertificateSource, section: String
    ) throws(CertificateLoadError) {
        guard !policy.serves(pair.authentication) else { return }
        throw CertificateLoadError(
            key: "\(source.keyPrefix).certificate", file: source.certificatePath,
            "the certificate in '\(source.certificatePath)' has an \(pair.authentication.rawValue) key, but \(section).ciphers "
                + "has no \(pair.authentication.rawValue) suite: TLS 1.2 clients could not connect")
    }

    /// The listener's TLS context: built once, it asks this store for the pair at every handshake.
    package func makeContext() throws(TLSConfigurationError) -> NIOSSLContext {
        let initial = self.selection.withLockedValue { $0.entries[0].pair }
        var configuration = ServerTLS.configuration(initial: initial, policy: self.policy)
        configuration.sslContextCallback = { [self] values, promise in
            promise.succeed(self.override(forServerName: values.serverHostname))
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSConfigurationError(
                key: "listeners.\(self.listener).tls",
                "cannot set up TLS with '\(self.sources[0].certificatePath)' and '\(self.sources[0].keyPath)': \(error)")
        }
    }

    /// The chain and key for one handshake. Runs on the event loop: one lock, one array lookup.
    func override(forServerName serverName: String?) -> NIOSSLContextConfigurationOverride {
        self.selection.withLockedValue { $0.override(forServerName: serverName) }
    }

    /// The pairs in use now.
    package var status: [CertificateStatus] {
        self.selection.withLockedValue { selection in
            selection.entries.map { entry in
                CertificateStatus(
                    listener: self.listener, name: entry.source.name, serial: entry.pair.serial,
                    notValidBefore: entry.pair.notValidBefore, notValidAfter: entry.pair.notValidAfter,
                    serverNames: entry.source.serverNames.map(\.description), certificateNames: entry.pair.dnsNames)
            }
        }
    }

    // MARK: - Reloading

    /// `reload` on NIO's blocking-I/O thread pool, so no cooperative thread waits on the disk.
    package func reloadOffTheLoops(trigger: Trigger) async -> [CertificateReloadReport.Entry] {
        do {
            return try await NIOThreadPool.singleton.runIfActive { self.reload(trigger: trigger) }
        } catch {
            // The shared pool is only ever inactive during process teardown; do the work here then.
            return self.reload(trigger: trigger)
        }
    }

    /// Re-reads every pair's files and swaps in those that changed and pass every check. Blocking file I/O.
    func reload(trigger: Trigger, now: Date = Date()) -> [CertificateReloadReport.Entry] {
        self.reloadState.withLockedValue { state in
            var entries = self.selection.withLockedValue { $0.entries }
            var report: [CertificateReloadReport.Entry] = []
            var changed = false
            for index in self.sources.indices {
                let source = self.sources[index]
                let inUse = entries[index].pair
                let contents: CertificateFileContents
                do throws(CertificateLoadError) {
                    contents = try CertificateFileContents.read(source)
                } catch {
                    if trigger == .timer && state.lastRefusal[index] == error.reason { continue }
                    state.lastRefusal[index] = error.reason
                    report.append(self.refused(error, source: source, inUse: inUse, trigger: trigger))
                    continue
                }
                let fingerprint = CertificatePair.hex(contents.digest)
                if trigger == .timer && (contents.digest == inUse.digest || state.lastRefusal[index] == fingerprint) {
                    continue
                }
                do throws(CertificateLoadError) {
                    let pair = try CertificatePair(contents, source: source, now: now)
                    try Self.check(pair, servedBy: self.policy, source: source, section: "listeners.\(self.listener).tls")
                    state.lastRefusal[index] = nil
                    if pair.digest == inUse.digest {
                        report.append(.init(listener: self.listener, name: source.name, outcome: .unchanged(serial: pair.serial)))
                        continue
                    }
                    entries[index].pair = pair
                    changed = true
                    self.took(pair, index: index, previous: inUse, trigger: trigger.rawValue, now: now, state: &state)
                    report.append(
                        .init(
                            listener: self.listener, name: source.name, outcome: .loaded(serial: pair.serial, previousSerial: inUse.serial))
                    )
                } catch {
                    state.lastRefusal[index] = fingerprint
                    report.append(self.refused(error, source: source, inUse: inUse, trigger: trigger))
                }
            }
            if changed {
                let next = CertificateSelection(entries: entries)
                self.selection.withLockedValue { $0 = next }
            }
            return report
        }
    }

    /// Logs the expiry warning for every pair in use that needs one (at most once a day each).
    func checkExpiry(now: Date = Date()) {
        let pairs = self.selection.withLockedValue { $0.entries.map(\.pair) }
        self.reloadState.withLockedValue { state in
            for (index, pair) in pairs.enumerated() {
                self.warnIfExpiringSoon(pair, index: index, now: now, state: &state)
            }
        }
    }

    /// Runs until cancelled: reloads changed files every `reload_interval` (when set) and checks expiry hourly.
    package func maintain() async {
        let clock = ContinuousClock()
        var nextReload = self.reloadInterval > .zero ? clock.now + self.reloadInterval : nil
        var nextExpiryCheck = clock.now + Self.expiryCheckPeriod
        while true {
            do {
                try await clock.sleep(until: min(nextReload ?? nextExpiryCheck, nextExpiryCheck))
            } catch {
                return
            }
            if let due = nextReload, clock.now >= due {
                _ = await self.reloadOffTheLoops(trigger: .timer)
                nextReload = clock.now + self.reloadInterval
            }
            if clock.now >= nextExpiryCheck {
                self.checkExpiry()
                nextExpiryCheck = clock.now + Self.expiryCheckPeriod
            }
        }
    }

    // MARK: - Logging and metrics

    /// A pair went into use: metric, log line, name coverage and expiry checks.
    private func took(_ pair: CertificatePair, index: Int, previous: CertificatePair?, trigger: String, now: Date, state: inout ReloadState)
    {
        let source = self.sources[index]
        self.expiryGauges[index].record(pair.notValidAfter.timeIntervalSince1970)
        var metadata: Logger.Metadata = [
            "listener": "\(self.listener)", "name": "\(source.name)", "serial": "\(pair.serial)",
            "not_after": "\(pair.notValidAfter.formatted(.iso8601))", "trigger": "\(trigger)",
            "file": "\(source.certificatePath)",
        ]
        if !source.serverNames.isEmpty {
            metadata["server_names"] = "\(source.serverNames.map(\.description).joined(separator: ","))"
        }
        if let previous {
            metadata["previous_serial"] = "\(previous.serial)"
            self.logger.notice("certificate reloaded: new handshakes use it, open sessions keep theirs", metadata: metadata)
        } else {
            self.logger.info("certificate loaded", metadata: metadata)
        }
        for pattern in source.serverNames where !pair.covers(pattern) {
            self.logger.warning(
                "the certificate does not name a server name it is selected for: clients that check names will refuse it",
                metadata: [
                    "listener": "\(self.listener)", "name": "\(source.name)", "server_name": "\(pattern)",
                    "certificate_names": "\(pair.dnsNames.joined(separator: ","))", "file": "\(source.certificatePath)",
                ])
        }
        state.lastExpiryWarning[index] = nil
        self.warnIfExpiringSoon(pair, index: index, now: now, state: &state)
    }

    private func refused(
        _ error: CertificateLoadError, source: CertificateSource, inUse: CertificatePair, trigger: Trigger
    ) -> CertificateReloadReport.Entry {
        self.logger.error(
            "certificate refused, the one in use stays",
            metadata: [
                "listener": "\(self.listener)", "name": "\(source.name)", "key": "\(error.key)", "file": "\(error.file)",
                "reason": "\(error.reason)", "serial_in_use": "\(inUse.serial)", "trigger": "\(trigger.rawValue)",
            ])
        return .init(listener: self.listener, name: source.name, outcome: .refused(reason: error.description, keptSerial: inUse.serial))
    }

    private func warnIfExpiringSoon(_ pair: CertificatePair, index: Int, now: Date, state: inout ReloadState) {
        let remaining = pair.notValidAfter.timeIntervalSince(now)
        guard remaining < Self.expiryWarningWindow else { return }
        if let last = state.lastExpiryWarning[index], last.serial == pair.serial,
            now.timeIntervalSince(last.at) < Self.expiryWarningRepeat
        {
            return
        }
        state.lastExpiryWarning[index] = (pair.serial, now)
        let source = self.sources[index]
        self.logger.warning(
            remaining > 0
                ? "certificate expires soon: renew it and send SIGHUP"
                : "certificate has expired: clients refuse it; renew it and send SIGHUP",
            metadata: [
                "listener": "\(self.listener)", "name": "\(source.name)", "serial": "\(pair.serial)",
                "not_after": "\(pair.notValidAfter.formatted(.iso8601))", "days_left": "\(Int((remaining / 86_400).rounded(.down)))",
                "file": "\(source.certificatePath)",
            ])
    }
}
