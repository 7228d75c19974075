public import NightjarCore

/// Reads a retailer's remittance CSV by profile into remittance advices: rows with the same
/// payment reference (and date) are one payment; each row is one line, `segment` holding its
/// line number in the file.
public enum DelimitedRemittanceReader {
    public static func read(_ bytes: [UInt8], profile: DelimitedProfile, defaultCurrency: CurrencyCode,
                            file: String? = nil) throws(DelimitedError) -> [RemittanceAdvice] {
        guard profile.kind == .remittance else {
            throw DelimitedError(code: "profile.wrong_kind", message: "profile \(profile.name) is for open invoices", location: nil)
        }
        var order: [String] = []
        var payments: [String: RemittanceAdvice] = [:]
        for row in try profile.rows(bytes, file: file) {
            let currency: CurrencyCode
            if let code = row["currency"] {
                do { currency = try CurrencyCode(code) } catch {
                    throw DelimitedError(code: "csv.bad_currency", message: "\"\(code)\" is not a currency code", location: SourceLocation(file: file, line: row.line))
                }
            } else {
                currency = profile.currency ?? defaultCurrency
            }
            guard let reference = row["reference"] else {
                throw DelimitedError(code: "csv.missing_value", message: "the reference is empty", location: SourceLocation(file: file, line: row.line))
            }
            guard let paidText = row["amount_paid"] else {
                throw DelimitedError(code: "csv.missing_value", message: "the paid amount is empty", location: SourceLocation(file: file, line: row.line))
            }
            let flag = row["debit_credit"]
            let paid = try profile.amount(paidText, currency: currency, debitCredit: flag, field: "amount_paid", line: row.line, file: file)
            let invoiceAmount = try row["invoice_amount"].map { (text) throws(DelimitedError) in
                try profile.amount(text, currency: currency, debitCredit: flag, field: "invoice_amount", line: row.line, file: file)
            }
            let discount = try row["discount"].map { (text) throws(DelimitedError) in
                try profile.amount(text, currency: currency, debitCredit: nil, field: "discount", line: row.line, file: file)
            }
            var adjustments: [Adjustment] = []
            if let text = row["deduction_amount"] {
                let amount = try profile.amount(text, currency: currency, debitCredit: nil, field: "deduction_amount", line: row.line, file: file)
                if !amount.isZero {
                    // Deductions are listed as positive amounts by most retailers; stored signed (negative = taken off).
                    adjustments.append(Adjustment(amount: amount.isNegative ? amount : Money(minorUnits: -amount.minorUnits, currency: currency),
                                                  reasonCode: row["deduction_code"] ?? "", referenceQualifier: nil,
                                                  reference: row["deduction_reference"], segment: row.line))
                }
            }
            let date = try row["payment_date"].map { (text) throws(DelimitedError) in
                try profile.date(text, field: "payment_date", line: row.line, file: file)
            }
            let key = "\(row["payment_reference"] ?? "")|\(date?.description ?? "")|\(row["payer"] ?? "")|\(currency)"
            if payments[key] == nil {
                order.append(key)
                var declared = Money.zero(currency)
                if let text = row["payment_total"] {
                    declared = try profile.amount(text, currency: currency, debitCredit: nil, field: "payment_total", line: row.line, file: file)
                }
                payments[key] = RemittanceAdvice(
                    controlNumber: row["payment_reference"] ?? "row \(row.line)", segment: row.line, handlingCode: "C",
                    total: declared, creditDebit: "C", paymentMethod: row["payment_method"], paymentFormat: nil,
                    originatingBankID: nil, originatingAccount: nil, receivingBankID: nil, receivingAccount: nil, effectiveDate: date,
                    traceNumber: row["payment_reference"], traceOriginator: nil, currency: currency, references: [], dates: [],
                    parties: row["payer"].map { [Party(role: "PR", name: $0, idQualifier: row["payer_id"] == nil ? nil : "ZZ", id: row["payer_id"],
                                                       address: [], references: [])] } ?? [],
                    entities: [], lines: [])
                payments[key]!.totalDeclared = row["payment_total"] != nil
                payments[key]!.currencyDeclared = row["currency"] != nil || profile.currency != nil
            }
            payments[key]!.lines.append(RemittanceLine(
                entity: nil, referenceQualifier: row["reference_type"] ?? "IV", reference: reference, paymentAction: nil, amountPaid: paid,
                invoiceAmount: invoiceAmount, discount: discount,
                references: row["po_number"].map { [DocumentReference(qualifier: "PO", value: $0)] } ?? [], dates: [],
                adjustments: adjustments, segment: row.line))
        }
        return order.map { key in
            var advice = payments[key]!
            if !advice.totalDeclared {
                // Without a payment-total column, the payment is what its lines add up to.
                advice.total = advice.remittedTotal
            }
            return advice
        }
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

    public init(customerID: String, invoiceNumber: String, invoiceDate: CalendarDate?, dueDate: CalendarDate?, amount: Money,
                openAmount: Money, purchaseOrderNumber: String?, terms: String?, line: Int) {
        self.customerID = customerID
        self.invoiceNumber = invoiceNumber
        self.invoiceDate = invoiceDate
        self.dueDate = dueDate
        self.amount = amount
        self.openAmount = openAmount
        self.purchaseOrderNumber = purchaseOrderNumber
        self.terms = terms
        self.line = line
    }
}

/// Reads open invoices by profile (the default layout when none is given).
public enum OpenInvoiceReader {
    public static func read(_ bytes: [UInt8], profile: DelimitedProfile = .defaultOpenInvoices, defaultCurrency: CurrencyCode,
                            file: String? = nil) throws(DelimitedError) -> [OpenInvoice] {
        var seen: [String: Int] = [:]
        var result: [OpenInvoice] = []
        for row in try profile.rows(bytes, file: file) {
            let location = SourceLocation(file: file, line: row.line)
            guard let customer = row["customer_id"], let number = row["invoice_number"], let openText = row["open_amount"] else {
                throw DelimitedError(code: "csv.missing_value", message: "customer_id, invoice_number and open_amount are required", location: location)
            }
            if let first = seen["\(customer)|\(number)"] {
                throw DelimitedError(code: "csv.duplicate", message: "invoice \(number) of customer \(customer) also appears on line \(first)", location: location)
            }
            seen["\(customer)|\(number)"] = row.line
            var currency = profile.currency ?? defaultCurrency
            if let code = row["currency"] {
                do { currency = try CurrencyCode(code) } catch {
                    throw DelimitedError(code: "csv.bad_currency", message: "\"\(code)\" is not a currency code", location: location)
                }
            }
            let open = try profile.amount(openText, currency: currency, debitCredit: nil, field: "open_amount", line: row.line, file: file)
            let amount = try row["amount"].map { (text) throws(DelimitedError) in
                try profile.amount(text, currency: currency, debitCredit: nil, field: "amount", line: row.line, file: file)
            } ?? open
            result.append(OpenInvoice(
                customerID: customer, invoiceNumber: number,
                invoiceDate: try row["invoice_date"].map { (text) throws(DelimitedError) in try profile.date(text, field: "invoice_date", line: row.line, file: file) },
                dueDate: try row["due_date"].map { (text) throws(DelimitedError) in try profile.date(text, field: "due_date", line: row.line, file: file) },
                amount: amount, openAmount: open, purchaseOrderNumber: row["po_number"], terms: row["terms"], line: row.line))
        }
        return result
    }
}
