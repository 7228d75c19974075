public import NightjarCore
import CXML
import CZlib
import Foundation

/// Reads the first worksheet of an .xlsx workbook into rows of text: through its zip (zlib) and
/// XML parts (libxml2 with no network access and no entity expansion), shared strings, inline
/// strings, numbers and date cells. Decompressed sizes are capped.
public enum WorkbookReader {
    /// No part may inflate beyond this (a small zip bomb cannot fill memory).
    public static let maximumPartSize = 256 * 1024 * 1024

    /// The rows of the first sheet; date cells are written with `dateFormat`.
    public static func firstSheet(_ bytes: [UInt8], dateFormat: String, file: String?) throws(DelimitedError) -> [DelimitedText.Row] {
        let archive = try ZipArchive(bytes, file: file)
        var shared: [String] = []
        if let part = try archive.part("xl/sharedStrings.xml") { shared = try sharedStrings(part, file: file) }
        var dateStyles: Set<Int> = []
        if let part = try archive.part("xl/styles.xml") { dateStyles = try self.dateStyles(part) }
        let sheetPath = try firstSheetPath(archive, file: file)
        guard let sheet = try archive.part(sheetPath) else {
            throw DelimitedError(code: "xlsx.malformed", message: "the workbook has no worksheet \(sheetPath)", location: SourceLocation(file: file))
        }
        return try rows(sheet, shared: shared, dateStyles: dateStyles, dateFormat: dateFormat, file: file)
    }

    static func document(_ bytes: [UInt8], part: String, file: String?) throws(DelimitedError) -> XMLDocument {
        let pointer = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress.map { $0.withMemoryRebound(to: CChar.self, capacity: buffer.count) { cxml_read_xml($0, Int32(buffer.count)) } } ?? nil
        }
        guard let pointer else {
            throw DelimitedError(code: "xlsx.malformed", message: "the part \(part) is not well-formed XML", location: SourceLocation(file: file))
        }
        return XMLDocument(pointer)
    }

    static func firstSheetPath(_ archive: ZipArchive, file: String?) throws(DelimitedError) -> String {
        guard let workbook = try archive.part("xl/workbook.xml") else {
            throw DelimitedError(code: "xlsx.malformed", message: "not an Excel workbook (no xl/workbook.xml)", location: SourceLocation(file: file))
        }
        let document = try document(workbook, part: "xl/workbook.xml", file: file)
        guard let sheet = document.root?.descendants(named: "sheet").first, let relation = sheet.attribute("id") else {
            return "xl/worksheets/sheet1.xml"
        }
        if let rels = try archive.part("xl/_rels/workbook.xml.rels") {
            let relations = try self.document(rels, part: "xl/_rels/workbook.xml.rels", file: file)
            for node in relations.root?.descendants(named: "Relationship") ?? [] where node.attribute("Id") == relation {
                guard var target = node.attribute("Target") else { break }
                if target.hasPrefix("/") { target.removeFirst() } else { target = "xl/" + target }
                return target
            }
        }
        return "xl/worksheets/sheet1.xml"
    }

    static func sharedStrings(_ bytes: [UInt8], file: String?) throws(DelimitedError) -> [String] {
        let document = try document(bytes, part: "xl/sharedStrings.xml", file: file)
        return (document.root?.children(named: "si") ?? []).map { item in
            item.descendants(named: "t").map(\.text).joined()
        }
    }

    /// Indexes of cell styles (cellXfs) whose number format is a date.
    static func dateStyles(_ bytes: [UInt8]) throws(DelimitedError) -> Set<Int> {
        let document = try document(bytes, part: "xl/styles.xml", file: nil)
        var customDates: Set<Int> = []
        for format in document.root?.descendants(named: "numFmt") ?? [] {
            guard let id = format.attribute("numFmtId").flatMap(Int.init), let code = format.attribute("formatCode")?.lowercased() else { continue }
            let stripped = code.replacingOccurrences(of: "\"[^\"]*\"", with: "", options: .regularExpression)
            if stripped.contains("d") || stripped.contains("yy") { customDates.insert(id) }
        }
        let builtIn: Set<Int> = [14, 15, 16, 17, 22, 27, 30, 36, 45, 46, 47, 50, 57]
        var result: Set<Int> = []
        guard let xfs = document.root?.descendants(named: "cellXfs").first else { return result }
        for (index, xf) in xfs.children(named: "xf").enumerated() {
            if let id = xf.attribute("numFmtId").flatMap(Int.init), builtIn.contains(id) || customDates.contains(id) { result.insert(index) }
        }
        return result
    }

    static func rows(_ bytes: [UInt8], shared: [String], dateStyles: Set<Int>, dateFormat: String, file: String?) throws(DelimitedError) -> [DelimitedText.Row] {
        let document = try document(bytes, part: "worksheet", file: file)
        var result: [DelimitedText.Row] = []
        for row in document.root?.descendants(named: "row") ?? [] {
            let number = row.attribute("r").flatMap(Int.init) ?? (result.last.map { $0.line + 1 } ?? 1)
            var cells: [String] = []
            for cell in row.children(named: "c") {
                let column = cell.attribute("r").map(columnIndex) ?? cells.count
                guard column < 16_384 else { continue }
                while cells.count < column { cells.append("") }
                let raw = cell.children(named: "v").first?.text ?? ""
                var value: String
                switch cell.attribute("t") {
                case "s":
                    guard let index = Int(raw), index >= 0, index < shared.count else {
                        throw DelimitedError(code: "xlsx.malformed", message: "cell \(cell.attribute("r") ?? "?") points to a missing shared string",
                                             location: SourceLocation(file: file, line: number))
                    }
                    value = shared[index]
                case "inlineStr": value = cell.descendants(named: "t").map(\.text).joined()
                case "b": value = raw == "1" ? "TRUE" : "FALSE"
                case "str", "e": value = raw
                default:
                    if let style = cell.attribute("s").flatMap(Int.init), dateStyles.contains(style), let serial = Double(raw) {
                        // Excel's 1900 date system: day 25569 is 1970-01-01.
                        value = CalendarDate(daysSinceEpoch: Int(serial.rounded(.down)) - 25569).format(dateFormat)
                    } else {
                        value = numberText(raw)
                    }
                }
                if cells.count == column { cells.append(value) } else { cells[column] = value }
            }
            result.append(DelimitedText.Row(line: number, fields: cells))
        }
        return result
    }

    /// A stored number as plain decimal text: Excel keeps binary doubles, so `1175.9999999999998`
    /// is rounded to 10 significant decimals, the precision any money cell was typed with.
    static func numberText(_ raw: String) -> String {
        guard raw.contains("e") || raw.contains("E") || raw.split(separator: ".").last.map({ $0.count > 6 }) == true,
              let decimal = Decimal(string: raw) else { return raw }
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
}

/// A parsed XML document (libxml2), freed when released.
final class XMLDocument {
    let pointer: xmlDocPtr
    init(_ pointer: xmlDocPtr) { self.pointer = pointer }
    deinit { xmlFreeDoc(pointer) }
    var root: XMLNode? { xmlDocGetRootElement(pointer).map { XMLNode($0, document: self) } }
}

/// An element of an `XMLDocument`. Names are compared without namespace prefixes.
struct XMLNode {
    let pointer: xmlNodePtr
    let document: XMLDocument

    init(_ pointer: xmlNodePtr, document: XMLDocument) {
        self.pointer = pointer
        self.document = document
    }

    var name: String { String(cString: pointer.pointee.name) }

    func children(named name: String) -> [XMLNode] {
        var result: [XMLNode] = []
        var child = pointer.pointee.children
        while let node = child {
            if node.pointee.type == XML_ELEMENT_NODE, String(cString: node.pointee.name) == name { result.append(XMLNode(node, document: document)) }
            child = node.pointee.next
        }
        return result
    }

    func descendants(named name: String) -> [XMLNode] {
        var result: [XMLNode] = []
        var stack: [xmlNodePtr] = []
        var child = pointer.pointee.children
        while let node = child { stack.append(node); child = node.pointee.next }
        var index = 0
        while index < stack.count {
            let node = stack[index]
            index += 1
            if node.pointee.type == XML_ELEMENT_NODE {
                if String(cString: node.pointee.name) == name { result.append(XMLNode(node, document: document)) }
                var inner = node.pointee.children
                while let next = inner { stack.append(next); inner = next.pointee.next }
            }
        }
        return result
    }

    func attribute(_ name: String) -> String? {
        var property = pointer.pointee.properties
        while let attribute = property {
            if String(cString: attribute.pointee.name) == name, let value = xmlNodeGetContent(UnsafeMutablePointer(OpaquePointer(attribute))) {
                defer { cxml_free(value) }
                return String(cString: value)
            }
            property = attribute.pointee.next
        }
        return nil
    }

    var text: String {
        guard let content = xmlNodeGetContent(pointer) else { return "" }
        defer { cxml_free(content) }
        return String(cString: content)
    }
}

/// The entries of a zip archive, inflated on demand with size caps.
struct ZipArchive {
    struct Entry {
        let method: UInt16
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

    let bytes: [UInt8]
    let entries: [String: Entry]
    let file: String?

    init(_ bytes: [UInt8], file: String?) throws(DelimitedError) {
        self.bytes = bytes
        self.file = file
        func failure(_ message: String) -> DelimitedError {
            DelimitedError(code: "xlsx.malformed", message: "not a readable workbook: \(message)", location: SourceLocation(file: file))
        }
        func u16(_ at: Int) -> Int { at + 2 <= bytes.count ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 : -1 }
        func u32(_ at: Int) -> Int { at + 4 <= bytes.count ? u16(at) | u16(at + 2) << 16 : -1 }
        guard bytes.count >= 22 else { throw failure("too short for a zip") }
        var end = -1
        var position = bytes.count - 22
        while position >= max(0, bytes.count - 22 - 65_535) {
            if u32(position) == 0x0605_4B50 { end = position; break }
            position -= 1
        }
        guard end >= 0 else { throw failure("no zip directory (truncated?)") }
        let count = u16(end + 10)
        var cursor = u32(end + 16)
        guard cursor >= 0, cursor < bytes.count, count >= 0 else { throw failure("the zip directory points outside the file") }
        var entries: [String: Entry] = [:]
        for _ in 0..<count {
            guard u32(cursor) == 0x0201_4B50 else { throw failure("a damaged zip directory entry") }
            let method = u16(cursor + 10), compressed = u32(cursor + 20), size = u32(cursor + 24)
            let nameLength = u16(cursor + 28), extraLength = u16(cursor + 30), commentLength = u16(cursor + 32)
            let offset = u32(cursor + 42)
            guard nameLength >= 0, cursor + 46 + nameLength <= bytes.count, compressed >= 0, size >= 0, offset >= 0 else {
                throw failure("a damaged zip directory entry")
            }
            let name = String(decoding: bytes[(cursor + 46)..<(cursor + 46 + nameLength)], as: UTF8.self)
            entries[name] = Entry(method: UInt16(method), compressedSize: compressed, size: size, localHeaderOffset: offset)
            cursor += 46 + nameLength + max(0, extraLength) + max(0, commentLength)
        }
        self.entries = entries
    }

    /// The inflated bytes of `name`, or nil when absent.
    func part(_ name: String) throws(DelimitedError) -> [UInt8]? {
        guard let entry = entries[name] else { return nil }
        func failure(_ message: String) -> DelimitedError {
            DelimitedError(code: "xlsx.malformed", message: "\(name): \(message)", location: SourceLocation(file: file))
        }
        let header = entry.localHeaderOffset
        guard header + 30 <= bytes.count, bytes[header] == 0x50, bytes[header + 1] == 0x4B, bytes[header + 2] == 3, bytes[header + 3] == 4 else {
            throw failure("damaged local header")
        }
        let start = header + 30 + (Int(bytes[header + 26]) | Int(bytes[header + 27]) << 8) + (Int(bytes[header + 28]) | Int(bytes[header + 29]) << 8)
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else { throw failure("truncated data") }
        guard entry.size <= WorkbookReader.maximumPartSize else { throw failure("declares \(entry.size) bytes, over the limit") }
        let data = Array(bytes[start..<(start + entry.compressedSize)])
        switch entry.method {
        case 0: return data
        case 8: return try inflate(data, expected: entry.size, failure: failure)
        default: throw failure("compression method \(entry.method) is not supported")
        }
    }

    func inflate(_ data: [UInt8], expected: Int, failure: (String) -> DelimitedError) throws(DelimitedError) -> [UInt8] {
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
