extension StringProtocol {
    /// The text's lines, split at LF, CRLF or CR (a CRLF is one `Character` in Swift, so splitting
    /// on "\n" alone misses it). Empty lines are kept, so line numbers stay right.
    public var textLines: [SubSequence] {
        split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
    }
}
