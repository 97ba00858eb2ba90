import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A process started by a test (Mosquitto, the bridge binary), that tests can signal and stop.
///
/// Spawned with `posix_spawn` and an **empty signal mask and default handlers**: Swift concurrency's
/// worker threads block most signals, and a child inherits the mask of the thread that forks it — with
/// Foundation's `Process` started from a test task, the child then ignores SIGTERM (and SIGHUP), which
/// hides exactly the shutdown and reload behaviour the tests are about.
package final class ChildProcess: Sendable {
    package let pid: pid_t
    package let executable: String
    private let exitStatus = NIOLockedValueBox<Int32?>(nil)

    /// Starts `executable` with `arguments`; stdout and stderr are appended to `outputPath` (or
    /// discarded), stdin is /dev/null.
    package static func spawn(
        executable: String,
        arguments: [String],
        environment: [String: String]? = nil,
        workingDirectory: String? = nil,
        outputPath: String? = nil
    ) throws -> ChildProcess {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeInheritedDescriptors(&actions)
        // posix_spawn_file_actions_addchdir_np is not visible from Swift's Glibc: let env(1) change directory.
        let (program, programArguments) =
            workingDirectory.map { ("/usr/bin/env", ["-C", $0, executable] + arguments) } ?? (executable, arguments)

        let argv = ([program] + programArguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let environmentPairs = (environment ?? currentEnvironment()).map { "\($0.key)=\($0.value)" }
        let envp = environmentPairs.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }

        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TestSupportError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return ChildProcess(pid: pid, executable: executable)
    }

    private init(pid: pid_t, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    /// Sends `signal` (e.g. SIGTERM, SIGHUP) if the process is still running.
    package func send(_ signal: Int32) {
        guard self.isRunning else { return }
        kill(self.pid, signal)
    }

    /// Whether the process has not exited yet (reaps it when it has).
    package var isRunning: Bool {
        self.exitStatus.withLockedValue { status in
            if status != nil { return false }
            var raw: Int32 = 0
            let reaped = waitpid(self.pid, &raw, WNOHANG)
            if reaped == self.pid {
                status = Self.decode(raw)
                return false
            }
            return reaped == 0
        }
    }

    /// The exit status once exited: the exit code, or 128 + signal number when killed by a signal.
    package var exitCode: Int32? {
        _ = self.isRunning
        return self.exitStatus.withLockedValue { $0 }
    }

    /// Waits until the process exits or `timeout` passes; returns the exit code, or nil on timeout.
    package func waitForExit(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while self.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return self.exitCode
    }

    /// SIGTERM, then SIGKILL after `timeout` if it has not exited. Safe to call more than once.
    package func stop(timeout: Duration = .seconds(5)) async {
        self.send(SIGTERM)
        if await self.waitForExit(timeout: timeout) == nil {
            self.send(SIGKILL)
            _ = await self.waitForExit(timeout: .seconds(5))
        }
    }

    deinit {
        if self.isRunning {
            kill(self.pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(self.pid, &raw, 0)
        }
    }

    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7F
        return signal == 0 ? (raw >> 8) & 0xFF : 128 + signal
    }
}

/// Makes the child close every descriptor above stderr. SwiftNIO does not open sockets with close-on-exec, so
/// without this a child (a broker that lives for a whole test) inherits every socket the test process has open at
/// that moment, and a connection that a test server closes stays open until the child exits: the peer sees no EOF.
private func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    #if canImport(Glibc)
    // glibc 2.34+ has posix_spawn_file_actions_addclosefrom_np, but Swift's Glibc module does not show it: look it up.
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    if let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "posix_spawn_file_actions_addclosefrom_np") {
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        return
    }
    // Older glibc: close what is open now (a close that fails in the child is ignored by glibc).
    guard let directory = opendir("/proc/self/fd") else { return }
    defer { closedir(directory) }
    let listing = dirfd(directory)
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if let descriptor = Int32(name), descriptor > 2, descriptor != listing {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
    }
    #endif
}

private func currentEnvironment() -> [String: String] {
    var result: [String: String] = [:]
    var pointer = environ
    while let entry = pointer.pointee {
        let text = String(cString: entry)
        if let equals = text.firstIndex(of: "=") {
            result[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        pointer += 1
    }
    return result
}
