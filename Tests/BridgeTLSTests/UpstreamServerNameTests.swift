import BridgeTLS
import Testing

/// The name each upstream server is asked for (SNI) and verified against: with `upstream.servers`, every server its
/// own host unless `upstream.tls.server_name` names one for all.
@Suite struct UpstreamServerNameTests {
    @Test func eachServerIsAskedForItsOwnHost() {
        #expect(UpstreamTLS.serverName(configured: nil, host: "broker-a.internal") == "broker-a.internal")
        #expect(UpstreamTLS.serverName(configured: nil, host: "broker-b.internal") == "broker-b.internal")
    }

    @Test func aConfiguredServerNameWinsForEveryServer() {
        #expect(UpstreamTLS.serverName(configured: "mqtt.example.com", host: "10.0.0.5") == "mqtt.example.com")
    }

    @Test func anIPLiteralIsNoServerName() {
        #expect(UpstreamTLS.serverName(configured: nil, host: "10.0.0.5") == nil)
        #expect(UpstreamTLS.serverName(configured: nil, host: "2001:db8::1") == nil)
    }
}
