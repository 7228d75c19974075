extension StringProtocol {
    /// The text's lines, split at LF, CRLF or CR (a CRLF is one `Character` in Swift, so splitting
    /// on "\n" alone misses it). Empty lines are kept, so line numbers stay right.
    public var textLines: [SubSequence] {
        split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
    }
}

extension String {
    /// Without leading and trailing tabs and spaces (the characters of Foundation's
    /// `.whitespaces`: tab, the Unicode space separators and U+200B; line ends stay). The text itself when
    /// there are none, and no round trip through `NSString`: readers call this for every cell.
    public func trimmingHorizontalSpace() -> String {
        func isBlank(_ scalar: Unicode.Scalar) -> Bool {
            scalar.value == 32 || scalar.value == 9
                || (scalar.value >= 0x80 && (scalar.value == 0x200B || scalar.properties.generalCategory == .spaceSeparator))
        }
        let scalars = unicodeScalars
        var start = scalars.startIndex, end = scalars.endIndex
        while start < end, isBlank(scalars[start]) { start = scalars.index(after: start) }
        while end > start {
            let before = scalars.index(before: end)
            guard isBlank(scalars[before]) else { break }
            end = before
        }
        if start == scalars.startIndex, end == scalars.endIndex { return self }
        return String(scalars[start..<end])
    }
}
