import Foundation
public import NightjarCore
import NightjarMatching
import NightjarStore

/// One thing that settled (part of) an invoice: a payment line, a deduction, a discount, a credit.
public struct InvoiceApplication: Sendable, Encodable {
    /// `payment`, `discount`, `write_off`, a deduction type (`shortage`, ...), or `credit:TYPE`.
    public let kind: String
    public let reference: String
    public let amount: Money
    /// Batch status for payments (`new` = not yet approved, `approved`, `reversed`); `recorded` for credits.
    public let status: String
    public let batch: Int64?
    public let date: String?
}

/// An invoice with everything applied to it.
public struct InvoiceHistory: Sendable, Encodable {
    public let client: ClientID
    public let customer: String
    public let invoice: String
    public let date: String?
    public let amount: Money
    public let openAmount: Money
    public let applications: [InvoiceApplication]
}

/// A customer's running account: invoices, payments, credits and debits by type.
public struct CustomerAccount: Sendable, Encodable {
    public struct Entry: Sendable, Encodable {
        public let date: String?
        public let kind: String
        public let reference: String
        public let invoice: String?
        /// Positive raises what the customer owes; negative lowers it.
        public let amount: Money
        public let balance: Money
    }

    public let client: ClientID
    public let customer: String
    public let entries: [Entry]
    public let balance: Money
    /// Credits and deductions by type.
    public let byType: [String: Money]
}

// The JSON of `invoices show` and `account show` (docs/json-api.md): snake_case keys, amounts as
// decimal strings beside `currency`, unknown values present as null.

/// The coding keys of the JSON these types print.
private struct JSONKey: CodingKey {
    let stringValue: String
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    var intValue: Int? { nil }
    init?(intValue: Int) { nil }
}

extension InvoiceApplication {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(kind, forKey: JSONKey("kind"))
        try container.encode(reference, forKey: JSONKey("reference"))
        try container.encode(amount.decimalString, forKey: JSONKey("amount"))
        try container.encode(amount.currency.description, forKey: JSONKey("currency"))
        try container.encode(status, forKey: JSONKey("status"))
        try container.encode(batch, forKey: JSONKey("batch"))
        try container.encode(date, forKey: JSONKey("date"))
    }
}

extension InvoiceHistory {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(client, forKey: JSONKey("client"))
        try container.encode(customer, forKey: JSONKey("customer"))
        try container.encode(invoice, forKey: JSONKey("invoice"))
        try container.encode(date, forKey: JSONKey("date"))
        try container.encode(amount.decimalString, forKey: JSONKey("amount"))
        try container.encode(openAmount.decimalString, forKey: JSONKey("open_amount"))
        try container.encode(amount.currency.description, forKey: JSONKey("currency"))
        try container.encode(applications, forKey: JSONKey("applications"))
    }
}

extension CustomerAccount.Entry {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(date, forKey: JSONKey("date"))
        try container.encode(kind, forKey: JSONKey("kind"))
        try container.encode(reference, forKey: JSONKey("reference"))
        try container.encode(invoice, forKey: JSONKey("invoice"))
        try container.encode(amount.decimalString, forKey: JSONKey("amount"))
        try container.encode(balance.decimalString, forKey: JSONKey("balance"))
        try container.encode(amount.currency.description, forKey: JSONKey("currency"))
    }
}

extension CustomerAccount {
    /// One type's total in `by_type`.
    private struct TypeTotal: Encodable {
        let type: String
        let amount: String
        let currency: String
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(client, forKey: JSONKey("client"))
        try container.encode(customer, forKey: JSONKey("customer"))
        try container.encode(balance.decimalString, forKey: JSONKey("balance"))
        try container.encode(balance.currency.description, forKey: JSONKey("currency"))
        try container.encode(entries, forKey: JSONKey("entries"))
        try container.encode(
            byType.keys.sorted().map {
                TypeTotal(type: $0, amount: byType[$0]!.decimalString, currency: byType[$0]!.currency.description)
            },
            forKey: JSONKey("by_type"))
    }
}

extension Ledger {
    func invoiceRow(client: ClientID, number: String) throws -> Row {
        guard
            let row = try database.query(
                "SELECT * FROM open_invoice WHERE client_id = ? AND invoice_number = ?", [client, number]
            ).first
        else {
            throw GeneralError(
                code: "invoice.missing", message: "no invoice \(number) for \(client)", exitStatus: .noInput)
        }
        return row
    }

    /// Everything applied to an invoice, each with its reference and amount.
    public func invoiceHistory(client: ClientID, invoice number: String) throws -> InvoiceHistory {
        let row = try invoiceRow(client: client, number: number)
        let id = try row.int64("id")
        let currency = try CurrencyCode(try row.string("currency"))
        func money(_ value: Int64) -> Money { Money(minorUnits: value, currency: currency) }
        var applications: [InvoiceApplication] = []
        for match in try database.query(
            """
            SELECT m.applied_minor, m.discount_minor, m.write_off_minor, m.deductions, l.reference, b.id AS batch, b.status AS batch_status,
                   b.payment_date, b.trace_number, l.position AS line_position
            FROM line_match m JOIN remittance_line l ON l.id = m.line_id JOIN remittance_batch b ON b.id = m.batch_id
            WHERE m.invoice_id = ?
            UNION ALL
            SELECT a.applied_minor, a.discount_minor, a.write_off_minor, m.deductions, l.reference, b.id AS batch, b.status AS batch_status,
                   b.payment_date, b.trace_number, l.position AS line_position
            FROM line_application a JOIN line_match m ON m.line_id = a.line_id JOIN remittance_line l ON l.id = a.line_id
            JOIN remittance_batch b ON b.id = a.batch_id WHERE a.invoice_id = ?
            ORDER BY batch, line_position
            """, [id, id])
        {
            let status = try match.string("batch_status")
            let batch = try match.int64("batch")
            let date = try match.optionalString("payment_date")
            let reference =
                "payment \(try match.optionalString("trace_number") ?? "-") line \(try match.string("reference"))"
            let discount = try match.int64("discount_minor")
            let writeOff = try match.int64("write_off_minor")
            let stored = ReviewBatch.Deduction.stored(try match.optionalString("deductions")).filter {
                $0.invoiceID == nil || $0.invoiceID == id
            }
            let deductions = stored.map(\.amount.minorUnits).reduce(0, +)
            let typed = stored.map {
                InvoiceApplication(
                    kind: $0.type, reference: "\(reference) reason \($0.reasonCode ?? "-")", amount: $0.amount,
                    status: status, batch: batch, date: date)
            }
            let cash = try match.int64("applied_minor") - discount - writeOff - deductions
            applications.append(
                InvoiceApplication(
                    kind: "payment", reference: reference, amount: money(cash), status: status, batch: batch, date: date
                ))
            applications += typed
            if discount != 0 {
                applications.append(
                    InvoiceApplication(
                        kind: "discount", reference: reference, amount: money(discount), status: status, batch: batch,
                        date: date))
            }
            if writeOff != 0 {
                applications.append(
                    InvoiceApplication(
                        kind: "write_off", reference: reference, amount: money(writeOff), status: status, batch: batch,
                        date: date))
            }
        }
        for credit in try database.query("SELECT * FROM customer_credit WHERE invoice_id = ? ORDER BY id", [id]) {
            applications.append(
                InvoiceApplication(
                    kind: "credit:" + (try credit.string("type")), reference: try credit.string("reference"),
                    amount: money(try credit.int64("amount_minor")), status: "recorded", batch: nil,
                    date: String(try credit.string("at").prefix(10))))
        }
        return InvoiceHistory(
            client: client, customer: try row.string("customer_id"), invoice: number,
            date: try row.optionalString("invoice_date"),
            amount: money(try row.int64("amount_minor")), openAmount: money(try row.int64("open_amount_minor")),
            applications: applications)
    }

    /// Records a credit (or, with a negative amount, a debit) by hand; with an invoice, it
    /// reduces that invoice's open amount at once.
    public func recordCredit(
        client: ClientID, customer: String, type: String, reference: String, amount: Money, invoice: String?,
        actor: String?
    ) throws {
        try database.transaction {
            guard
                try database.scalar(
                    Int64.self, "SELECT count(*) FROM customer WHERE client_id = ? AND customer_id = ?",
                    [client, customer]) ?? 0 > 0
                    || (try database.scalar(
                        Int64.self, "SELECT count(*) FROM open_invoice WHERE client_id = ? AND customer_id = ?",
                        [client, customer]) ?? 0) > 0
            else {
                throw GeneralError(
                    code: "customer.missing", message: "no customer \(customer) for \(client)", exitStatus: .noInput)
            }
            var invoiceID: Int64?
            if let invoice {
                let row = try invoiceRow(client: client, number: invoice)
                guard try row.string("customer_id") == customer else {
                    throw GeneralError(
                        code: "credit.customer",
                        message: "invoice \(invoice) belongs to \(try row.string("customer_id")), not \(customer)",
                        exitStatus: .dataError)
                }
                invoiceID = try row.int64("id")
                try database.execute(
                    "UPDATE open_invoice SET open_amount_minor = open_amount_minor - ?, updated_at = ? WHERE id = ?",
                    [amount.minorUnits, Logger.timestamp(), invoiceID])
            }
            try database.execute(
                """
                INSERT INTO customer_credit (client_id, customer_id, type, reference, amount_minor, currency, invoice_id, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    client, customer, type, reference, amount.minorUnits, amount.currency.description, invoiceID, actor,
                    Logger.timestamp(),
                ])
        }
    }

    /// A customer's running account, oldest first: invoices raise it; approved payments,
    /// discounts, deductions and credits lower it.
    public func account(client: ClientID, customer: String) throws -> CustomerAccount {
        struct Event {
            let date: String?
            let kind: String
            let reference: String
            let invoice: String?
            let amount: Money
        }
        var events: [Event] = []
        var currency: CurrencyCode = .usd
        for row in try database.query(
            "SELECT invoice_number FROM open_invoice WHERE client_id = ? AND customer_id = ? ORDER BY invoice_date, invoice_number",
            [client, customer])
        {
            let history = try invoiceHistory(client: client, invoice: try row.string("invoice_number"))
            currency = history.amount.currency
            events.append(
                Event(
                    date: history.date, kind: "invoice", reference: history.invoice, invoice: history.invoice,
                    amount: history.amount))
            for application in history.applications
            where application.status == "approved" || application.status == "recorded" {
                events.append(
                    Event(
                        date: application.date, kind: application.kind, reference: application.reference,
                        invoice: history.invoice,
                        amount: Money(minorUnits: -application.amount.minorUnits, currency: application.amount.currency)
                    ))
            }
        }
        for credit in try database.query(
            "SELECT * FROM customer_credit WHERE client_id = ? AND customer_id = ? AND invoice_id IS NULL ORDER BY id",
            [client, customer])
        {
            let money = Money(
                minorUnits: -(try credit.int64("amount_minor")),
                currency: try CurrencyCode(try credit.string("currency")))
            events.append(
                Event(
                    date: String(try credit.string("at").prefix(10)), kind: "credit:" + (try credit.string("type")),
                    reference: try credit.string("reference"), invoice: nil, amount: money))
        }
        if events.isEmpty {
            throw GeneralError(
                code: "customer.missing", message: "no invoices or credits for \(customer) of \(client)",
                exitStatus: .noInput)
        }
        events.sort { ($0.date ?? "") < ($1.date ?? "") }
        var running: Int64 = 0
        var byType: [String: Int64] = [:]
        var entries: [CustomerAccount.Entry] = []
        for event in events {
            running += event.amount.minorUnits
            if event.kind != "invoice" && event.kind != "payment" {
                byType[event.kind, default: 0] += -event.amount.minorUnits
            }
            entries.append(
                CustomerAccount.Entry(
                    date: event.date, kind: event.kind, reference: event.reference, invoice: event.invoice,
                    amount: event.amount,
                    balance: Money(minorUnits: running, currency: event.amount.currency)))
        }
        return CustomerAccount(
            client: client, customer: customer, entries: entries,
            balance: Money(minorUnits: running, currency: currency),
            byType: byType.mapValues { Money(minorUnits: $0, currency: currency) })
    }

    /// Points line `line` (numbered from 1, as `batch show` prints it) at another invoice before
    /// approval; the line's status is worked out again and the decision recorded with who made it.
    public func reassign(batch id: Int64, line: Int, invoice number: String, actor: String) throws -> LineChange {
        try database.transaction {
            try redirect(
                batch: id, line: line, invoice: number, rule: "manual.reassign", action: "reassign", actor: actor)
        }
    }

    /// Accepts suggestion `number` (from 1, as `batch show` lists them) of line `line`, refused
    /// unless that suggestion still names `invoice` (the list changes when the batch is matched again).
    public func acceptSuggestion(batch id: Int64, line: Int, number: Int, invoice: String, actor: String) throws
        -> LineChange
    {
        try database.transaction {
            let position = line - 1
            guard
                let row = try database.query(
                    """
                    SELECT m.suggestions FROM line_match m JOIN remittance_line l ON l.id = m.line_id WHERE m.batch_id = ? AND l.position = ?
                    """, [id, position]
                ).first
            else { throw try missingLine(id, line) }
            let suggestions = Ledger.suggestions(try row.optionalString("suggestions"))
            let named = number >= 1 && number <= suggestions.count ? suggestions[number - 1].invoiceNumber : nil
            guard let named, named == invoice else {
                throw ReviewError.suggestionChanged(id, line: line, number: number, invoice: invoice, now: named)
            }
            return try redirect(
                batch: id, line: line, invoice: named, rule: "manual.suggestion", action: "accept-suggestion",
                actor: actor)
        }
    }

    private func missingLine(_ id: Int64, _ line: Int) throws -> any Error {
        guard try database.scalar(Int64.self, "SELECT count(*) FROM remittance_batch WHERE id = ?", [id]) ?? 0 > 0
        else { return ReviewError.missing(id) }
        if try database.scalar(
            Int64.self, "SELECT count(*) FROM remittance_line WHERE batch_id = ? AND position = ?",
            [id, Int64(line - 1)]) ?? 0 > 0
        {
            return ReviewError.notMatched(id)
        }
        return ReviewError.lineMissing(id, line)
    }

    /// The one place a person's choice of invoice for a line is written.
    private func redirect(
        batch id: Int64, line: Int, invoice target: String, rule: String, action: String, actor: String
    ) throws -> LineChange {
        guard let batch = try database.query("SELECT * FROM remittance_batch WHERE id = ?", [id]).first else {
            throw ReviewError.missing(id)
        }
        let status = try batch.string("status")
        guard status == "new" else { throw ReviewError.frozen(id, status) }
        try refuseFrozen(id, status: status)
        let client = ClientID(try batch.string("client_id"))
        let position = line - 1
        guard
            let match = try database.query(
                """
                SELECT m.*, l.amount_paid_minor, l.reference, i.invoice_number AS before_invoice,
                       (SELECT group_concat(i2.invoice_number, ', ') FROM line_application a JOIN open_invoice i2 ON i2.id = a.invoice_id WHERE a.line_id = l.id) AS before_several
                FROM line_match m JOIN remittance_line l ON l.id = m.line_id LEFT JOIN open_invoice i ON i.id = m.invoice_id
                WHERE m.batch_id = ? AND l.position = ?
                """, [id, position]
            ).first
        else { throw try missingLine(id, line) }
        let invoice = try invoiceRow(client: client, number: target)
        let open = try invoice.int64("open_amount_minor")
        let paid = try match.int64("amount_paid_minor")
        let discount = try match.int64("discount_minor")
        let invoiceID = try invoice.int64("id")
        // The payer's deductions now go with the invoice the line is pointed at.
        let typed =
            ((try? JSONDecoder().decode([TypedDeduction].self, from: Data(try match.string("deductions").utf8))) ?? [])
            .map {
                TypedDeduction(
                    type: $0.type, reasonCode: $0.reasonCode, amount: $0.amount, text: $0.text, reference: $0.reference,
                    invoiceID: invoiceID,
                    unmapped: $0.unmapped)
            }
        let deducted = typed.map(\.amount.minorUnits).reduce(0, +)
        let covered = paid + deducted + discount
        let newStatus =
            covered == open
            ? (deducted > 0 ? "short_paid" : discount > 0 ? "paid_with_discount" : "paid_in_full")
            : covered < open ? "short_paid" : "over_paid"
        let before = LineChange.Decision(
            status: try match.string("status"),
            invoice: try match.optionalString("before_invoice") ?? match.optionalString("before_several"))
        try database.execute("DELETE FROM line_application WHERE line_id = ?", [try match.int64("line_id")])
        try database.execute(
            """
            UPDATE line_match SET invoice_id = ?, status = ?, rule = ?, applied_minor = ?, write_off_minor = 0, unapplied_minor = ?, matched_at = ?,
                deductions = ?, open_minor = ?, paid_by_line_id = NULL, candidates = NULL, note = NULL
            WHERE line_id = ?
            """,
            [
                invoiceID, newStatus, "\(rule) by \(actor)", min(open, covered), max(0, covered - open),
                Logger.timestamp(),
                DecisionJSON.deductions(typed), open, try match.int64("line_id"),
            ])
        let change = LineChange(
            batch: id, line: line, reference: try match.string("reference"), before: before,
            after: LineChange.Decision(status: newStatus, invoice: target))
        try record(id, action, line: position, detail: change.description, actor: actor)
        return change
    }
}
