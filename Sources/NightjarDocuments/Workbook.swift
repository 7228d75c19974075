import CZlib
import Foundation
public import NightjarCore
import NightjarMarkup

/// Reads the worksheets of an .xlsx workbook: through its zip (zlib) and XML parts (libxml2 with
/// no network access and no entity expansion), shared strings, inline strings, numbers with
/// their number formats, and date cells. Decompressed sizes are capped.
public enum WorkbookReader {
    /// No part may inflate beyond this (a small zip bomb cannot fill memory).
    public static let maximumPartSize = 256 * 1024 * 1024

    /// A worksheet: its name and rows.
    public struct Sheet: Sendable {
        public let name: String
        public let rows: [(line: Int, cells: [SourceCell])]
    }

    /// The sheets a selection names, in workbook order.
    public static func sheets(_ bytes: [UInt8], selection: LayoutProfile.SheetSelection, file: String?)
        throws(LayoutError) -> [Sheet]
    {
        let workbook = try Workbook(bytes, file: file)
        let chosen = try workbook.chosen(selection)
        var result: [Sheet] = []
        for (name, path) in chosen {
            let rows = try workbook.rows(path, sheet: name)
            var collected: [(line: Int, cells: [SourceCell])] = []
            while let row = rows.next() { collected.append(row) }
            if let failure = rows.failure() { throw failure }
            result.append(Sheet(name: name, rows: collected))
        }
        return result
    }

    /// An opened workbook: its archive, shared strings, cell styles and sheets; each sheet's rows are read as they are asked for.
    struct Workbook {
        let archive: ZipArchive
        let shared: [String]
        let styles: CellStyles
        let sheets: [(name: String, path: String)]
        let file: String?

        init(_ bytes: [UInt8], file: String?) throws(LayoutError) {
            archive = try ZipArchive(bytes, file: file)
            var shared: [String] = []
            if let part = try archive.part("xl/sharedStrings.xml") { shared = try sharedStrings(part, file: file) }
            self.shared = shared
            var styles = CellStyles()
            if let part = try archive.part("xl/styles.xml") { styles = try cellStyles(part, file: file) }
            self.styles = styles
            sheets = try sheetPaths(archive, file: file)
            self.file = file
        }

        /// The sheets a selection names, in workbook order.
        func chosen(_ selection: LayoutProfile.SheetSelection) throws(LayoutError) -> [(name: String, path: String)] {
            switch selection {
            case .first: return Array(sheets.prefix(1))
            case .all: return sheets
            case .number(let number):
                guard number <= sheets.count else {
                    throw LayoutError(
                        code: "xlsx.no_sheet", message: "the workbook has \(sheets.count) sheet(s), not \(number)",
                        location: SourceLocation(file: file))
                }
                return [sheets[number - 1]]
            case .named(let name):
                guard let sheet = sheets.first(where: { $0.name.caseInsensitiveCompare(name) == .orderedSame }) else {
                    throw LayoutError(
                        code: "xlsx.no_sheet",
                        message:
                            "the workbook has no sheet \"\(name)\" (it has: \(sheets.map(\.name).joined(separator: ", ")))",
                        location: SourceLocation(file: file))
                }
                return [sheet]
            }
        }

        /// A sheet's rows, from the start of its part.
        func rows(_ path: String, sheet: String) throws(LayoutError) -> SheetRows {
            guard let part = try archive.stream(path) else {
                throw LayoutError(
                    code: "xlsx.malformed", message: "the workbook has no worksheet \(path)",
                    location: SourceLocation(file: file))
            }
            return SheetRows(part: part, sheet: sheet, shared: shared, styles: styles, file: file)
        }

        /// Reads a sheet through once, keeping nothing: refused as reading it whole would refuse it.
        func check(_ path: String, sheet: String) throws(LayoutError) {
            let rows = try rows(path, sheet: sheet)
            while rows.next() != nil {}
            if let failure = rows.failure() { throw failure }
        }
    }

    static func document(_ bytes: [UInt8], part: String, file: String?) throws(LayoutError) -> MarkupDocument {
        guard let document = MarkupDocument.xml(bytes) else {
            throw LayoutError(
                code: "xlsx.malformed", message: "the part \(part) is not well-formed XML",
                location: SourceLocation(file: file))
        }
        return document
    }

    /// Every sheet's name and part, in workbook order.
    static func sheetPaths(_ archive: ZipArchive, file: String?) throws(LayoutError) -> [(name: String, path: String)] {
        guard let workbook = try archive.part("xl/workbook.xml") else {
            throw LayoutError(
                code: "xlsx.malformed", message: "not an Excel workbook (no xl/workbook.xml)",
                location: SourceLocation(file: file))
        }
        let sheets = try document(workbook, part: "xl/workbook.xml", file: file).root?.descendants(named: "sheet") ?? []
        var targets: [String: String] = [:]
        if let rels = try archive.part("xl/_rels/workbook.xml.rels") {
            for node in try document(rels, part: "xl/_rels/workbook.xml.rels", file: file).root?.descendants(
                named: "Relationship") ?? []
            {
                guard let id = node.attribute("Id"), var target = node.attribute("Target") else { continue }
                if target.hasPrefix("/") { target.removeFirst() } else { target = "xl/" + target }
                targets[id] = target
            }
        }
        if sheets.isEmpty { return [("Sheet1", "xl/worksheets/sheet1.xml")] }
        return sheets.enumerated().map { index, sheet in
            let name = sheet.attribute("name") ?? "Sheet\(index + 1)"
            let path = sheet.attribute("id").flatMap { targets[$0] } ?? "xl/worksheets/sheet\(index + 1).xml"
            return (name, path)
        }
    }

    static func sharedStrings(_ bytes: [UInt8], file: String?) throws(LayoutError) -> [String] {
        let document = try document(bytes, part: "xl/sharedStrings.xml", file: file)
        return (document.root?.children(named: "si") ?? []).map { item in
            // Runs (`r`) and plain text (`t`), but not phonetic guides (`rPh`).
            var text = ""
            for child in item.children {
                if child.name == "t" {
                    text += child.content
                } else if child.name == "r" {
                    text += child.children(named: "t").map(\.content).joined()
                }
            }
            return text
        }
    }

    /// Each cell style's number format code, and which of them show dates.
    struct CellStyles {
        var formats: [String?] = []
        var dates: Set<Int> = []
    }

    static let builtInFormats: [Int: String] = [
        0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?",
        13: "# ??/??",
        14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 22: "m/d/yy h:mm", 37: "#,##0 ;(#,##0)",
        38: "#,##0 ;[Red](#,##0)",
        39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)", 48: "##0.0E+0", 49: "@",
    ]

    static func cellStyles(_ bytes: [UInt8], file: String?) throws(LayoutError) -> CellStyles {
        let document = try document(bytes, part: "xl/styles.xml", file: file)
        var custom: [Int: String] = [:]
        for format in document.root?.descendants(named: "numFmt") ?? [] {
            guard let id = format.attribute("numFmtId").flatMap(Int.init), let code = format.attribute("formatCode")
            else { continue }
            custom[id] = code
        }
        let builtInDates: Set<Int> = [14, 15, 16, 17, 22, 27, 30, 36, 45, 46, 47, 50, 57]
        var styles = CellStyles()
        guard let xfs = document.root?.descendants(named: "cellXfs").first else { return styles }
        for (index, xf) in xfs.children(named: "xf").enumerated() {
            let id = xf.attribute("numFmtId").flatMap(Int.init) ?? 0
            let code = custom[id] ?? builtInFormats[id]
            styles.formats.append(code)
            if builtInDates.contains(id) {
                styles.dates.insert(index)
            } else if let code = custom[id] {
                // A date format shows days or years; quoted literals and colours do not count.
                let stripped = code.lowercased().replacingOccurrences(
                    of: "\"[^\"]*\"", with: "", options: .regularExpression
                )
                .replacingOccurrences(of: "\\[[^\\]]*\\]", with: "", options: .regularExpression)
                if stripped.contains("d") || stripped.contains("yy") { styles.dates.insert(index) }
            }
        }
        return styles
    }

    /// Excel's 1900 date system: serial 25569 is 1970-01-01.
    public static func excelDate(_ serial: Double) -> CalendarDate {
        CalendarDate(daysSinceEpoch: Int(serial.rounded(.down)) - 25569)
    }

    /// A stored number as plain decimal text: Excel keeps binary doubles, so `1175.9999999999998`
    /// is rounded to 6 decimals, beyond the precision any money cell was typed with.
    static func numberText(_ raw: String) -> String {
        guard raw.contains("e") || raw.contains("E") || raw.split(separator: ".").last.map({ $0.count > 6 }) == true,
            let decimal = Decimal(string: raw)
        else { return raw }
        var value = decimal
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 6, .plain)
        return "\(rounded)"
    }

    /// "C12" → 2.
    static func columnIndex(_ reference: String) -> Int {
        var index = 0
        for scalar in reference.unicodeScalars {
            guard scalar.value >= 65 && scalar.value <= 90 else { break }
            index = index * 26 + Int(scalar.value - 64)
            if index > 16_384 { return 16_384 }
        }
        return max(0, index - 1)
    }

    /// 2 → "C".
    static func columnName(_ index: Int) -> String {
        var name = ""
        var value = index + 1
        while value > 0 {
            let remainder = (value - 1) % 26
            name = String(UnicodeScalar(UInt8(65 + remainder))) + name
            value = (value - 1) / 26
        }
        return name
    }
}

/// The entries of a zip archive, inflated on demand with size caps.
struct ZipArchive {
    struct Entry {
        let method: UInt16
        let crc32: UInt32
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

    let bytes: [UInt8]
    let entries: [String: Entry]
    /// Entry names in the order of the archive's directory.
    let names: [String]
    let file: String?
    /// What the archive is, for messages, and the code of its errors.
    let what: (name: String, code: String)

    init(_ bytes: [UInt8], file: String?, what: (name: String, code: String) = ("workbook", "xlsx.malformed"))
        throws(LayoutError)
    {
        self.bytes = bytes
        self.file = file
        self.what = what
        func failure(_ message: String) -> LayoutError {
            LayoutError(
                code: what.code, message: "not a readable \(what.name): \(message)",
                location: SourceLocation(file: file))
        }
        func u16(_ at: Int) -> Int { at + 2 <= bytes.count ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 : -1 }
        func u32(_ at: Int) -> Int { at + 4 <= bytes.count ? u16(at) | u16(at + 2) << 16 : -1 }
        guard bytes.count >= 22 else { throw failure("too short for a zip") }
        var end = -1
        var position = bytes.count - 22
        while position >= max(0, bytes.count - 22 - 65_535) {
            if u32(position) == 0x0605_4B50 {
                end = position
                break
            }
            position -= 1
        }
        guard end >= 0 else { throw failure("no zip directory (truncated?)") }
        let count = u16(end + 10)
        var cursor = u32(end + 16)
        guard cursor >= 0, cursor < bytes.count, count >= 0 else {
            throw failure("the zip directory points outside the file")
        }
        var entries: [String: Entry] = [:]
        var names: [String] = []
        for _ in 0..<count {
            guard u32(cursor) == 0x0201_4B50 else { throw failure("a damaged zip directory entry") }
            let method = u16(cursor + 10)
            let compressed = u32(cursor + 20)
            let size = u32(cursor + 24)
            let nameLength = u16(cursor + 28)
            let extraLength = u16(cursor + 30)
            let commentLength = u16(cursor + 32)
            let offset = u32(cursor + 42)
            guard nameLength >= 0, cursor + 46 + nameLength <= bytes.count, compressed >= 0, size >= 0, offset >= 0
            else {
                throw failure("a damaged zip directory entry")
            }
            let name = String(decoding: bytes[(cursor + 46)..<(cursor + 46 + nameLength)], as: UTF8.self)
            if entries[name] == nil { names.append(name) }
            entries[name] = Entry(
                method: UInt16(method), crc32: UInt32(truncatingIfNeeded: u32(cursor + 16)), compressedSize: compressed,
                size: size,
                localHeaderOffset: offset)
            cursor += 46 + nameLength + max(0, extraLength) + max(0, commentLength)
        }
        self.entries = entries
        self.names = names
    }

    /// Where the data of `name` starts; refused when its header, declared size (over
    /// `maximumSize`) or method is wrong.
    func dataStart(_ name: String, _ entry: Entry, maximumSize: Int = WorkbookReader.maximumPartSize)
        throws(LayoutError) -> Int
    {
        let code = what.code
        func failure(_ message: String) -> LayoutError {
            LayoutError(code: code, message: "\(name): \(message)", location: SourceLocation(file: file))
        }
        let header = entry.localHeaderOffset
        guard header + 30 <= bytes.count, bytes[header] == 0x50, bytes[header + 1] == 0x4B, bytes[header + 2] == 3,
            bytes[header + 3] == 4
        else {
            throw failure("damaged local header")
        }
        let start =
            header + 30 + (Int(bytes[header + 26]) | Int(bytes[header + 27]) << 8)
            + (Int(bytes[header + 28]) | Int(bytes[header + 29]) << 8)
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else { throw failure("truncated data") }
        guard entry.size <= maximumSize else { throw failure("declares \(entry.size) bytes, over the limit") }
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.size else {
                throw failure("its stored size differs from its declared size")
            }
        case 8: break
        default: throw failure("compression method \(entry.method) is not supported")
        }
        return start
    }

    /// The inflated bytes of `name`, or nil when absent.
    func part(_ name: String, maximumSize: Int = WorkbookReader.maximumPartSize) throws(LayoutError) -> [UInt8]? {
        guard let entry = entries[name] else { return nil }
        let code = what.code
        func failure(_ message: String) -> LayoutError {
            LayoutError(code: code, message: "\(name): \(message)", location: SourceLocation(file: file))
        }
        let start = try dataStart(name, entry, maximumSize: maximumSize)
        let data = Array(bytes[start..<(start + entry.compressedSize)])
        let content = entry.method == 0 ? data : try inflate(data, expected: entry.size, failure: failure)
        // The checksum the archive states for the part: damaged bytes are refused, not read.
        let checksum = content.withUnsafeBufferPointer { buffer in
            UInt32(truncatingIfNeeded: CZlib.crc32(0, buffer.baseAddress, UInt32(buffer.count)))
        }
        guard checksum == entry.crc32 else { throw failure("its checksum does not match (the file is damaged)") }
        return content
    }

    func inflate(_ data: [UInt8], expected: Int, failure: (String) -> LayoutError) throws(LayoutError) -> [UInt8] {
        var stream = z_stream()
        guard czlib_inflate_init2(&stream, -15) == Z_OK else { throw failure("cannot start inflating") }
        defer { inflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: max(expected, 1))
        var input = data
        let status: Int32 = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        // Exactly the declared size, or it is refused: more would be a bomb, less a truncation.
        guard status == Z_STREAM_END, Int(stream.total_out) == expected else {
            throw failure(status == Z_BUF_ERROR ? "inflates beyond its declared size" : "damaged compressed data")
        }
        return output
    }
}
