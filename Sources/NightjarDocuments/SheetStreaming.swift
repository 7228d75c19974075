internal import CXML
import CZlib
import Foundation
import NightjarCore

/// One part of a zip archive, inflated a piece at a time into the buffer its reader offers: only
/// zlib's window is held, not the part. Its declared size and checksum are checked as it ends.
final class ZipPartStream {
    let name: String
    /// The whole archive (shared with the `ZipArchive`, not copied) and where the part's data lies in it.
    let archive: [UInt8]
    let start: Int
    let entry: ZipArchive.Entry
    private var stream = z_stream()
    private var inflating = false
    private var consumed = 0
    private var produced = 0
    private var checksum: UInt32 = 0
    private var ended = false
    /// Why the part cannot be read (damaged, a bomb), once that is known.
    private(set) var failure: String?

    init(name: String, archive: [UInt8], start: Int, entry: ZipArchive.Entry) {
        self.name = name
        self.archive = archive
        self.start = start
        self.entry = entry
    }

    deinit { if inflating { inflateEnd(&stream) } }

    /// Up to `count` more bytes of the part into `buffer`: 0 at its end, -1 when it cannot be read (see `failure`).
    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int) -> Int {
        if failure != nil { return -1 }
        if ended || count <= 0 { return 0 }
        var written = 0
        if entry.method == 0 {
            written = min(count, entry.compressedSize - consumed)
            archive.withUnsafeBufferPointer { bytes in
                if written > 0 { buffer.update(from: bytes.baseAddress! + start + consumed, count: written) }
            }
            consumed += written
            if consumed == entry.compressedSize { ended = true }
        } else {
            if !inflating {
                guard czlib_inflate_init2(&stream, -15) == Z_OK else {
                    failure = "cannot start inflating"
                    return -1
                }
                inflating = true
            }
            let status: Int32 = archive.withUnsafeBufferPointer { bytes in
                stream.next_in = UnsafeMutablePointer(mutating: bytes.baseAddress! + start + consumed)
                stream.avail_in = UInt32(entry.compressedSize - consumed)
                stream.next_out = buffer
                stream.avail_out = UInt32(count)
                let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                consumed = entry.compressedSize - Int(stream.avail_in)
                written = count - Int(stream.avail_out)
                return status
            }
            switch status {
            case Z_STREAM_END: ended = true
            case Z_OK: break
            // No progress is possible: the data ended before the stream did.
            case Z_BUF_ERROR where written == 0: failure = "inflates beyond its declared size"
            case Z_BUF_ERROR: break
            default: failure = "damaged compressed data"
            }
        }
        produced += written
        if written > 0 { checksum = UInt32(truncatingIfNeeded: CZlib.crc32(UInt(checksum), buffer, UInt32(written))) }
        // Exactly the declared size, or it is refused: more would be a bomb, less a truncation.
        if produced > entry.size { failure = "inflates beyond its declared size" }
        if failure == nil, ended {
            if produced != entry.size {
                failure = "damaged compressed data"
            } else if checksum != entry.crc32 {
                failure = "its checksum does not match (the file is damaged)"
            }
        }
        return failure == nil ? written : -1
    }

    /// Reads the rest of the part, keeping nothing: whether it is intact.
    func readToEnd() -> String? {
        var scratch = [UInt8](repeating: 0, count: 64 * 1024)
        while scratch.withUnsafeMutableBufferPointer({ read(into: $0.baseAddress!, count: $0.count) }) > 0 {}
        return failure
    }

    /// Why the part cannot be read, as the reader reports it.
    func error(file: String?) -> LayoutError? {
        failure.map {
            LayoutError(code: "xlsx.malformed", message: "\(name): \($0)", location: SourceLocation(file: file))
        }
    }
}

extension ZipArchive {
    /// `name` as a stream, or nil when absent; refused here when its header, declared size or method is wrong.
    func stream(_ name: String) throws(LayoutError) -> ZipPartStream? {
        guard let entry = entries[name] else { return nil }
        let start = try dataStart(name, entry)
        return ZipPartStream(name: name, archive: bytes, start: start, entry: entry)
    }
}

/// A worksheet's rows read one at a time by libxml2's pull reader over the part as it inflates,
/// as the whole-part reading saw them: each `row` element's `c` cells with their first `v`, or
/// their `t` texts for inline strings. A cell pointing at a missing shared string is noted
/// (`cellFailure`, the first) and read as empty, so the rest of the sheet can still be checked.
final class SheetRows {
    let part: ZipPartStream
    let sheet: String
    let shared: [String]
    let styles: WorkbookReader.CellStyles
    let file: String?
    private let reader: OpaquePointer?
    private var lastLine = 0
    private(set) var finished = false
    /// The XML is not well-formed (or the part could not be read: see `part.failure`).
    private(set) var malformed = false
    private(set) var cellFailure: LayoutError?

    init(part: ZipPartStream, sheet: String, shared: [String], styles: WorkbookReader.CellStyles, file: String?) {
        self.part = part
        self.sheet = sheet
        self.shared = shared
        self.styles = styles
        self.file = file
        let read: xmlInputReadCallback = { context, buffer, length in
            guard let context, let buffer else { return -1 }
            let part = Unmanaged<ZipPartStream>.fromOpaque(context).takeUnretainedValue()
            return Int32(
                part.read(into: UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: UInt8.self), count: Int(length))
            )
        }
        reader = cxml_reader_for_io(read, Unmanaged.passUnretained(part).toOpaque())
        if reader == nil { malformed = true }
    }

    deinit { if let reader { xmlFreeTextReader(reader) } }

    /// The next node: false at the end or on an error (`malformed`).
    private func advance() -> Bool {
        guard !finished, !malformed, let reader else { return false }
        let status = xmlTextReaderRead(reader)
        if status == 1 { return true }
        if status == 0 { finished = true } else { malformed = true }
        return false
    }

    private var nodeType: Int32 { xmlTextReaderNodeType(reader) }
    private var depth: Int32 { xmlTextReaderDepth(reader) }
    private var isEmptyElement: Bool { xmlTextReaderIsEmptyElement(reader) == 1 }
    private func localName(is name: String) -> Bool {
        guard let local = xmlTextReaderConstLocalName(reader) else { return false }
        return strcmp(UnsafeRawPointer(local).assumingMemoryBound(to: CChar.self), name) == 0
    }
    private var value: String {
        guard let text = xmlTextReaderConstValue(reader) else { return "" }
        return String(cString: UnsafeRawPointer(text).assumingMemoryBound(to: CChar.self))
    }

    /// The current element's attributes by local name, the first of each.
    private func attributes(_ names: [String]) -> [String?] {
        var found = [String?](repeating: nil, count: names.count)
        while xmlTextReaderMoveToNextAttribute(reader) == 1 {
            for (index, name) in names.enumerated() where found[index] == nil && localName(is: name) {
                found[index] = value
            }
        }
        xmlTextReaderMoveToElement(reader)
        return found
    }

    static let element: Int32 = 1, text: Int32 = 3, cdata: Int32 = 4, whitespace: Int32 = 13,
        significantWhitespace: Int32 = 14, endElement: Int32 = 15

    /// The next row, or nil at the end of the sheet or when it cannot be read further.
    func next() -> (line: Int, cells: [SourceCell])? {
        while advance() {
            guard nodeType == SheetRows.element, localName(is: "row") else { continue }
            let rowDepth = depth
            let number = attributes(["r"])[0].flatMap(Int.init) ?? (lastLine + 1)
            lastLine = number
            var cells: [SourceCell] = []
            if !isEmptyElement {
                while advance() {
                    let type = nodeType
                    if type == SheetRows.endElement && depth == rowDepth { break }
                    guard type == SheetRows.element, depth == rowDepth + 1, localName(is: "c") else { continue }
                    readCell(into: &cells, row: number)
                }
            }
            return (number, cells)
        }
        return nil
    }

    /// The `c` element the reader is on, and everything inside it.
    private func readCell(into cells: inout [SourceCell], row number: Int) {
        let cellDepth = depth
        let found = attributes(["r", "t", "s"])
        var raw = ""
        var inline = ""
        var seenValue = false
        var inValue: Int32?
        var inText: Int32?
        if !isEmptyElement {
            while advance() {
                let type = nodeType
                let level = depth
                if type == SheetRows.endElement {
                    if level == cellDepth { break }
                    if level == inValue { inValue = nil }
                    if level == inText { inText = nil }
                } else if type == SheetRows.element {
                    if !seenValue, level == cellDepth + 1, localName(is: "v") {
                        seenValue = true
                        if !isEmptyElement { inValue = level }
                    } else if inText == nil, localName(is: "t"), !isEmptyElement {
                        inText = level
                    }
                } else if type == SheetRows.text || type == SheetRows.cdata || type == SheetRows.whitespace
                    || type == SheetRows.significantWhitespace
                {
                    if inValue != nil { raw += value }
                    if inText != nil { inline += value }
                }
            }
        }
        let column = found[0].map(WorkbookReader.columnIndex) ?? cells.count
        guard column < 16_384 else { return }
        while cells.count < column { cells.append(SourceCell(text: "")) }
        let reference = found[0] ?? "\(WorkbookReader.columnName(column))\(number)"
        var cell = SourceCell(text: "", reference: reference)
        switch found[1] {
        case "s":
            if let index = Int(raw), index >= 0, index < shared.count {
                cell.text = shared[index]
            } else if cellFailure == nil {
                cellFailure = LayoutError(
                    code: "xlsx.malformed", message: "cell \(reference) points to a missing shared string",
                    location: SourceLocation(file: file, line: number, place: "sheet \(sheet), cell \(reference)"))
            }
        case "inlineStr": cell.text = inline
        case "b": cell.text = raw == "1" ? "TRUE" : "FALSE"
        case "str", "e": cell.text = raw
        default:
            guard !raw.isEmpty else { break }
            let style = found[2].flatMap(Int.init)
            cell.number = raw
            cell.numberFormat = style.flatMap { $0 < styles.formats.count ? styles.formats[$0] : nil }
            if let style, styles.dates.contains(style), let serial = Double(raw), serial >= 1, serial < 2_958_466 {
                cell.date = WorkbookReader.excelDate(serial)
                cell.text = cell.date!.description
            } else {
                cell.text = WorkbookReader.numberText(raw)
            }
        }
        if cells.count == column { cells.append(cell) } else { cells[column] = cell }
    }

    /// Why the sheet cannot be read, once it has been read to its end (or stopped): a damaged
    /// part first, then XML that is not well-formed, then the first cell with a missing shared string.
    func failure() -> LayoutError? {
        // The rest of the part may be damaged, which is what to say when it is.
        if part.readToEnd() != nil { return part.error(file: file) }
        if malformed {
            return LayoutError(
                code: "xlsx.malformed", message: "the part worksheet \(sheet) is not well-formed XML",
                location: SourceLocation(file: file))
        }
        return cellFailure
    }
}

/// A worksheet's records for the layout reader, read as they are needed.
final class SheetRecords: RecordStream {
    let open: () throws(LayoutError) -> SheetRows
    let name: String
    var rows: SheetRows?

    init(name: String, open: @escaping () throws(LayoutError) -> SheetRows) {
        self.name = name
        self.open = open
    }

    func next() throws(LayoutError) -> SourceRecord? {
        if rows == nil { rows = try open() }
        guard let rows else { return nil }
        if let row = rows.next() {
            if let failure = rows.cellFailure { throw failure }
            return SourceRecord(line: row.line, place: "sheet \(name)", cells: row.cells)
        }
        if let failure = rows.failure() { throw failure }
        return nil
    }
}
