/// The text encodings retailer files come in.
public enum TextEncoding: String, Sendable, Codable {
    case utf8 = "utf-8"
    case utf8BOM = "utf-8-bom"
    case windows1252 = "windows-1252"

    /// Windows-1252's 0x80–0x9F block (the rest matches Latin-1).
    static let cp1252High: [UInt32] = [
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
    ]

    /// Decodes `bytes`; invalid UTF-8 is an error with the byte offset, never silently replaced.
    public func decode(_ bytes: [UInt8], file: String?) throws(DelimitedError) -> String {
        switch self {
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
                throw DelimitedError(code: "csv.encoding",
                                     message: "the file is not valid UTF-8 (is it Windows-1252? set `encoding = windows-1252` in the profile)",
                                     location: SourceLocation(file: file, line: line))
            }
            return text
        case .windows1252:
            var scalars = String.UnicodeScalarView()
            for byte in bytes {
                let value = byte >= 0x80 && byte <= 0x9F ? TextEncoding.cp1252High[Int(byte - 0x80)] : UInt32(byte)
                scalars.append(Unicode.Scalar(value) ?? "\u{FFFD}")
            }
            return String(scalars)
        }
    }
}

public import NightjarCore

/// A problem in a delimited file or its profile, with file and line.
public struct DelimitedError: NightjarError, Equatable {
    public let code: String
    public let message: String
    public let location: SourceLocation?
    public var exitStatus: ExitStatus { code.hasPrefix("profile") ? .config : .dataError }
}
