import Foundation
public import NightjarCore
import NightjarMarkup

/// One cell as the file gives it.
public struct SourceCell: Sendable, Equatable {
    public var text: String
    /// A spreadsheet number as stored in the sheet (`1035209`, `0.1`), with its number format.
    public var number: String?
    public var numberFormat: String?
    /// A cell the spreadsheet itself formats as a date.
    public var date: CalendarDate?
    /// `C7`, for spreadsheet cells.
    public var reference: String?

    public init(
        text: String, number: String? = nil, numberFormat: String? = nil, date: CalendarDate? = nil,
        reference: String? = nil
    ) {
        self.text = text
        self.number = number
        self.numberFormat = numberFormat
        self.date = date
        self.reference = reference
    }
}

/// A record of a file (a row, a line, a JSON object) before the profile says what it is.
struct SourceRecord {
    /// What a JSON document's structure already says a record is.
    enum Structure { case row, payment, line, deduction, lineDeduction }

    var line: Int?
    var place: String?
    var cells: [SourceCell] = []
    /// A fixed-width record as written.
    var text: String?
    var object: JSONValue?
    var structure: Structure = .row

    var isBlank: Bool {
        if let object { if case .object(let members) = object { return members.isEmpty } else { return false } }
        if let text { return text.allSatisfy(\.isWhitespace) }
        return cells.allSatisfy { $0.text.allSatisfy(\.isWhitespace) }
    }
}

/// A table of a file: a sheet, an HTML table, or the whole text. Its records are in memory
/// (`records`), or read one at a time from `stream` (text files of any size).
struct SourceTable {
    var name: String?
    var records: [SourceRecord]
    var stream: (any RecordStream)?

    init(name: String?, records: [SourceRecord]) {
        self.name = name
        self.records = records
    }

    init(name: String?, stream: any RecordStream) {
        self.name = name
        records = []
        self.stream = stream
    }

    /// Every record, in order (in-memory tables from `records`, streamed ones as they are read).
    func forEachRecord(_ body: (SourceRecord) throws(LayoutError) -> Bool) throws(LayoutError) {
        if let stream {
            while let record = try stream.next() { guard try body(record) else { return } }
        } else {
            for record in records { guard try body(record) else { return } }
        }
    }
}

/// Records read one at a time.
protocol RecordStream: AnyObject {
    func next() throws(LayoutError) -> SourceRecord?
}

/// Delimited records from text decoded a chunk at a time.
final class DelimitedRecords: RecordStream {
    let text: TextChunks
    var parser: DelimitedText.Parser
    var queue: [SourceRecord] = []
    var head = 0
    var done = false

    init(text: TextChunks, profile: LayoutProfile, file: String?) {
        self.text = text
        parser = DelimitedText.Parser(separator: profile.separator, quote: profile.quote, file: file)
    }

    func next() throws(LayoutError) -> SourceRecord? {
        while head == queue.count {
            queue.removeAll(keepingCapacity: true)
            head = 0
            if done { return nil }
            do {
                if let piece = try text.next() {
                    try parser.feed(piece) { row in
                        queue.append(SourceRecord(line: row.line, cells: row.fields.map { SourceCell(text: $0) }))
                    }
                } else {
                    done = true
                    if let row = try parser.finish() {
                        queue.append(SourceRecord(line: row.line, cells: row.fields.map { SourceCell(text: $0) }))
                    }
                }
            } catch let error as DelimitedText.Failure {
                throw LayoutError(code: "csv.malformed", message: error.message, location: error.location)
            } catch let error as LayoutError {
                throw error
            } catch {
                throw LayoutError(code: "csv.malformed", message: "\(error)", location: nil)
            }
        }
        defer { head += 1 }
        return queue[head]
    }
}

/// Lines of text (fixed-width records, JSON lines) split at LF, CRLF or CR, a chunk at a time.
final class LineRecords: RecordStream {
    let text: TextChunks
    let json: Bool
    let file: String?
    var partial = ""
    var lines: [String] = []
    var head = 0
    var number = 0
    var afterCarriageReturn = false
    var done = false

    init(text: TextChunks, json: Bool, file: String?) {
        self.text = text
        self.json = json
        self.file = file
    }

    func split(_ piece: String) {
        var piece = piece
        piece.withUTF8 { bytes in
            var start = 0
            var index = 0
            if afterCarriageReturn, bytes.first == 10 {
                start = 1
                index = 1
            }
            afterCarriageReturn = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == 10 || byte == 13 {
                    lines.append(
                        partial + String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
                    partial = ""
                    if byte == 13 {
                        if index + 1 < bytes.count {
                            if bytes[index + 1] == 10 { index += 1 }
                        } else {
                            afterCarriageReturn = true
                        }
                    }
                    start = index + 1
                }
                index += 1
            }
            partial += String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<bytes.count]), as: UTF8.self)
        }
    }

    func next() throws(LayoutError) -> SourceRecord? {
        while true {
            while head == lines.count {
                lines.removeAll(keepingCapacity: true)
                head = 0
                if done { return nil }
                if let piece = try text.next() {
                    split(piece)
                } else {
                    done = true
                    lines.append(partial)
                    partial = ""
                }
            }
            let line = lines[head]
            head += 1
            number += 1
            guard json else { return SourceRecord(line: number, text: line) }
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            do {
                return SourceRecord(line: number, object: try JSONValue.parse(Array(line.utf8)))
            } catch {
                throw LayoutError(
                    code: "json.malformed", message: error.message,
                    location: SourceLocation(file: file, line: number, column: error.location?.column))
            }
        }
    }
}

/// A value read from a record for one field, after the mapping's filters.
public struct FieldValue: Sendable {
    public let text: String
    /// The cell it came from, for spreadsheet numbers and dates.
    let cell: SourceCell?
    /// Where it came from, as `profile try` shows it.
    public let source: String
    let dateFormats: [String]?
    let keepAsText: Bool
    let impliedDecimals: Int?
    let negate: Bool
}

/// How a profile read a file, row by row: what `profile try` shows and what the readers of each
/// kind assemble into values.
public struct LayoutReading: Sendable {
    public struct Row: Sendable {
        public let location: SourceLocation
        public let role: LayoutProfile.Role
        /// Why the row has its role, in words.
        public let rule: String
        public let values: [String: FieldValue]
        /// The table (sheet, HTML table) it is in, from 0.
        public let table: Int
        /// Records of its table up to and including it, counted from the first after the header.
        public let recordNumber: Int
        /// Set on JSON deductions nested in a line: they reduce the line before them.
        public let belongsToPreviousLine: Bool

        func value(_ field: String) -> FieldValue? {
            guard let value = values[field], !value.text.isEmpty else { return nil }
            return value
        }
    }

    /// A table's header and preamble, as found.
    public struct Table: Sendable {
        public let name: String?
        /// The header row's line (or sheet row), when there is one.
        public let headerLine: Int?
        public let header: [String]
        /// Label → value, from the rows above the header.
        public let preamble: [(label: String, value: String)]
    }

    public let profile: String
    public let format: LayoutProfile.Format
    public let encoding: TextEncoding?
    public var tables: [Table]
    public var rows: [Row]
}

/// Reads a file's records with a profile: finds each table's header and preamble, gives each row
/// its role by the `[rows]` rules and reads its fields. Pure: bytes in, values out.
public enum LayoutReader {
    /// Records read from the first rows to find a header (a preamble is rarely longer).
    static let headerSearchRows = 200

    /// Files read whole rather than streamed (a JSON document, an HTML page, a workbook) are
    /// refused beyond this size, with their size named.
    public static let maximumWholeFileBytes = 64 * 1024 * 1024

    public static func read(_ bytes: [UInt8], profile: LayoutProfile, file: String?, recordLimit: Int? = nil)
        throws(LayoutError) -> LayoutReading
    {
        var context = try ReadingContext(source: MemorySource(bytes, name: file), profile: profile, file: file)
        return try context.read(recordLimit: recordLimit)
    }

    /// Reads a file a record at a time, handing each row to `body` as it is read: delimited,
    /// fixed-width and JSON-lines files of any size in bounded memory. `table` is told each
    /// table's header and preamble before its rows.
    static func forEachRow(
        _ source: any ByteSource, profile: LayoutProfile, file: String?,
        table: (LayoutReading.Table) -> Void = { _ in },
        _ body: (LayoutReading.Row) throws(LayoutError) -> Void
    ) throws(LayoutError) {
        var context = try ReadingContext(source: source, profile: profile, file: file)
        try context.forEachRow(recordLimit: nil, table: table, body)
    }

    /// The format a profile reads these bytes as, or an error saying why it cannot.
    public static func format(of bytes: [UInt8], profile: LayoutProfile, file: String?) throws(LayoutError)
        -> LayoutProfile.Format
    {
        try format(of: DocumentFormat.detect(bytes), profile: profile, file: file)
    }

    static func format(of detected: DocumentFormat, profile: LayoutProfile, file: String?) throws(LayoutError)
        -> LayoutProfile.Format
    {
        func refuse(_ what: String) -> LayoutError {
            LayoutError(
                code: "layout.wrong_format",
                message:
                    "the file is \(what), but profile \(profile.name) reads \(profile.format == .auto ? "tables (delimited text, workbooks, HTML)" : profile.format.rawValue)",
                location: SourceLocation(file: file))
        }
        switch detected {
        case .x12:
            throw LayoutError(
                code: "layout.wrong_format", message: "the file is X12; X12 is read without a profile",
                location: SourceLocation(file: file))
        case .pdf:
            throw LayoutError(
                code: "layout.unsupported", message: "the file is a PDF, which no profile can read",
                location: SourceLocation(file: file))
        case .zip:
            throw LayoutError(
                code: "layout.unsupported", message: "the file is a zip archive, not a workbook",
                location: SourceLocation(file: file))
        case .unknown:
            throw LayoutError(
                code: "layout.unsupported", message: "the file is binary data, not text, a workbook or JSON",
                location: SourceLocation(file: file))
        case .xlsx:
            guard profile.format == .auto || profile.format == .xlsx else { throw refuse("an Excel workbook") }
            return .xlsx
        case .json:
            switch profile.format {
            case .auto:
                // A profile of header names and positions reads tables, not JSON.
                throw refuse("JSON")
            case .json, .jsonLines, .delimited, .fixedWidth: return profile.format
            case .xlsx, .html: throw refuse("JSON")
            }
        case .html:
            switch profile.format {
            case .auto, .html: return .html
            case .xlsx, .json, .jsonLines: throw refuse("an HTML page")
            case .delimited, .fixedWidth: return profile.format
            }
        case .text:
            switch profile.format {
            case .auto: return .delimited
            case .xlsx: throw refuse("text")
            default: return profile.format
            }
        }
    }
}

extension JSONValue {
    /// Whether the bytes hold one JSON document (rather than one object per line).
    static func isSingleDocument(_ bytes: [UInt8]) -> Bool {
        (try? JSONValue.parse(bytes)) != nil
    }
}

/// The state of one reading: the tables, the page (HTML), and the values read once per file.
struct ReadingContext {
    let profile: LayoutProfile
    let file: String?
    let fileName: String
    let format: LayoutProfile.Format
    var encoding: TextEncoding?
    var tables: [SourceTable] = []
    var page: MarkupDocument?
    var documentValues: [String: String] = [:]

    init(bytes: [UInt8], profile: LayoutProfile, file: String?) throws(LayoutError) {
        try self.init(source: MemorySource(bytes, name: file), profile: profile, file: file)
    }

    init(source: any ByteSource, profile: LayoutProfile, file: String?) throws(LayoutError) {
        self.profile = profile
        self.file = file
        fileName = ((file ?? "") as NSString).lastPathComponent
        func whole(_ what: String) throws(LayoutError) -> [UInt8] {
            do { return try source.allBytes(limit: LayoutReader.maximumWholeFileBytes, what: what) } catch {
                throw LayoutError(code: error.code, message: error.message, location: error.location)
            }
        }
        let detected: DocumentFormat
        do { detected = try DocumentFormat.detect(source) } catch {
            throw LayoutError(code: error.code, message: error.message, location: error.location)
        }
        format = try LayoutReader.format(of: detected, profile: profile, file: file)
        switch format {
        case .auto, .delimited, .fixedWidth, .jsonLines:
            source.rewind()
            let (encoding, validated) = try TextChunks.resolving(profile.encoding, source: source, file: file)
            self.encoding = encoding
            let text = TextChunks(source: source, encoding: encoding, file: file)
            // An encoding error anywhere refuses the file before any row is read (a small file is one chunk).
            if !validated, encoding != .windows1252, !(source is MemorySource && source.size <= TextChunks.chunkSize) {
                try text.validate()
            }
            switch format {
            case .fixedWidth, .jsonLines:
                tables = [
                    SourceTable(name: nil, stream: LineRecords(text: text, json: format == .jsonLines, file: file))
                ]
            default:
                tables = [SourceTable(name: nil, stream: DelimitedRecords(text: text, profile: profile, file: file))]
            }
        case .xlsx:
            // Each sheet is read through once first, keeping nothing (a damaged or malformed sheet is
            // refused before any row is used), then streamed row by row as the layout reads it.
            let workbook = try WorkbookReader.Workbook(try whole("a workbook"), file: file)
            let chosen = try workbook.chosen(profile.sheet)
            for (name, path) in chosen { try workbook.check(path, sheet: name) }
            for (name, path) in chosen {
                tables.append(
                    SourceTable(
                        name: name,
                        stream: SheetRecords(name: name) { () throws(LayoutError) in
                            try workbook.rows(path, sheet: name)
                        }))
            }
        case .html:
            let bytes = try whole("an HTML page")
            guard let page = MarkupDocument.html(bytes) else {
                throw LayoutError(
                    code: "html.malformed",
                    message:
                        "the page cannot be read as HTML (empty or over \(MarkupDocument.maximumHTMLBytes / 1_048_576) MiB)",
                    location: SourceLocation(file: file))
            }
            self.page = page
            let expression = profile.table ?? "//table"
            guard case .nodes(let nodes)? = try? page.evaluate(expression) else {
                throw LayoutError(
                    code: "html.no_table", message: "table `\(expression)` is not an XPath that selects table elements",
                    location: SourceLocation(file: file))
            }
            let found = nodes.filter(\.isElement)
            guard !found.isEmpty else {
                throw LayoutError(
                    code: "html.no_table", message: "the page has no table matching `\(expression)`",
                    location: SourceLocation(file: file))
            }
            for (index, table) in found.enumerated() {
                let name = "table \(index + 1)"
                var records: [SourceRecord] = []
                var rows: [MarkupNode] = []
                if case .nodes(let nodes)? = try? page.evaluate(
                    "./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr", context: table)
                {
                    rows = nodes
                }
                for (rowIndex, row) in rows.enumerated() {
                    var cells: [SourceCell] = []
                    for cell in row.children where cell.name == "td" || cell.name == "th" {
                        cells.append(SourceCell(text: cell.text))
                        let span = min(100, max(1, cell.attribute("colspan").flatMap { Int($0) } ?? 1))
                        for _ in 1..<span { cells.append(SourceCell(text: "")) }
                    }
                    records.append(
                        SourceRecord(line: rowIndex + 1, place: "\(name), row \(rowIndex + 1)", cells: cells))
                }
                tables.append(SourceTable(name: name, records: records))
            }
        case .json:
            let bytes = try whole("a JSON document")
            let root: JSONValue
            do { root = try JSONValue.parse(bytes, file: file) } catch {
                throw LayoutError(code: "json.malformed", message: error.message, location: error.location)
            }
            tables = [SourceTable(name: nil, records: ReadingContext.structuralRecords(root, layout: profile.json))]
        }
    }

    /// A JSON document's payments, each followed by its lines (each with its own deductions) and
    /// its payment-level deductions, in document order.
    static func structuralRecords(_ root: JSONValue, layout: LayoutProfile.JSONLayout) -> [SourceRecord] {
        var payments = JSONPath.select(layout.payments, in: root)
        if layout.payments.isEmpty, case .array(let items) = root {
            payments = items.enumerated().map { ($1, "[\($0)]") }
        }
        var records: [SourceRecord] = []
        for (payment, path) in payments {
            records.append(SourceRecord(place: path.isEmpty ? "$" : path, object: payment, structure: .payment))
            for (line, linePath) in JSONPath.select(layout.lines ?? [], in: payment, at: path) {
                records.append(SourceRecord(place: linePath, object: line, structure: .line))
                if let nested = layout.lineDeductions {
                    for (deduction, deductionPath) in JSONPath.select(nested, in: line, at: linePath) {
                        records.append(SourceRecord(place: deductionPath, object: deduction, structure: .lineDeduction))
                    }
                }
            }
            if let deductions = layout.deductions {
                for (deduction, deductionPath) in JSONPath.select(deductions, in: payment, at: path) {
                    records.append(SourceRecord(place: deductionPath, object: deduction, structure: .deduction))
                }
            }
        }
        return records
    }

    func location(_ record: SourceRecord) -> SourceLocation {
        SourceLocation(file: file, line: record.line, place: record.place)
    }

    func failure(_ code: String, _ message: String, _ record: SourceRecord?) -> LayoutError {
        LayoutError(code: code, message: message, location: record.map(location) ?? SourceLocation(file: file))
    }

    static func normalisedHeader(_ text: String) -> String {
        // ASCII text (nearly every cell) in one pass over its bytes; the same result as below.
        var ascii = true
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for byte in text.utf8 {
            if byte >= 0x80 {
                ascii = false
                break
            }
            if byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) {
                pendingSpace = !bytes.isEmpty
                continue
            }
            if pendingSpace {
                bytes.append(0x20)
                pendingSpace = false
            }
            bytes.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
        }
        if ascii {
            while bytes.last == UInt8(ascii: ":") { bytes.removeLast() }
            return String(decoding: bytes, as: UTF8.self)
        }
        var words = text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ").lowercased()
        while words.hasSuffix(":") { words.removeLast() }
        return words
    }

    /// A table's header position, column indexes and preamble.
    struct Layout {
        var headerIndex: Int?
        var columns: [String: Int] = [:]
        var header: [String] = []
        var preamble: [(label: String, value: String)] = []
        /// The column of each header name the profile writes, as written (normalised once per table, not per row).
        var namedColumns: [String: Int] = [:]

        /// The preamble's value for each label the profile writes (nil: not in the preamble).
        var preambleValues: [String: String?] = [:]

        /// The value beside a (normalised) label in the preamble.
        func preambleValue(_ wanted: String) -> String? {
            preamble.first { ReadingContext.normalisedHeader($0.label) == wanted }?.value
        }

        /// The value beside a label, as the profile writes it, in the preamble.
        func preambleValue(label: String) -> String? {
            if let known = preambleValues[label] { return known }
            return preambleValue(ReadingContext.normalisedHeader(label))
        }

        /// The column under a header name as the profile writes it.
        func column(named name: String) -> Int? {
            namedColumns[name] ?? columns[ReadingContext.normalisedHeader(name)]
        }
    }

    /// Whether the table has a header to find (the records `layout` needs are read first).
    var seeksHeader: Bool {
        let tabular = format == .delimited || format == .xlsx || format == .html
        return tabular && profile.headerRow != .none && (profile.usesHeaderNames || profile.headerRow != .auto)
    }

    /// The header and preamble among a table's first records (`table.records`: up to
    /// `headerSearchRows` of them, or up to the profile's header row).
    func layout(of table: SourceTable) throws(LayoutError) -> Layout {
        var layout = Layout()
        guard seeksHeader else { return layout }
        switch profile.headerRow {
        case .none: return layout
        case .row(let number):
            guard let index = table.records.firstIndex(where: { ($0.line ?? 0) >= number }) else {
                throw failure("layout.no_header", "the file has no row \(number) to be the header", nil)
            }
            layout.headerIndex = index
        case .auto:
            let wanted = profile.requiredHeaderNames.map { Set($0.map(ReadingContext.normalisedHeader)) }
            for (index, record) in table.records.prefix(LayoutReader.headerSearchRows).enumerated() {
                let names = Set(record.cells.map { ReadingContext.normalisedHeader($0.text) })
                if wanted.allSatisfy({ !$0.isDisjoint(with: names) }) {
                    layout.headerIndex = index
                    break
                }
            }
            guard layout.headerIndex != nil else {
                let needed = profile.requiredHeaderNames.map { $0.map { "\"\($0)\"" }.joined(separator: " or ") }
                    .joined(separator: ", ")
                let sample =
                    table.records.prefix(LayoutReader.headerSearchRows).first { !$0.isBlank }?.cells.map(\.text).filter
                { !$0.isEmpty }
                .prefix(8).joined(separator: ", ") ?? "nothing"
                throw failure(
                    "csv.missing_column",
                    "no row of \(table.name ?? "the file") holds the header names \(needed) (its first row has: \(sample))",
                    table.records.first)
            }
        }
        let headerRecord = table.records[layout.headerIndex!]
        layout.header = headerRecord.cells.map(\.text)
        for (index, cell) in headerRecord.cells.enumerated() {
            let name = ReadingContext.normalisedHeader(cell.text)
            if !name.isEmpty, layout.columns[name] == nil { layout.columns[name] = index }
        }
        // Every mapped column must be there, unless the mapping is optional or has another way.
        let mappings =
            LayoutProfile.Role.allCases.flatMap { role in profile.mappings(for: role).map { ($0.field, $0.mapping) } }
            + profile.rowRules.compactMap { rule in rule.source.map { ("[rows] \(rule.role.rawValue)", $0) } }
            + [profile.kindSource].compactMap { $0.map { ("[rows] kind", $0) } }
        for (_, mapping) in mappings {
            for case .header(let name) in mapping.alternatives where layout.namedColumns[name] == nil {
                if let index = layout.columns[ReadingContext.normalisedHeader(name)] {
                    layout.namedColumns[name] = index
                }
            }
        }
        for (field, mapping) in mappings where !mapping.optional {
            let resolvable = mapping.alternatives.contains { source in
                if case .header(let name) = source { return layout.column(named: name) != nil }
                return true
            }
            if !resolvable {
                let names = mapping.alternatives.compactMap(\.headerName).map { "\"\($0)\"" }.joined(separator: " or ")
                throw failure(
                    "csv.missing_column",
                    "no column \(names) (for \(field)) in the header; the file has: \(layout.header.filter { !$0.isEmpty }.joined(separator: ", "))",
                    headerRecord)
            }
        }
        for record in table.records[..<layout.headerIndex!] {
            let cells = record.cells.map { $0.text.trimmingBlanks() }.filter { !$0.isEmpty }
            guard let first = cells.first else { continue }
            if let colon = first.firstIndex(of: ":"), first.index(after: colon) < first.endIndex {
                // `Payment ID: 12345` in one cell.
                let value = String(first[first.index(after: colon)...]).trimmingBlanks()
                if !value.isEmpty {
                    layout.preamble.append((String(first[..<colon]), value))
                    continue
                }
            }
            if cells.count >= 2 { layout.preamble.append((first, cells[1])) }
        }
        for (_, mapping) in mappings {
            for case .preamble(let label) in mapping.alternatives where layout.preambleValues[label] == nil {
                layout.preambleValues[label] = layout.preambleValue(ReadingContext.normalisedHeader(label))
            }
        }
        return layout
    }

    mutating func read(recordLimit: Int?) throws(LayoutError) -> LayoutReading {
        var reading = LayoutReading(profile: profile.name, format: format, encoding: encoding, tables: [], rows: [])
        try forEachRow(recordLimit: recordLimit, table: { reading.tables.append($0) }) { reading.rows.append($0) }
        return reading
    }

    /// Each table's header (told to `table`), then its rows, one at a time.
    mutating func forEachRow(
        recordLimit: Int?, table onTable: (LayoutReading.Table) -> Void,
        _ body: (LayoutReading.Row) throws(LayoutError) -> Void
    ) throws(LayoutError) {
        var count = 0
        // Each role's fields and mappings, worked out once (not per row).
        var mappingsByRole: [LayoutProfile.Role: [(field: String, mapping: FieldMapping)]] = [:]
        for (tableIndex, table) in tables.enumerated() {
            // The first records, where the header and the preamble are.
            var head = SourceTable(name: table.name, records: [])
            var rest = table
            if let stream = table.stream {
                if seeksHeader {
                    switch profile.headerRow {
                    case .row(let number):
                        while let record = try stream.next() {
                            head.records.append(record)
                            if (record.line ?? 0) >= number { break }
                        }
                    default:
                        while head.records.count < LayoutReader.headerSearchRows, let record = try stream.next() {
                            head.records.append(record)
                        }
                    }
                }
            } else {
                head = table
                rest = SourceTable(name: table.name, records: [])
            }
            let layout = try self.layout(of: head)
            onTable(
                LayoutReading.Table(
                    name: table.name, headerLine: layout.headerIndex.map { head.records[$0].line ?? $0 + 1 },
                    header: layout.header, preamble: layout.preamble))
            let start = layout.headerIndex.map { $0 + 1 } ?? 0
            let headerKey = layout.header.map(ReadingContext.normalisedHeader)
            var recordNumber = 0
            var stopped = false
            func handle(_ record: SourceRecord) throws(LayoutError) -> Bool {
                if let recordLimit, count >= recordLimit {
                    stopped = true
                    return false
                }
                if record.isBlank { return true }
                // A header repeated further down (a page break in an export) is not data.
                if !headerKey.isEmpty, record.cells.count == headerKey.count,
                    zip(record.cells, headerKey).allSatisfy({ ReadingContext.normalisedHeader($0.0.text) == $0.1 })
                {
                    return true
                }
                if format == .delimited, !layout.header.isEmpty, record.cells.count > layout.header.count,
                    !record.cells[layout.header.count...].allSatisfy({ $0.text.allSatisfy(\.isWhitespace) })
                {
                    throw failure(
                        "csv.field_count",
                        "the row has \(record.cells.count) fields but the header has \(layout.header.count) (a separator inside an unquoted value, or the wrong decimal mark?)",
                        record)
                }
                recordNumber += 1
                let (role, rule) = try self.role(of: record, layout: layout)
                var values: [String: FieldValue] = [:]
                if mappingsByRole[role] == nil { mappingsByRole[role] = profile.mappings(for: role) }
                for (field, mapping) in mappingsByRole[role]! {
                    if let value = try self.value(mapping, field: field, record: record, layout: layout) {
                        values[field] = value
                    }
                }
                if role == .total || role == .trailer, values["total_amount"] == nil,
                    let mapping = profile.mapping("amount_paid", for: .line)
                {
                    // A total row's amount stands in the amount column unless [total] says otherwise.
                    if let value = try? self.value(mapping, field: "total_amount", record: record, layout: layout) {
                        values["total_amount"] = value
                    }
                }
                count += 1
                try body(
                    LayoutReading.Row(
                        location: location(record), role: role, rule: rule, values: values, table: tableIndex,
                        recordNumber: recordNumber, belongsToPreviousLine: record.structure == .lineDeduction))
                return true
            }
            for record in head.records[min(start, head.records.count)...] where !stopped { _ = try handle(record) }
            if stopped { return }
            try rest.forEachRecord(handle)
            if stopped { return }
        }
    }

    func role(of record: SourceRecord, layout: Layout) throws(LayoutError) -> (LayoutProfile.Role, String) {
        switch record.structure {
        case .payment: return (.payment, "a payment (\(record.place ?? "$"))")
        case .deduction, .lineDeduction: return (.deduction, "a deduction (\(record.place ?? ""))")
        case .line where profile.rowRules.isEmpty: return (.line, "a line (\(record.place ?? ""))")
        case .line, .row: break
        }
        let firstCell = FieldMapping(alternatives: [.firstCell], filters: [], optional: false, line: 0, column: 0)
        var kindValue: String?
        for rule in profile.rowRules {
            let source = rule.source ?? profile.kindSource ?? firstCell
            let text = (try? value(source, field: "kind", record: record, layout: layout))??.text ?? ""
            if rule.source == nil { kindValue = text }
            if rule.patterns.contains(where: { $0.matches(text) }) {
                return (rule.role, "\(source.alternatives.first!.description) is \"\(text)\" → \(rule.role.rawValue)")
            }
        }
        if let otherwise = profile.otherwise {
            return (
                otherwise,
                profile.rowRules.isEmpty
                    ? "every row is a \(otherwise.rawValue)" : "no [rows] rule fits → \(otherwise.rawValue)"
            )
        }
        let source = profile.kindSource ?? firstCell
        let kind = kindValue ?? ((try? value(source, field: "kind", record: record, layout: layout))??.text ?? "")
        let listed = profile.rowRules.flatMap(\.patterns).map(\.description).joined(separator: ", ")
        throw failure(
            "layout.unknown_row",
            "the row's kind is \"\(kind)\" (\(source.alternatives.first!.description)), which [rows] does not list (\(listed)); say what such a row is, or `otherwise = skip`",
            record)
    }

    /// The value `mapping` reads from `record`, or nil when every source is empty.
    func value(_ mapping: FieldMapping, field: String, record: SourceRecord, layout: Layout) throws(LayoutError)
        -> FieldValue?
    {
        var text: String?
        var cell: SourceCell?
        var chosen: FieldSource?
        for source in mapping.alternatives {
            var found: String?
            var foundCell: SourceCell?
            switch source {
            case .header(let name):
                if let index = layout.column(named: name), index < record.cells.count {
                    foundCell = record.cells[index]
                }
            case .column(let position):
                if position - 1 < record.cells.count { foundCell = record.cells[position - 1] }
            case .positions(let from, let to):
                if let line = record.text {
                    let characters = Array(line)
                    if from - 1 < characters.count {
                        found = String(characters[(from - 1)..<min(to, characters.count)])
                    }
                }
            case .firstCell:
                foundCell = record.cells.first { !$0.text.allSatisfy(\.isWhitespace) }
            case .preamble(let label):
                found = layout.preambleValue(label: label)
            case .fileName(let pattern):
                do { found = try pattern.firstMatch(in: fileName, group: pattern.groupCount > 0 ? 1 : 0) } catch {
                    throw failure("layout.pattern", "the file-name pattern `\(pattern.source)` gave up", nil)
                }
            case .constant(let value):
                found = value
            case .json(let steps, let path):
                if let object = record.object, let selected = JSONPath.select(steps, in: object).first?.value {
                    switch selected {
                    case .null: found = nil
                    case .array, .object:
                        throw failure(
                            "json.not_a_value",
                            "\(field): json \"\(path)\" is an \(selected.isArray ? "array" : "object"), not a value",
                            record)
                    default: found = selected.scalarText
                    }
                }
            case .xpath(let expression):
                if let page {
                    switch try? page.evaluate(expression) {
                    case .text(let value): found = value
                    case .nodes(let nodes): found = nodes.first?.text
                    case nil: throw failure("html.xpath", "`\(expression)` is not a valid XPath", nil)
                    }
                }
            }
            if let foundCell { found = foundCell.text }
            if let found {
                let trimmed = found.trimmingBlanks()
                guard !trimmed.isEmpty else { continue }
                text = trimmed
                cell = foundCell
                chosen = source
                break
            }
        }
        var dateFormats: [String]?
        var keepAsText = LayoutProfile.identifierFields.contains(field)
        var impliedDecimals: Int?
        var negate = false
        for filter in mapping.filters {
            switch filter {
            case .match(let pattern, let group):
                guard let current = text else { continue }
                do {
                    text = try pattern.firstMatch(in: current, group: group ?? (pattern.groupCount > 0 ? 1 : 0))?
                        .trimmingCharacters(in: .whitespaces)
                } catch {
                    throw failure(
                        "layout.pattern",
                        "\(field): the pattern `\(pattern.source)` gave up on \"\(current.prefix(40))\"", record)
                }
                if text?.isEmpty == true { text = nil }
                cell = nil
            case .replace(let pattern, let replacement):
                guard let current = text else { continue }
                let replaced = pattern.replacing(in: current, with: replacement).trimmingCharacters(in: .whitespaces)
                text = replaced.isEmpty ? nil : replaced
                cell = nil
            case .date(let formats): dateFormats = formats
            case .text: keepAsText = true
            case .impliedDecimals(let digits): impliedDecimals = digits
            case .negate: negate.toggle()
            case .defaultValue(let value):
                if text == nil {
                    text = value
                    chosen = .constant(value)
                }
            }
        }
        guard let text else { return nil }
        return FieldValue(
            text: text, cell: cell, source: chosen?.description ?? "", dateFormats: dateFormats, keepAsText: keepAsText,
            impliedDecimals: impliedDecimals, negate: negate)
    }
}

extension JSONValue {
    var isArray: Bool { if case .array = self { true } else { false } }
}
