// MARK: - Static files

/// `static_files`: plain HTTP GET/HEAD requests for paths that are not routes are answered from this directory
/// (the built-in dashboard in `Dashboard/`), on every listener. Off by default: a production bridge usually has
/// nothing to serve but WebSocket routes.
///
/// The directory is read into memory once at start-up (no file IO on the event loops, and nothing outside the
/// directory can ever be served, because only the files found then exist for the server); changes need a restart.
/// Each answer is sent in chunks, one at a time as the client reads, within `send_timeout`.
package struct StaticFilesConfiguration: Sendable, Equatable {
    /// `enabled`: serve the directory.
    package var enabled: Bool
    /// `directory`: what to serve; `index.html` answers `/`. Relative to the config file like other paths, so the
    /// default `../Dashboard` is the repository's dashboard when the file is `Config/bridge.yaml`.
    package var directory: String
    /// `max_size`: the most bytes all files together may have (they are held in memory); more fails loudly.
    package var maxSize: Int
    /// `send_timeout`: the whole answer must be sent within this time (from the request head); a client that reads
    /// slower is closed. The handshake timeout ends at the request head, so this bounds the rest.
    package var sendTimeout: Duration
    /// `max_requests_per_ip`: static answers being sent at once to one client address (IPv6: per /64); more → 429.
    /// 0 = no limit.
    package var maxRequestsPerIP: Int

    package init(
        enabled: Bool = false, directory: String = "../Dashboard", maxSize: Int = 4 * 1024 * 1024,
        sendTimeout: Duration = .seconds(30), maxRequestsPerIP: Int = 8
    ) {
        self.enabled = enabled
        self.directory = directory
        self.maxSize = maxSize
        self.sendTimeout = sendTimeout
        self.maxRequestsPerIP = maxRequestsPerIP
    }
}
