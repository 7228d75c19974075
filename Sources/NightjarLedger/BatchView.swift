import Foundation
public import NightjarCore
public import NightjarDocuments
import NightjarMatching
import NightjarStore

/// A batch with every line's decision, as `batch show --json` prints it: the stable shape other
/// systems read (documented in docs/json-api.md). Lines are numbered from 1, in file order;
/// amounts are decimal strings beside a `currency` key; invoices are named by their numbers.
public struct BatchView: Sendable, Codable, Equatable {
    public struct Payer: Sendable, Codable, Equatable {
        public let name: String?
        public let idQualifier: String?
        public let id: String?

        enum CodingKeys: String, CodingKey { case name, idQualifier = "id_qualifier", id }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(idQualifier, forKey: .idQualifier)
            try container.encode(id, forKey: .id)
        }
    }

    /// Where the batch or a line came from.
    public struct Origin: Sendable, Codable, Equatable {
        public let file: String
        /// `x12-820`, or `csv:PROFILE`.
        public let format: String
        /// ST02 of the 820 transaction set.
        public let controlNumber: String?
        /// X12 segment number (of the ST for a batch, of the RMR for a line).
        public let segment: Int?
        /// Line of a delimited file.
        public let row: Int?

        enum CodingKeys: String, CodingKey { case file, format, controlNumber = "control_number", segment, row }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(file, forKey: .file)
            try container.encode(format, forKey: .format)
            try container.encode(controlNumber, forKey: .controlNumber)
            try container.encode(segment, forKey: .segment)
            try container.encode(row, forKey: .row)
        }
    }

    /// A deduction or other adjustment as the file wrote it.
    public struct Adjustment: Sendable, Codable, Equatable {
        public let amount: String
        public let currency: String
        public let reasonCode: String
        /// The payer's words (an NTE, a reason column).
        public let text: String?
        /// ADX03 as written (IV, RZ, ZZ...).
        public let referenceQualifier: String?
        /// Its own reference: debit memo, return authorisation, promotion number.
        public let reference: String?
        /// The invoice a payment-level deduction names.
        public let invoice: String?
        /// X12 segment number or the file's line.
        public let sourceLocation: Int

        enum CodingKeys: String, CodingKey {
            case amount, currency, reasonCode = "reason_code", text, referenceQualifier = "reference_qualifier",
                reference, invoice
            case sourceLocation = "source_location"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(amount, forKey: .amount)
            try container.encode(currency, forKey: .currency)
            try container.encode(reasonCode, forKey: .reasonCode)
            try container.encode(text, forKey: .text)
            try container.encode(referenceQualifier, forKey: .referenceQualifier)
            try container.encode(reference, forKey: .reference)
            try container.encode(invoice, forKey: .invoice)
            try container.encode(sourceLocation, forKey: .sourceLocation)
        }
    }

    /// A REF the file gives on a line (`PO` and its number).
    public struct Reference: Sendable, Codable, Equatable {
        public let qualifier: String
        public let value: String
    }

    /// What the line did to one invoice.
    public struct Application: Sendable, Codable, Equatable {
        public let invoice: String
        public let customer: String
        /// The invoice's open amount before this line.
        public let openAmount: String
        /// What the line takes off the invoice: cash + discount + deductions + write-off.
        public let applied: String
        public let cash: String
        public let discount: String
        public let writeOff: String
        public let deducted: String
        public let currency: String

        enum CodingKeys: String, CodingKey {
            case invoice, customer, openAmount = "open_amount", applied, cash, discount, writeOff = "write_off",
                deducted, currency
        }
    }

    public struct Deduction: Sendable, Codable, Equatable {
        public let type: String
        public let code: String
        /// What a shipped code means ("quantity contested").
        public let wording: String?
        public let text: String?
        public let reference: String?
        public let amount: String
        public let currency: String
        public let invoice: String?
        /// The code is not in the client's reason-code table.
        public let unmapped: Bool

        enum CodingKeys: String, CodingKey {
            case type, code, wording, text, reference, amount, currency, invoice, unmapped
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(code, forKey: .code)
            try container.encode(wording, forKey: .wording)
            try container.encode(text, forKey: .text)
            try container.encode(reference, forKey: .reference)
            try container.encode(amount, forKey: .amount)
            try container.encode(currency, forKey: .currency)
            try container.encode(invoice, forKey: .invoice)
            try container.encode(unmapped, forKey: .unmapped)
        }
    }

    public struct Suggestion: Sendable, Codable, Equatable {
        /// As `accept-suggestion` takes it, from 1.
        public let number: Int
        public let invoice: String
        /// `transposed`, `one_character_different`, `same_normalised_reference`, ...
        public let reason: String
        public let openAmount: String
        /// `exact`, `within_discount_terms`, `within_write_off`, `short`, `over`.
        public let amountFit: String
        public let currency: String

        enum CodingKeys: String, CodingKey {
            case number, invoice, reason, openAmount = "open_amount", amountFit = "amount_fit", currency
        }
    }

    public struct LineReference: Sendable, Codable, Equatable {
        public let batch: Int64
        /// From 1, as `batch show` numbers lines.
        public let line: Int

        public init(batch: Int64, line: Int) {
            self.batch = batch
            self.line = line
        }
    }

    public struct Decision: Sendable, Codable, Equatable {
        public let status: String
        public let rule: String
        /// Who made it, for a decision a person made (a reassignment, an accepted suggestion).
        public let decidedBy: String?
        public let matchedAt: String
        public let applications: [Application]
        public let unapplied: String
        public let currency: String
        public let deductions: [Deduction]
        public let suggestions: [Suggestion]
        /// The invoices the reference could mean (ambiguous, paid twice).
        public let candidates: [String]
        /// Paid twice: the line that paid first. Duplicate payment: the same line in the first payment.
        public let paidBy: LineReference?
        public let note: String?

        enum CodingKeys: String, CodingKey {
            case status, rule, decidedBy = "decided_by", matchedAt = "matched_at", applications, unapplied, currency,
                deductions, suggestions
            case candidates, paidBy = "paid_by", note
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(status, forKey: .status)
            try container.encode(rule, forKey: .rule)
            try container.encode(decidedBy, forKey: .decidedBy)
            try container.encode(matchedAt, forKey: .matchedAt)
            try container.encode(applications, forKey: .applications)
            try container.encode(unapplied, forKey: .unapplied)
            try container.encode(currency, forKey: .currency)
            try container.encode(deductions, forKey: .deductions)
            try container.encode(suggestions, forKey: .suggestions)
            try container.encode(candidates, forKey: .candidates)
            try container.encode(paidBy, forKey: .paidBy)
            try container.encode(note, forKey: .note)
        }
    }

    public struct Line: Sendable, Codable, Equatable {
        public let line: Int
        public let referenceQualifier: String
        public let reference: String
        public let amountPaid: String
        public let invoiceAmount: String?
        public let discount: String?
        public let currency: String
        /// DTM*003 or an invoice-date column.
        public let invoiceDate: String?
        public let references: [Reference]
        public let adjustments: [Adjustment]
        public let origin: Origin
        /// Nil until the batch is matched.
        public let decision: Decision?

        enum CodingKeys: String, CodingKey {
            case line, referenceQualifier = "reference_qualifier", reference, amountPaid = "amount_paid",
                invoiceAmount = "invoice_amount"
            case discount, currency, invoiceDate = "invoice_date", references, adjustments, origin, decision
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(line, forKey: .line)
            try container.encode(referenceQualifier, forKey: .referenceQualifier)
            try container.encode(reference, forKey: .reference)
            try container.encode(amountPaid, forKey: .amountPaid)
            try container.encode(invoiceAmount, forKey: .invoiceAmount)
            try container.encode(discount, forKey: .discount)
            try container.encode(currency, forKey: .currency)
            try container.encode(invoiceDate, forKey: .invoiceDate)
            try container.encode(references, forKey: .references)
            try container.encode(adjustments, forKey: .adjustments)
            try container.encode(origin, forKey: .origin)
            try container.encode(decision, forKey: .decision)
        }
    }

    public let batch: Int64
    public let client: ClientID
    /// `new`, `approved`, `reversed`, `duplicate_payment`.
    public let status: String
    public let duplicateOf: Int64?
    public let payer: Payer
    public let traceNumber: String?
    public let paymentDate: String?
    public let paymentMethod: String?
    /// Only the last four characters are kept.
    public let receivingAccount: String?
    public let total: String
    public let remitted: String
    public let difference: String
    public let balanced: Bool
    public let currency: String
    /// False when the file named no currency and the customer's ledger currency was taken.
    public let currencyDeclared: Bool
    public let origin: Origin
    /// Totals and counts the file states that its contents do not match.
    public let findings: [DocumentFinding]
    public let entityAdjustments: [Adjustment]
    public let lines: [Line]

    enum CodingKeys: String, CodingKey {
        case batch, client, status, duplicateOf = "duplicate_of", payer, traceNumber = "trace_number", paymentDate =
            "payment_date"
        case paymentMethod = "payment_method", receivingAccount = "receiving_account", total, remitted, difference,
            balanced, currency
        case currencyDeclared = "currency_declared", origin, findings, entityAdjustments = "entity_adjustments", lines
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(batch, forKey: .batch)
        try container.encode(client, forKey: .client)
        try container.encode(status, forKey: .status)
        try container.encode(duplicateOf, forKey: .duplicateOf)
        try container.encode(payer, forKey: .payer)
        try container.encode(traceNumber, forKey: .traceNumber)
        try container.encode(paymentDate, forKey: .paymentDate)
        try container.encode(paymentMethod, forKey: .paymentMethod)
        try container.encode(receivingAccount, forKey: .receivingAccount)
        try container.encode(total, forKey: .total)
        try container.encode(remitted, forKey: .remitted)
        try container.encode(difference, forKey: .difference)
        try container.encode(balanced, forKey: .balanced)
        try container.encode(currency, forKey: .currency)
        try container.encode(currencyDeclared, forKey: .currencyDeclared)
        try container.encode(origin, forKey: .origin)
        try container.encode(findings, forKey: .findings)
        try container.encode(entityAdjustments, forKey: .entityAdjustments)
        try container.encode(lines, forKey: .lines)
    }
}

extension Ledger {
    /// A batch with each line's decision, or nil when there is no such batch.
    public func batchView(_ id: Int64) throws -> BatchView? {
        guard
            let row = try database.query(
                """
                SELECT b.*, f.original_name, f.format FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id WHERE b.id = ?
                """, [id]
            ).first
        else { return nil }
        let currency = try CurrencyCode(try row.string("currency"))
        let digits = currency.minorUnitDigits
        func money(_ value: Int64) -> String { Money.decimalString(value, digits: digits) }
        let file = try row.string("original_name")
        let format = try row.string("format")
        let isX12 = format.hasPrefix("x12")
        let control = try row.string("control_number")
        func origin(_ location: Int) -> BatchView.Origin {
            BatchView.Origin(
                file: file, format: format, controlNumber: isX12 ? control : nil, segment: isX12 ? location : nil,
                row: isX12 ? nil : location)
        }
        var adjustments: [Int64: [BatchView.Adjustment]] = [:]
        var entity: [BatchView.Adjustment] = []
        for adjustment in try database.query("SELECT * FROM remittance_adjustment WHERE batch_id = ? ORDER BY id", [id])
        {
            let view = BatchView.Adjustment(
                amount: money(try adjustment.int64("amount_minor")), currency: currency.code,
                reasonCode: try adjustment.string("reason_code"), text: try adjustment.optionalString("reason_text"),
                referenceQualifier: try adjustment.optionalString("reference_qualifier"),
                reference: try adjustment.optionalString("reference"),
                invoice: try adjustment.optionalString("invoice_reference"),
                sourceLocation: Int(try adjustment.int64("source_location")))
            if let line = try adjustment.get("line_id", as: Int64?.self) {
                adjustments[line, default: []].append(view)
            } else {
                entity.append(view)
            }
        }
        var invoices: [Int64: (number: String, customer: String)] = [:]
        func invoice(_ invoiceID: Int64) throws -> (number: String, customer: String) {
            if let known = invoices[invoiceID] { return known }
            let found = try database.query(
                "SELECT invoice_number, customer_id FROM open_invoice WHERE id = ?", [invoiceID]
            ).first
            let value = (try found?.string("invoice_number") ?? "#\(invoiceID)", try found?.string("customer_id") ?? "")
            invoices[invoiceID] = value
            return value
        }
        var positions: [Int64: BatchView.LineReference] = [:]
        func reference(_ lineID: Int64) throws -> BatchView.LineReference? {
            if let known = positions[lineID] { return known }
            guard
                let found = try database.query("SELECT batch_id, position FROM remittance_line WHERE id = ?", [lineID])
                    .first
            else { return nil }
            let value = BatchView.LineReference(
                batch: try found.int64("batch_id"), line: Int(try found.int64("position")) + 1)
            positions[lineID] = value
            return value
        }
        var references: [Int64: [BatchView.Reference]] = [:]
        for reference in try database.query(
            "SELECT line_id, qualifier, value FROM document_reference WHERE batch_id = ? AND adjustment_id IS NULL ORDER BY id",
            [id])
        {
            guard let line = try reference.get("line_id", as: Int64?.self) else { continue }
            references[line, default: []].append(
                BatchView.Reference(qualifier: try reference.string("qualifier"), value: try reference.string("value")))
        }
        let several = try applications(batch: id)
        var lines: [BatchView.Line] = []
        for line in try database.query(
            """
            SELECT l.*, m.status, m.rule, m.invoice_id, m.applied_minor, m.discount_minor AS match_discount_minor, m.write_off_minor, m.unapplied_minor, m.deductions, m.suggestions,
                   m.matched_at, m.paid_by_line_id, m.open_minor, m.candidates, m.note
            FROM remittance_line l LEFT JOIN line_match m ON m.line_id = l.id WHERE l.batch_id = ? ORDER BY l.position
            """, [id])
        {
            let lineID = try line.int64("id")
            let paid = try line.int64("amount_paid_minor")
            var decision: BatchView.Decision?
            if let status = try line.optionalString("status") {
                let stored = ReviewBatch.Deduction.stored(try line.optionalString("deductions"))
                var applicationViews: [BatchView.Application] = []
                func view(
                    _ invoiceID: Int64, open: Int64, applied: Int64, discount: Int64, writeOff: Int64, deducted: Int64
                ) throws -> BatchView.Application {
                    let (number, customer) = try invoice(invoiceID)
                    return BatchView.Application(
                        invoice: number, customer: customer, openAmount: money(open), applied: money(applied),
                        cash: money(applied - discount - writeOff - deducted), discount: money(discount),
                        writeOff: money(writeOff),
                        deducted: money(deducted), currency: currency.code)
                }
                if let invoiceID = try line.get("invoice_id", as: Int64?.self) {
                    let deducted = stored.map(\.amount.minorUnits).reduce(0, +)
                    applicationViews.append(
                        try view(
                            invoiceID, open: try line.get("open_minor", as: Int64?.self) ?? 0,
                            applied: try line.int64("applied_minor"),
                            discount: try line.int64("match_discount_minor"),
                            writeOff: try line.int64("write_off_minor"), deducted: deducted))
                }
                for part in several[lineID] ?? [] {
                    applicationViews.append(
                        try view(
                            part.invoiceID, open: part.open, applied: part.applied, discount: part.discount,
                            writeOff: part.writeOff,
                            deducted: part.deducted))
                }
                let deductions = try stored.map { deduction in
                    BatchView.Deduction(
                        type: deduction.type, code: deduction.reasonCode ?? "",
                        wording: ReasonCodeTable.wording(of: deduction.reasonCode ?? ""),
                        text: deduction.text, reference: deduction.reference, amount: deduction.amount.decimalString,
                        currency: deduction.amount.currency.code,
                        invoice: try deduction.invoiceID.map { try invoice($0).number },
                        unmapped: deduction.unmapped)
                }
                let suggestions = Ledger.storedSuggestions(try line.optionalString("suggestions")).enumerated().map {
                    index, suggestion in
                    BatchView.Suggestion(
                        number: index + 1, invoice: suggestion.invoiceNumber, reason: suggestion.kind.rawValue,
                        openAmount: suggestion.openAmount.decimalString, amountFit: suggestion.amountFit.rawValue,
                        currency: suggestion.openAmount.currency.code)
                }
                let candidateIDs =
                    (try line.optionalString("candidates")).flatMap {
                        try? JSONDecoder().decode([Int64].self, from: Data($0.utf8))
                    } ?? []
                let rule = try line.string("rule")
                let decidedBy = rule.hasPrefix("manual.") ? rule.components(separatedBy: " by ").dropFirst().first : nil
                decision = BatchView.Decision(
                    status: status, rule: rule, decidedBy: decidedBy, matchedAt: try line.string("matched_at"),
                    applications: applicationViews, unapplied: money(try line.int64("unapplied_minor")),
                    currency: currency.code,
                    deductions: deductions, suggestions: suggestions,
                    candidates: try candidateIDs.map { try invoice($0).number },
                    paidBy: try (try line.get("paid_by_line_id", as: Int64?.self)).flatMap { try reference($0) },
                    note: try line.optionalString("note"))
            }
            lines.append(
                BatchView.Line(
                    line: Int(try line.int64("position")) + 1,
                    referenceQualifier: try line.string("reference_qualifier"),
                    reference: try line.string("reference"), amountPaid: money(paid),
                    invoiceAmount: try line.get("invoice_amount_minor", as: Int64?.self).map(money),
                    discount: try line.get("discount_minor", as: Int64?.self).map(money), currency: currency.code,
                    invoiceDate: try line.optionalString("invoice_date"),
                    references: (try line.ownPOReference().map { [BatchView.Reference(qualifier: "PO", value: $0)] }
                        ?? [])
                        + (references[lineID] ?? []),
                    adjustments: try line.ownAdjustment().map { own in
                        [
                            BatchView.Adjustment(
                                amount: money(own.amount), currency: currency.code, reasonCode: own.reasonCode,
                                text: nil, referenceQualifier: nil, reference: nil, invoice: nil,
                                sourceLocation: own.location)
                        ]
                    } ?? adjustments[lineID] ?? [], origin: origin(Int(try line.int64("source_location"))),
                    decision: decision))
        }
        return BatchView(
            batch: id, client: ClientID(try row.string("client_id")), status: try row.string("status"),
            duplicateOf: try row.get("duplicate_of", as: Int64?.self),
            payer: BatchView.Payer(
                name: try row.optionalString("payer_name"), idQualifier: try row.optionalString("payer_id_qualifier"),
                id: try row.optionalString("payer_id")),
            traceNumber: try row.optionalString("trace_number"), paymentDate: try row.optionalString("payment_date"),
            paymentMethod: try row.optionalString("payment_method"),
            receivingAccount: try row.optionalString("receiving_account_masked"),
            total: money(try row.int64("total_minor")), remitted: money(try row.int64("remitted_minor")),
            difference: money(try row.int64("difference_minor")), balanced: try row.int64("balanced") != 0,
            currency: currency.code,
            currencyDeclared: try row.int64("currency_declared") != 0,
            origin: origin(Int(try row.int64("source_location"))),
            findings: Ledger.findings(try row.optionalString("findings")), entityAdjustments: entity, lines: lines)
    }
}
