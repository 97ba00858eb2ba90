import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one pair's files, read together, with a digest so that a timed check can tell "nothing changed"
/// without parsing anything, and so that a refused pair is not refused (and logged) again at every check.
struct CertificateFileContents: Sendable {
    var certificate: [UInt8]
    var key: [UInt8]
    var chain: [UInt8]?
    /// SHA-256 over the three files, each length-prefixed (so moving bytes between files changes it).
    var digest: [UInt8]

    /// PEM files for one server are a few KiB; anything this large is the wrong file.
    static let maximumFileSize = 1 << 20

    /// Reads the files named by `source`. Blocking I/O: call it off the event loops.
    static func read(_ source: CertificateSource) throws(CertificateLoadError) -> CertificateFileContents {
        let certificate = try readFile(source.certificatePath, key: "\(source.keyPrefix).certificate", what: "certificate")
        let key = try readFile(source.keyPath, key: "\(source.keyPrefix).key", what: "private key")
        let chain = try source.chainPath.map { path throws(CertificateLoadError) in
            try readFile(path, key: "\(source.keyPrefix).chain", what: "chain")
        }
        var hash = SHA256()
        for part in [certificate, key, chain ?? []] {
            withUnsafeBytes(of: UInt64(part.count).bigEndian) { hash.update(bufferPointer: $0) }
            hash.update(data: part)
        }
        return CertificateFileContents(certificate: certificate, key: key, chain: chain, digest: Array(hash.finalize()))
    }

    /// The whole file, with the operating system's reason when it cannot be read ("No such file or directory",
    /// "Permission denied"), which is what an operator needs after a renewal script went wrong.
    private static func readFile(_ path: String, key: String, what: String) throws(CertificateLoadError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CertificateLoadError(key: key, file: path, "cannot read the \(what) file '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw CertificateLoadError(
                    key: key, file: path, "cannot read the \(what) file '\(path)': \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            if bytes.count > maximumFileSize {
                throw CertificateLoadError(key: key, file: path, "the \(what) file '\(path)' is larger than 1 MiB; is it the right file?")
            }
        }
        return bytes
    }
}

/// `read(2)`, under a name that the static `CertificateFileContents.read` does not shadow.
private func systemRead(_ descriptor: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(descriptor, buffer, count)
}
