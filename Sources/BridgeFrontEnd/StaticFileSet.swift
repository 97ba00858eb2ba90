import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of `static_files.directory`, read into memory once at start-up.
///
/// Why in memory rather than from disk per request: the dashboard is a few tens of kilobytes, reading it once
/// keeps every byte of file IO off the event loops without a thread pool, and it makes path traversal impossible
/// by construction — a request can only ever name one of the files found here (a dictionary lookup), so `..`,
/// encoded slashes or a symbolic link created later lead nowhere. The price is a restart after the files change,
/// and a size cap (`static_files.max_size`) so a wrong directory fails loudly instead of filling memory.
///
/// What is left out while walking the directory (each one is reported in `skipped`, to be logged):
/// names starting with `.` (`.git`, `.DS_Store`), names that are not UTF-8, special files (FIFOs, sockets,
/// devices — opening a FIFO would block), symbolic links whose target lies outside the directory, and symbolic
/// links to directories (they could form cycles). Symbolic links to files inside the directory are followed.
struct StaticFileSet: Sendable {
    /// One file, ready to send.
    struct File: Sendable {
        var body: ByteBuffer
        var contentType: String
        /// A strong validator (content hash and size), so `Cache-Control: no-cache` revalidations cost a 304.
        var etag: String
    }

    /// By URL path: `/index.html`, `/js/app.js`.
    private(set) var files: [String: File] = [:]
    /// Entries left out, with the reason, for the start-up log.
    private(set) var skipped: [(path: String, reason: String)] = []
    /// Total size of all bodies.
    private(set) var totalSize = 0

    /// The file for a decoded URL path; a path ending in `/` means that directory's `index.html`.
    func file(at path: String) -> File? {
        self.files[path.hasSuffix("/") ? path + "index.html" : path]
    }

    /// Directories deeper than this are not walked (a dashboard is flat; a deep tree is a wrong directory).
    static let maximumDepth = 16
    /// More files than this is a wrong directory, whatever their size.
    static let maximumFileCount = 10_000

    /// Reads every file under `directory`. Blocking file IO: call it at start-up, never on an event loop.
    static func load(directory: String, maxSize: Int) throws(StaticFileError) -> StaticFileSet {
        guard let root = realPath(directory) else {
            throw StaticFileError("cannot open static_files.directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        var set = StaticFileSet()
        try set.walk(root: root, relative: "", depth: 0, maxSize: maxSize, shownDirectory: directory)
        return set
    }

    private mutating func walk(root: String, relative: String, depth: Int, maxSize: Int, shownDirectory: String) throws(StaticFileError) {
        let directoryPath = root + relative
        guard let stream = opendir(directoryPath) else {
            throw StaticFileError("cannot list '\(directoryPath)': \(String(cString: strerror(errno)))")
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(validating: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let name else {
                self.skipped.append((relative + "/?", "the name is not UTF-8"))
                continue
            }
            if name != ".", name != ".." { names.append(name) }
        }
        for name in names.sorted() {
            let urlPath = relative + "/" + name
            let fullPath = root + urlPath
            if name.hasPrefix(".") {
                self.skipped.append((urlPath, "dot files are not served"))
                continue
            }
            var status = stat()
            guard lstat(fullPath, &status) == 0 else {
                throw StaticFileError("cannot read '\(fullPath)': \(String(cString: strerror(errno)))")
            }
            var readPath = fullPath
            if Self.isKind(status, S_IFLNK) {
                guard let target = Self.realPath(fullPath), target.hasPrefix(root + "/") else {
                    self.skipped.append((urlPath, "symbolic link to a target outside the directory (or a broken link)"))
                    continue
                }
                guard stat(target, &status) == 0, Self.isKind(status, S_IFREG) else {
                    self.skipped.append((urlPath, "symbolic link to something that is not a regular file"))
                    continue
                }
                readPath = target
            }
            if Self.isKind(status, S_IFDIR) {
                guard depth < Self.maximumDepth else {
                    throw StaticFileError(
                        "'\(shownDirectory)' is nested deeper than \(Self.maximumDepth) directories; is static_files.directory right?")
                }
                try self.walk(root: root, relative: urlPath, depth: depth + 1, maxSize: maxSize, shownDirectory: shownDirectory)
            } else if Self.isKind(status, S_IFREG) {
                guard self.files.count < Self.maximumFileCount else {
                    throw StaticFileError(
                        "'\(shownDirectory)' holds more than \(Self.maximumFileCount) files; is static_files.directory right?")
                }
                let size = Int(status.st_size)
                guard self.totalSize + size <= maxSize else {
                    throw StaticFileError(
                        "the files in '\(shownDirectory)' add up to more than static_files.max_size (\(maxSize) bytes) at \(urlPath); raise the limit or serve a smaller directory"
                    )
                }
                let bytes = try Self.readFile(readPath, expectedSize: size)
                guard self.totalSize + bytes.count <= maxSize else {
                    throw StaticFileError("'\(urlPath)' grew past static_files.max_size (\(maxSize) bytes) while it was being read")
                }
                self.totalSize += bytes.count
                self.files[urlPath] = File(
                    body: ByteBuffer(bytes: bytes), contentType: StaticFileContentType.forPath(urlPath),
                    etag: "\"\(Self.fingerprint(bytes))-\(bytes.count)\"")
            } else {
                self.skipped.append((urlPath, "not a regular file"))
            }
        }
    }

    private static func isKind(_ status: stat, _ kind: mode_t) -> Bool {
        (status.st_mode & S_IFMT) == kind
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The whole file; `O_NONBLOCK` so that a file replaced by a FIFO since `lstat` cannot hang the start.
    private static func readFile(_ path: String, expectedSize: Int) throws(StaticFileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            throw StaticFileError("cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(expectedSize)
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw StaticFileError("cannot read '\(path)': \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > expectedSize + 1024 * 1024 {
                throw StaticFileError("'\(path)' grew while it was being read")
            }
        }
        return bytes
    }

    /// FNV-1a, 64 bits, in hex: enough to tell two versions of a file apart for `ETag`.
    static func fingerprint(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
