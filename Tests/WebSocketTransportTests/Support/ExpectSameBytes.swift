import Testing

/// `#expect(actual == expected)` for byte arrays that may be large: on failure Swift Testing would
/// diff the two arrays element by element (slow and unreadable for 100 KB); this reports the sizes
/// and the first differing offset instead.
func expectSameBytes(
    _ actual: [UInt8],
    _ expected: [UInt8],
    _ comment: @autoclosure () -> String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual != expected else { return }
    let firstDifference =
        zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(actual.count, expected.count)
    Issue.record(
        "\(comment()) got \(actual.count) bytes, expected \(expected.count); first difference at offset \(firstDifference)",
        sourceLocation: sourceLocation
    )
}
