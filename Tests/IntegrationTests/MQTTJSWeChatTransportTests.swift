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

    @Test(
        "A server close goes unnoticed without mqtt.js PR #1664 (issue #1180); with it the client sees 'close'",
        arguments: [(["send-exact-bytes"], false), (["send-exact-bytes", "emit-close"], true)])
    func serverClose(fixes: [String], noticed: Bool) async throws {
        let directory = try ThirdPartyClients.temporaryDirectory("mqttjs-wx-1180")
        try await BridgeHarness.with { bridge in
            var options = try MQTTJSRoute.miniProgram.options(port: bridge.wssPort, version: 4, clientID: "mqttjs-wx-close-\(fixes.count)")
            options.wxFixes = fixes
            let client = try MQTTJSScenario.start(options, outputDirectory: directory)
            try await client.waitFor("connected")

            await bridge.shutdown()  // drain: close 1001 to every client
            let closed = try await client.waitFor("wx-close")
            #expect(closed.code == 1001)
            let state = try await client.waitFor("state-after-socket-close")
            #expect(state.connected == !noticed, "\(client.output)")
            #expect(state.closeEvents == (noticed ? 1 : 0), "\(client.output)")
            await client.kill()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
