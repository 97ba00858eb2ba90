import BridgeServer
import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP → `BridgeServer.reloadCertificates()`, as operators expect from nginx, Mosquitto and most daemons
/// (`kill -HUP <pid>` after certbot or any renewal tool has replaced the files).
///
/// The signal sequence is created before the service group starts, so SIGHUP is trapped from the moment the bridge
/// listens: SIGHUP's default action is to terminate the process, which is the last thing a reload should do.
struct CertificateReloadOnHangup: Service {
    let server: BridgeServer
    let hangups: UnixSignalsSequence
    let logger: Logger

    func run() async throws {
        for await _ in self.hangups.cancelOnGracefulShutdown() {
            self.logger.notice("SIGHUP: reloading certificates")
            await self.server.reloadCertificates()
        }
    }
}
