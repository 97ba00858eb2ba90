import BridgeConfig
import EdgeAuth
import Logging
import NIOCore
import NIOPosix

extension BridgeServer {
    /// Builds edge authentication for `configuration`: nil when no route has `auth`. Reads and checks the key files
    /// (`auth.jwt`) and the callout's settings (`auth.http`); every problem is a start-up error naming its key or file.
    /// Pass the result to `init(… edgeAuthenticator:)`; the server runs its key reload timer and closes it after the drain.
    package static func makeEdgeAuthenticator(
        for configuration: BridgeConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "mqtt_ws_bridge")
    ) async throws(StartupError) -> EdgeAuthenticator? {
        let settings = try EdgeAuthSettings(configuration)
        guard !settings.routes.isEmpty else { return nil }
        do {
            return try await EdgeAuthenticator(
                jwt: settings.jwt, callout: settings.callout, routes: settings.routes, eventLoopGroup: group, logger: logger)
        } catch {
            throw StartupError(error.description)
        }
    }

    /// What `--check-config` runs for edge authentication: the same checks and key loading, nothing opened.
    package static func validateEdgeAuth(_ configuration: BridgeConfiguration) async throws(StartupError) {
        let settings = try EdgeAuthSettings(configuration)
        guard !settings.routes.isEmpty else { return }
        do {
            try await EdgeAuthenticator.validate(jwt: settings.jwt, callout: settings.callout, routes: settings.routes)
        } catch {
            throw StartupError(error.description)
        }
    }

    /// Re-reads the JWT key files (`auth.jwt.keys`, `secret_file`), as SIGHUP does for certificates: a file that is
    /// refused keeps its previous keys, the others are taken for new sessions; open sessions are not touched. Logged
    /// by the verifier, file by file, and summed up here. Nil when no route has `auth`.
    @discardableResult
    package func reloadAuthKeys() async -> KeyReloadReport? {
        guard let authenticator = self.edgeAuthenticator else { return nil }
        let report = await authenticator.reloadKeys()
        let count = { (match: (KeyReloadReport.Outcome) -> Bool) in report.entries.filter { match($0.outcome) }.count }
        self.logger.notice(
            "auth key reload finished",
            metadata: [
                "loaded": "\(count { if case .loaded = $0 { true } else { false } })",
                "unchanged": "\(count { if case .unchanged = $0 { true } else { false } })",
                "refused": "\(report.refused.count)",
            ])
        return report
    }
}
