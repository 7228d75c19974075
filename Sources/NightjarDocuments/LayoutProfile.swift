import Foundation
public import NightjarCore

/// How one sender lays out its files: a small text file in the workspace's `profiles/` folder,
/// written by an operator (see docs/file-formats.md). The same language reads delimited text,
/// fixed-width and typed-record files, Excel workbooks, HTML tables and JSON.
///
/// ```
/// name = acme-payments
/// kind = remittance
/// separator = ";"
/// decimal = ","
/// date_format = "dd.MM.yyyy"
///
/// [rows]
/// kind = column "Belegart"
/// line = "RE"
/// deduction = "AB"
/// total = first_cell "Summe*"
///
/// [payment]
/// payment_reference = "Zahlungsnummer"
/// payment_date = "Zahlungsdatum"
///
/// [line]
/// reference = "Rechnung" or "Belegnummer"
/// amount_paid = "Betrag"
/// ```
public struct LayoutProfile: Sendable {
    /// What a file read by this profile holds.
    public enum Kind: String, Sendable, CaseIterable {
        case remittance, openInvoices = "open_invoices", supplierInvoices = "supplier_invoices"
    }

    /// How the bytes are laid out. `auto` decides by content (a workbook, JSON, HTML, else text).
    public enum Format: String, Sendable, CaseIterable {
        case auto, delimited, fixedWidth = "fixed_width", xlsx, html, json, jsonLines = "jsonl"
    }

    /// What a row (record) of the file is.
    public enum Role: String, Sendable, CaseIterable, Comparable {
        /// A payment's own record; its values apply to the lines and deductions after it.
        case payment
        /// An invoice (or other document) paid.
        case line
        /// A deduction: it names the invoice it reduces, or none (a payment-level deduction).
        case deduction
        /// A total row: its figures are checked against the rows before it.
        case total
        /// A trailer record: counts and a total, checked against the file.
        case trailer
        /// Read and ignored.
        case skip

        public static func < (lhs: Role, rhs: Role) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// Where the header row is.
    public enum HeaderRow: Sendable, Equatable {
        /// The first row that holds the header names the profile requires (rows above it are the preamble).
        case auto
        /// No header: fields by position only.
        case none
        /// This row (1-based) of each table.
        case row(Int)
    }

    /// How deduction rows relate to the invoice rows they name.
    public enum DeductionRows: String, Sendable, CaseIterable {
        /// Every row adds to the payment: an invoice row shows the amount before its deductions.
        case add
        /// Invoice rows show what was paid; deduction rows only explain the difference.
        case explain
    }

    /// How the sign of a deduction amount is read.
    public enum DeductionSign: String, Sendable, CaseIterable {
        /// A deduction is taken off whatever its sign (`45.00` and `-45.00` both reduce the payment).
        case takenOff = "taken_off"
        /// Negative reduces the payment, positive adds to it (a credit back).
        case asWritten = "as_written"
    }

    /// Which sheets of a workbook are read.
    public enum SheetSelection: Sendable, Equatable {
        case first, all
        case named(String)
        case number(Int)
    }

    /// Where the payments, lines and deductions of a JSON document are.
    public struct JSONLayout: Sendable, Equatable {
        /// Each element is one payment; `$` (the default) is the whole document (each element when it is an array).
        public var payments: [JSONPath.Step] = []
        /// Lines, relative to a payment.
        public var lines: [JSONPath.Step]?
        /// Deductions relative to a payment (payment-level, or naming an invoice).
        public var deductions: [JSONPath.Step]?
        /// Deductions relative to a line (they reduce that line).
        public var lineDeductions: [JSONPath.Step]?
    }

    /// A rule of the `[rows]` section: rows whose `source` value fits one of `patterns` have `role`.
    public struct RowRule: Sendable {
        public let role: Role
        public let source: FieldMapping?
        public let patterns: [Glob]
        public let line: Int
    }

    public var name: String
    /// The file the profile was read from.
    public var file: String
    public var kind: Kind
    public var format: Format
    public var encoding: TextEncoding
    public var separator: Character
    /// The quote character of delimited text, or nil for none.
    public var quote: Character?
    public var decimalStyle: DecimalStyle
    /// Tried in order.
    public var dateFormats: [String]
    public var currency: CurrencyCode?
    /// Amounts are negated on rows whose `debit_credit` field says debit (D, DR, DEBIT, S, SOLL, -).
    public var debitCreditColumn: Bool
    public var headerRow: HeaderRow
    public var sheet: SheetSelection
    /// XPath of the table(s) of an HTML page; each matching table is read.
    public var table: String?
    public var json: JSONLayout
    public var deductionRows: DeductionRows
    public var deductionSign: DeductionSign
    /// Field mappings per role (`[payment]`, `[line]`, `[deduction]`, `[total]`, `[trailer]`).
    public var mappings: [Role: [String: FieldMapping]]
    /// `[columns]`: fields for every role that uses them.
    public var columns: [String: FieldMapping]
    /// The source of a row's kind for rules that name none (`kind =` in `[rows]`; default: the first cell).
    public var kindSource: FieldMapping?
    public var rowRules: [RowRule]
    /// The role of a row no rule claims; nil: such a row is an error.
    public var otherwise: Role?
    /// `[match]`: globs the file's name must fit (any one), and texts the file must contain (all).
    public var matchFileNames: [Glob]
    public var matchContains: [String]

    /// Whether the layout has payment records (typed `H` records, JSON payments): then lines and
    /// deductions belong to the payment before them, else rows are grouped by their payment fields.
    public var hasPaymentRecords: Bool {
        format == .json || rowRules.contains { $0.role == .payment }
    }

    // MARK: Fields

    /// Fields of a payment (from a payment record, the preamble, or each row).
    public static let paymentFields: Set<String> = [
        "payment_reference", "payment_date", "payment_total", "payment_method", "payer", "payer_id", "trace_number",
        "currency",
    ]
    /// Fields of a remitted line.
    public static let lineFields: Set<String> = [
        "reference", "reference_type", "amount_paid", "invoice_amount", "discount", "po_number", "invoice_date",
        "debit_credit",
        "deduction_amount", "deduction_code", "deduction_text", "deduction_reference", "currency",
    ]
    /// Fields of a deduction row.
    public static let deductionFields: Set<String> = [
        "reference", "deduction_amount", "deduction_code", "deduction_text", "deduction_reference", "debit_credit",
        "currency",
    ]
    /// Fields of total rows and trailers.
    public static let totalFields: Set<String> = ["total_amount", "record_count", "line_count", "detail_count"]
    /// Fields an open-invoice profile may map.
    public static let openInvoiceFields: Set<String> = [
        "customer_id", "customer_name", "invoice_number", "invoice_date", "due_date", "amount", "open_amount",
        "currency", "po_number", "terms",
    ]
    /// Fields a supplier-invoice profile (a distributor's invoice feed, one row per line) may map.
    public static let supplierInvoiceFields: Set<String> = [
        "invoice_number", "invoice_date", "order_date", "control_number", "supplier_id", "supplier_name", "ship_to_id",
        "ship_to_name",
        "item_code", "item_qualifier", "quantity", "unit_cost", "description", "currency",
    ]
    /// Fields whose values are identifiers: read as text exactly (a spreadsheet number is restored
    /// to its digits, a number a spreadsheet rounded to `1.03521E+06` refuses the file).
    public static let identifierFields: Set<String> = [
        "reference", "po_number", "payment_reference", "trace_number", "payer_id", "deduction_reference",
        "deduction_code",
        "customer_id", "invoice_number", "control_number", "supplier_id", "ship_to_id", "item_code",
    ]
    /// Fields holding money.
    public static let amountFields: Set<String> = [
        "payment_total", "amount_paid", "invoice_amount", "discount", "deduction_amount", "total_amount", "amount",
        "open_amount",
    ]
    /// Fields holding calendar dates.
    public static let dateFields: Set<String> = ["payment_date", "invoice_date", "due_date", "order_date"]

    /// A line's fields and its payment's: what a row carries when there are no payment records.
    static let lineAndPaymentFields = lineFields.union(paymentFields)
    /// A deduction's fields and its payment's.
    static let deductionAndPaymentFields = deductionFields.union(paymentFields)

    /// The fields a role may map, for this profile's kind.
    public func fields(for role: Role) -> Set<String> {
        switch kind {
        case .remittance:
            switch role {
            case .payment: LayoutProfile.paymentFields
            case .line: hasPaymentRecords ? LayoutProfile.lineFields : LayoutProfile.lineAndPaymentFields
            case .deduction: hasPaymentRecords ? LayoutProfile.deductionFields : LayoutProfile.deductionAndPaymentFields
            case .total, .trailer: LayoutProfile.totalFields
            case .skip: []
            }
        case .openInvoices:
            role == .line ? LayoutProfile.openInvoiceFields : role == .total ? LayoutProfile.totalFields : []
        case .supplierInvoices:
            role == .line ? LayoutProfile.supplierInvoiceFields : role == .total ? LayoutProfile.totalFields : []
        }
    }

    /// Every field this kind of profile may map anywhere.
    public var knownFields: Set<String> {
        Role.allCases.reduce(into: Set<String>()) { $0.formUnion(fields(for: $1)) }
    }

    /// The fields a line row must have.
    public static func required(_ kind: Kind) -> [String] {
        switch kind {
        case .remittance: ["reference", "amount_paid"]
        case .openInvoices: ["customer_id", "invoice_number", "open_amount"]
        case .supplierInvoices: ["invoice_number", "item_code", "quantity", "unit_cost"]
        }
    }

    /// The mapping a row of `role` reads `field` with: its role's section first, then (for
    /// payment fields, when there are no payment records) `[payment]`, then `[columns]`.
    public func mapping(_ field: String, for role: Role) -> FieldMapping? {
        guard fields(for: role).contains(field) else { return nil }
        if let own = mappings[role]?[field] { return own }
        // Without payment records, every row carries its payment's fields.
        if role != .payment, !hasPaymentRecords, LayoutProfile.paymentFields.contains(field),
            let payment = mappings[.payment]?[field]
        {
            return payment
        }
        return columns[field]
    }

    /// Every field a row of `role` reads, with its mapping.
    public func mappings(for role: Role) -> [(field: String, mapping: FieldMapping)] {
        fields(for: role).sorted().compactMap { field in mapping(field, for: role).map { (field, $0) } }
    }

    /// Header names the file must have for the header row to be found: for each required line
    /// field mapped by header name, its alternatives (any one will do).
    public var requiredHeaderNames: [[String]] {
        LayoutProfile.required(kind).compactMap { field in
            let names = mapping(field, for: .line)?.alternatives.compactMap(\.headerName) ?? []
            return names.isEmpty ? nil : names
        }
    }

    /// Whether any mapping or rule reads a column by its header name.
    public var usesHeaderNames: Bool {
        let all =
            mappings.values.flatMap(\.values) + columns.values + rowRules.compactMap(\.source)
            + [kindSource].compactMap { $0 }
        return all.contains { $0.alternatives.contains { $0.headerName != nil } }
    }

    /// The documented default layout for open invoices:
    /// `customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number` (+ optional `terms`).
    public static let defaultOpenInvoices: LayoutProfile = {
        // Always parses: the text is a constant of the product.
        try! LayoutProfileParser.parse(
            """
            name = default-open-invoices
            kind = open_invoices
            separator = ","
            date_format = "yyyy-MM-dd"
            [columns]
            customer_id = "customer_id"
            invoice_number = "invoice_number"
            open_amount = "open_amount"
            invoice_date = optional "invoice_date"
            due_date = optional "due_date"
            amount = optional "amount"
            currency = optional "currency"
            po_number = optional "po_number"
            terms = optional "terms"
            customer_name = optional "customer_name"
            """, file: "default-open-invoices.profile")
    }()
}

/// Where a field's value comes from, and what is done to it (`"Invoice No" or column 3 | match "(\d+)"`).
public struct FieldMapping: Sendable {
    /// Tried in order: the first that gives a non-empty value wins.
    public var alternatives: [FieldSource]
    public var filters: [FieldFilter]
    /// `optional`: a column the file may lack (else a missing column is an error naming it).
    public var optional: Bool
    /// Where in the profile it was written.
    public let line: Int
    public let column: Int

    /// Whether an alternative can only be evaluated once per file (preamble, file name, constant, xpath).
    public var isDocumentLevel: Bool { alternatives.allSatisfy(\.isDocumentLevel) }
}

/// One place a value can be read from.
public enum FieldSource: Sendable, Equatable {
    /// The column under this header text (case and surrounding spaces ignored).
    case header(String)
    /// The cell at this position (1-based).
    case column(Int)
    /// Characters `from...to` (1-based, inclusive) of a fixed-width record.
    case positions(Int, Int)
    /// The first non-empty cell of the row.
    case firstCell
    /// The value beside this label in the rows above the header (`Payment ID:,12345` or `Payment ID: 12345`).
    case preamble(String)
    /// The first capture group (else the whole match) of this pattern in the file's name.
    case fileName(BoundedRegex.Pattern)
    case constant(String)
    /// A JSON path relative to the record (a payment, a line, a deduction, or a JSON-lines object).
    case json([JSONPath.Step], text: String)
    /// An XPath over the HTML page (its string value).
    case xpath(String)

    public static func == (lhs: FieldSource, rhs: FieldSource) -> Bool {
        switch (lhs, rhs) {
        case (.header(let a), .header(let b)): a == b
        case (.column(let a), .column(let b)): a == b
        case (.positions(let a, let b), .positions(let c, let d)): a == c && b == d
        case (.firstCell, .firstCell): true
        case (.preamble(let a), .preamble(let b)): a == b
        case (.fileName(let a), .fileName(let b)): a.source == b.source
        case (.constant(let a), .constant(let b)): a == b
        case (.json(_, let a), .json(_, let b)): a == b
        case (.xpath(let a), .xpath(let b)): a == b
        default: false
        }
    }

    var headerName: String? {
        if case .header(let name) = self { return name }
        return nil
    }

    var isDocumentLevel: Bool {
        switch self {
        case .preamble, .fileName, .constant, .xpath: true
        default: false
        }
    }

    /// How `profile try` and errors name it.
    public var description: String {
        switch self {
        case .header(let name): "column \"\(name)\""
        case .column(let index): "column \(index)"
        case .positions(let from, let to): "characters \(from)-\(to)"
        case .firstCell: "the first cell"
        case .preamble(let label): "preamble \"\(label)\""
        case .fileName(let pattern): "file name ~ \"\(pattern.source)\""
        case .constant(let value): "constant \"\(value)\""
        case .json(_, let text): "json \"\(text)\""
        case .xpath(let expression): "xpath \"\(expression)\""
        }
    }
}

/// What is done to a value after it is read, in order.
public enum FieldFilter: Sendable {
    /// Keep the first capture group `group` (default 1, else the whole match); no match gives nothing.
    case match(BoundedRegex.Pattern, group: Int?)
    /// Replace every match of the pattern with the text.
    case replace(BoundedRegex.Pattern, String)
    /// Date formats for this field, tried in order (instead of the profile's).
    case date([String])
    /// An identifier kept as written: a spreadsheet number restored to its digits (and the leading
    /// zeros its number format shows), a rounded one (`1.03521E+06`) refused.
    case text
    /// Digits with this many implied decimals (`0001234` with 2 is 12.34).
    case impliedDecimals(Int)
    /// The amount with its sign changed.
    case negate
    /// Used when nothing else gives a value.
    case defaultValue(String)
}

/// A case-insensitive pattern with `*` (any run) and `?` (one character).
public struct Glob: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    let scalars: [Unicode.Scalar]

    public init(_ pattern: String) {
        self.pattern = pattern
        scalars = Array(pattern.lowercased().unicodeScalars)
    }

    public var description: String { "\"\(pattern)\"" }

    /// Whether `text` (trimmed, any case) fits.
    public func matches(_ text: String) -> Bool {
        Glob.matches(pattern: scalars, Array(text.trimmingBlanks().lowercased().unicodeScalars))
    }

    /// Whether `input` fits `pattern` (`*` any run, `?` one scalar, anything else itself), as
    /// given: the caller folds case or trims first. The one wildcard matcher of profiles' sheet
    /// names and sources' file names.
    public static func matches(pattern: [Unicode.Scalar], _ input: [Unicode.Scalar]) -> Bool {
        // Iterative wildcard matching with one backtrack point: linear in practice, never exponential.
        var i = 0
        var p = 0
        var star = -1
        var mark = 0
        while i < input.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == input[i] {
                i += 1
                p += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p
                mark = i
                p += 1
            } else if star >= 0 {
                p = star + 1
                mark += 1
                i = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }
}
