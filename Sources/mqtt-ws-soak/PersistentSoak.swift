import Foundation
import NIOCore
import NIOPosix

/// Scenario 1: a QoS 2 publisher and a QoS 2 and a QoS 1 subscriber on persistent sessions, `count` numbered
/// messages, while the caller restarts the bridge and the broker (or sends SIGUSR1 to cut the subscribers'
/// connections, the direct run's stand-in for a bridge restart). Bounded by `timeout`.
struct PersistentSoak {
    struct Settings {
        var subscriberURL: String
        var publisherURL: String
        var caFile: String?
        var serverName: String?
        var count: Int
        var rate: Double
        var window: Int
        var payloadSize: Int
        var timeout: Duration
        var settle: Duration
        var progressFile: String?
    }

    struct SubscriberReport: Codable {
        var qos: Int
        var received: Int
        var lost: Int
        var duplicates: Int
        var malformed: Int
        var reconnects: Int
        var sessionsLost: Int
        var firstMissing: [Int]
    }

    struct Report: Codable {
        var count: Int
        var published: Int
        var publisherCompleted: Int
        var publisherResent: Int
        var publisherReconnects: Int
        var publisherSessionsLost: Int
        var qos2: SubscriberReport
        var qos1: SubscriberReport
        var seconds: Double
        var timedOut: Bool

        /// QoS 2 exactly once, QoS 1 at least once, every message published and acknowledged.
        var ok: Bool {
            !self.timedOut && self.qos2.lost == 0 && self.qos2.duplicates == 0 && self.qos1.lost == 0
                && self.publisherCompleted == self.count && self.qos2.malformed == 0 && self.qos1.malformed == 0
        }
    }

    let settings: Settings

    func run() throws -> Report {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let subscriberEndpoint = try SoakEndpoint(
            url: self.settings.subscriberURL, caFile: self.settings.caFile, serverName: self.settings.serverName)
        let publisherEndpoint = try SoakEndpoint(
            url: self.settings.publisherURL, caFile: self.settings.caFile, serverName: self.settings.serverName)
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let topic = "soak/\(runID)"
        let settings = self.settings

        let (publisher, subscribers) = try loop.submit {
            let subscribers = [UInt8(2), 1].map { qos in
                SequenceSubscriber(
                    qos: qos, topic: topic, count: settings.count,
                    session: SoakSession(name: "qos\(qos)", clientID: "soak-\(runID)-q\(qos)", endpoint: subscriberEndpoint, loop: loop))
            }
            let publisher = SequencePublisher(
                topic: topic, count: settings.count, rate: settings.rate, window: settings.window,
                payloadSize: settings.payloadSize,
                session: SoakSession(name: "publisher", clientID: "soak-\(runID)-pub", endpoint: publisherEndpoint, loop: loop))
            subscribers.forEach { $0.session.start() }
            publisher.session.start()
            return (publisher, subscribers)
        }.wait()

        // SIGUSR1: cut the subscribers' connections (what a proxy restart looks like to a client, minus the proxy).
        signal(SIGUSR1, SIG_IGN)
        let cutSignal = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        cutSignal.setEventHandler { loop.execute { subscribers.forEach { $0.session.cut() } } }
        cutSignal.resume()
        defer { cutSignal.cancel() }

        let started = ContinuousClock.now
        let deadline = started + settings.timeout
        var publishing = false
        var completeSince: ContinuousClock.Instant?
        var timedOut = false
        var lastLine = ""
        var lastPrinted = started
        while true {
            Thread.sleep(forTimeInterval: 0.2)
            let (subscribed, published, done, line) = try loop.submit {
                (
                    subscribers.allSatisfy(\.isSubscribed), publisher.published,
                    publisher.isDone && subscribers.allSatisfy(\.ledger.isComplete),
                    "published \(publisher.published), completed \(publisher.completed); received "
                        + subscribers.map { "QoS \($0.qos) \($0.ledger.distinct) (+\($0.ledger.duplicates))" }.joined(separator: ", ")
                )
            }.wait()
            if line != lastLine, ContinuousClock.now - lastPrinted >= .seconds(2) {
                FileHandle.standardError.write(Data("mqtt-ws-soak: \(line)\n".utf8))
                lastLine = line
                lastPrinted = .now
            }
            if !publishing && subscribed {
                publishing = true
                try loop.submit { publisher.startPublishing() }.wait()
            }
            if let progressFile = settings.progressFile {
                try? "\(published)\n".write(toFile: progressFile, atomically: true, encoding: .utf8)
            }
            if done {
                // Wait a little longer for late duplicates.
                let since = completeSince ?? ContinuousClock.now
                completeSince = since
                if ContinuousClock.now - since >= settings.settle { break }
            }
            if ContinuousClock.now >= deadline {
                timedOut = true
                break
            }
        }

        let seconds = (ContinuousClock.now - started).seconds
        let finishedInTime = !timedOut
        let report = try loop.flatSubmit {
            publisher.stopPublishing()
            let report = Report(
                count: settings.count, published: publisher.published, publisherCompleted: publisher.completed,
                publisherResent: publisher.resent, publisherReconnects: publisher.session.disconnects,
                publisherSessionsLost: publisher.sessionsLost,
                qos2: Self.report(subscribers[0]), qos1: Self.report(subscribers[1]), seconds: seconds, timedOut: !finishedInTime)
            let stops = subscribers.map { $0.session.stop() } + [publisher.session.stop()]
            return EventLoopFuture.andAllComplete(stops, on: loop).map { report }
        }.wait()
        return report
    }

    private static func report(_ subscriber: SequenceSubscriber) -> SubscriberReport {
        SubscriberReport(
            qos: Int(subscriber.qos), received: subscriber.ledger.distinct, lost: subscriber.ledger.lost,
            duplicates: subscriber.ledger.duplicates, malformed: subscriber.ledger.malformed,
            reconnects: subscriber.session.disconnects, sessionsLost: subscriber.sessionsLost,
            firstMissing: subscriber.ledger.missing(limit: 10))
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
