import BridgeConfig
import Testing

@Suite("listeners.<name>.reuse_port")
struct ReusePortConfigurationTests {
    @Test("On by default; the file, the environment and --set turn it off; a non-boolean names the key")
    func reusePort() throws {
        let fixture = try Fixture()
        let defaults = try #require(fixture.load(""))
        #expect(defaults.listeners.allSatisfy { $0.reusePort })

        let fromFile = try #require(fixture.load("listeners:\n  wss:\n    address: 127.0.0.1\n    port: 8443\n    reuse_port: false\n"))
        #expect(fromFile.listener(named: "wss")?.reusePort == false)
        let fromEnvironment = try #require(fixture.load("", environment: ["MQTT_WS_BRIDGE_LISTENERS_WSS_REUSE_PORT": "false"]))
        #expect(fromEnvironment.listener(named: "wss")?.reusePort == false)
        let fromSet = try #require(fixture.load("", set: ["listeners.wss.reuse_port=false"]))
        #expect(fromSet.listener(named: "wss")?.reusePort == false)

        let problems = fixture.problems("", set: ["listeners.wss.reuse_port=sometimes"])
        #expect(problems.count == 1 && problems[0].contains("listeners.wss.reuse_port"), "\(problems)")
    }
}
