import Foundation

/// The libFuzzer entry points, shared by every target.
public enum FuzzEntry {
    /// The environment variable that makes a target write its seeds instead of fuzzing: `Scripts/fuzz --seeds`
    /// sets it to the target's corpus directory. libFuzzer calls `LLVMFuzzerInitialize` before anything else, so
    /// the seeds come from the same binary (and input format) as the fuzzing.
    public static let writeSeedsVariable = "FUZZ_WRITE_SEEDS"

    /// For `LLVMFuzzerInitialize`: writes the seeds and exits when asked to, otherwise does nothing.
    public static func initialize<Target: FuzzTarget>(_ target: Target.Type) -> CInt {
        guard let directory = ProcessInfo.processInfo.environment[writeSeedsVariable] else {
            return 0
        }
        do {
            let seeds = try Target.seeds()
            let url = URL(fileURLWithPath: directory, isDirectory: true)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            for seed in seeds {
                try Data(seed.bytes).write(to: url.appendingPathComponent(seed.name))
            }
            print("wrote \(seeds.count) seeds to \(directory)")
            exit(0)
        } catch {
            FileHandle.standardError.write(Data("cannot write seeds to \(directory): \(error)\n".utf8))
            exit(1)
        }
    }

    /// For `LLVMFuzzerTestOneInput`.
    public static func test<Target: FuzzTarget>(_ target: Target.Type, _ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        Target.test(input)
        return 0
    }
}

/// Stops the run when an invariant does not hold, with a message on standard error; libFuzzer reports the crash and
/// saves the input that caused it. Unlike `assert`, it is checked in release builds (the fuzz targets are optimised).
public func fuzzCheck(
    _ condition: @autoclosure () -> Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) {
    if !condition() {
        FileHandle.standardError.write(Data("\ninvariant broken at \(file):\(line): \(message())\n".utf8))
        abort()
    }
}
