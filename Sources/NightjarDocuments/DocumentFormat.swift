public import NightjarCore

/// What a downloaded file is, decided from its content, never its name.
public enum DocumentFormat: Sendable, Equatable {
    /// X12 with the functional identifier of its first group (RA 820, IN 810, FA 997), if found.
    case x12(functionalID: String?)
    /// An Office Open XML spreadsheet (a zip holding `xl/workbook.xml`).
    case xlsx
    /// Another zip archive.
    case zip
    /// A JSON document, or JSON lines.
    case json
    /// An HTML page.
    case html
    /// A PDF document (kept and reported: no profile reads it).
    case pdf
    /// Text (in any of the encodings profiles read): delimited, fixed-width or typed records.
    case text
    /// Anything else: kept and reported, never dropped.
    case unknown

    /// A name for messages: `X12 810`, `an Excel workbook`...
    public var description: String {
        switch self {
        case .x12(let id): "X12" + (id.map { " (\($0))" } ?? "")
        case .xlsx: "an Excel workbook"
        case .zip: "a zip archive"
        case .json: "JSON"
        case .html: "an HTML page"
        case .pdf: "a PDF document"
        case .text: "text"
        case .unknown: "binary data"
        }
    }

    /// Bytes of a large file's start (and, for a zip, its end, where the directory of names is) that are sniffed.
    static let sniffedBytes = 1 << 20

    /// Sniffs a file without reading it whole: its start, and a zip's directory at its end.
    public static func detect(_ source: any ByteSource) throws(InputError) -> DocumentFormat {
        guard source.size > sniffedBytes else { return detect(try source.prefix(source.size)) }
        let head = try source.prefix(sniffedBytes)
        let format = detect(head)
        guard format == .zip else { return format }
        return detect(head + (try source.bytes(at: source.size - sniffedBytes, count: sniffedBytes)))
    }

    /// Sniffs the first bytes of a file.
    public static func detect(_ bytes: [UInt8]) -> DocumentFormat {
        if bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03, bytes[3] == 0x04 {
            // A workbook names its parts in the zip's directory; a plain zip does not.
            let name = Array("xl/workbook.xml".utf8)
            return bytes.firstRange(of: name) != nil || bytes.firstRange(of: Array("[Content_Types].xml".utf8)) != nil
                ? .xlsx : .zip
        }
        if bytes.count >= 5, Array(bytes.prefix(5)) == Array("%PDF-".utf8) { return .pdf }
        let start = X12Reader.skipLeadingNoise(bytes, from: 0)
        if bytes.count - start >= 4, bytes[start] == 73, bytes[start + 1] == 83, bytes[start + 2] == 65,
            !X12Reader.isAlphanumeric(bytes[start + 3])
        {
            let element = bytes[start + 3]
            var functionalID: String?
            if let (separators, headerEnd, _) = try? X12Reader.separators(bytes, at: start, segment: 1, file: nil) {
                var cursor = X12Reader.skipLineBreaks(bytes, from: headerEnd, terminator: separators.segment)
                if cursor + 3 < bytes.count, bytes[cursor] == 71, bytes[cursor + 1] == 83, bytes[cursor + 2] == element
                {
                    cursor += 3
                    var end = cursor
                    while end < bytes.count, end - cursor < 3, bytes[end] != element, bytes[end] != separators.segment {
                        end += 1
                    }
                    functionalID = String(decoding: bytes[cursor..<end], as: UTF8.self)
                }
            }
            return .x12(functionalID: functionalID)
        }
        let sample = Array(bytes.prefix(64 * 1024))
        if sample.isEmpty { return .unknown }
        if let mark = TextEncoding.byteOrderMark(sample), mark == .utf16LE || mark == .utf16BE { return .text }
        if TextEncoding.detect(sample) == .utf16LE || TextEncoding.detect(sample) == .utf16BE { return .text }
        var control = 0
        for byte in sample where byte < 32 && byte != 9 && byte != 10 && byte != 13 && byte != 12 { control += 1 }
        guard control == 0 else { return .unknown }
        // The first character that is not white space (after a UTF-8 byte-order mark).
        var index = sample.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while index < sample.count,
            sample[index] == 32 || sample[index] == 9 || sample[index] == 10 || sample[index] == 13
        { index += 1 }
        guard index < sample.count else { return .text }
        if sample[index] == UInt8(ascii: "{") || sample[index] == UInt8(ascii: "[") {
            // `[` may start a CSV's bracketed header too; JSON's next character settles it.
            var next = index + 1
            while next < sample.count,
                sample[next] == 32 || sample[next] == 9 || sample[next] == 10 || sample[next] == 13
            { next += 1 }
            if sample[index] == UInt8(ascii: "{") || next >= sample.count
                || "{[\"]0123456789-tfn".utf8.contains(sample[next])
            {
                return .json
            }
        }
        if sample[index] == UInt8(ascii: "<") {
            let head = String(decoding: sample[index..<min(sample.count, index + 1024)], as: UTF8.self).lowercased()
            if head.hasPrefix("<!doctype html") || head.hasPrefix("<html") || head.contains("<table")
                || head.contains("<body")
            {
                return .html
            }
        }
        return .text
    }
}
