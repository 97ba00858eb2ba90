/// `127.0.0.1:8443`, `[::1]:8443`: an address and port as logs, `/readyz` and URLs write them (IPv6 in brackets).
package func hostAndPort(_ host: String, _ port: Int) -> String {
    host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
}
