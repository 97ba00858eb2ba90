import BridgeTestSupport
import Foundation
import Testing

/// mqtt.js 4.3.7's own mini-program transport (lib/connect/wx.js, Debian's node-mqtt) as shipped, in the WeChat-like
/// runtime of Tests/Clients/mqttjs/wechat.js: the two client bugs the README warns about, shown against the real
/// bridge, and what the bridge does about them. If a newer node-mqtt fixes them, these tests say so by failing: update
/// the README's client table then.
@Suite("Third-party client: mqtt.js wxs transport bugs", .timeLimit(.minutes(2)))
struct MQTTJSWeChatTransportTests {
    @Test("As shipped, wx.js sends whole backing ArrayBuffers (mqtt.js PR #1506): the bridge refuses the malformed CONNECT with close 1002")
    func wholeArrayBuffersBreakTheConnect() async throws {
        let directory = try ThirdPartyClients.temporaryDirectory("mqttjs-wx-1506")
        try await BridgeHarness.with { bridge in
            var options = try MQTTJSRoute.miniProgram.options(port: bridge.wssPort, version: 4, clientID: "mqttjs-wx-as-shipped")
            options.wxFixes = []
            let client = try MQTTJSScenario.start(options, outputDirectory: directory)

            let connect = try await client.waitFor("wx-connect")
            #expect(connect.protocolsAsked == ["mqtt"], "wx.js asks for `mqtt`; the WeChat-like socket, like WeChat, sends none")
            let closed = try await client.waitFor("wx-close")
            #expect(closed.code == 1002)
            #expect(client.events("connected").isEmpty, "\(client.output)")
            let access = try await bridge.waitForAccessLine(containing: ["route=miniprogram"])
            #expect(access.contains("closed_by=bridge"))
            // The one-byte remaining length went out as four bytes, so the protocol name is read from the wrong place.
            #expect(access.contains("reason=\"malformed CONNECT: protocol name '' is not MQTT\""), "\(access)")
            #expect(access.contains("subprotocol=none"))
            await client.kill()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @Test("Without mqtt.js PR #1664, wx.js misses a server close (issue #1180): no 'close', and after the missed keepalive it gives up")
    func serverCloseMissed() async throws {
        let client = try await self.closeByServer(fixes: ["send-exact-bytes"], clientID: "mqttjs-wx-close-missed") { client in
            let state = try await client.waitFor("state-after-socket-close")
            #expect(state.connected == true, "mqtt.js still believes it is connected")
            #expect(state.closeEvents == 0)
            // The keepalive check fails (no PINGRESP) and mqtt.js goes offline and "reconnects", which first ends the old
            // connection and waits for its 'close': that never comes, nothing is left scheduled, and Node exits.
            #expect(await client.waitForExit(timeout: .seconds(15)) == 1, "\(client.output)")
            #expect(client.events("offline").count == 1)
            #expect(client.events("reconnect").count == 1)
            #expect(client.events("wx-connect").count == 1, "it never opened another socket")
            #expect(client.events("error").last?.message?.contains("nothing left to wait for") == true, "\(client.output)")
        }
        await client.kill()
    }

    @Test("With mqtt.js PR #1664 (5.0.3), wx.js sees a server close at once")
    func serverCloseNoticed() async throws {
        let client = try await self.closeByServer(fixes: ["send-exact-bytes", "emit-close"], clientID: "mqttjs-wx-close-noticed") {
            client in
            let state = try await client.waitFor("state-after-socket-close")
            #expect(state.connected == false)
            #expect(state.closeEvents == 1)
            try await client.waitFor("offline")
        }
        await client.kill()
    }

    /// Connects a wx.js client (keepalive 1 s, reconnect every 200 ms), drains the bridge (close 1001) and hands the
    /// client to `check` after its socket saw the close.
    private func closeByServer(
        fixes: [String], clientID: String, _ check: (MQTTJSScenario) async throws -> Void
    ) async throws -> MQTTJSScenario {
        let directory = try ThirdPartyClients.temporaryDirectory("mqttjs-wx-close")
        let client = try await BridgeHarness.with { bridge in
            var options = try MQTTJSRoute.miniProgram.options(port: bridge.wssPort, version: 4, clientID: clientID)
            options.wxFixes = fixes
            options.keepalive = 1
            options.reconnectPeriod = 200
            let client = try MQTTJSScenario.start(options, outputDirectory: directory)
            do {
                try await client.waitFor("connected")
                await bridge.shutdown()
                #expect(try await client.waitFor("wx-close").code == 1001)
                try await check(client)
            } catch {
                await client.kill()
                throw error
            }
            return client
        }
        try? FileManager.default.removeItem(atPath: directory)
        return client
    }
}
