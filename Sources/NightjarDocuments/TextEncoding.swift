/// The text encodings sender files come in.
public enum TextEncoding: String, Sendable, Codable, CaseIterable {
    /// A byte-order mark decides (UTF-8, UTF-16LE, UTF-16BE); without one, valid UTF-8 is UTF-8
    /// and anything else is read as Windows-1252.
    case auto
    case utf8 = "utf-8"
    case utf8BOM = "utf-8-bom"
    case windows1252 = "windows-1252"
    /// UTF-16 with a byte-order mark (Excel's "Unicode text"); little-endian without one.
    case utf16 = "utf-16"
    case utf16LE = "utf-16le"
    case utf16BE = "utf-16be"

    /// Windows-1252's 0x80–0x9F block (the rest matches Latin-1).
    static let cp1252High: [UInt32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    ]

    /// The encoding a byte-order mark announces, if any.
    public static func byteOrderMark(_ bytes: some Collection<UInt8>) -> TextEncoding? {
        let head = Array(bytes.prefix(3))
        if head.count >= 3, head[0] == 0xEF, head[1] == 0xBB, head[2] == 0xBF { return .utf8BOM }
        if head.count >= 2, head[0] == 0xFF, head[1] == 0xFE { return .utf16LE }
        if head.count >= 2, head[0] == 0xFE, head[1] == 0xFF { return .utf16BE }
        return nil
    }

    /// What `auto` reads these bytes as.
    public static func detect(_ bytes: [UInt8]) -> TextEncoding {
        if let mark = byteOrderMark(bytes) { return mark }
        // UTF-16 without a mark: every other byte NUL in ASCII text.
        let sample = bytes.prefix(4096)
        if sample.count >= 8 {
            var evenZero = 0, oddZero = 0
            for (offset, byte) in sample.enumerated() where byte == 0 { if offset % 2 == 0 { evenZero += 1 } else { oddZero += 1 } }
            if oddZero > sample.count / 4, evenZero == 0 { return .utf16LE }
            if evenZero > sample.count / 4, oddZero == 0 { return .utf16BE }
        }
        return String(validating: bytes, as: UTF8.self) != nil ? .utf8 : .windows1252
    }

    /// Decodes `bytes`; invalid input is an error with its line, never silently replaced (except
    /// in Windows-1252, which gives every byte a meaning).
    public func decode(_ bytes: [UInt8], file: String?) throws(LayoutError) -> String {
        switch self {
        case .auto:
            return try TextEncoding.detect(bytes).decode(bytes, file: file)
        case .utf8, .utf8BOM:
            var body = bytes[...]
            if body.count >= 3, body[body.startIndex] == 0xEF, body[body.startIndex + 1] == 0xBB, body[body.startIndex + 2] == 0xBF {
                body = body.dropFirst(3)
            }
            guard let text = String(validating: body, as: UTF8.self) else {
                var line = 1
                var decoder = UTF8()
                var iterator = body.makeIterator()
                loop: while true {
                    switch decoder.decode(&iterator) {
                    case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
                    case .emptyInput: break loop
                    case .error: break loop
                    }
                }
                throw LayoutError(code: "csv.encoding",
                                     message: "the file is not valid UTF-8 (is it Windows-1252? set `encoding = windows-1252` in the profile)",
                                     location: SourceLocation(file: file, line: line))
            }
            return text
        case .windows1252:
            var scalars = String.UnicodeScalarView()
            scalars.reserveCapacity(bytes.count)
            for byte in bytes {
                let value = byte >= 0x80 && byte <= 0x9F ? TextEncoding.cp1252High[Int(byte - 0x80)] : UInt32(byte)
                scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            }
            return String(scalars)
        case .utf16, .utf16LE, .utf16BE:
            var body = bytes[...]
            var bigEndian = self == .utf16BE
            if let mark = TextEncoding.byteOrderMark(bytes), mark == .utf16LE || mark == .utf16BE {
                bigEndian = mark == .utf16BE
                body = body.dropFirst(2)
            }
            guard body.count % 2 == 0 else {
                throw LayoutError(code: "csv.encoding", message: "the file is not UTF-16: it has an odd number of bytes",
                                     location: SourceLocation(file: file))
            }
            var units: [UInt16] = []
            units.reserveCapacity(body.count / 2)
            var index = body.startIndex
            while index < body.endIndex {
                let first = UInt16(body[index]), second = UInt16(body[index + 1])
                units.append(bigEndian ? first << 8 | second : second << 8 | first)
                index += 2
            }
            var scalars = String.UnicodeScalarView()
            var decoder = UTF16()
            var iterator = units.makeIterator()
            var line = 1
            while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar):
                    if scalar == "\n" { line += 1 }
                    scalars.append(scalar)
                case .emptyInput:
                    return String(scalars)
                case .error:
                    throw LayoutError(code: "csv.encoding", message: "the file is not valid UTF-16 (a lone surrogate)",
                                         location: SourceLocation(file: file, line: line))
                }
            }
        }
    }
}

public import NightjarCore
