/// Relative paths in the configuration file are relative to the file, not to wherever the process was started.
enum PathResolution {
    /// The directory part of `filePath` (`Config/bridge.yaml` → `Config`, `bridge.yaml` → `""`, `/x.yaml` → `/`).
    static func directory(of filePath: String) -> String {
        guard let slash = filePath.lastIndex(of: "/") else { return "" }
        if slash == filePath.startIndex { return "/" }
        return String(filePath[..<slash])
    }

    /// `path` joined to `directory` unless it is absolute or empty. An empty directory leaves the path as it is.
    /// No normalisation of `..`: that would be wrong across symbolic links.
    static func resolve(_ path: String, against directory: String) -> String {
        guard !path.isEmpty, !path.hasPrefix("/"), !directory.isEmpty else { return path }
        return directory.hasSuffix("/") ? directory + path : directory + "/" + path
    }
}
