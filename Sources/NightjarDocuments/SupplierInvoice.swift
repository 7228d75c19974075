public import NightjarCore

/// A line of a supplier invoice (IT1).
public struct InvoiceLine: Sendable, Equatable, Codable {
    public let lineNumber: String?
    /// Quantity in thousandths (2.5 units = 2500), exact.
    public let quantityMilli: Int64
    public let unit: String?
    /// Unit price in ten-thousandths of the currency unit (19.98 = 199800), exact.
    public let unitPriceTenThousandths: Int64
    /// Product/service ID pairs in order: (VN, "12345"), (UP, "0588..."), ...
    public let productIDs: [ProductID]
    /// PID05 free-form description, if any.
    public var description: String?
    public let segment: Int

    /// Quantity × price, rounded half away from zero to minor units.
    public func extendedMinorUnits(digits: Int) -> Int64 {
        let raw = quantityMilli.multipliedReportingOverflow(by: unitPriceTenThousandths)
        guard !raw.overflow else { return .max }
        let scale = Int64(pow10(7 - digits))
        let value = raw.partialValue
        return value >= 0 ? (value + scale / 2) / scale : -((-value + scale / 2) / scale)
    }
}

func pow10(_ exponent: Int) -> Int64 { (0..<max(0, exponent)).reduce(Int64(1)) { value, _ in value * 10 } }

/// A product identifier pair from IT1: qualifier (VN vendor item, UP UPC, IN buyer item, BP buyer part) and value.
public struct ProductID: Sendable, Equatable, Codable {
    public let qualifier: String
    public let value: String
}

/// An 810 invoice from a supplier.
public struct SupplierInvoice: Sendable, Equatable, Codable {
    public let controlNumber: String
    public let segment: Int
    public let invoiceDate: CalendarDate?
    public let invoiceNumber: String
    public let purchaseOrderDate: CalendarDate?
    public let purchaseOrderNumber: String?
    public let currency: CurrencyCode
    public var references: [DocumentReference]
    public var parties: [Party]
    /// ITD segments as written (terms type, basis, discount percent, dates, days).
    public var terms: [String]
    public var dates: [DocumentDate]
    public var lines: [InvoiceLine]
    /// TDS01 (implied two decimals).
    public var total: Money?
    /// CTT01.
    public var lineCount: Int?
    /// SAC allowances (negative) and charges (positive), line and summary level.
    public var allowancesAndCharges: Money
    public var findings: [DocumentFinding]
}

/// Reads 810 transaction sets.
public enum SupplierInvoiceReader {
    public static func read(_ interchanges: [X12Interchange], defaultCurrency: CurrencyCode, file: String? = nil)
        throws(X12Error) -> [SupplierInvoice]
    {
        var result: [SupplierInvoice] = []
        for interchange in interchanges {
            for group in interchange.groups {
                for set in group.transactionSets where set.identifier == "810" {
                    result.append(
                        try set.storage.withView { (view) throws(X12Error) in
                            try invoice(view, defaultCurrency: defaultCurrency, file: file)
                        })
                }
            }
        }
        return result
    }

    public static func read(_ bytes: [UInt8], defaultCurrency: CurrencyCode, file: String? = nil) throws(X12Error)
        -> [SupplierInvoice]
    {
        try read(MemorySource(bytes, name: file), defaultCurrency: defaultCurrency, file: file)
    }

    /// Reads a file in chunks, a transaction set at a time.
    public static func read(_ source: any ByteSource, defaultCurrency: CurrencyCode, file: String? = nil)
        throws(X12Error) -> [SupplierInvoice]
    {
        var result: [SupplierInvoice] = []
        var visitor = Visitor(defaultCurrency: defaultCurrency, file: file) {
            result.append($0)
            return true
        }
        try X12Reader.scan(source, file: file, &visitor)
        return result
    }

    /// Hands each 810 to `each` as soon as its SE is read: one transaction set in memory at a time.
    /// An error `each` throws stops the reading and is rethrown.
    public static func forEach(
        _ source: any ByteSource, defaultCurrency: CurrencyCode, file: String? = nil,
        _ each: (SupplierInvoice) throws -> Void
    ) throws {
        try X12Reader.forEach(source, file: file, each) {
            Visitor(defaultCurrency: defaultCurrency, file: file, each: $0)
        }
    }

    struct Visitor: X12Visitor {
        let defaultCurrency: CurrencyCode
        let file: String?
        let each: (SupplierInvoice) -> Bool

        mutating func transactionSet(_ set: X12SetView, length: Int, functionalID: String) throws(X12Error) {
            guard set.header.element(1, is: "810") else { return }
            guard each(try SupplierInvoiceReader.invoice(set, defaultCurrency: defaultCurrency, file: file)) else {
                throw X12Error(.unsupported, "reading stopped", segment: nil, file: file)
            }
        }
    }

    static func scaled(_ text: String, digits: Int, segment: X12SegmentView, element: Int, file: String?)
        throws(X12Error) -> Int64
    {
        do {
            return try Money.parseMinorUnits(text, digits: digits, style: X12Values.decimalStyle)
        } catch {
            throw X12Error(
                .badAmount,
                "\(segment.id)\(String(format: "%02d", element)) \"\(text)\" is not a number: \(error.message)",
                segment: segment.number, file: file)
        }
    }

    static func invoice(_ set: X12SetView, defaultCurrency: CurrencyCode, file: String?) throws(X12Error)
        -> SupplierInvoice
    {
        var currency = defaultCurrency
        if let cur = set.first(.cur), let code = cur.optional(2), let parsed = try? CurrencyCode(code) {
            currency = parsed
        }
        guard let big = set.first(.big) else {
            throw X12Error(
                .missingSegment, "invoice \(set.controlNumber) has no BIG segment", segment: set.header.number,
                file: file)
        }
        guard let number = big.optional(2) else {
            throw X12Error(.missingSegment, "BIG02 (the invoice number) is empty", segment: big.number, file: file)
        }
        var invoice = SupplierInvoice(
            controlNumber: set.controlNumber, segment: set.header.number,
            invoiceDate: try X12Values.optionalDate(big, 1, file: file),
            invoiceNumber: number,
            purchaseOrderDate: try X12Values.optionalDate(big, 3, file: file),
            purchaseOrderNumber: big.optional(4), currency: currency, references: [], parties: [], terms: [], dates: [],
            lines: [],
            total: nil, lineCount: nil, allowancesAndCharges: .zero(currency), findings: [])
        var tds: X12SegmentView?
        var ctt: X12SegmentView?
        var inLines = false
        var inParty = false
        for index in 0..<set.segmentCount {
            let segment = set.segment(index)
            switch segment.tag {
            case .ref:
                let reference = DocumentReference(qualifier: segment[1], value: segment.optional(2) ?? segment[3])
                if inParty, !invoice.parties.isEmpty {
                    invoice.parties[invoice.parties.count - 1].references.append(reference)
                } else {
                    invoice.references.append(reference)
                }
            case .n1:
                invoice.parties.append(
                    Party(
                        role: segment[1], name: segment[2], idQualifier: segment.optional(3), id: segment.optional(4),
                        address: [], references: []))
                inParty = true
            case .n2, .n3, .n4:
                if inParty, !invoice.parties.isEmpty {
                    invoice.parties[invoice.parties.count - 1].address.append(
                        (1...max(1, segment.elementCount)).compactMap { segment.optional($0) }.joined(separator: " "))
                }
            case .itd:
                invoice.terms.append((1...max(1, segment.elementCount)).map { segment[$0] }.joined(separator: "*"))
                inParty = false
            case .dtm:
                inParty = false
                if let date = try X12Values.optionalDate(segment, 2, file: file) {
                    invoice.dates.append(DocumentDate(qualifier: segment[1], date: date))
                }
            case .it1:
                inParty = false
                inLines = true
                var ids: [ProductID] = []
                var index = 6
                while index + 1 <= segment.elementCount {
                    if let qualifier = segment.optional(index), let value = segment.optional(index + 1) {
                        ids.append(ProductID(qualifier: qualifier, value: value))
                    }
                    index += 2
                }
                invoice.lines.append(
                    InvoiceLine(
                        lineNumber: segment.optional(1),
                        quantityMilli: try scaled(
                            segment.optional(2) ?? "0", digits: 3, segment: segment, element: 2, file: file),
                        unit: segment.optional(3),
                        unitPriceTenThousandths: try scaled(
                            segment.optional(4) ?? "0", digits: 4, segment: segment, element: 4, file: file),
                        productIDs: ids, description: nil, segment: segment.number))
            case .pid:
                if inLines, !invoice.lines.isEmpty, invoice.lines[invoice.lines.count - 1].description == nil {
                    invoice.lines[invoice.lines.count - 1].description = segment.optional(5)
                }
            case .tds:
                tds = segment
                inLines = false
            case .sac:
                // Allowances (A) and charges (C), on a line or for the whole invoice; SAC05 has implied two decimals.
                if let amountText = segment.optional(5) {
                    let value = try scaled(amountText, digits: 0, segment: segment, element: 5, file: file)
                    let signed = segment[1] == "A" ? -value : value
                    invoice.allowancesAndCharges = Money(
                        minorUnits: invoice.allowancesAndCharges.minorUnits &+ signed, currency: currency)
                }
            case .ctt:
                ctt = segment
            default:
                continue
            }
        }
        let digits = currency.minorUnitDigits
        let linesTotal = invoice.lines.reduce(Int64(0)) { $0 &+ $1.extendedMinorUnits(digits: digits) }
        if let tds, let text = tds.optional(1) {
            // TDS01 is N2: implied two decimal places.
            let total = try scaled(text, digits: 0, segment: tds, element: 1, file: file)
            invoice.total = Money(minorUnits: total, currency: currency)
            let expected = linesTotal &+ invoice.allowancesAndCharges.minorUnits
            if expected != total, !invoice.lines.isEmpty {
                invoice.findings.append(
                    DocumentFinding(
                        code: "invoice.totals_mismatch",
                        message:
                            "TDS01 says \(Money.decimalString(total, digits: digits)) but the lines come to \(Money.decimalString(linesTotal, digits: digits))"
                            + (invoice.allowancesAndCharges.isZero
                                ? "" : " with \(invoice.allowancesAndCharges.decimalString) of allowances and charges"),
                        segment: tds.number))
            }
        }
        if let ctt, let text = ctt.optional(1) {
            invoice.lineCount = Int(text)
            if invoice.lineCount != invoice.lines.count {
                invoice.findings.append(
                    DocumentFinding(
                        code: "invoice.line_count_mismatch",
                        message: "CTT01 says \(text) lines, the invoice has \(invoice.lines.count)",
                        segment: ctt.number))
            }
        }
        return invoice
    }
}

/// Reads a distributor's invoice feed (CSV or Excel, one row per line) by a `supplier_invoices`
/// profile into the same `SupplierInvoice` values an 810 gives; rows of one invoice number form
/// one invoice, in file order. Line numbers stand where an 810 would give segment numbers.
public enum SupplierInvoiceTableReader {
    public static func read(
        _ bytes: [UInt8], profile: LayoutProfile, defaultCurrency: CurrencyCode, file: String? = nil
    ) throws(LayoutError) -> [SupplierInvoice] {
        try read(MemorySource(bytes, name: file), profile: profile, defaultCurrency: defaultCurrency, file: file)
    }

    /// Reads a feed a row at a time; the invoices themselves are kept until the end, since rows
    /// of one invoice need not be together.
    public static func read(
        _ source: any ByteSource, profile: LayoutProfile, defaultCurrency: CurrencyCode, file: String? = nil
    ) throws(LayoutError) -> [SupplierInvoice] {
        guard profile.kind == .supplierInvoices else {
            throw LayoutError(
                code: "profile.kind", message: "profile \(profile.name) is not for supplier invoices",
                location: SourceLocation(file: file, line: 1))
        }
        let values = LayoutValues(profile: profile, file: file)
        var order: [String] = []
        var invoices: [String: SupplierInvoice] = [:]
        // As when the file is read whole, an unreadable record anywhere comes before a bad value.
        var rowError: LayoutError?
        try LayoutReader.forEachRow(source, profile: profile, file: file) { (row) throws(LayoutError) in
            guard row.role == .line, rowError == nil else { return }
            do throws(LayoutError) { try add(row) } catch { rowError = error }
        }
        if let rowError { throw rowError }
        func add(_ row: LayoutReading.Row) throws(LayoutError) {
            guard let number = try values.identifier("invoice_number", row),
                let code = try values.identifier("item_code", row),
                let quantityText = row.value("quantity")?.text, let costText = row.value("unit_cost")?.text
            else {
                throw values.failure(
                    "csv.missing_value", "invoice_number, item_code, quantity and unit_cost are required", row)
            }
            func scaled(_ text: String, digits: Int, field: String) throws(LayoutError) -> Int64 {
                do {
                    return try Money.parseMinorUnits(text, digits: digits, style: profile.decimalStyle)
                } catch {
                    throw values.failure("csv.bad_number", "\(field) \"\(text)\" is not a number", row)
                }
            }
            let lineNumber = row.location.line ?? row.recordNumber
            let line = InvoiceLine(
                lineNumber: nil, quantityMilli: try scaled(quantityText, digits: 3, field: "quantity"), unit: nil,
                unitPriceTenThousandths: try scaled(costText, digits: 4, field: "unit_cost"),
                productIDs: [
                    ProductID(qualifier: (row.value("item_qualifier")?.text ?? "VN").uppercased(), value: code)
                ],
                description: row.value("description")?.text, segment: lineNumber)
            if invoices[number] == nil {
                let currency = try values.currency(row, fallback: defaultCurrency)
                var parties: [Party] = []
                let supplierID = try values.identifier("supplier_id", row)
                let shipTo = try values.identifier("ship_to_id", row)
                if supplierID != nil || row.value("supplier_name") != nil {
                    parties.append(
                        Party(
                            role: "VN", name: row.value("supplier_name")?.text ?? "", idQualifier: nil, id: supplierID,
                            address: [], references: []))
                }
                if shipTo != nil || row.value("ship_to_name") != nil {
                    parties.append(
                        Party(
                            role: "ST", name: row.value("ship_to_name")?.text ?? "", idQualifier: nil, id: shipTo,
                            address: [], references: []))
                }
                invoices[number] = SupplierInvoice(
                    controlNumber: try values.identifier("control_number", row) ?? String(lineNumber),
                    segment: lineNumber,
                    invoiceDate: try values.date("invoice_date", row), invoiceNumber: number,
                    purchaseOrderDate: try values.date("order_date", row),
                    purchaseOrderNumber: nil, currency: currency, references: [], parties: parties, terms: [],
                    dates: [], lines: [],
                    total: nil, lineCount: nil, allowancesAndCharges: .zero(currency), findings: [])
                order.append(number)
            }
            invoices[number]!.lines.append(line)
        }
        return order.map { invoices[$0]! }
    }
}
