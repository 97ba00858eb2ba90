import Foundation

/// Short-lived command line tools for tests (openssl, mosquitto_passwd): found on PATH or where Debian puts
/// them, run to completion, output captured. Not for servers: those are `ChildProcess`.
package enum CommandLineTool {
    package struct Result: Sendable {
        package var status: Int32
        /// Standard output and standard error together.
        package var output: String
    }

    /// The path of `name`: on PATH, or in the sbin directories a non-root PATH often lacks.
    package static func path(_ name: String) throws -> String {
        if name.hasPrefix("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let directories =
            path.split(separator: ":").map(String.init) + [
                "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt/homebrew/bin",
            ]
        guard let found = directories.map({ "\($0)/\(name)" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestSupportError("\(name) not found: run Scripts/install-deps (Debian: apt-get install mosquitto openssl)")
        }
        return found
    }

    /// Runs `name` (a tool name or a path) with `arguments` and returns its status and output.
    ///
    /// Standard input is `input` and then end of file (empty by default: `/dev/null`), so a tool that reads it
    /// (`openssl s_client`) ends instead of waiting on the test runner's terminal. `input` must fit a pipe's buffer
    /// (64 KiB on Linux): it is written before the tool runs. A tool still running after `timeout` is terminated
    /// (SIGTERM).
    @discardableResult
    package static func run(
        _ name: String, _ arguments: [String], input: [UInt8] = [], timeout: Duration = .seconds(60)
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try self.path(name))
        process.arguments = arguments
        let pipe = Pipe()
        if input.isEmpty {
            process.standardInput = FileHandle.nullDevice
        } else {
            let inputPipe = Pipe()
            try inputPipe.fileHandleForWriting.write(contentsOf: input)
            try inputPipe.fileHandleForWriting.close()
            process.standardInput = inputPipe
        }
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(timeout / .nanoseconds(1))), execute: watchdog)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        return Result(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// Like `run`, but a non-zero exit status throws with the tool's output.
    @discardableResult
    package static func runChecked(_ name: String, _ arguments: [String]) throws -> String {
        let result = try self.run(name, arguments)
        guard result.status == 0 else {
            throw TestSupportError("\(name) \(arguments.joined(separator: " ")) failed (\(result.status)): \(result.output)")
        }
        return result.output
    }
}
