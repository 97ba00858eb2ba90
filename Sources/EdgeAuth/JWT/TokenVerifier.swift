import Crypto
import Foundation
import JWTKit
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// Verifies JWTs with the configured keys, and reloads the key files.
///
/// ## Calling it from an event loop
/// `verify` is synchronous and cheap enough to call directly in a channel handler (measured in docs/PERFORMANCE.md:
/// tens of microseconds for ES256 and RS256, less than the TLS handshake the same connection just paid for).
/// jwt-kit's own entry point, `JWTKeyCollection.verify`, is an `async` method of an actor: from a channel handler
/// that means a `Task`, a hop to the actor's executor, another to the cooperative pool for the signature, and a hop
/// back to the loop — several thread switches per connection, and the session state must be held across them. So
/// the verifiers are taken out of jwt-kit once, when the keys are loaded (`JWTKeyCollection.getKey`, the only
/// async part), kept in an immutable snapshot, and a token is checked with jwt-kit's synchronous pieces:
/// `DefaultJWTParser.parse` (base64url, header and payload JSON, with `StrictJWTDecoder`: no repeated names) and
/// `JWTAlgorithm.verify` (the signature).
///
/// Doing the selection here also closes three gaps of jwt-kit's collection: an unknown `kid` falls back to its
/// default key there, the header's `alg` is never compared with the key's algorithm, and a JWK without `alg` adopts
/// the algorithm of the first token it sees. Here an unknown `kid` is refused, only algorithms a configured key
/// accepts are tried (so `alg: none` and HS256-signed-with-the-RSA-public-key can never verify), and JWKS keys get
/// their algorithms from the key type.
///
/// ## Reloading
/// `reload()` re-reads every key file. Each file is judged on its own: a file that fails (unreadable, not a key,
/// a private key, a `kid` another file has) is refused with its reason and the keys it gave before stay in use;
/// the others are taken. Open sessions are not affected (a session is verified once, at connect), so a rotation
/// that adds the new `kid` before tokens signed with it appear, and removes the old one after, never breaks a client.
public final class TokenVerifier: Sendable {
    public let settings: JWTVerifierSettings
    private let files: [KeyFile]
    private let claimsCheck: ClaimsCheck
    /// jwt-kit's parser (base64url and JSON, read strictly), made once: its decoder is not free to create per token.
    private let parser = DefaultJWTParser(jsonDecoder: StrictJWTDecoder())
    private let logger: Logger
    /// Read by every verification (a short lock, no I/O); replaced by a reload.
    private let state: NIOLockedValueBox<State>
    /// Reloads run one after the other (SIGHUP and the timer may overlap).
    private let reloads = SerialQueue()

    private struct State: Sendable {
        var keys: KeySet
        /// Per file: the digest of the contents in use.
        var digests: [SHA256Digest]
        /// Per file: the digest (or read error) of the last refused contents, so the timer logs a refusal once.
        var lastRefusal: [String?]
    }

    /// What started a reload. A timer reload skips unchanged files and refusals already reported.
    package enum Trigger: String, Sendable {
        case request, timer
    }

    /// Loads every key file; any problem is a start-up error naming the file.
    public init(settings: JWTVerifierSettings, logger: Logger) async throws(EdgeAuthError) {
        self.settings = settings
        self.files = settings.files
        self.claimsCheck = ClaimsCheck(settings)
        self.logger = logger
        guard !self.files.isEmpty else {
            throw EdgeAuthError(key: "auth.jwt", "needs keys or secret_file: without a key no token can be verified")
        }
        var problems: [EdgeAuthError.Problem] = []
        var filesKeys: [[VerificationKey]] = []
        var digests: [SHA256Digest] = []
        for file in self.files {
            let key = file.kind == .secret ? "auth.jwt.secret_file" : "auth.jwt.keys"
            do throws(KeyLoadError) {
                let contents = try await Self.readOffTheLoops(file)
                let keys = try await Self.keys(from: contents, file: file, alongside: filesKeys)
                filesKeys.append(keys)
                digests.append(SHA256.hash(data: contents))
            } catch {
                problems.append(.init(key: key, message: error.description))
                filesKeys.append([])
                digests.append(SHA256.hash(data: []))
            }
        }
        guard problems.isEmpty else { throw EdgeAuthError(problems) }
        self.state = NIOLockedValueBox(
            State(keys: KeySet(filesKeys: filesKeys), digests: digests, lastRefusal: self.files.map { _ in nil }))
        for (file, keys) in zip(self.files, filesKeys) {
            logger.info(
                "JWT keys loaded",
                metadata: ["file": "\(file.path)", "kid": "\(keys.map(\.keyID).joined(separator: ","))", "alg": "\(Self.algorithms(keys))"])
        }
    }

    /// The `kid`s in use, in file order.
    package var keyIDs: [String] {
        self.state.withLockedValue { $0.keys.all.map(\.keyID) }
    }

    // MARK: - Verifying

    /// Checks a token: size, shape, algorithm and key, signature, then the claims. Synchronous; safe on an event loop.
    public func verify(_ token: BearerToken, now: Date = Date()) -> Result<AuthIdentity, AuthFailure> {
        let bytes = Array(token.value.utf8)
        guard bytes.count <= self.settings.maximumTokenSize else { return .failure(AuthFailure(.tooLarge)) }
        guard !bytes.isEmpty else { return .failure(AuthFailure(.missing)) }

        let header: JWTHeader
        let claims: TokenClaims
        let signature: Data
        do {
            (header, claims, signature) = try self.parser.parse(bytes, as: TokenClaims.self)
        } catch {
            return .failure(AuthFailure(.malformed))
        }
        guard let lastPeriod = bytes.lastIndex(of: UInt8(ascii: ".")) else { return .failure(AuthFailure(.malformed)) }
        guard let algorithm = header.alg, !algorithm.isEmpty else { return .failure(AuthFailure(.malformed, "token has no alg")) }
        if algorithm.lowercased() == "none" {
            return .failure(AuthFailure(.algorithmNotAccepted))
        }
        // RFC 7515 §4.1.11: extensions the bridge does not implement must make the token invalid.
        if let critical = header.crit, !critical.isEmpty {
            return .failure(AuthFailure(.malformed, "unsupported crit header"))
        }

        let candidates: [any JWTAlgorithm]
        switch self.state.withLockedValue({ $0.keys.candidates(keyID: header.kid, algorithm: algorithm) }) {
        case .success(let found): candidates = found
        case .failure(let failure): return .failure(failure)
        }
        let signingInput = bytes[..<lastPeriod]
        guard candidates.contains(where: { (try? $0.verify(signature, signs: signingInput)) == true }) else {
            return .failure(AuthFailure(.badSignature))
        }

        if let failure = self.claimsCheck.check(claims, now: now) {
            return .failure(failure)
        }
        return .success(
            AuthIdentity(
                method: .jwt, subject: claims.subject?.value, claims: claims.all, expiresAt: claims.expiration?.value,
                source: token.source))
    }

    // MARK: - Reloading

    /// Re-reads every key file and puts each one that changed and passes its checks into use for new sessions.
    /// A refused file keeps the keys it gave before. Every outcome is logged; the report says the same.
    ///
    /// Safe to call at any time from any task (the file I/O runs on NIO's blocking thread pool); concurrent calls
    /// run one after the other. The server's SIGHUP handler calls it next to the certificate reload.
    @discardableResult
    package func reload(trigger: Trigger = .request) async -> KeyReloadReport {
        await self.reloads.run { await self.reloadNow(trigger: trigger) }
    }

    /// Runs until the task is cancelled: reloads changed files every `reload_interval` (does nothing when it is zero).
    package func maintain() async {
        let interval = self.settings.reloadInterval
        guard interval > .zero else { return }
        while true {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            await self.reload(trigger: .timer)
        }
    }

    private func reloadNow(trigger: Trigger) async -> KeyReloadReport {
        var entries: [KeyReloadReport.Entry] = []
        for (index, file) in self.files.enumerated() {
            let (inUse, digestInUse, lastRefusal, others) = self.state.withLockedValue { state in
                (
                    state.keys.filesKeys[index], state.digests[index], state.lastRefusal[index],
                    state.keys.filesKeys.enumerated().filter { $0.offset != index }.map(\.element)
                )
            }
            let kept = inUse.map(\.keyID)
            let contents: [UInt8]
            do throws(KeyLoadError) {
                contents = try await Self.readOffTheLoops(file)
            } catch {
                if trigger == .timer && lastRefusal == error.reason { continue }
                self.state.withLockedValue { $0.lastRefusal[index] = error.reason }
                entries.append(self.refused(error, file: file, kept: kept, trigger: trigger))
                continue
            }
            let digest = SHA256.hash(data: contents)
            let fingerprint = digest.map { String($0, radix: 16) }.joined()
            if digest == digestInUse {
                if trigger == .request {
                    self.state.withLockedValue { $0.lastRefusal[index] = nil }
                    entries.append(.init(file: file.path, outcome: .unchanged(keyIDs: kept)))
                }
                continue
            }
            if trigger == .timer && lastRefusal == fingerprint { continue }
            do throws(KeyLoadError) {
                let keys = try await Self.keys(from: contents, file: file, alongside: others)
                self.state.withLockedValue { state in
                    var filesKeys = state.keys.filesKeys
                    filesKeys[index] = keys
                    state.keys = KeySet(filesKeys: filesKeys)
                    state.digests[index] = digest
                    state.lastRefusal[index] = nil
                }
                let ids = keys.map(\.keyID)
                self.logger.notice(
                    "JWT keys reloaded: new sessions use them, open sessions are not affected",
                    metadata: [
                        "file": "\(file.path)", "kid": "\(ids.joined(separator: ","))", "previous_kid": "\(kept.joined(separator: ","))",
                        "alg": "\(Self.algorithms(keys))", "trigger": "\(trigger.rawValue)",
                    ])
                entries.append(.init(file: file.path, outcome: .loaded(keyIDs: ids, previousKeyIDs: kept)))
            } catch {
                self.state.withLockedValue { $0.lastRefusal[index] = fingerprint }
                entries.append(self.refused(error, file: file, kept: kept, trigger: trigger))
            }
        }
        return KeyReloadReport(entries: entries)
    }

    private func refused(_ error: KeyLoadError, file: KeyFile, kept: [String], trigger: Trigger) -> KeyReloadReport.Entry {
        self.logger.error(
            "JWT key file refused, the keys in use stay",
            metadata: [
                "file": "\(file.path)", "reason": "\(error.reason)", "kept_kid": "\(kept.joined(separator: ","))",
                "trigger": "\(trigger.rawValue)",
            ])
        return .init(file: file.path, outcome: .refused(reason: error.reason, keptKeyIDs: kept))
    }

    // MARK: - Files

    /// Key files are small; a bigger file is a mistake (a log, a bundle), not a key.
    static let maximumFileSize = 1 << 20

    /// Reads a file on NIO's blocking thread pool, so no cooperative or event-loop thread waits on the disk.
    private static func readOffTheLoops(_ file: KeyFile) async throws(KeyLoadError) -> [UInt8] {
        let result: Result<[UInt8], KeyLoadError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { Self.read(file) }
        } catch {
            // The shared pool is only ever inactive during process teardown; read here then.
            result = Self.read(file)
        }
        return try result.get()
    }

    private static func read(_ file: KeyFile) -> Result<[UInt8], KeyLoadError> {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file.path))
        } catch {
            let reason =
                (error as NSError).domain == NSCocoaErrorDomain && (error as NSError).code == NSFileReadNoSuchFileError
                ? "file does not exist" : "cannot read the file (\(error.localizedDescription))"
            return .failure(KeyLoadError(file.path, reason))
        }
        guard data.count <= Self.maximumFileSize else {
            return .failure(KeyLoadError(file.path, "is \(data.count) bytes; a key file is at most \(Self.maximumFileSize) bytes"))
        }
        guard !data.isEmpty else { return .failure(KeyLoadError(file.path, "the file is empty")) }
        return .success([UInt8](data))
    }

    /// A file's keys, checked against the other files' `kid`s (a `kid` must name one key).
    private static func keys(
        from contents: [UInt8], file: KeyFile, alongside others: [[VerificationKey]]
    ) async throws(KeyLoadError) -> [VerificationKey] {
        let materials =
            switch file.kind {
            case .publicKeys: try KeyMaterial.parsePublicKeys(contents, file: file)
            case .secret: try KeyMaterial.parseSecret(contents, file: file)
            }
        var seen: [String: String] = [:]
        for key in others.joined() { seen[key.keyID] = key.file }
        var keys: [VerificationKey] = []
        for material in materials {
            if let other = seen[material.keyID] {
                let where_ = other == file.path ? "twice in this file" : "also in \(other)"
                throw KeyLoadError(file.path, "kid '\(material.keyID)' is \(where_); every key needs its own kid")
            }
            seen[material.keyID] = file.path
            keys.append(try await material.verificationKey(file: file.path))
        }
        return keys
    }

    private static func algorithms(_ keys: [VerificationKey]) -> String {
        Array(Set(keys.flatMap(\.algorithmNames))).sorted().joined(separator: ",")
    }
}
