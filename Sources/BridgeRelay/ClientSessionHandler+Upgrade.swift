import Logging
import NIOCore

/// The broker dial, either before the 101 (`answerUpgrade`, for an upstream that answers the upgrade) or after the
/// CONNECT (the state machine's `.dialUpstream`).
extension ClientSessionHandler {
    /// The front end's one question before the 101: how to answer the client's upgrade. An upstream that needs to be
    /// connected first (`dialsBeforeUpgrade`: `ws`) is dialled now, with `offer` turned into the broker's offer; the
    /// answer is the 101 with the resulting subprotocol or a 502. Otherwise the answer is the route's own, at once, and
    /// the broker is dialled after the CONNECT. Call once, on `client`'s event loop, before adding the session to it;
    /// if `client` closes before that, the broker connection is closed with it.
    package func answerUpgrade(_ offer: SubprotocolOffer, client: any Channel) -> EventLoopFuture<UpgradeAnswer> {
        guard self.link.dialsBeforeUpgrade else {
            self.descriptor.subprotocol = offer.routeAnswer
            return client.eventLoop.makeSucceededFuture(.switchProtocols(subprotocol: offer.routeAnswer))
        }
        let answer = client.eventLoop.makePromise(of: UpgradeAnswer.self)
        self.upgradeAnswer = answer
        self.subprotocolOffer = offer
        client.closeFuture.assumeIsolated().whenComplete { _ in
            // Not in the pipeline, so channelInactive did not tell us (or did, and the machine ignores a second time).
            guard self.context == nil else { return }
            self.perform(self.machine.clientInactive(transportError: nil), eventLoop: client.eventLoop)
        }
        self.perform(self.machine.upgradeNeedsBroker(), eventLoop: client.eventLoop)
        return answer.futureResult
    }

    /// The broker is chosen for what the session knows now: the client id after the CONNECT, nothing before the 101.
    func dialUpstream(on eventLoop: any EventLoop) {
        self.link.dial(
            UpstreamDialRequest(clientID: self.machine.connect?.clientID), prelude: self.descriptor.upstreamPrelude,
            subprotocols: self.subprotocolOffer?.towardsWebSocketBroker, timeout: self.settings.upstreamReadyTimeout,
            metrics: self.connectMetrics, eventLoop: eventLoop, makeHandler: { UpstreamHandler(session: self, ready: $0) }
        ) { result in
            switch result {
            case .success(let server):
                self.registration?.brokerChosen(server)
                self.perform(self.machine.upstreamReady(), eventLoop: eventLoop)
            case .failure(let error):
                self.perform(self.machine.upstreamFailed(UpstreamErrorDescription.describe(error)), eventLoop: eventLoop)
            }
        }
    }
}
