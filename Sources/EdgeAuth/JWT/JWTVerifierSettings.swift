/// How tokens are verified: the module's own form of `auth.jwt` (the server maps the configuration to it).
public struct JWTVerifierSettings: Sendable, Equatable {
    /// PEM files (a `PUBLIC KEY` — RSA, P-256/384/521 or Ed25519 —, an `RSA PUBLIC KEY`, or a `CERTIFICATE` whose key
    /// is used) and JWKS JSON files (`{"keys": [...]}`), told apart by their contents. A PEM key's `kid` is its file
    /// name without the extension (`keys/2026-05.pem` → `2026-05`); a JWKS key's is its own `kid`.
    package var keyFiles: [String]
    /// A file holding an HMAC secret (at least 32 bytes; one trailing newline is ignored). Its `kid` is the file name
    /// without the extension. HS256 is accepted, HS384 from 48 bytes, HS512 from 64.
    package var secretFile: String?
    /// `iss` must equal this; nil: not checked.
    package var issuer: String?
    /// `aud` must name one of these; empty: not checked.
    package var audiences: [String]
    /// Clock skew allowed on `exp` and `nbf`.
    package var leeway: Duration
    /// Claims every token must carry (besides those `issuer`/`audience` check). Default: `exp`, so that no token
    /// is valid for ever.
    package var requiredClaims: [String]
    /// How often the key files are checked for changes (changed files are reloaded as by `reload()`); zero: only on request.
    package var reloadInterval: Duration
    /// Tokens longer than this (bytes) are refused before any parsing.
    public var maximumTokenSize: Int

    public init(
        keyFiles: [String] = [],
        secretFile: String? = nil,
        issuer: String? = nil,
        audiences: [String] = [],
        leeway: Duration = .seconds(30),
        requiredClaims: [String] = ["exp"],
        reloadInterval: Duration = .zero,
        maximumTokenSize: Int = 8 * 1024
    ) {
        self.keyFiles = keyFiles
        self.secretFile = secretFile
        self.issuer = issuer
        self.audiences = audiences
        self.leeway = leeway
        self.requiredClaims = requiredClaims
        self.reloadInterval = reloadInterval
        self.maximumTokenSize = maximumTokenSize
    }

    /// The files to read, in order: the key files, then the secret file.
    var files: [KeyFile] {
        self.keyFiles.map { KeyFile(path: $0, kind: .publicKeys) } + (self.secretFile.map { [KeyFile(path: $0, kind: .secret)] } ?? [])
    }
}

/// One file named in the settings, and how to read it.
struct KeyFile: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        /// PEM or JWKS.
        case publicKeys
        /// An HMAC secret.
        case secret
    }

    let path: String
    let kind: Kind

    /// The `kid` of a key that does not name its own: the file name without its extension.
    var defaultKeyID: String {
        let name = self.path.split(separator: "/").last.map(String.init) ?? self.path
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }
}
