import Foundation
import Logging

@testable import EdgeAuth

/// Loggers that drop everything, and a verifier over key files written for the test.
enum Quiet {
    static let logger = Logger(label: "edge-auth-test") { _ in SwiftLogNoOpLogHandler() }
}

extension TokenVerifier {
    /// A verifier for `settings`, failing the test with the start-up problems if it cannot load.
    static func make(_ settings: JWTVerifierSettings) async throws -> TokenVerifier {
        try await TokenVerifier(settings: settings, logger: Quiet.logger)
    }

    func verify(_ token: String, source: TokenSource = .header, now: Date = Date()) -> Result<AuthIdentity, AuthFailure> {
        self.verify(BearerToken(token, source: source), now: now)
    }

    /// The failure kind, or nil when the token verified.
    func refusal(_ token: String, now: Date = Date()) -> AuthFailure.Kind? {
        if case .failure(let failure) = self.verify(token, now: now) { failure.kind } else { nil }
    }
}
