/// Why a certificate pair was not taken into use: the configuration key and the file it is about, and the reason in
/// words an operator can act on ("the private key in '/etc/…/key.pem' does not match the certificate in …").
struct CertificateLoadError: Error, Sendable, CustomStringConvertible {
    /// The configuration key that names the file, e.g. `listeners.wss.tls.key`.
    let key: String
    /// The file the problem is about.
    let file: String
    /// The reason, naming the file.
    let reason: String

    init(key: String, file: String, _ reason: String) {
        self.key = key
        self.file = file
        self.reason = reason
    }

    /// `listeners.wss.tls.key: the private key in '…' does not match the certificate in '…'`.
    var description: String { "\(self.key): \(self.reason)" }
}
