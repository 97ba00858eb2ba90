#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The two file operations configuration needs, with the operating system's own words when they fail.
///
/// POSIX calls rather than Foundation because users act on `No such file or directory` and
/// `Permission denied`; Foundation's errors wrap those in text about Cocoa domains.
enum FileAccess {
    /// Why a file could not be used; `description` is a phrase to put after the path.
    enum Failure: Error, Equatable, CustomStringConvertible {
        case system(errno: Int32)
        case isDirectory
        case notDirectory
        case notUTF8

        var description: String {
            switch self {
            case .system(let code): String(cString: strerror(code))
            case .isDirectory: "is a directory, not a file"
            case .notDirectory: "is not a directory"
            case .notUTF8: "is not UTF-8 text"
            }
        }

        var isNotFound: Bool { self == .system(errno: ENOENT) }
    }

    /// The whole file as UTF-8 text.
    static func readText(atPath path: String) throws(Failure) -> String {
        let descriptor = try openRegularFile(path)
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(errno: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8 }
        return text
    }

    /// Succeeds when `path` names a regular file this process may open for reading.
    static func checkReadable(atPath path: String) throws(Failure) {
        close(try openRegularFile(path))
    }

    /// Succeeds when `path` names a directory (or a symbolic link to one) this process may list.
    static func checkDirectory(atPath path: String) throws(Failure) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY)
        guard descriptor >= 0 else { throw errno == ENOTDIR ? .notDirectory : .system(errno: errno) }
        close(descriptor)
    }

    private static func openRegularFile(_ path: String) throws(Failure) -> Int32 {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .system(errno: errno) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw .system(errno: code)
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            close(descriptor)
            throw .isDirectory
        }
        return descriptor
    }
}
