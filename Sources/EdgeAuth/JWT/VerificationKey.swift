import JWTKit

/// One configured key, ready to verify: its `kid`, the file it came from, and a jwt-kit algorithm for each JWS
/// algorithm name it accepts (an RSA key: RS256…PS512; a P-256 key: ES256 only; an HMAC secret: HS256…).
///
/// The algorithms are built once, when the file is loaded; verifying then needs no actor hop (see `TokenVerifier`).
struct VerificationKey: Sendable {
    let keyID: String
    let file: String
    /// By JWS `alg` name.
    let algorithms: [String: any JWTAlgorithm]

    /// The accepted algorithm names, sorted (for reports).
    var algorithmNames: [String] { self.algorithms.keys.sorted() }
}

/// The keys in use: an immutable snapshot that a reload replaces as a whole.
struct KeySet: Sendable {
    /// Per file, in the settings' order: the keys that file gave when it was last loaded successfully.
    var filesKeys: [[VerificationKey]]
    private(set) var byKeyID: [String: VerificationKey] = [:]
    private(set) var all: [VerificationKey] = []

    init(filesKeys: [[VerificationKey]]) {
        self.filesKeys = filesKeys
        self.all = filesKeys.flatMap { $0 }
        self.byKeyID = Dictionary(self.all.map { ($0.keyID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The keys a token is tried with: the one its `kid` names, or — a token without `kid` — every key that
    /// accepts its `alg`. Refuses an unknown `kid` (jwt-kit's own collection would fall back to its default key)
    /// and an algorithm the selected key does not accept (jwt-kit's verification does not compare the header's
    /// `alg` with the key at all).
    func candidates(keyID: String?, algorithm: String) -> Result<[any JWTAlgorithm], AuthFailure> {
        if let keyID {
            guard let key = self.byKeyID[keyID] else { return .failure(AuthFailure(.unknownKey)) }
            guard let verifier = key.algorithms[algorithm] else { return .failure(AuthFailure(.algorithmNotAccepted)) }
            return .success([verifier])
        }
        let verifiers = self.all.compactMap { $0.algorithms[algorithm] }
        return verifiers.isEmpty ? .failure(AuthFailure(.algorithmNotAccepted)) : .success(verifiers)
    }
}
