/// One fuzz target: what it does with one input, and the seeds its corpus starts from.
///
/// A target's executable declares the two libFuzzer entry points and hands them to `FuzzEntry`:
///
/// ```swift
/// @_cdecl("LLVMFuzzerInitialize")
/// func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
///     FuzzEntry.initialize(MyTarget.self)
/// }
///
/// @_cdecl("LLVMFuzzerTestOneInput")
/// func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
///     FuzzEntry.test(MyTarget.self, data, size)
/// }
/// ```
public protocol FuzzTarget {
    /// Runs the code under test on `input`. Returning means the input is fine; a broken invariant calls
    /// `fuzzCheck`, which stops the process so that libFuzzer saves the input.
    static func test(_ input: [UInt8])

    /// Meaningful starting points, by file name: real packets, headers or configurations in this target's input
    /// format. Written to Fuzzing/Seeds/<target>/ by `Scripts/fuzz --seeds`.
    static func seeds() throws -> [(name: String, bytes: [UInt8])]
}
