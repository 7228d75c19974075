public import NightjarCore

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
        0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD,
        0x017D, 0xFFFD,
        0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD,
        0x017E, 0x0178,
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
            var evenZero = 0
            var oddZero = 0
            for (offset, byte) in sample.enumerated() where byte == 0 {
                if offset % 2 == 0 { evenZero += 1 } else { oddZero += 1 }
            }
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
            if body.count >= 3, body[body.startIndex] == 0xEF, body[body.startIndex + 1] == 0xBB,
                body[body.startIndex + 2] == 0xBF
            {
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
                throw LayoutError(
                    code: "csv.encoding",
                    message:
                        "the file is not valid UTF-8 (is it Windows-1252? set `encoding = windows-1252` in the profile)",
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
                throw LayoutError(
                    code: "csv.encoding", message: "the file is not UTF-16: it has an odd number of bytes",
                    location: SourceLocation(file: file))
            }
            var units: [UInt16] = []
            units.reserveCapacity(body.count / 2)
            var index = body.startIndex
            while index < body.endIndex {
                let first = UInt16(body[index])
                let second = UInt16(body[index + 1])
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
                    throw LayoutError(
                        code: "csv.encoding", message: "the file is not valid UTF-16 (a lone surrogate)",
                        location: SourceLocation(file: file, line: line))
                }
            }
        }
    }
}

/// A text file decoded a chunk at a time: each piece ends on a character boundary, and an
/// invalid byte is an error with its line, as `TextEncoding.decode` gives for the whole file.
final class TextChunks {
    let source: any ByteSource
    /// The encoding resolved (never `auto`).
    let encoding: TextEncoding
    let file: String?
    static let chunkSize = 1 << 20
    var carry: [UInt8] = []
    var started = false
    var finished = false
    var bigEndian = false
    /// Lines before the current chunk, for error locations.
    var lineBase = 0
    let chunk: UnsafeMutableRawBufferPointer

    init(source: any ByteSource, encoding: TextEncoding, file: String?) {
        self.source = source
        self.encoding = encoding
        self.file = file
        chunk = .allocate(byteCount: TextChunks.chunkSize, alignment: 16)
    }

    deinit { chunk.deallocate() }

    /// What `auto` reads this source as: a byte-order mark, UTF-16 without one, else UTF-8 when
    /// the whole file is valid UTF-8 (read through once), else Windows-1252.
    static func resolve(_ encoding: TextEncoding, source: any ByteSource, file: String?) throws(LayoutError)
        -> TextEncoding
    {
        try resolving(encoding, source: source, file: file).encoding
    }

    /// The encoding, and whether finding it read the whole file through as that encoding already.
    static func resolving(_ encoding: TextEncoding, source: any ByteSource, file: String?) throws(LayoutError) -> (
        encoding: TextEncoding, validated: Bool
    ) {
        guard encoding == .auto else { return (encoding, false) }
        let head: [UInt8]
        do { head = try source.prefix(4096) } catch {
            throw LayoutError(code: error.code, message: error.message, location: error.location)
        }
        if let mark = TextEncoding.byteOrderMark(head) { return (mark, false) }
        let detected = TextEncoding.detect(head)
        if detected == .utf16LE || detected == .utf16BE { return (detected, false) }
        if detected == .windows1252 { return (detected, true) }
        guard source.size > head.count else { return (detected, true) }
        let trial = TextChunks(source: source, encoding: .utf8, file: file)
        defer { source.rewind() }
        do {
            while try trial.next() != nil {}
            return (.utf8, true)
        } catch {
            return (.windows1252, true)
        }
    }

    /// Reads the whole source once, so an encoding error is found before any row is read.
    func validate() throws(LayoutError) {
        defer { restart() }
        while try next() != nil {}
    }

    func restart() {
        source.rewind()
        carry = []
        started = false
        finished = false
        lineBase = 0
    }

    /// A full chunk (a source may give fewer bytes per read), or what is left at the end.
    func readChunk() throws(LayoutError) -> [UInt8] {
        var count = 0
        do {
            while count < chunk.count {
                let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: chunk[count...]))
                if got == 0 { break }
                count += got
            }
        } catch {
            throw LayoutError(code: error.code, message: error.message, location: error.location)
        }
        return Array(chunk[0..<count])
    }

    /// The next piece of text, or nil at the end.
    func next() throws(LayoutError) -> String? {
        guard !finished else { return nil }
        let read = try readChunk()
        var bytes = carry + read
        carry = []
        let atEnd = read.isEmpty
        if !started {
            started = true
            switch encoding {
            case .utf8, .utf8BOM:
                if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { bytes.removeFirst(3) }
            case .utf16, .utf16LE, .utf16BE:
                bigEndian = encoding == .utf16BE
                var body = source.size
                if let mark = TextEncoding.byteOrderMark(bytes), mark == .utf16LE || mark == .utf16BE {
                    bigEndian = mark == .utf16BE
                    bytes.removeFirst(2)
                    body -= 2
                }
                guard body % 2 == 0 else {
                    throw LayoutError(
                        code: "csv.encoding", message: "the file is not UTF-16: it has an odd number of bytes",
                        location: SourceLocation(file: file))
                }
            default: break
            }
        }
        if atEnd {
            finished = true
            if bytes.isEmpty { return nil }
        }
        switch encoding {
        case .auto:
            fatalError("resolved before reading")
        case .utf8, .utf8BOM:
            var end = bytes.count
            if !atEnd {
                // Hold back a character cut in two.
                var back = 0
                while back < 3, back < end, bytes[end - 1 - back] & 0xC0 == 0x80 { back += 1 }
                if back < end {
                    let lead = bytes[end - 1 - back]
                    let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
                    if length > back + 1 { end -= back + 1 }
                }
            }
            carry = Array(bytes[end...])
            let body = bytes[..<end]
            guard let text = String(validating: body, as: UTF8.self) else {
                var line = lineBase + 1
                var decoder = UTF8()
                var iterator = body.makeIterator()
                loop: while true {
                    switch decoder.decode(&iterator) {
                    case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
                    case .emptyInput, .error: break loop
                    }
                }
                throw LayoutError(
                    code: "csv.encoding",
                    message:
                        "the file is not valid UTF-8 (is it Windows-1252? set `encoding = windows-1252` in the profile)",
                    location: SourceLocation(file: file, line: line))
            }
            lineBase += body.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            return text
        case .windows1252:
            return try TextEncoding.windows1252.decode(bytes, file: file)
        case .utf16, .utf16LE, .utf16BE:
            var end = bytes.count - bytes.count % 2
            if !atEnd, end >= 2 {
                // Hold back a high surrogate whose pair is in the next chunk.
                let unit =
                    bigEndian
                    ? UInt16(bytes[end - 2]) << 8 | UInt16(bytes[end - 1])
                    : UInt16(bytes[end - 1]) << 8 | UInt16(bytes[end - 2])
                if unit >= 0xD800 && unit < 0xDC00 { end -= 2 }
            }
            carry = Array(bytes[end...])
            var scalars = String.UnicodeScalarView()
            var decoder = UTF16()
            var index = 0
            let bigEndian = self.bigEndian
            var iterator = AnyIterator<UInt16> {
                guard index + 1 < end else { return nil }
                defer { index += 2 }
                return bigEndian
                    ? UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
                    : UInt16(bytes[index + 1]) << 8 | UInt16(bytes[index])
            }
            while true {
                switch decoder.decode(&iterator) {
                case .scalarValue(let scalar):
                    if scalar == "\n" { lineBase += 1 }
                    scalars.append(scalar)
                case .emptyInput:
                    return String(scalars)
                case .error:
                    throw LayoutError(
                        code: "csv.encoding", message: "the file is not valid UTF-16 (a lone surrogate)",
                        location: SourceLocation(file: file, line: lineBase + 1))
                }
            }
        }
    }
}

/// A UTF-8 delimited file (a catalogue, an alias list) split into rows a chunk at a time.
public enum DelimitedFile {
    /// Each row of the file in order; a byte-order mark is skipped, invalid UTF-8 is an error with its line.
    public static func forEachRow(
        _ source: any ByteSource, separator: Character = ",", file: String?,
        _ body: (DelimitedText.Row) throws -> Void
    ) throws {
        source.rewind()
        let text = TextChunks(source: source, encoding: .utf8, file: file)
        var parser = DelimitedText.Parser(separator: separator, file: file)
        var rows: [DelimitedText.Row] = []
        while let piece = try text.next() {
            try parser.feed(piece) { rows.append($0) }
            for row in rows { try body(row) }
            rows.removeAll(keepingCapacity: true)
        }
        if let last = try parser.finish() { try body(last) }
    }
}
