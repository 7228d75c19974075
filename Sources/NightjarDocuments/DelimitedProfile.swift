public import NightjarCore
import Foundation

/// How one retailer's CSV export is laid out: a small text file in the workspace's `profiles/`.
///
/// ```
/// name = northwind-remittance
/// kind = remittance                 # remittance | open_invoices
/// separator = ","                   # "," ";" "tab" "|"
/// encoding = utf-8                  # utf-8 | utf-8-bom | windows-1252
/// decimal = "."                     # "." or ","
/// date_format = "MM/dd/yyyy"
/// currency = USD                    # when no currency column
/// negative = minus                  # minus | parentheses | debit_credit_column
/// skip_rows_starting_with = "Total"
///
/// [columns]
/// payment_reference = "Check Number"
/// reference = "Invoice Number"
/// amount_paid = "Paid Amount"
/// ```
public struct DelimitedProfile: Sendable, Equatable {
    public enum Kind: String, Sendable { case remittance, openInvoices = "open_invoices", supplierInvoices = "supplier_invoices" }
    public enum NegativeStyle: String, Sendable { case minus, parentheses, debitCreditColumn = "debit_credit_column" }

    public var name: String
    public var kind: Kind
    public var separator: Character
    public var encoding: TextEncoding
    public var decimalStyle: DecimalStyle
    public var dateFormat: String
    public var currency: CurrencyCode?
    public var negative: NegativeStyle
    /// Rows whose first cell starts with one of these are skipped (totals, notes).
    public var skipRowsStartingWith: [String]
    /// Our field name → the header text in the file (matched case-insensitively, spaces trimmed).
    public var columns: [String: String]
    /// Mapped fields whose column may be absent from a file (the default layout's optional ones).
    public var optionalFields: Set<String> = []

    /// Fields a remittance profile may map.
    public static let remittanceFields: Set<String> = [
        "payment_reference", "payment_date", "payment_total", "payment_method", "payer", "payer_id", "reference", "reference_type",
        "amount_paid", "invoice_amount", "discount", "deduction_amount", "deduction_code", "deduction_reference", "debit_credit",
        "currency", "po_number",
    ]
    /// Fields an open-invoice profile may map.
    public static let openInvoiceFields: Set<String> = [
        "customer_id", "invoice_number", "invoice_date", "due_date", "amount", "open_amount", "currency", "po_number", "terms",
    ]

    /// Fields a supplier-invoice profile (a distributor's invoice feed, one row per line) may map.
    public static let supplierInvoiceFields: Set<String> = [
        "invoice_number", "invoice_date", "order_date", "control_number", "supplier_id", "supplier_name", "ship_to_id", "ship_to_name",
        "item_code", "item_qualifier", "quantity", "unit_cost", "description", "currency",
    ]

    /// The fields a profile of this kind must map.
    public static func required(_ kind: Kind) -> [String] {
        switch kind {
        case .remittance: ["reference", "amount_paid"]
        case .openInvoices: ["customer_id", "invoice_number", "open_amount"]
        case .supplierInvoices: ["invoice_number", "item_code", "quantity", "unit_cost"]
        }
    }

    /// The documented default layout for open invoices:
    /// `customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number` (+ optional `terms`).
    public static let defaultOpenInvoices = DelimitedProfile(
        name: "default-open-invoices", kind: .openInvoices, separator: ",", encoding: .utf8, decimalStyle: .point,
        dateFormat: "yyyy-MM-dd", currency: nil, negative: .minus, skipRowsStartingWith: [],
        columns: Dictionary(uniqueKeysWithValues: openInvoiceFields.map { ($0, $0) }),
        optionalFields: openInvoiceFields.subtracting(["customer_id", "invoice_number", "open_amount"]))

    /// Parses a profile file; errors name the line.
    public static func parse(_ text: String, file: String) throws(DelimitedError) -> DelimitedProfile {
        var settings: [String: (String, Int)] = [:]
        var columns: [String: String] = [:]
        var section = ""
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = offset + 1
            var content = Substring(raw).trimmingSpaces()
            if content.isEmpty || content.hasPrefix("#") { continue }
            if content.hasPrefix("[") {
                guard content.hasSuffix("]") else { throw failure("a section needs a closing ]", file, line) }
                section = String(content.dropFirst().dropLast())
                guard section == "columns" else { throw failure("unknown section [\(section)] (only [columns])", file, line) }
                continue
            }
            guard let equals = content.firstIndex(of: "=") else { throw failure("expected `key = value`", file, line) }
            let key = String(content[..<equals].trimmingSpaces())
            content = content[content.index(after: equals)...].trimmingSpaces()
            var value: String
            if content.hasPrefix("\"") {
                guard let close = content.dropFirst().firstIndex(of: "\"") else { throw failure("unterminated string", file, line) }
                value = String(content[content.index(after: content.startIndex)..<close])
            } else {
                value = String(content.split(separator: "#", maxSplits: 1).first ?? "").trimmingCharacters(in: .whitespaces)
            }
            if section == "columns" {
                columns[key] = value
            } else {
                settings[key] = (value, line)
            }
        }
        func setting(_ key: String) -> String? { settings[key]?.0 }
        func line(_ key: String) -> Int? { settings[key]?.1 }
        let known: Set<String> = ["name", "kind", "separator", "encoding", "decimal", "date_format", "currency", "negative", "skip_rows_starting_with"]
        if let unknown = settings.keys.sorted().first(where: { !known.contains($0) }) {
            throw failure("unknown setting `\(unknown)`", file, line(unknown) ?? 1)
        }
        guard let kind = Kind(rawValue: setting("kind") ?? "remittance") else {
            throw failure("kind must be remittance, open_invoices or supplier_invoices", file, line("kind") ?? 1)
        }
        let separatorText = setting("separator") ?? ","
        let separator: Character = separatorText == "tab" || separatorText == "\\t" ? "\t" : (separatorText.first ?? ",")
        guard separatorText.count == 1 || separatorText == "tab" || separatorText == "\\t" else {
            throw failure("separator must be one character or `tab`", file, line("separator") ?? 1)
        }
        guard let encoding = TextEncoding(rawValue: (setting("encoding") ?? "utf-8").lowercased()) else {
            throw failure("encoding must be utf-8, utf-8-bom or windows-1252", file, line("encoding") ?? 1)
        }
        let decimal = setting("decimal") ?? "."
        guard decimal == "." || decimal == "," else { throw failure("decimal must be \".\" or \",\"", file, line("decimal") ?? 1) }
        guard let negative = NegativeStyle(rawValue: setting("negative") ?? "minus") else {
            throw failure("negative must be minus, parentheses or debit_credit_column", file, line("negative") ?? 1)
        }
        var currency: CurrencyCode?
        if let code = setting("currency") {
            do { currency = try CurrencyCode(code) } catch { throw failure(error.message, file, line("currency") ?? 1) }
        }
        let allowed = kind == .remittance ? remittanceFields : kind == .openInvoices ? openInvoiceFields : supplierInvoiceFields
        if let unknown = columns.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw failure("unknown column field `\(unknown)` for a \(kind.rawValue) profile (known: \(allowed.sorted().joined(separator: ", ")))", file, 1)
        }
        for field in DelimitedProfile.required(kind) where columns[field] == nil {
            throw failure("the [columns] section must map `\(field)`", file, 1)
        }
        if negative == .debitCreditColumn && columns["debit_credit"] == nil {
            throw failure("negative = debit_credit_column needs a `debit_credit` column", file, line("negative") ?? 1)
        }
        return DelimitedProfile(name: setting("name") ?? (file as NSString).lastPathComponent, kind: kind, separator: separator,
                                encoding: encoding, decimalStyle: decimal == "," ? .comma : .point,
                                dateFormat: setting("date_format") ?? "yyyy-MM-dd", currency: currency, negative: negative,
                                skipRowsStartingWith: setting("skip_rows_starting_with").map { [$0] } ?? [], columns: columns)
    }

    static func failure(_ message: String, _ file: String, _ line: Int) -> DelimitedError {
        DelimitedError(code: "profile.invalid", message: message, location: SourceLocation(file: file, line: line))
    }

    /// Whether a file's header row has every column this profile requires (used to pick a profile).
    public func matches(header: [String]) -> Bool {
        let names = Set(header.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
        return DelimitedProfile.required(kind).allSatisfy { field in columns[field].map { names.contains($0.lowercased()) } ?? false }
    }
}

/// A row of a table read by profile: cells by our field names, and the file line.
struct ProfiledRow {
    let line: Int
    let cells: [String: String]
    subscript(_ field: String) -> String? {
        guard let value = cells[field]?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        return value
    }
}

extension DelimitedProfile {
    /// The file's rows: the first sheet of an .xlsx workbook, or delimited text decoded and split.
    public func table(_ bytes: [UInt8], file: String?) throws(DelimitedError) -> [DelimitedText.Row] {
        if DocumentFormat.detect(bytes) == .xlsx {
            return try WorkbookReader.firstSheet(bytes, dateFormat: dateFormat, file: file)
        }
        let text = try encoding.decode(bytes, file: file)
        do {
            return try DelimitedText.parse(text, separator: separator, file: file)
        } catch {
            throw DelimitedError(code: "csv.malformed", message: error.message, location: error.location)
        }
    }

    /// Reads the table and maps rows by header name. The first non-empty row is the header.
    func rows(_ bytes: [UInt8], file: String?) throws(DelimitedError) -> [ProfiledRow] {
        let table = try table(bytes, file: file)
        let nonEmpty = table.filter { !$0.fields.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty } }
        guard let header = nonEmpty.first else {
            throw DelimitedError(code: "csv.empty", message: "the file has no header row", location: SourceLocation(file: file, line: 1))
        }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        var indexes: [String: Int] = [:]
        for (field, column) in columns {
            guard let index = names.firstIndex(of: column.lowercased()) else {
                if optionalFields.contains(field) { continue }
                throw DelimitedError(code: "csv.missing_column",
                                     message: "no column \"\(column)\" (for \(field)) in the header; the file has: \(header.fields.joined(separator: ", "))",
                                     location: SourceLocation(file: file, line: header.line))
            }
            indexes[field] = index
        }
        var rows: [ProfiledRow] = []
        for row in nonEmpty.dropFirst() {
            let first = row.fields.first?.trimmingCharacters(in: .whitespaces) ?? ""
            if skipRowsStartingWith.contains(where: { !$0.isEmpty && first.hasPrefix($0) }) { continue }
            if row.fields.count > header.fields.count, !row.fields[header.fields.count...].allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw DelimitedError(code: "csv.field_count",
                                     message: "the row has \(row.fields.count) fields but the header has \(header.fields.count) (a separator inside an unquoted value, or the wrong decimal separator?)",
                                     location: SourceLocation(file: file, line: row.line))
            }
            var cells: [String: String] = [:]
            for (field, index) in indexes where index < row.fields.count { cells[field] = row.fields[index] }
            rows.append(ProfiledRow(line: row.line, cells: cells))
        }
        return rows
    }

    /// An amount cell under this profile's decimal and sign conventions.
    func amount(_ text: String, currency: CurrencyCode, debitCredit: String?, field: String, line: Int, file: String?) throws(DelimitedError) -> Money {
        do {
            var value = try Money.parse(text, currency: currency, style: decimalStyle)
            if negative == .parentheses, text.trimmingCharacters(in: .whitespaces).hasPrefix("-") {
                throw DelimitedError(code: "csv.bad_amount", message: "\(field) \"\(text)\" uses a minus sign but the profile says negatives are in parentheses",
                                     location: SourceLocation(file: file, line: line))
            }
            // Debit flags: D, DR, DEBIT, S (Soll), or a minus sign.
            if negative == .debitCreditColumn, let flag = debitCredit?.uppercased().trimmingCharacters(in: .whitespaces),
               flag.hasPrefix("D") || flag == "S" || flag == "SOLL" || flag == "-" {
                value = try value.negated()
            }
            return value
        } catch let error as DelimitedError {
            throw error
        } catch {
            throw DelimitedError(code: "csv.bad_amount", message: "\(field) \"\(text)\": \((error as? MoneyError)?.message ?? "\(error)")",
                                 location: SourceLocation(file: file, line: line))
        }
    }

    func date(_ text: String, field: String, line: Int, file: String?) throws(DelimitedError) -> CalendarDate {
        do {
            return try CalendarDate.parse(text, format: dateFormat)
        } catch {
            throw DelimitedError(code: "csv.bad_date", message: "\(field) \"\(text)\" does not match the date format \(dateFormat)",
                                 location: SourceLocation(file: file, line: line))
        }
    }
}

/// Reads just the header row of a delimited file, for matching it against profiles.
public enum DelimitedProfileMatch {
    public static func headerRow(_ bytes: [UInt8], file: String) throws -> [String] {
        if DocumentFormat.detect(bytes) == .xlsx {
            return try WorkbookReader.firstSheet(bytes, dateFormat: "yyyy-MM-dd", file: file).first { !$0.fields.isEmpty }?.fields ?? []
        }
        let prefix = Array(bytes.prefix(8192))
        var text = String(decoding: prefix, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        guard let line = text.split(whereSeparator: \.isNewline).first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else { return [] }
        for separator: Character in [",", ";", "\t", "|"] where line.contains(separator) {
            if let row = try? DelimitedText.parse(String(line), separator: separator).first { return row.fields }
        }
        return [String(line)]
    }
}
