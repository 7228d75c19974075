import Foundation
public import NightjarCore
import NightjarMarkup

/// A starting profile written from a sample file: its format, encoding, separator, decimal mark
/// and date formats detected; its header row or preamble found; known header names mapped to our
/// fields; row kinds and total rows recognised. Whatever could not be decided is a comment in the
/// text for the operator to settle. The draft always passes `profile check`.
public struct ProfileDraft: Sendable {
    public let text: String
    public let format: LayoutProfile.Format
    /// For text files.
    public let encoding: TextEncoding?
    /// For delimited text.
    public let separator: Character?
    public let decimal: Character
    public let dateFormats: [String]
    /// What the operator should check.
    public let notes: [String]

    /// Drafts a remittance profile named `name` from `bytes`.
    public static func make(_ bytes: [UInt8], fileName: String, name: String) throws(LayoutError) -> ProfileDraft {
        var drafter = Drafter(bytes: bytes, fileName: fileName, name: name)
        return try drafter.draft()
    }
}

/// Header names senders use, by our field, most specific first. Compared lower-case, with
/// punctuation other than `#` removed.
enum FieldSynonyms {
    static let line: [(String, [String])] = [
        (
            "reference",
            [
                "invoice number", "invoice no", "invoice #", "inv #", "inv no", "invoice", "invoice id", "your invoice",
                "doc no", "document number",
                "document", "rechnungsnr", "rechnungsnummer", "rechnung", "belegnummer", "beleg", "numero de facture",
                "facture", "vendor invoice",
            ]
        ),
        (
            "invoice_amount",
            [
                "invoice amount", "gross amount", "gross", "original amount", "bruttobetrag", "rechnungsbetrag",
                "amount due",
            ]
        ),
        ("discount", ["discount taken", "discount", "cash discount", "skonto"]),
        (
            "amount_paid",
            [
                "amount paid", "paid amount", "net paid", "paid", "net amount", "net", "amount remitted", "remitted",
                "zahlbetrag", "betrag", "amount",
            ]
        ),
        (
            "deduction_amount",
            ["deduction amount", "deduction", "adjustment amount", "adjustment", "abzug", "chargeback"]
        ),
        ("deduction_code", ["reason code", "deduction code", "adjustment code", "reason", "grund", "code"]),
        ("deduction_text", ["reason description", "deduction description", "description", "text"]),
        ("deduction_reference", ["deduction ref", "debit memo", "memo", "reference"]),
        ("po_number", ["po number", "po #", "po", "purchase order"]),
        ("invoice_date", ["invoice date", "doc date", "rechnungsdatum"]),
    ]
    /// The invoice a deduction row reduces, when it has a column of its own.
    static let deductionInvoice = [
        "bezug", "applies to", "invoice reference", "related invoice", "original invoice", "reference invoice",
    ]
    static let payment: [(String, [String])] = [
        (
            "payment_reference",
            [
                "payment number", "payment no", "payment id", "payment ref", "payment reference", "check number",
                "check no", "check #",
                "cheque number", "check", "cheque", "remit number", "remit no", "remittance number", "remittance no",
                "pay ref",
                "zahlungsnummer", "zahlung",
            ]
        ),
        (
            "payment_date",
            [
                "payment date", "check date", "remit date", "remittance date", "pay date", "value date",
                "zahlungsdatum", "datum", "date",
            ]
        ),
        ("payment_total", ["payment amount", "check amount", "remit total", "payment total", "total paid"]),
        ("payment_method", ["payment method", "method"]),
        ("trace_number", ["trace number", "trace"]),
        ("payer_id", ["payer id", "vendor id", "vendor number", "customer number", "supplier number"]),
        ("payer", ["payer", "paid by", "vendor name", "vendor", "customer", "kunde", "remitter"]),
        ("currency", ["currency", "curr", "waehrung", "währung"]),
    ]

    static func normalised(_ text: String) -> String {
        let folded = text.lowercased().replacingOccurrences(of: "ä", with: "ae").replacingOccurrences(
            of: "ö", with: "oe"
        )
        .replacingOccurrences(of: "ü", with: "ue")
        let kept = folded.map { $0.isLetter || $0.isNumber || $0 == "#" ? $0 : " " }
        return String(kept).split(separator: " ").joined(separator: " ")
    }

    /// Header texts mapped to fields: every field at most once, every header at most once.
    static func map(_ headers: [String], from table: [(String, [String])], taken: inout Set<Int>) -> [(
        field: String, header: String
    )] {
        var result: [(String, String)] = []
        let names = headers.map(normalised)
        for (field, synonyms) in table {
            let used = taken
            guard
                let index = synonyms.lazy.compactMap({ synonym in
                    names.indices.first { !used.contains($0) && names[$0] == normalised(synonym) }
                }).first
            else { continue }
            taken.insert(index)
            result.append((field, headers[index].trimmingCharacters(in: .whitespaces)))
        }
        return result
    }

    /// Values that mark a row's kind.
    static let lineKinds: Set<String> = ["invoice", "inv", "re", "rechnung", "i", "iv", "bill"]
    static let deductionKinds: Set<String> = [
        "deduction", "ded", "ab", "abzug", "adjustment", "adj", "chargeback", "a", "debit", "dm",
    ]
    static let totalWords = ["total", "summe", "grand total", "gesamt", "totals"]
}

/// What a cell looks like.
enum CellShape {
    static let dateFormats = [
        "yyyy-MM-dd", "MM/dd/yyyy", "dd/MM/yyyy", "dd.MM.yyyy", "yyyyMMdd", "MMM d, yyyy", "dd-MMM-yy", "dd-MMM-yyyy",
        "d MMM yyyy",
        "M/d/yyyy", "dd-MM-yyyy", "yyyy/MM/dd", "MM-dd-yyyy", "yyMMdd",
    ]

    static func isDate(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 6, trimmed.count <= 20 else { return false }
        return dateFormats.contains { (try? CalendarDate.parse(trimmed, format: $0)) != nil }
    }

    /// `1,234.56`, `(268.14)`, `$5.00`, `12,50-`, `-0.99`: money written as text.
    static func isAmount(_ text: String) -> Bool {
        var body = text.trimmingCharacters(in: .whitespaces).filter { !LayoutValues.currencySymbols.contains($0) }
        guard !body.isEmpty, body.count <= 24 else { return false }
        if body.hasPrefix("(") && body.hasSuffix(")") { body = String(body.dropFirst().dropLast()) }
        if body.hasPrefix("-") || body.hasPrefix("+") { body.removeFirst() }
        if body.hasSuffix("-") { body.removeLast() }
        body = body.trimmingCharacters(in: .whitespaces)
        guard let last = body.last, last.isNumber, body.first?.isNumber == true else { return false }
        guard body.allSatisfy({ $0.isNumber || $0 == "." || $0 == "," || $0 == "'" || $0 == " " }) else { return false }
        // An amount has a decimal mark with two (or three) digits after it.
        let separators = body.filter { $0 == "." || $0 == "," }
        guard let mark = body.lastIndex(where: { $0 == "." || $0 == "," }) else { return false }
        let decimals = body.distance(from: body.index(after: mark), to: body.endIndex)
        return !separators.isEmpty && decimals == 2
    }

    /// The decimal mark an amount uses.
    static func decimalMark(_ text: String) -> Character? {
        let body = text.filter { $0.isNumber || $0 == "." || $0 == "," }
        guard let mark = body.lastIndex(where: { $0 == "." || $0 == "," }),
            body.distance(from: body.index(after: mark), to: body.endIndex) == 2
        else { return nil }
        return body[mark]
    }

    static func isIdentifier(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return !trimmed.isEmpty && trimmed.count <= 40 && trimmed.contains(where: \.isNumber) && !isAmount(trimmed)
            && !isDate(trimmed)
    }

    static func isWords(_ text: String) -> Bool {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return trimmed.count >= 2
            && trimmed.allSatisfy { $0.isLetter || $0 == " " || $0 == "." || $0 == "&" || $0 == "-" || $0 == "'" }
            && trimmed.contains(where: \.isLetter)
    }

    /// The formats, fewest first, that read every date in `samples` (US order preferred for `/`
    /// dates that fit both, unless `european`).
    static func formats(for samples: [String], european: Bool) -> [String] {
        let dates = samples.map { $0.trimmingCharacters(in: .whitespaces) }.filter(isDate)
        guard !dates.isEmpty else { return [] }
        var order = dateFormats
        if european, let us = order.firstIndex(of: "MM/dd/yyyy"), let eu = order.firstIndex(of: "dd/MM/yyyy") {
            order.swapAt(us, eu)
        }
        var chosen: [String] = []
        var left = dates
        while !left.isEmpty {
            guard
                let best = order.filter({ !chosen.contains($0) })
                    .max(by: { format, other in
                        left.filter { (try? CalendarDate.parse($0, format: format)) != nil }.count
                            < left.filter { (try? CalendarDate.parse($0, format: other)) != nil }.count
                    })
            else { break }
            let read = left.filter { (try? CalendarDate.parse($0, format: best)) != nil }
            guard !read.isEmpty else { break }
            chosen.append(best)
            left.removeAll { (try? CalendarDate.parse($0, format: best)) != nil }
        }
        return chosen
    }
}

private struct Drafter {
    let bytes: [UInt8]
    let fileName: String
    let name: String
    var notes: [String] = []
    var settings: [String] = []
    var sections: [(String, [String])] = []

    init(bytes: [UInt8], fileName: String, name: String) {
        self.bytes = bytes
        self.fileName = fileName
        self.name = name
    }

    /// The values in first-seen order, each once.
    static func unique(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A profile that only reads raw tables (no header, every row a line), for looking at a file.
    static func rawProfile(
        format: LayoutProfile.Format, encoding: TextEncoding = .auto, separator: Character = ",",
        sheet: LayoutProfile.SheetSelection = .first
    )
        -> LayoutProfile
    {
        LayoutProfile(
            name: "draft", file: "draft", kind: .remittance, format: format, encoding: encoding, separator: separator,
            quote: "\"",
            decimalStyle: .point, dateFormats: ["yyyy-MM-dd"], currency: nil, debitCreditColumn: false,
            headerRow: .none, sheet: sheet,
            table: nil, json: .init(), deductionRows: .add, deductionSign: .takenOff, mappings: [:], columns: [:],
            kindSource: nil,
            rowRules: [], otherwise: .line, matchFileNames: [], matchContains: [])
    }

    mutating func draft() throws(LayoutError) -> ProfileDraft {
        let detected = DocumentFormat.detect(bytes)
        switch detected {
        case .x12:
            throw LayoutError(
                code: "draft.x12", message: "\(fileName) is X12, which is read without a profile",
                location: SourceLocation(file: fileName))
        case .pdf, .zip, .unknown:
            throw LayoutError(
                code: "draft.unsupported", message: "\(fileName) is \(detected.description), which no profile can read",
                location: SourceLocation(file: fileName))
        case .json: return try draftJSON()
        case .xlsx:
            let sheets = try WorkbookReader.sheets(bytes, selection: .all, file: fileName)
            // The sheet with the most rows holds the lines; a first sheet that is a summary is passed over.
            guard let best = sheets.indices.max(by: { sheets[$0].rows.count < sheets[$1].rows.count }) else {
                throw LayoutError(
                    code: "draft.empty", message: "the workbook has no sheets", location: SourceLocation(file: fileName)
                )
            }
            if best != 0 { settings.append("sheet = \(Drafter.quoted(sheets[best].name))") }
            let rows = sheets[best].rows.map { $0.cells.map { $0.date?.description ?? $0.text } }
            return try draftTable(format: .xlsx, rows: rows, encoding: nil, separator: nil)
        case .html:
            guard let page = MarkupDocument.html(bytes), case .nodes(let tables)? = try? page.evaluate("//table") else {
                throw LayoutError(
                    code: "draft.html", message: "the page has no table", location: SourceLocation(file: fileName))
            }
            let reading = try ReadingContext(bytes: bytes, profile: Drafter.rawProfile(format: .html), file: fileName)
            guard
                let best = reading.tables.indices.max(by: {
                    reading.tables[$0].records.count < reading.tables[$1].records.count
                })
            else {
                throw LayoutError(
                    code: "draft.html", message: "the page has no table", location: SourceLocation(file: fileName))
            }
            if tables.count > 1 {
                let id = tables[best].attribute("id")
                settings.append(
                    "table = \(Drafter.quoted(id.map { "//table[@id='\($0)']" } ?? "(//table)[\(best + 1)]"))")
            }
            let rows = reading.tables[best].records.map { $0.cells.map(\.text) }
            // Dates outside the table (the payment's), from every text node of the page.
            var outside: [String] = []
            if case .nodes(let texts)? = try? page.evaluate("//text()") {
                outside = texts.flatMap { $0.content.split(whereSeparator: { $0.isWhitespace }).map(String.init) }
            }
            return try draftTable(format: .html, rows: rows, encoding: nil, separator: nil, extraDateSamples: outside)
        case .text:
            let encoding = TextEncoding.detect(bytes)
            let text = try encoding.decode(bytes, file: fileName)
            if let (separator, rows) = Drafter.bestSeparator(text) {
                return try draftTable(format: .delimited, rows: rows, encoding: encoding, separator: separator)
            }
            return try draftFixedWidth(text, encoding: encoding)
        }
    }

    /// The separator that splits most rows into the same number of fields (two or more).
    static func bestSeparator(_ text: String) -> (Character, [[String]])? {
        var best: (Character, [[String]], Double)?
        for separator: Character in [",", ";", "\t", "|"] {
            guard let rows = try? DelimitedText.parse(text, separator: separator).map(\.fields) else { continue }
            let counted = rows.filter { $0.count > 1 || !($0.first ?? "").isEmpty }
            guard !counted.isEmpty else { continue }
            var frequency: [Int: Int] = [:]
            for row in counted where row.count > 1 { frequency[row.count, default: 0] += 1 }
            guard let (_, hits) = frequency.max(by: { $0.value < $1.value || $0.value == $1.value && $0.key < $1.key })
            else { continue }
            let multi = Double(counted.filter { $0.count > 1 }.count) / Double(counted.count)
            let score = Double(hits) / Double(counted.count) + multi
            if score > 0.9, score > (best?.2 ?? 0) { best = (separator, rows, score) }
        }
        return best.map { ($0.0, $0.1) }
    }

    static func isHeaderLike(_ row: [String]) -> Bool {
        let cells = row.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard cells.count >= 2 else { return false }
        let lettered = cells.filter {
            $0.contains(where: \.isLetter) && !CellShape.isAmount($0) && !CellShape.isDate($0)
                && !CellShape.isIdentifier($0)
        }
        return lettered.count * 4 >= cells.count * 3
    }

    mutating func commonSettings(
        format: LayoutProfile.Format, encoding: TextEncoding?, separator: Character?, decimal: Character,
        dates: [String],
        currency: String?
    ) {
        var head = [
            "# Drafted from \(fileName) by `nightjar profile draft`: check every line marked `check`.",
            "name = \(name)", "kind = remittance",
        ]
        if format == .fixedWidth || format == .jsonLines || format == .json || format == .html {
            head.append("format = \(format.rawValue)")
        }
        if let encoding, encoding != .utf8 { head.append("encoding = \(encoding.rawValue)") }
        if let separator {
            head.append("separator = " + (separator == "\t" ? "tab" : Drafter.quoted(String(separator))))
        }
        if decimal == "," { head.append("decimal = \",\"") }
        if !dates.isEmpty { head.append("date_format = " + dates.map(Drafter.quoted).joined(separator: ", ")) }
        head.append(currency.map { "currency = \($0)" } ?? "# check: currency = USD (the file shows no currency)")
        settings = head + settings
    }

    /// The currency the file's amounts show by symbol, if they all show the same one (codes in a
    /// column are the file's own currency field, not a default).
    static func currency(in cells: [String]) -> String? {
        let joined = cells.joined(separator: " ")
        let found = [("€", "EUR"), ("£", "GBP"), ("$", "USD")].filter { joined.contains($0.0) }
        return found.count == 1 ? found[0].1 : nil
    }

    mutating func draftTable(
        format: LayoutProfile.Format, rows: [[String]], encoding: TextEncoding?, separator: Character?,
        extraDateSamples: [String] = []
    ) throws(LayoutError) -> ProfileDraft {
        let cells = rows.flatMap { $0 }
        let amounts = cells.filter(CellShape.isAmount)
        let commas = amounts.filter { CellShape.decimalMark($0) == "," }.count
        let decimal: Character = commas * 2 > amounts.count && commas > 0 ? "," : "."
        let currency = Drafter.currency(in: cells)
        // Dates may sit inside a cell (`Check date: 02/03/2026`).
        let words = cells.flatMap { $0.split(whereSeparator: { $0 == " " || $0 == ":" }).map(String.init) }
        let dates = CellShape.formats(
            for: cells + words + extraDateSamples, european: decimal == "," || currency == "EUR" || currency == "GBP")
        commonSettings(
            format: format, encoding: encoding, separator: separator, decimal: decimal, dates: dates, currency: currency
        )
        // The header: a row of names (none a label ending in `:`) followed by a row holding data.
        let headerIndex = rows.prefix(LayoutReader.headerSearchRows).indices.first { index in
            guard Drafter.isHeaderLike(rows[index]),
                !rows[index].contains(where: { $0.trimmingCharacters(in: .whitespaces).hasSuffix(":") })
            else { return false }
            guard
                let next = rows[(index + 1)...].first(where: {
                    !$0.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty }
                })
            else { return false }
            return next.contains { CellShape.isAmount($0) || CellShape.isDate($0) || CellShape.isIdentifier($0) }
        }
        guard let headerIndex else {
            return try draftTypedRecords(
                rows: rows, format: format, encoding: encoding, separator: separator, decimal: decimal, dates: dates)
        }
        let header = rows[headerIndex]
        var taken: Set<Int> = []
        var payment = FieldSynonyms.map(header, from: FieldSynonyms.payment, taken: &taken)
        var line = FieldSynonyms.map(header, from: FieldSynonyms.line, taken: &taken)
        if !line.contains(where: { $0.field == "reference" }) || !line.contains(where: { $0.field == "amount_paid" }) {
            // Fall back on what the columns hold: the first identifier column, the last amount column.
            let data = rows[(headerIndex + 1)...].prefix(20)
            func share(_ column: Int, _ test: (String) -> Bool) -> Int {
                data.filter { column < $0.count && test($0[column]) }.count
            }
            if !line.contains(where: { $0.field == "reference" }),
                let column = header.indices.first(where: {
                    !taken.contains($0) && share($0, CellShape.isIdentifier) > 0
                })
            {
                taken.insert(column)
                line.append(("reference", header[column]))
                notes.append("check: `reference` is a guess (column \"\(header[column])\")")
            }
            if !line.contains(where: { $0.field == "amount_paid" }),
                let column = header.indices.reversed().first(where: {
                    !taken.contains($0) && share($0, CellShape.isAmount) > 0
                })
            {
                taken.insert(column)
                line.append(("amount_paid", header[column]))
                notes.append("check: `amount_paid` is a guess (column \"\(header[column])\")")
            }
        }
        guard line.contains(where: { $0.field == "reference" }), line.contains(where: { $0.field == "amount_paid" })
        else {
            throw LayoutError(
                code: "draft.no_lines",
                message:
                    "no column of the header (\(header.filter { !$0.isEmpty }.joined(separator: ", "))) looks like an invoice number and an amount paid",
                location: SourceLocation(file: fileName))
        }
        // A kind column: few distinct values, some of them invoice words and some deduction words.
        var rules: [String] = []
        let data = Array(rows[(headerIndex + 1)...])
        var kindColumn: Int?
        for column in header.indices where !taken.contains(column) {
            let values = Set(
                data.compactMap { column < $0.count ? $0[column].trimmingCharacters(in: .whitespaces) : nil }.filter {
                    !$0.isEmpty
                })
            guard (2...4).contains(values.count) else { continue }
            let lines = values.filter { FieldSynonyms.lineKinds.contains($0.lowercased()) }
            let deductions = values.filter { FieldSynonyms.deductionKinds.contains($0.lowercased()) }
            guard !lines.isEmpty, !deductions.isEmpty else { continue }
            kindColumn = column
            rules.append("kind = column \(Drafter.quoted(header[column]))")
            rules.append("line = " + lines.sorted().map(Drafter.quoted).joined(separator: ", "))
            rules.append("deduction = " + deductions.sorted().map(Drafter.quoted).joined(separator: ", "))
            break
        }
        let firstCells = data.compactMap { $0.first { !$0.trimmingCharacters(in: .whitespaces).isEmpty } }
        if let total = firstCells.first(where: { cell in
            FieldSynonyms.totalWords.contains { cell.lowercased().hasPrefix($0) }
        }) {
            let word = String(total.trimmingCharacters(in: .whitespaces).prefix { $0.isLetter })
            rules.append("total = first_cell \(Drafter.quoted(word + "*"))")
        }
        if !rules.isEmpty { sections.append(("rows", rules)) }
        // Payment fields from the preamble's labels.
        var preamble: [(String, String)] = []
        for row in rows[..<headerIndex] {
            let cells = row.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard let first = cells.first else { continue }
            if let colon = first.firstIndex(of: ":"), first.index(after: colon) < first.endIndex,
                !first[first.index(after: colon)...].trimmingCharacters(in: .whitespaces).isEmpty
            {
                preamble.append((String(first[..<colon]), ""))
            } else if cells.count >= 2 {
                var label = first
                while label.hasSuffix(":") { label.removeLast() }
                preamble.append((label, cells[1]))
            }
        }
        // A "date" column that changes between rows of one payment holds invoice dates.
        if let dateColumn = payment.first(where: { $0.field == "payment_date" }),
            let column = header.firstIndex(of: dateColumn.header),
            !line.contains(where: { $0.field == "invoice_date" })
        {
            let referenceColumn = payment.first { $0.field == "payment_reference" }.flatMap {
                header.firstIndex(of: $0.header)
            }
            var datesByPayment: [String: Set<String>] = [:]
            for row in data where column < row.count {
                let key = referenceColumn.map { $0 < row.count ? row[$0] : "" } ?? ""
                datesByPayment[key, default: []].insert(row[column])
            }
            if datesByPayment.values.contains(where: { $0.count > 1 }) {
                payment.removeAll { $0.field == "payment_date" }
                line.append(("invoice_date", dateColumn.header))
                notes.append(
                    "check: \"\(dateColumn.header)\" changes within a payment, so it is read as the invoice date")
            }
        }
        var paymentLines = payment.map { "\($0.field) = \(Drafter.quoted($0.header))" }
        var labelTaken: Set<Int> = []
        for (field, label) in FieldSynonyms.map(preamble.map(\.0), from: FieldSynonyms.payment, taken: &labelTaken)
        where !payment.contains(where: { $0.field == field }) {
            paymentLines.append("\(field) = preamble \(Drafter.quoted(label))")
            payment.append((field, label))
        }
        if !paymentLines.isEmpty { sections.append(("payment", paymentLines)) }
        var lineLines = line.map { "\($0.field) = \(Drafter.quoted($0.header))" }
        if kindColumn != nil {
            // Deduction rows usually share the amount and reference columns.
            var deduction: [String] = []
            let names = header.map(FieldSynonyms.normalised)
            if let invoiceColumn = names.indices.first(where: {
                !taken.contains($0) && FieldSynonyms.deductionInvoice.contains(names[$0])
            }) {
                // The deduction names its invoice in a column of its own; the line's reference column is the deduction's own number.
                taken.insert(invoiceColumn)
                deduction.append("reference = \(Drafter.quoted(header[invoiceColumn]))")
                if let own = line.first(where: { $0.field == "reference" }),
                    !line.contains(where: { $0.field == "deduction_reference" })
                {
                    deduction.append("deduction_reference = \(Drafter.quoted(own.header))")
                }
            } else if let reference = line.first(where: { $0.field == "reference" }) {
                deduction.append("reference = \(Drafter.quoted(reference.header))")
            }
            let amount = line.first { $0.field == "deduction_amount" } ?? line.first { $0.field == "amount_paid" }!
            deduction.append("deduction_amount = \(Drafter.quoted(amount.header))")
            for field in ["deduction_code", "deduction_text", "deduction_reference"] {
                if let mapped = line.first(where: { $0.field == field }) {
                    deduction.append("\(field) = \(Drafter.quoted(mapped.header))")
                }
            }
            lineLines.removeAll { $0.hasPrefix("deduction_") }
            sections.append(("line", lineLines))
            sections.append(("deduction", deduction))
            notes.append(
                "check: whether invoice rows show the amount before their deductions (deduction_rows = add, the default) or after (explain)"
            )
        } else {
            sections.append(("line", lineLines))
        }
        let unmapped = header.indices.filter {
            !taken.contains($0) && $0 != kindColumn && !header[$0].trimmingCharacters(in: .whitespaces).isEmpty
        }
        if !unmapped.isEmpty {
            notes.append("not mapped: " + unmapped.map { "\"\(header[$0])\"" }.joined(separator: ", "))
        }
        return finish(format: format, encoding: encoding, separator: separator, decimal: decimal, dates: dates)
    }

    mutating func draftTypedRecords(
        rows: [[String]], format: LayoutProfile.Format, encoding: TextEncoding?, separator: Character?,
        decimal: Character,
        dates: [String]
    ) throws(LayoutError) -> ProfileDraft {
        let records = rows.filter { !$0.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty } }
        let codes = records.map { $0.first?.trimmingCharacters(in: .whitespaces) ?? "" }
        let distinct = Drafter.unique(codes)
        guard !records.isEmpty, distinct.count <= 8, distinct.allSatisfy({ !$0.isEmpty && $0.count <= 4 }) else {
            throw LayoutError(
                code: "draft.no_header",
                message:
                    "no row looks like a header and the rows do not start with record types; write the profile by position",
                location: SourceLocation(file: fileName))
        }
        settings.append("header_row = none")
        var counts: [String: Int] = [:]
        for code in codes { counts[code, default: 0] += 1 }
        var roles: [String: LayoutProfile.Role] = [:]
        if let last = codes.last, counts[last] == 1, distinct.count > 1 { roles[last] = .trailer }
        let lineCode = distinct.filter { roles[$0] == nil }.max { counts[$0]! < counts[$1]! }!
        roles[lineCode] = .line
        if let first = codes.first, roles[first] == nil, counts[first]! < counts[lineCode]! { roles[first] = .payment }
        for code in distinct where roles[code] == nil { roles[code] = .deduction }
        var rules = ["kind = column 1"]
        for code in distinct { rules.append("\(roles[code]!.rawValue) = \(Drafter.quoted(code))") }
        sections.append(("rows", rules))
        notes.append(
            "check: the role of each record type ("
                + distinct.map { "\($0) \(roles[$0]!.rawValue)" }.joined(separator: ", ") + ")")
        for role in [LayoutProfile.Role.payment, .line, .deduction, .trailer] {
            guard let code = distinct.first(where: { roles[$0] == role }),
                let sample = records.first(where: { $0.first?.trimmingCharacters(in: .whitespaces) == code })
            else { continue }
            var fields: [String] = []
            var used: Set<String> = []
            func assign(_ field: String, _ column: Int) {
                guard !used.contains(field) else { return }
                used.insert(field)
                fields.append("\(field) = column \(column + 1)")
            }
            let cells = Array(sample.dropFirst())
            let amountColumns = cells.indices.filter { CellShape.isAmount(cells[$0]) }
            for (offset, cell) in cells.enumerated() {
                let column = offset + 1
                switch role {
                case .payment:
                    if CellShape.isDate(cell) {
                        assign("payment_date", column)
                    } else if CellShape.isAmount(cell) {
                        assign("payment_total", column)
                    } else if CellShape.isIdentifier(cell) {
                        assign(used.contains("payment_reference") ? "payer_id" : "payment_reference", column)
                    } else if CellShape.isWords(cell) {
                        assign(used.contains("payer") ? "payment_method" : "payer", column)
                    }
                case .line:
                    if CellShape.isDate(cell) {
                        assign("invoice_date", column)
                    } else if amountColumns.last == offset {
                        assign("amount_paid", column)
                    } else if CellShape.isAmount(cell) {
                        assign("invoice_amount", column)
                    } else if CellShape.isIdentifier(cell) {
                        assign("reference", column)
                    }
                case .deduction:
                    if amountColumns.last == offset {
                        assign("deduction_amount", column)
                    } else if CellShape.isIdentifier(cell) {
                        assign("deduction_reference", column)
                    } else if CellShape.isWords(cell), cell.contains(" ") {
                        assign("deduction_text", column)
                    } else if !cell.isEmpty {
                        assign("deduction_code", column)
                    }
                case .trailer:
                    if CellShape.isAmount(cell) {
                        assign("total_amount", column)
                    } else if Int(cell) != nil {
                        assign("record_count", column)
                    }
                default: break
                }
            }
            if role == .line {
                if !used.contains("reference") { fields.append("reference = column 2") }
                if !used.contains("amount_paid") { fields.append("amount_paid = column \(max(3, cells.count + 1))") }
            }
            if role == .deduction, !used.contains("deduction_amount") {
                fields.append("deduction_amount = column \(max(2, cells.count + 1))")
            }
            if !fields.isEmpty { sections.append((role.rawValue, fields)) }
        }
        return finish(format: format, encoding: encoding, separator: separator, decimal: decimal, dates: dates)
    }

    mutating func draftFixedWidth(_ text: String, encoding: TextEncoding) throws(LayoutError) -> ProfileDraft {
        let lines = text.textLines.map(String.init).filter { !$0.allSatisfy(\.isWhitespace) }
        guard !lines.isEmpty else {
            throw LayoutError(
                code: "draft.empty", message: "\(fileName) is empty", location: SourceLocation(file: fileName))
        }
        // Fields: runs of characters between columns that are blank on every line.
        let width = lines.map(\.count).max()!
        let characters = lines.map(Array.init)
        let blank = (0..<width).map { column in characters.allSatisfy { column >= $0.count || $0[column] == " " } }
        var spans: [(Int, Int)] = []
        var start: Int?
        for column in 0...width {
            let isBlank = column == width || blank[column]
            if !isBlank, start == nil { start = column }
            if isBlank, let from = start {
                spans.append((from + 1, column))
                start = nil
            }
        }
        func cell(_ line: [Character], _ span: (Int, Int)) -> String {
            guard span.0 - 1 < line.count else { return "" }
            return String(line[(span.0 - 1)..<min(span.1, line.count)]).trimmingCharacters(in: .whitespaces)
        }
        let tokens =
            characters.flatMap { line in spans.map { cell(line, $0) } }
            + lines.flatMap { $0.split(separator: " ").map(String.init) }
        let dates = CellShape.formats(for: tokens, european: false)
        commonSettings(
            format: .fixedWidth, encoding: encoding, separator: nil, decimal: ".", dates: dates,
            currency: Drafter.currency(in: lines))
        var fields: [String] = []
        var rules: [String] = []
        if let title = characters.first, Drafter.isHeaderLike(spans.map { cell(title, $0) }) {
            let names = spans.map { cell(title, $0) }
            rules.append("skip = characters \(spans[0].0)-\(spans[0].1) \(Drafter.quoted(names[0]))")
            var taken: Set<Int> = []
            for (field, header) in FieldSynonyms.map(
                names, from: FieldSynonyms.payment + FieldSynonyms.line, taken: &taken)
            {
                let span = spans[names.firstIndex(of: header)!]
                fields.append("\(field) = characters \(span.0)-\(span.1)")
            }
        }
        if !fields.contains(where: { $0.hasPrefix("reference ") }) {
            let data = characters.dropFirst(rules.isEmpty ? 0 : 1)
            let span = spans.first { span in data.contains { CellShape.isIdentifier(cell($0, span)) } } ?? spans[0]
            fields.append("reference = characters \(span.0)-\(span.1)")
            notes.append("check: `reference` is a guess (characters \(span.0)-\(span.1))")
        }
        if !fields.contains(where: { $0.hasPrefix("amount_paid ") }) {
            let span = spans.last!
            fields.append("amount_paid = characters \(span.0)-\(span.1)")
            notes.append(
                "check: `amount_paid` is a guess (characters \(span.0)-\(span.1)); add `| implied_decimals 2` if amounts are in cents"
            )
        }
        notes.append(
            "fields found at characters " + spans.map { "\($0.0)-\($0.1)" }.joined(separator: ", ")
                + "; records of several types need [rows] rules by position")
        if !rules.isEmpty { sections.append(("rows", rules)) }
        sections.append(("line", fields))
        return finish(format: .fixedWidth, encoding: encoding, separator: nil, decimal: ".", dates: dates)
    }

    mutating func draftJSON() throws(LayoutError) -> ProfileDraft {
        let single = JSONValue.isSingleDocument(bytes)
        var objects: [JSONValue] = []
        var format = LayoutProfile.Format.json
        var paymentsPath = ""
        var linesKey = ""
        if single {
            let root: JSONValue
            do { root = try JSONValue.parse(bytes, file: fileName) } catch {
                throw LayoutError(code: "json.malformed", message: error.message, location: error.location)
            }
            // The payments: the array of objects that themselves hold an array of objects (their lines).
            func search(_ value: JSONValue, _ path: String) -> (String, String, [JSONValue])? {
                if case .array(let items) = value, let first = items.first, case .object(let members) = first {
                    if let nested = members.first(where: {
                        if case .array(let inner) = $0.value, let item = inner.first, case .object = item {
                            true
                        } else {
                            false
                        }
                    }) {
                        return (path, nested.key, items)
                    }
                }
                switch value {
                case .object(let members):
                    for member in members {
                        if let found = search(member.value, path.isEmpty ? member.key : path + "." + member.key) {
                            return found
                        }
                    }
                case .array(let items):
                    for item in items.prefix(3) { if let found = search(item, path) { return found } }
                default: break
                }
                return nil
            }
            guard let (path, key, payments) = search(root, "") else {
                throw LayoutError(
                    code: "draft.json", message: "no array of payments holding arrays of lines was found",
                    location: SourceLocation(file: fileName))
            }
            paymentsPath = path.isEmpty ? "[*]" : path + "[*]"
            linesKey = key
            objects = payments
        } else {
            format = .jsonLines
            for line in String(decoding: bytes, as: UTF8.self).textLines where !line.allSatisfy(\.isWhitespace) {
                if let value = try? JSONValue.parse(Array(line.utf8)) { objects.append(value) }
            }
        }
        func members(_ value: JSONValue) -> [(key: String, value: JSONValue)] {
            if case .object(let list) = value { list } else { [] }
        }
        let scalars = objects.flatMap { object in
            members(object).compactMap(\.value.scalarText)
                + members(object).flatMap { member -> [String] in
                    if case .array(let items) = member.value {
                        return items.flatMap { members($0).compactMap(\.value.scalarText) }
                    } else {
                        return []
                    }
                }
        }
        let dates = CellShape.formats(for: scalars, european: false)
        commonSettings(format: format, encoding: nil, separator: nil, decimal: ".", dates: dates, currency: nil)
        if format == .json {
            settings.append("payments = \(Drafter.quoted(paymentsPath))")
            settings.append("lines = \(Drafter.quoted(linesKey + "[*]"))")
        }
        let paymentKeys = Drafter.unique(
            objects.flatMap { members($0).filter { $0.value.scalarText != nil }.map(\.key) })
        var lineKeys: [String] = paymentKeys
        if format == .json {
            lineKeys = Drafter.unique(
                objects.flatMap { object -> [String] in
                    guard case .array(let lines)? = object[linesKey] else { return [] }
                    return lines.flatMap { members($0).filter { $0.value.scalarText != nil }.map(\.key) }
                })
        }
        var deductionSection: [String] = []
        var trailerSection: [String] = []
        var taken: Set<Int> = []
        var payment =
            format == .json
            ? FieldSynonyms.map(
                paymentKeys, from: FieldSynonyms.payment + [("payment_total", ["amount", "total"])], taken: &taken) : []
        var lineTaken: Set<Int> = format == .json ? [] : taken
        var line = FieldSynonyms.map(lineKeys, from: FieldSynonyms.line, taken: &lineTaken)
        if format == .jsonLines {
            var rest = lineTaken
            payment = FieldSynonyms.map(lineKeys, from: FieldSynonyms.payment, taken: &rest)
            if let kind = lineKeys.first(where: {
                ["type", "kind", "record_type", "line_type"].contains($0.lowercased())
            }) {
                let values = Drafter.unique(objects.compactMap { $0[kind]?.scalarText })
                var rules = ["kind = json \(Drafter.quoted(kind))"]
                let lines = values.filter { FieldSynonyms.lineKinds.contains($0.lowercased()) }
                let deductions = values.filter { FieldSynonyms.deductionKinds.contains($0.lowercased()) }
                let trailers = values.filter {
                    ["summary", "trailer", "total", "totals", "footer"].contains($0.lowercased())
                }
                if !lines.isEmpty { rules.append("line = " + lines.map(Drafter.quoted).joined(separator: ", ")) }
                if !deductions.isEmpty {
                    rules.append("deduction = " + deductions.map(Drafter.quoted).joined(separator: ", "))
                }
                if !trailers.isEmpty {
                    rules.append("trailer = " + trailers.map(Drafter.quoted).joined(separator: ", "))
                }
                let others = values.filter { !lines.contains($0) && !deductions.contains($0) && !trailers.contains($0) }
                if !others.isEmpty { rules.append("skip = " + others.map(Drafter.quoted).joined(separator: ", ")) }
                if lines.isEmpty { rules.append("# check: which values of \"\(kind)\" are lines (line = \"…\")") }
                sections.append(("rows", rules))
                if !deductions.isEmpty {
                    let keys = Drafter.unique(
                        objects.filter { deductions.contains($0[kind]?.scalarText ?? "") }.flatMap {
                            members($0).map(\.key)
                        })
                    var used: Set<Int> = []
                    var mapped = FieldSynonyms.map(
                        keys,
                        from: [
                            ("deduction_amount", ["amount", "deduction amount"]),
                            ("deduction_code", ["code", "reason code", "reason"]),
                            ("deduction_text", ["text", "description", "reason text"]),
                            ("deduction_reference", ["ref", "reference", "memo", "deduction ref"]),
                        ], taken: &used)
                    if let invoice = keys.first(where: { $0.lowercased().contains("invoice") }) {
                        mapped.append(("reference", invoice))
                    }
                    deductionSection = mapped.map { "\($0.field) = json \(Drafter.quoted($0.header))" }
                }
                if !trailers.isEmpty,
                    let count = Drafter.unique(
                        objects.filter { trailers.contains($0[kind]?.scalarText ?? "") }.flatMap {
                            members($0).map(\.key)
                        }
                    )
                    .first(where: { $0.lowercased().contains("count") })
                {
                    trailerSection = [
                        "detail_count = json \(Drafter.quoted(count))",
                        "# check: whether \"\(count)\" counts lines and deductions (detail_count), or every record (record_count)",
                    ]
                }
            }
        }
        if !line.contains(where: { $0.field == "reference" }),
            let key = lineKeys.first(where: { $0.lowercased().contains("invoice") || $0.lowercased().contains("ref") })
        {
            line.append(("reference", key))
        }
        if !line.contains(where: { $0.field == "amount_paid" }),
            let key = lineKeys.first(where: { ["paid", "amount", "net"].contains($0.lowercased()) })
        {
            line.append(("amount_paid", key))
        }
        guard line.contains(where: { $0.field == "reference" }), line.contains(where: { $0.field == "amount_paid" })
        else {
            throw LayoutError(
                code: "draft.json",
                message:
                    "no member looks like an invoice number and an amount paid (members: \(lineKeys.joined(separator: ", ")))",
                location: SourceLocation(file: fileName))
        }
        if !payment.isEmpty {
            sections.append(("payment", payment.map { "\($0.field) = json \(Drafter.quoted($0.header))" }))
        }
        sections.append(("line", line.map { "\($0.field) = json \(Drafter.quoted($0.header))" }))
        if !deductionSection.isEmpty { sections.append(("deduction", deductionSection)) }
        if !trailerSection.isEmpty { sections.append(("trailer", trailerSection)) }
        return finish(format: format, encoding: nil, separator: nil, decimal: ".", dates: dates)
    }

    func finish(
        format: LayoutProfile.Format, encoding: TextEncoding?, separator: Character?, decimal: Character,
        dates: [String]
    ) -> ProfileDraft {
        var text = settings.joined(separator: "\n") + "\n"
        for (name, lines) in sections { text += "\n[\(name)]\n" + lines.joined(separator: "\n") + "\n" }
        if !notes.isEmpty { text += "\n" + notes.map { "# " + $0 }.joined(separator: "\n") + "\n" }
        return ProfileDraft(
            text: text, format: format, encoding: encoding, separator: separator, decimal: decimal, dateFormats: dates,
            notes: notes)
    }
}
