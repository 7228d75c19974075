import Foundation
public import NightjarCore

/// Reads remittances by profile (any format of the layout language) into remittance advices:
/// payment records start payments, or rows with the same payment fields form one; line rows are
/// lines; deduction rows reduce the line of the invoice they name, or the payment; total rows and
/// trailers are checked, and a mismatch is a finding on the batch, never silent.
public enum RemittanceLayoutReader {
    public static func read(
        _ bytes: [UInt8], profile: LayoutProfile, defaultCurrency: CurrencyCode,
        file: String? = nil
    ) throws(LayoutError) -> [RemittanceAdvice] {
        try readWithRows(bytes, profile: profile, defaultCurrency: defaultCurrency, file: file).advices
    }

    /// The advices and how each row was read (for `profile try`).
    public static func readWithRows(
        _ bytes: [UInt8], profile: LayoutProfile, defaultCurrency: CurrencyCode,
        file: String? = nil
    ) throws(LayoutError) -> (advices: [RemittanceAdvice], reading: LayoutReading, findings: [DocumentFinding]) {
        guard profile.kind == .remittance else {
            throw LayoutError(
                code: "profile.wrong_kind",
                message: "profile \(profile.name) reads \(profile.kind.rawValue), not remittances",
                location: SourceLocation(file: file))
        }
        let reading = try LayoutReader.read(bytes, profile: profile, file: file)
        var assembly = RemittanceAssembly(
            values: LayoutValues(profile: profile, file: file), defaultCurrency: defaultCurrency)
        for row in reading.rows { try assembly.add(row) }
        let advices = try assembly.finish()
        return (advices, reading, assembly.fileFindings)
    }

    /// Reads a file a row at a time and hands each payment to `sink` as soon as no later row can
    /// change it: when the next payment record starts, or (payments told apart by their fields)
    /// after its last row, found by a first pass over the file. Memory holds the payments still
    /// open, never the file. Findings a later total row adds to a payment already written are
    /// amended at the end.
    public static func read(
        _ source: any ByteSource, profile: LayoutProfile, defaultCurrency: CurrencyCode, file: String? = nil,
        into sink: any RemittanceSink
    ) throws {
        try read(
            source, profile: profile, defaultCurrency: defaultCurrency, file: file, into: sink,
            keepingRowsUpTo: smallFileBytes)
    }

    /// `read`, with files up to `keepingRowsUpTo` bytes read once with their rows kept (`readSmall`).
    static func read(
        _ source: any ByteSource, profile: LayoutProfile, defaultCurrency: CurrencyCode, file: String?,
        into sink: any RemittanceSink, keepingRowsUpTo smallFileBytes: Int
    ) throws {
        guard profile.kind == .remittance else {
            throw LayoutError(
                code: "profile.wrong_kind",
                message: "profile \(profile.name) reads \(profile.kind.rawValue), not remittances",
                location: SourceLocation(file: file))
        }
        let values = LayoutValues(profile: profile, file: file)
        var assembly = RemittanceAssembly(values: values, defaultCurrency: defaultCurrency)
        if !profile.hasPaymentRecords, source.size <= smallFileBytes {
            try readSmall(source, profile: profile, file: file, assembly: &assembly, into: sink)
            return
        }
        if !profile.hasPaymentRecords {
            // Which row is each payment's last: rows of one payment need not be together.
            var plan = RemittanceAssembly.ClosingPlan()
            source.rewind()
            do {
                try LayoutReader.forEachRow(source, profile: profile, file: file) { (row) throws(LayoutError) in
                    try plan.add(row, values: values)
                }
            } catch {
                // The reading proper meets the same error at the same row (or an earlier one).
            }
            assembly.closing = plan.lastRow
        }
        source.rewind()
        // A row the file cannot give (a malformed record, a row of unknown kind) refuses the file
        // before any row that gives a bad value, wherever they are, as when the file is read whole:
        // after an assembly error the rest is still read, for such an error.
        var assemblyError: LayoutError?
        do {
            try LayoutReader.forEachRow(source, profile: profile, file: file) { (row) throws(LayoutError) in
                guard assemblyError == nil else { return }
                do throws(LayoutError) { try assembly.add(row, sink: sink) } catch {
                    if assembly.sinkFailure != nil { throw error }
                    assemblyError = error
                }
            }
        } catch {
            throw assembly.sinkFailure ?? error
        }
        if let assemblyError { throw assemblyError }
        try assembly.finish(into: sink)
    }

    /// Files up to this size whose payments are told apart by their fields are read once, their
    /// rows kept, instead of once to plan and once to assemble.
    static let smallFileBytes = 64 * 1024

    /// `read(_:profile:...)` for a small file: the same rows, the same payments, the same errors
    /// at the same rows, from one reading.
    static func readSmall(
        _ source: any ByteSource, profile: LayoutProfile, file: String?, assembly: inout RemittanceAssembly,
        into sink: any RemittanceSink
    ) throws {
        var rows: [LayoutReading.Row] = []
        var readError: LayoutError?
        source.rewind()
        do {
            try LayoutReader.forEachRow(source, profile: profile, file: file) { (row) throws(LayoutError) in
                rows.append(row)
            }
        } catch {
            readError = error
        }
        try assemble(rows, readError: readError, assembly: &assembly, into: sink)
    }

    /// Payments from rows already read — every row of a small file, or those before `readError`,
    /// the error the reading met: the closing plan, then the assembly, with the same payments and
    /// the same errors at the same rows as reading the file row by row.
    static func assemble(
        _ rows: [LayoutReading.Row], readError: LayoutError?, assembly: inout RemittanceAssembly,
        into sink: any RemittanceSink
    ) throws {
        var plan = RemittanceAssembly.ClosingPlan()
        do {
            for row in rows { try plan.add(row, values: assembly.values) }
        } catch {
            // The assembly meets the same error at the same row (or an earlier one).
        }
        assembly.closing = plan.lastRow
        var assemblyError: LayoutError?
        for row in rows where assemblyError == nil {
            do throws(LayoutError) { try assembly.add(row, sink: sink) } catch {
                if let failure = assembly.sinkFailure { throw failure }
                assemblyError = error
            }
        }
        if let readError { throw readError }
        if let assemblyError { throw assemblyError }
        try assembly.finish(into: sink)
    }
}

/// Collects the payments a reader hands over, in file order.
final class CollectedRemittances: RemittanceSink {
    var advices: [RemittanceAdvice?] = []

    func write(_ advice: RemittanceAdvice, position: Int?) throws {
        let position = position ?? advices.count
        while advices.count <= position { advices.append(nil) }
        advices[position] = advice
    }

    func amend(position: Int, findings: [DocumentFinding], isBalanced: Bool) throws {
        advices[position]?.findings = findings
    }
}

/// Payments built row by row.
struct RemittanceAssembly {
    let values: LayoutValues
    let defaultCurrency: CurrencyCode
    var profile: LayoutProfile { values.profile }

    struct PendingDeduction {
        let adjustment: Adjustment
        /// The invoice it names, as written.
        let reference: String?
        /// The line of this payment just before it, if any.
        let previousLine: Int?
        let belongsToPreviousLine: Bool
        let row: LayoutReading.Row
    }

    struct Payment {
        let key: String
        var fields: [String: String] = [:]
        var date: CalendarDate?
        var currency: CurrencyCode
        var declaredTotal: (Money, LayoutReading.Row)?
        var lines: [RemittanceLine] = []
        var deductions: [PendingDeduction] = []
        var findings: [DocumentFinding] = []
        let firstRow: LayoutReading.Row
        var closed = false
        /// Whether what it paid equals its total (known once written).
        var differenceIsZero = true
    }

    /// Which payment each row goes to, worked out as `paymentIndex` does, to know each one's last row.
    struct ClosingPlan {
        var byKey: [String: Int] = [:]
        var current: Int?
        var count = 0
        var lastRow: [Int] = []
        var ordinal = 0

        mutating func add(_ row: LayoutReading.Row, values: LayoutValues) throws(LayoutError) {
            ordinal += 1
            guard row.role == .line || row.role == .deduction else { return }
            var fields: [String: String] = [:]
            for field in LayoutProfile.paymentFields where field != "payment_total" {
                if let value = LayoutProfile.identifierFields.contains(field)
                    ? try values.identifier(field, row) : row.value(field)?.text
                {
                    fields[field] = value
                }
            }
            let key = ["payment_reference", "payment_date", "payer", "payer_id", "trace_number", "currency"].map {
                fields[$0] ?? ""
            }.joined(separator: "\u{1}")
            let index: Int
            if fields.isEmpty, let current {
                index = current
            } else if let existing = byKey[key] {
                index = existing
            } else {
                // A payment that cannot be opened (a bad date or currency) stops the plan; the reading proper refuses the row.
                _ = try values.currency(row, fallback: .usd)
                _ = try values.date("payment_date", row)
                index = count
                count += 1
                byKey[key] = index
                lastRow.append(0)
            }
            current = index
            lastRow[index] = ordinal
        }
    }

    var payments: [Payment] = []
    /// Each payment's last row (counted over every row read), when known: it is written to the
    /// sink right after that row.
    var closing: [Int]?
    var rowOrdinal = 0
    /// What a payment already written had: its own findings and the file's unchecked ones.
    var written: [Int: (own: Int, unchecked: Int)] = [:]
    /// An error the sink threw (the reading stops with a layout error standing for it).
    var sinkFailure: (any Error)?
    var byKey: [String: Int] = [:]
    var current: Int?
    /// What the rows since the last total row add up to, per currency, and which payments they touched.
    var sinceTotal: [CurrencyCode: Int64] = [:]
    var linesSinceTotal = 0, detailsSinceTotal = 0
    var touched: Set<Int> = []
    var records = 0
    /// Findings of totals that cover the file rather than one payment (also put on each payment).
    var fileFindings: [DocumentFinding] = []
    /// Figures the file states that nothing could be checked against: every payment of the file carries them.
    var unchecked: [DocumentFinding] = []

    init(values: LayoutValues, defaultCurrency: CurrencyCode) {
        self.values = values
        self.defaultCurrency = defaultCurrency
    }

    /// The payment fields a row gives (text as read), and its key.
    func paymentFields(_ row: LayoutReading.Row) throws(LayoutError) -> ([String: String], String) {
        var fields: [String: String] = [:]
        for field in LayoutProfile.paymentFields where field != "payment_total" {
            if let value = LayoutProfile.identifierFields.contains(field)
                ? try values.identifier(field, row) : row.value(field)?.text
            {
                fields[field] = value
            }
        }
        let key = ["payment_reference", "payment_date", "payer", "payer_id", "trace_number", "currency"].map {
            fields[$0] ?? ""
        }.joined(separator: "\u{1}")
        return (fields, key)
    }

    mutating func openPayment(_ row: LayoutReading.Row, fields: [String: String], key: String) throws(LayoutError)
        -> Int
    {
        var payment = Payment(
            key: key, fields: fields, currency: try values.currency(row, fallback: defaultCurrency), firstRow: row)
        payment.date = try values.date("payment_date", row)
        payments.append(payment)
        byKey[key] = payments.count - 1
        return payments.count - 1
    }

    /// Records a payment total a row states; rows of one payment must agree.
    mutating func noteTotal(_ row: LayoutReading.Row, payment index: Int) throws(LayoutError) {
        guard let total = try values.amount("payment_total", row, currency: payments[index].currency) else { return }
        if let (earlier, earlierRow) = payments[index].declaredTotal {
            if earlier != total {
                payments[index].findings.append(
                    DocumentFinding(
                        code: "layout.payment_total_conflict",
                        message:
                            "rows of one payment state different totals: \(earlier.decimalString) (\(earlierRow.location)) and \(total.decimalString)",
                        segment: row.location.line))
            }
        } else {
            payments[index].declaredTotal = (total, row)
        }
    }

    mutating func add(_ row: LayoutReading.Row, sink: (any RemittanceSink)? = nil) throws(LayoutError) {
        // Every record counts towards a trailer's record count, whatever its role.
        records += 1
        rowOrdinal += 1
        switch row.role {
        case .skip:
            return
        case .payment:
            let (fields, key) = try paymentFields(row)
            if let sink, let current { try close(current, into: sink) }
            current = try openPayment(row, fields: fields, key: key + "\u{2}\(payments.count)")
            try noteTotal(row, payment: current!)
        case .line, .deduction:
            let index = try paymentIndex(for: row)
            try noteTotal(row, payment: index)
            let currency = payments[index].currency
            touched.insert(index)
            if row.role == .line {
                try addLine(row, to: index, currency: currency)
            } else {
                try addDeduction(row, to: index, currency: currency)
            }
            if let sink, let closing, index < closing.count, closing[index] == rowOrdinal {
                try close(index, into: sink)
            }
        case .total, .trailer:
            try check(row)
        }
    }

    /// Writes a payment no later row can change, and lets go of its lines.
    mutating func close(_ index: Int, into sink: any RemittanceSink) throws(LayoutError) {
        guard !payments[index].closed else { return }
        let advice = try advice(payments[index])
        do { try sink.write(advice, position: index) } catch {
            sinkFailure = error
            throw LayoutError(code: "import.failed", message: "\(error)", location: nil)
        }
        payments[index].closed = true
        payments[index].differenceIsZero = advice.difference.isZero
        payments[index].lines = []
        payments[index].deductions = []
        payments[index].fields = [:]
        written[index] = (payments[index].findings.count, unchecked.count)
    }

    mutating func paymentIndex(for row: LayoutReading.Row) throws(LayoutError) -> Int {
        if profile.hasPaymentRecords {
            guard let current else {
                throw values.failure("layout.no_payment", "a \(row.role.rawValue) row before any payment record", row)
            }
            return current
        }
        let (fields, key) = try paymentFields(row)
        if fields.isEmpty, let current { return current }
        if let existing = byKey[key] {
            current = existing
            return existing
        }
        current = try openPayment(row, fields: fields, key: key)
        return current!
    }

    mutating func addLine(_ row: LayoutReading.Row, to index: Int, currency: CurrencyCode) throws(LayoutError) {
        let debit = values.isDebit(row)
        guard let paid = try values.amount("amount_paid", row, currency: currency, debit: debit) else {
            throw values.failure(
                "csv.missing_value",
                "the paid amount (amount_paid) is empty; if this row is not a line, say in [rows] what it is", row)
        }
        guard let reference = try values.identifier("reference", row) else {
            // A total or a note read as a line would add money that was never paid.
            throw values.failure(
                "csv.missing_value",
                "the reference is empty; if this row is not a line (a total, a note), say in [rows] what it is", row)
        }
        var adjustments: SmallArray<Adjustment> = []
        if let deduction = try values.amount("deduction_amount", row, currency: currency), !deduction.isZero {
            adjustments.append(
                Adjustment(
                    amount: signed(deduction), reasonCode: try values.identifier("deduction_code", row) ?? "",
                    reasonText: row.value("deduction_text")?.text, referenceQualifier: nil,
                    reference: try values.identifier("deduction_reference", row), segment: row.location.line ?? 0))
        }
        var references: SmallArray<DocumentReference> = []
        if let po = try values.identifier("po_number", row) {
            references.append(DocumentReference(qualifier: "PO", value: po))
        }
        var dates: SmallArray<DocumentDate> = []
        if let date = try values.date("invoice_date", row) { dates.append(DocumentDate(qualifier: "003", date: date)) }
        payments[index].lines.append(
            RemittanceLine(
                entity: nil, referenceQualifier: row.value("reference_type")?.text ?? "IV", reference: reference,
                paymentAction: nil, amountPaid: paid,
                invoiceAmount: try values.amount("invoice_amount", row, currency: currency, debit: debit),
                discount: try values.amount("discount", row, currency: currency), references: references, dates: dates,
                adjustments: adjustments, segment: row.location.line ?? row.recordNumber))
        sinceTotal[currency, default: 0] &+= paid.minorUnits
        linesSinceTotal += 1
        detailsSinceTotal += 1
    }

    /// A deduction's amount as stored: negative reduces the payment.
    func signed(_ amount: Money) -> Money {
        switch profile.deductionSign {
        case .takenOff:
            amount.isNegative ? amount : Money(minorUnits: 0 &- amount.minorUnits, currency: amount.currency)
        case .asWritten: amount
        }
    }

    mutating func addDeduction(_ row: LayoutReading.Row, to index: Int, currency: CurrencyCode) throws(LayoutError) {
        guard let raw = try values.amount("deduction_amount", row, currency: currency, debit: values.isDebit(row))
        else {
            throw values.failure("csv.missing_value", "the deduction amount (deduction_amount) is empty", row)
        }
        let amount = signed(raw)
        let reference = try values.identifier("reference", row)
        let adjustment = Adjustment(
            amount: amount, reasonCode: try values.identifier("deduction_code", row) ?? "",
            reasonText: row.value("deduction_text")?.text, referenceQualifier: nil,
            reference: try values.identifier("deduction_reference", row), segment: row.location.line ?? row.recordNumber
        )
        let previous = payments[index].lines.isEmpty ? nil : payments[index].lines.count - 1
        payments[index].deductions.append(
            PendingDeduction(
                adjustment: adjustment, reference: reference, previousLine: previous,
                belongsToPreviousLine: row.belongsToPreviousLine, row: row))
        // In `explain` layouts a deduction naming an invoice explains its line and adds nothing.
        if profile.deductionRows == .add || (reference == nil && !row.belongsToPreviousLine) {
            sinceTotal[currency, default: 0] &+= amount.minorUnits
        }
        detailsSinceTotal += 1
    }

    /// A total row or trailer: its figures against the rows since the last one.
    mutating func check(_ row: LayoutReading.Row) throws(LayoutError) {
        var findings: [DocumentFinding] = []
        let line = row.location.line
        if linesSinceTotal == 0, detailsSinceTotal == 0,
            row.value("total_amount") != nil || row.value("record_count") != nil
        {
            // A figure with nothing above it to check against (a summary before the lines) must not pass unread.
            findings.append(
                DocumentFinding(
                    code: "layout.total_unchecked",
                    message:
                        "the \(row.role.rawValue) row at \(row.location) has no rows above it to check against; skip it in [rows] if it is a summary",
                    segment: line))
            fileFindings += findings
            unchecked += findings
            return
        }
        let single: (CurrencyCode, Int64)? =
            sinceTotal.count == 1
            ? sinceTotal.first.map { ($0.key, $0.value) }
            : sinceTotal.isEmpty ? (profile.currency ?? defaultCurrency, 0) : nil
        if let (currency, sum) = single {
            if let stated = try values.amount("total_amount", row, currency: currency), stated.minorUnits != sum {
                findings.append(
                    DocumentFinding(
                        code: "layout.total_mismatch",
                        message:
                            "the \(row.role.rawValue) row says \(stated.decimalString) \(currency); the rows above it add up to \(Money(minorUnits: sum, currency: currency).decimalString)",
                        segment: line))
            }
        } else if row.value("total_amount") != nil {
            findings.append(
                DocumentFinding(
                    code: "layout.total_unchecked",
                    message: "the \(row.role.rawValue) row's total covers several currencies and cannot be checked",
                    segment: line))
        }
        for (field, actual, what) in [
            ("record_count", records, "records (this one included)"), ("line_count", linesSinceTotal, "line records"),
            ("detail_count", detailsSinceTotal, "line and deduction records"),
        ] {
            if let stated = try values.count(field, row), stated != actual {
                findings.append(
                    DocumentFinding(
                        code: "layout.count_mismatch",
                        message: "the \(row.role.rawValue) says \(stated) \(what); the file has \(actual)",
                        segment: line))
            }
        }
        fileFindings += findings
        let covered = touched.isEmpty ? Set(payments.indices) : touched
        for index in covered { payments[index].findings += findings }
        sinceTotal = [:]
        linesSinceTotal = 0
        detailsSinceTotal = 0
        touched = []
    }

    /// Deductions placed on their lines or the payment, then one advice per payment.
    mutating func finish() throws(LayoutError) -> [RemittanceAdvice] {
        let collected = CollectedRemittances()
        try finish(into: collected)
        return collected.advices.compactMap { $0 }
    }

    /// Writes the payments still open, in file order, then amends those written earlier whose
    /// findings grew since.
    mutating func finish(into sink: any RemittanceSink) throws(LayoutError) {
        for index in payments.indices where !payments[index].closed { try close(index, into: sink) }
        for (index, before) in written.sorted(by: { $0.key < $1.key }) {
            let payment = payments[index]
            guard payment.findings.count != before.own || unchecked.count != before.unchecked else { continue }
            let findings = unchecked + payment.findings
            do {
                try sink.amend(
                    position: index, findings: findings, isBalanced: payment.differenceIsZero && findings.isEmpty)
            } catch {
                sinkFailure = error
                throw LayoutError(code: "import.failed", message: "\(error)", location: nil)
            }
        }
    }

    /// One payment's advice: its deductions placed on their lines or the payment.
    func advice(_ payment: Payment) throws(LayoutError) -> RemittanceAdvice {
        var payment = payment
        var paymentLevel: [Adjustment] = []
        for pending in payment.deductions {
            var adjustment = pending.adjustment
            var target: Int?
            if pending.belongsToPreviousLine {
                target = pending.previousLine
            } else if let reference = pending.reference {
                let wanted = reference.uppercased()
                if let previous = pending.previousLine, payment.lines[previous].reference.uppercased() == wanted {
                    target = previous
                } else {
                    let candidates = payment.lines.indices.filter { payment.lines[$0].reference.uppercased() == wanted }
                    if candidates.count == 1 {
                        target = candidates[0]
                    } else if candidates.count > 1 {
                        payment.findings.append(
                            DocumentFinding(
                                code: "layout.deduction_ambiguous",
                                message:
                                    "the deduction at \(pending.row.location) names \(reference), which \(candidates.count) lines of the payment pay; it is kept at the payment level",
                                segment: pending.row.location.line))
                    }
                }
            }
            if let target {
                payment.lines[target].adjustments.append(adjustment)
                if profile.deductionRows == .add {
                    // The invoice row showed the amount before this deduction: the line is paid net of it.
                    let line = payment.lines[target]
                    payment.lines[target] = line.withAmountPaid(
                        Money(
                            minorUnits: line.amountPaid.minorUnits &+ adjustment.amount.minorUnits,
                            currency: line.amountPaid.currency))
                }
            } else {
                adjustment.invoice = pending.reference
                paymentLevel.append(adjustment)
            }
        }
        let first = payment.firstRow
        let reference = payment.fields["payment_reference"]
        var advice = RemittanceAdvice(
            controlNumber: reference ?? "row \(first.location.line ?? first.recordNumber)",
            segment: first.location.line ?? first.recordNumber,
            handlingCode: "C", total: .zero(payment.currency), creditDebit: "C",
            paymentMethod: payment.fields["payment_method"], paymentFormat: nil,
            originatingBankID: nil, originatingAccount: nil, receivingBankID: nil, receivingAccount: nil,
            effectiveDate: payment.date,
            traceNumber: payment.fields["trace_number"] ?? reference, traceOriginator: nil, currency: payment.currency,
            references: [], dates: [],
            parties: payment.fields["payer"] != nil || payment.fields["payer_id"] != nil
                ? [
                    Party(
                        role: "PR", name: payment.fields["payer"] ?? "",
                        idQualifier: payment.fields["payer_id"] == nil ? nil : "ZZ",
                        id: payment.fields["payer_id"], address: [], references: [])
                ] : [],
            entities: paymentLevel.isEmpty
                ? []
                : [
                    RemittanceEntity(
                        assignedNumber: nil, qualifier: nil, idQualifier: nil, id: nil,
                        adjustments: paymentLevel, segment: paymentLevel[0].segment)
                ],
            lines: payment.lines)
        advice.findings = unchecked + payment.findings
        if let (declared, _) = payment.declaredTotal {
            advice.total = declared
        } else {
            // Without a stated total, the payment is what its lines and deductions add up to.
            advice.total = advice.remittedTotal
            advice.totalDeclared = false
        }
        return advice
    }
}

extension RemittanceLine {
    /// The same line with another amount paid (a deduction row taken off it).
    func withAmountPaid(_ amount: Money) -> RemittanceLine {
        RemittanceLine(
            entity: entity, referenceQualifier: referenceQualifier, reference: reference, paymentAction: paymentAction,
            amountPaid: amount,
            invoiceAmount: invoiceAmount, discount: discount, references: references, dates: dates,
            adjustments: adjustments, segment: segment)
    }
}

/// A client's open receivable, from their ERP's export.
public struct OpenInvoice: Sendable, Equatable, Codable {
    public let customerID: String
    public let invoiceNumber: String
    public let invoiceDate: CalendarDate?
    public let dueDate: CalendarDate?
    public let amount: Money
    public let openAmount: Money
    public let purchaseOrderNumber: String?
    /// e.g. `2/10 NET 30`.
    public let terms: String?
    /// Line in the file.
    public let line: Int
    /// The customer's name, when the export gives it.
    public var customerName: String?

    public init(
        customerID: String, invoiceNumber: String, invoiceDate: CalendarDate?, dueDate: CalendarDate?, amount: Money,
        openAmount: Money, purchaseOrderNumber: String?, terms: String?, line: Int, customerName: String? = nil
    ) {
        self.customerID = customerID
        self.invoiceNumber = invoiceNumber
        self.invoiceDate = invoiceDate
        self.dueDate = dueDate
        self.amount = amount
        self.openAmount = openAmount
        self.purchaseOrderNumber = purchaseOrderNumber
        self.terms = terms
        self.line = line
        self.customerName = customerName
    }
}

/// Reads open invoices by profile (the default layout when none is given).
public enum OpenInvoiceReader {
    public static func read(
        _ bytes: [UInt8], profile: LayoutProfile = .defaultOpenInvoices, defaultCurrency: CurrencyCode,
        file: String? = nil
    ) throws(LayoutError) -> [OpenInvoice] {
        var seen: [String: SourceLocation] = [:]
        var result: [OpenInvoice] = []
        let values = LayoutValues(profile: profile, file: file)
        try forEach(
            MemorySource(bytes, name: file), profile: profile, defaultCurrency: defaultCurrency, file: file,
            named: { (customer, number, row) throws(LayoutError) in
                if let first = seen["\(customer)|\(number)"] {
                    throw values.failure(
                        "csv.duplicate", "invoice \(number) of customer \(customer) also appears at \(first)", row)
                }
                seen["\(customer)|\(number)"] = row.location
            }
        ) { (invoice, _) throws(LayoutError) in
            result.append(invoice)
        }
        return result
    }

    /// Reads a file a row at a time, handing each invoice and its row to `each` (which refuses an
    /// invoice the file gives twice: in memory here, by the store when importing).
    /// `named` sees each row's customer and invoice number before the rest of the row is read.
    public static func forEach(
        _ source: any ByteSource, profile: LayoutProfile = .defaultOpenInvoices, defaultCurrency: CurrencyCode,
        file: String? = nil,
        named: (String, String, LayoutReading.Row) throws(LayoutError) -> Void = { _, _, _ in },
        _ each: (OpenInvoice, LayoutReading.Row) throws(LayoutError) -> Void
    ) throws(LayoutError) {
        guard profile.kind == .openInvoices else {
            throw LayoutError(
                code: "profile.wrong_kind",
                message: "profile \(profile.name) reads \(profile.kind.rawValue), not open invoices",
                location: SourceLocation(file: file))
        }
        let values = LayoutValues(profile: profile, file: file)
        // As when the file is read whole, an unreadable record anywhere comes before a bad value.
        var rowError: LayoutError?
        try LayoutReader.forEachRow(source, profile: profile, file: file) { (row) throws(LayoutError) in
            guard row.role == .line, rowError == nil else { return }
            do throws(LayoutError) { try invoice(row) } catch { rowError = error }
        }
        if let rowError { throw rowError }
        func invoice(_ row: LayoutReading.Row) throws(LayoutError) {
            guard let customer = try values.identifier("customer_id", row),
                let number = try values.identifier("invoice_number", row),
                row.value("open_amount") != nil
            else {
                throw values.failure(
                    "csv.missing_value", "customer_id, invoice_number and open_amount are required", row)
            }
            try named(customer, number, row)
            let currency = try values.currency(row, fallback: defaultCurrency)
            let open = try values.amount("open_amount", row, currency: currency)!
            try each(
                OpenInvoice(
                    customerID: customer, invoiceNumber: number, invoiceDate: try values.date("invoice_date", row),
                    dueDate: try values.date("due_date", row),
                    amount: try values.amount("amount", row, currency: currency) ?? open, openAmount: open,
                    purchaseOrderNumber: try values.identifier("po_number", row), terms: row.value("terms")?.text,
                    line: row.location.line ?? row.recordNumber, customerName: row.value("customer_name")?.text), row)
        }
    }
}
