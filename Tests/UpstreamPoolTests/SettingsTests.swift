import Testing

@testable import UpstreamPool

@Suite("Server addresses and pool settings")
struct SettingsTests {
    @Test(arguments: [
        ("broker:1883", "broker", 1883),
        ("10.0.0.7:8883", "10.0.0.7", 8883),
        ("[::1]:1883", "::1", 1883),
        ("[2001:db8::1]:65535", "2001:db8::1", 65535),
        ("mqtt_1.internal-zone.example.com:1", "mqtt_1.internal-zone.example.com", 1),
    ])
    func parses(address: String, host: String, port: Int) throws {
        let server = try UpstreamServer(parsing: address)
        #expect(server.host == host)
        #expect(server.port == port)
        #expect(server.weight == 1)
        #expect(server.description == address)
    }

    @Test(arguments: [
        ("broker", "'broker' has no port (write host:port, e.g. broker:1883)"),
        (":1883", "':1883' has no host before the port"),
        ("broker:", "'broker:' has no port after ':'"),
        ("broker:0", "'broker:0' '0' is not a port number (1-65535)"),
        ("broker:70000", "'broker:70000' '70000' is not a port number (1-65535)"),
        ("broker:+1", "'broker:+1' '+1' is not a port number (1-65535)"),
        ("::1:1883", "'::1:1883' looks like an IPv6 address: put it in brackets, e.g. [::1]:1883"),
        ("[::1]", "'[::1]' needs a port after the IPv6 address, e.g. [::1]:1883"),
        ("[::1:1883", "'[::1:1883' has no ']' after the IPv6 address"),
        ("[broker]:1883", "'[broker]:1883' 'broker' in brackets is not an IPv6 address"),
        ("bro ker:1883", "'bro ker:1883' 'bro ker' is not a host name or IP address (letters, digits, '-', '.', '_')"),
        ("tcp://broker:1883", "'tcp://broker:1883' 'tcp://broker' is not a host name or IP address (letters, digits, '-', '.', '_')"),
    ])
    func refuses(address: String, message: String) {
        #expect(throws: UpstreamServerAddressError.self) { try UpstreamServer(parsing: address) }
        do {
            _ = try UpstreamServer(parsing: address)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("validation names each problem's setting")
    func validation() {
        let settings = UpstreamPoolSettings(
            servers: [
                UpstreamServer(host: "a", port: 1883), UpstreamServer(host: "A", port: 1883, weight: 0),
                UpstreamServer(host: "b c", port: 1883), UpstreamServer(host: "d", port: 0, weight: 1001),
            ],
            minHealthy: 5, backoff: .init(initial: .seconds(5), maximum: .seconds(1)))
        #expect(throws: UpstreamPoolSettingsError.self) { try settings.validate() }
        do {
            try settings.validate()
        } catch {
            #expect(
                error.problems.map(\.setting) == [.weight(1), .server(1), .server(2), .server(3), .weight(3), .minHealthy, .maximumBackoff])
            #expect(error.problems[1].message == "'A:1883' is listed twice (also entry 0)")
            #expect(error.problems[5].message == "is 5, but there are only 4 servers")
        }
        #expect(throws: UpstreamPoolSettingsError.self) { try UpstreamPool(settings: .init(servers: [])) }
        let tooMany = (0...64).map { UpstreamServer(host: "h\($0)", port: 1883) }
        #expect(throws: UpstreamPoolSettingsError.self) { try UpstreamPoolSettings(servers: tooMany).validate() }
        #expect(throws: Never.self) { try UpstreamPoolSettings(servers: Array(tooMany.prefix(64))).validate() }
    }

    @Test("a pool of 64 servers uses every bit of the plan's mask")
    func sixtyFourServers() throws {
        let pool = try makePool(brokerAddresses(64))
        let view = pool.makeView()
        var plan = view.plan(clientID: "x")
        var seen = Set<Int>()
        while let server = plan.next() { seen.insert(server.index) }
        #expect(seen.count == 64)
    }
}
