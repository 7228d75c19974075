/// What a downloaded file is, decided from its content, never its name.
public enum DocumentFormat: Sendable, Equatable {
    /// X12 with the functional identifier of its first group (RA 820, IN 810, FA 997), if found.
    case x12(functionalID: String?)
    /// An Office Open XML spreadsheet (a zip).
    case xlsx
    /// Text that may be delimited (CSV) and is matched by profile.
    case delimitedText
    /// Anything else: kept and reported, never dropped.
    case unknown

    /// Sniffs the first bytes of a file.
    public static func detect(_ bytes: [UInt8]) -> DocumentFormat {
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03, bytes[3] == 0x04 { return .xlsx }
        let start = X12Reader.skipLeadingNoise(bytes, from: 0)
        if bytes.count - start >= 4, bytes[start] == 73, bytes[start + 1] == 83, bytes[start + 2] == 65, !X12Reader.isAlphanumeric(bytes[start + 3]) {
            let element = bytes[start + 3]
            var functionalID: String?
            if let (separators, headerEnd, _) = try? X12Reader.separators(bytes, at: start, segment: 1, file: nil) {
                var cursor = X12Reader.skipLineBreaks(bytes, from: headerEnd, terminator: separators.segment)
                if cursor + 3 < bytes.count, bytes[cursor] == 71, bytes[cursor + 1] == 83, bytes[cursor + 2] == element {
                    cursor += 3
                    var end = cursor
                    while end < bytes.count, end - cursor < 3, bytes[end] != element, bytes[end] != separators.segment { end += 1 }
                    functionalID = String(decoding: bytes[cursor..<end], as: UTF8.self)
                }
            }
            return .x12(functionalID: functionalID)
        }
        let sample = bytes.prefix(64 * 1024)
        if sample.isEmpty { return .unknown }
        var control = 0
        for byte in sample where byte < 32 && byte != 9 && byte != 10 && byte != 13 { control += 1 }
        return control == 0 ? .delimitedText : .unknown
    }
}
