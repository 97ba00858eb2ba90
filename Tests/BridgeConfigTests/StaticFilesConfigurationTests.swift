import BridgeConfig
import Foundation
import Testing

/// The `static_files` section: off by default, its directory relative to the config file, checked only when on.
@Suite("static_files")
struct StaticFilesConfigurationTests {
    @Test("defaults: off, ../Dashboard next to Config/, 4MiB, 30s to send an answer, 8 at once per address")
    func defaults() throws {
        let configuration = BridgeConfiguration()
        #expect(
            configuration.staticFiles
                == StaticFilesConfiguration(
                    enabled: false, directory: "../Dashboard", maxSize: 4 * 1024 * 1024, sendTimeout: .seconds(30), maxRequestsPerIP: 8))
        let fixture = try Fixture()
        let loaded = fixture.load("")
        #expect(loaded?.staticFiles.directory == fixture.root + "/Config/../Dashboard", "resolved against the file's directory")
        #expect(loaded?.staticFiles.enabled == false, "off, so the missing directory is not a problem")
    }

    @Test("switched on by environment or --set; the directory must then exist and be a directory")
    func enabledNeedsDirectory() throws {
        let fixture = try Fixture()
        #expect(
            fixture.problems("", environment: ["MQTT_WS_BRIDGE_STATIC_FILES_ENABLED": "true"]) == [
                "static_files.directory: directory '\(fixture.root)/Config/../Dashboard' does not exist"
            ])
        try fixture.file("Dashboard/index.html", "<!doctype html>")
        let loaded = fixture.load("", environment: ["MQTT_WS_BRIDGE_STATIC_FILES_ENABLED": "true"])
        #expect(loaded?.staticFiles.enabled == true)

        let file = try fixture.file("not-a-directory")
        #expect(
            fixture.problems("static_files: { enabled: true }", set: ["static_files.directory=\(file)"]) == [
                "--set: static_files.directory: cannot use '\(file)': is not a directory"
            ])
    }

    @Test("max_size is a size from 1KiB to 1GiB")
    func maxSize() throws {
        let fixture = try Fixture()
        #expect(fixture.load("static_files: { max_size: 512KiB }")?.staticFiles.maxSize == 512 * 1024)
        #expect(
            fixture.problems("static_files: { max_size: 100 }") == [
                "\(fixture.configPath):1:27: static_files.max_size: 100 is out of range (1KiB to 1GiB)"
            ])
        let problems = fixture.problems("static_files: { max_size: lots }")
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("\(fixture.configPath):1:27: static_files.max_size: 'lots' is not a size") == true, "\(problems)")
    }
}
