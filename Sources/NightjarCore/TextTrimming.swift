extension StringProtocol {
    /// The text without leading and trailing whitespace: exactly what Foundation's
    /// `trimmingCharacters(in: .whitespaces)` gives (the tab, the Unicode space separators and
    /// the zero-width space; line breaks stay), read on the text's scalars without Foundation's
    /// bridge.
    /// Text that starts and ends with a visible ASCII character is returned as it is.
    public func trimmingWhitespace() -> String {
        let text = String(self)
        let bytes = text.utf8
        guard let first = bytes.first, let last = bytes.last else { return text }
        if first < 0x80 && last < 0x80 && !Self.isTrimmedASCII(first) && !Self.isTrimmedASCII(last) { return text }
        let scalars = text.unicodeScalars
        var start = scalars.startIndex
        var end = scalars.endIndex
        while start < end, Self.isWhitespace(scalars[start]) { scalars.formIndex(after: &start) }
        while end > start {
            let before = scalars.index(before: end)
            guard Self.isWhitespace(scalars[before]) else { break }
            end = before
        }
        if start == scalars.startIndex && end == scalars.endIndex { return text }
        return String(scalars[start..<end])
    }

    @inline(__always)
    private static func isTrimmedASCII(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// Foundation's `CharacterSet.whitespaces`, scalar by scalar: U+0009, U+0020, U+00A0,
    /// U+1680, U+2000–U+200B, U+202F, U+205F and U+3000 (the space separators and the zero-width
    /// space).
    @inline(__always)
    private static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x20, 0xA0, 0x1680, 0x2000...0x200B, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }
}
