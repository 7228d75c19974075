import Foundation
public import NightjarCore
import NightjarStore

/// What one matched line puts into the books.
public struct LineSettlement: Sendable, Codable {
    public let position: Int
    public let reference: String
    public let invoice: String?
    public let customer: String?
    /// What closes the invoice: the cash applied plus discount, deductions and write-off.
    public let applied: Money
    public let discount: Money
    public let writeOff: Money
    public let unapplied: Money
    public let deductions: [ReviewBatch.Deduction]

    public init(
        position: Int, reference: String, invoice: String?, customer: String?, applied: Money, discount: Money,
        writeOff: Money,
        unapplied: Money, deductions: [ReviewBatch.Deduction]
    ) {
        self.position = position
        self.reference = reference
        self.invoice = invoice
        self.customer = customer
        self.applied = applied
        self.discount = discount
        self.writeOff = writeOff
        self.unapplied = unapplied
        self.deductions = deductions
    }
}

/// A batch ready for the general ledger: its payment and each line's settlement.
public struct BatchSettlement: Sendable, Codable {
    public let batch: Int64
    public let client: String
    public let payer: String?
    public let traceNumber: String?
    public let paymentDate: String?
    public let total: Money
    public let status: String
    public let lines: [LineSettlement]
    /// The day the reversal is dated, for a reversed batch.
    public let reversedOn: String?

    public init(
        batch: Int64, client: String, payer: String?, traceNumber: String?, paymentDate: String?, total: Money,
        status: String, lines: [LineSettlement],
        reversedOn: String? = nil
    ) {
        self.batch = batch
        self.client = client
        self.payer = payer
        self.traceNumber = traceNumber
        self.paymentDate = paymentDate
        self.total = total
        self.status = status
        self.lines = lines
        self.reversedOn = reversedOn
    }
}

public enum ReviewError: NightjarError {
    case missing(Int64)
    case notMatched(Int64)
    case frozen(Int64, String)
    case notApproved(Int64)
    case alreadyExported(Int64, String, String)
    /// Out of balance or with exceptions: approval needs the exceptions accepted with a reason.
    case needsAcceptance(Int64, exceptions: Int, outOfBalanceBy: Money?)
    case lineMissing(Int64, Int)
    /// Suggestion N of the line is not (or no longer) the invoice the person saw.
    case suggestionChanged(Int64, line: Int, number: Int, invoice: String, now: String?)
    /// A reversal dated before the payment it reverses.
    case reversalBeforeOriginal(Int64, String, String)

    public var code: String {
        switch self {
        case .missing: "batch.missing"
        case .notMatched: "batch.not_matched"
        case .frozen: "batch.frozen"
        case .notApproved: "batch.not_approved"
        case .alreadyExported: "batch.already_exported"
        case .needsAcceptance: "batch.exceptions"
        case .lineMissing: "line.missing"
        case .suggestionChanged: "line.suggestion_changed"
        case .reversalBeforeOriginal: "batch.reversal_date"
        }
    }

    public var message: String {
        switch self {
        case .missing(let id): "no batch \(id)"
        case .notMatched(let id): "batch \(id) has not been matched yet (nightjar match --batch \(id))"
        case .frozen(let id, let status): "batch \(id) is \(status) and frozen; an admin can reverse an approved batch"
        case .notApproved(let id): "batch \(id) is not approved yet (nightjar batch approve \(id) --as REVIEWER)"
        case .alreadyExported(let id, let format, let at):
            "batch \(id) was already exported as \(format) at \(at); pass --again to export it again"
        case .needsAcceptance(let id, let exceptions, let difference):
            "batch \(id) has \(exceptions) unresolved exception(s)"
                + (difference.map { " and is out of balance by \($0.decimalString) \($0.currency)" } ?? "")
                + ": resolve them, or approve with --accept-exceptions --reason \"...\" (recorded with who and when)"
        case .lineMissing(let id, let line):
            "batch \(id) has no line \(line) (lines are numbered from 1, as batch show prints them)"
        case .suggestionChanged(let id, let line, let number, let invoice, let now):
            "suggestion \(number) of batch \(id) line \(line) is " + (now.map { "now \($0)" } ?? "gone")
                + ", not \(invoice); look again (nightjar batch show \(id))"
        case .reversalBeforeOriginal(let id, let date, let original):
            "batch \(id) cannot be reversed on \(date), before its payment of \(original)"
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .missing, .lineMissing: .noInput
        case .alreadyExported, .frozen, .notApproved, .notMatched, .needsAcceptance, .suggestionChanged,
            .reversalBeforeOriginal:
            .dataError
        }
    }
}

/// A line's decision before and after a person changed it (lines numbered from 1).
public struct LineChange: Sendable, Codable, Equatable {
    public struct Decision: Sendable, Codable, Equatable {
        public let status: String
        public let invoice: String?
    }

    public let batch: Int64
    public let line: Int
    public let reference: String
    public let before: Decision
    public let after: Decision

    /// `line 3 (INV-1O43): unknown reference -> INV-1043, paid in full`.
    public var description: String {
        func words(_ decision: Decision) -> String {
            (decision.invoice.map { "\($0), " } ?? "") + decision.status.replacingOccurrences(of: "_", with: " ")
        }
        return "line \(line) (\(reference)): \(words(before)) -> \(words(after))"
    }
}

/// What stands between a batch and a plain approval.
public struct ApprovalCheck: Sendable, Equatable {
    /// Lines that still need a person (anything but paid in full or with its discount).
    public let exceptions: Int
    /// Lines and payment differ by this much (nil: balanced).
    public let outOfBalanceBy: Money?

    public var needsAcceptance: Bool { exceptions > 0 || outOfBalanceBy != nil }
}

extension Ledger {
    /// Each line's settlement as matched (amounts in the batch's currency).
    public func settlement(batch id: Int64) throws -> BatchSettlement {
        guard let batch = try database.query("SELECT * FROM remittance_batch WHERE id = ?", [id]).first else {
            throw ReviewError.missing(id)
        }
        let currency = try CurrencyCode(try batch.string("currency"))
        func money(_ value: Int64) -> Money { Money(minorUnits: value, currency: currency) }
        var lines: [LineSettlement] = []
        let rows = try database.query(
            """
            SELECT l.id, l.position, l.reference, l.amount_paid_minor, m.applied_minor, m.discount_minor, m.write_off_minor, m.unapplied_minor, m.deductions,
                   m.invoice_id, i.invoice_number, i.customer_id
            FROM remittance_line l LEFT JOIN line_match m ON m.line_id = l.id LEFT JOIN open_invoice i ON i.id = m.invoice_id
            WHERE l.batch_id = ? ORDER BY l.position
            """, [id])
        let several = try applications(batch: id)
        for row in rows {
            guard let applied: Int64 = try row.get("applied_minor", as: Int64?.self) else {
                throw ReviewError.notMatched(id)
            }
            let deductions = ReviewBatch.Deduction.stored(try row.optionalString("deductions"))
            let position = Int(try row.int64("position"))
            let reference = try row.string("reference")
            if let parts = several[try row.int64("id")] {
                // A reference naming several invoices: one settlement per invoice, each with its own deductions.
                for (index, part) in parts.enumerated() {
                    lines.append(
                        LineSettlement(
                            position: position, reference: reference, invoice: part.invoiceNumber,
                            customer: part.customerID,
                            applied: money(part.applied), discount: money(part.discount),
                            writeOff: money(part.writeOff),
                            unapplied: money(index == 0 ? try row.int64("unapplied_minor") : 0),
                            deductions: deductions.filter { $0.invoiceID == part.invoiceID }))
                }
                continue
            }
            let invoice = try row.optionalString("invoice_number")
            // Deductions on a line applied to no invoice are not taken: they wait, with the line, for a person.
            lines.append(
                LineSettlement(
                    position: position, reference: reference, invoice: invoice,
                    customer: try row.optionalString("customer_id"),
                    applied: money(applied), discount: money(try row.int64("discount_minor")),
                    writeOff: money(try row.int64("write_off_minor")),
                    unapplied: money(try row.int64("unapplied_minor")),
                    deductions: invoice == nil ? [] : deductions))
        }
        return BatchSettlement(
            batch: id, client: try batch.string("client_id"), payer: try batch.optionalString("payer_name"),
            traceNumber: try batch.optionalString("trace_number"),
            paymentDate: try batch.optionalString("payment_date"),
            total: money(try batch.int64("total_minor")), status: try batch.string("status"), lines: lines,
            reversedOn: try batch.optionalString("reversed_on"))
    }

    /// Whether approving the batch needs its exceptions accepted (the CLI and the site ask this).
    public func approvalCheck(batch id: Int64) throws -> ApprovalCheck {
        guard
            let batch = try database.query(
                "SELECT balanced, difference_minor, currency FROM remittance_batch WHERE id = ?", [id]
            ).first
        else {
            throw ReviewError.missing(id)
        }
        let exceptions =
            try database.scalar(
                Int64.self,
                """
                SELECT count(*) FROM remittance_line l LEFT JOIN line_match m ON m.line_id = l.id
                WHERE l.batch_id = ? AND coalesce(m.status, 'not_matched') NOT IN ('paid_in_full', 'paid_with_discount')
                """, [id]) ?? 0
        let balanced = try batch.int64("balanced") != 0
        return ApprovalCheck(
            exceptions: Int(exceptions),
            outOfBalanceBy: balanced
                ? nil
                : Money(
                    minorUnits: try batch.int64("difference_minor"),
                    currency: try CurrencyCode(try batch.string("currency"))))
    }

    /// Approves a matched batch: its settlements reduce the invoices' open amounts (each amount
    /// kept, so a reversal restores exactly it), the decision is recorded with who and when, and
    /// the batch is frozen. A batch out of balance or with unresolved exceptions is approved
    /// only with `acceptingExceptions`, the approver's reason, which is recorded.
    public func approve(batch id: Int64, actor: String, acceptingExceptions reason: String? = nil) throws
        -> BatchSettlement
    {
        try database.transaction {
            let settlement = try settlement(batch: id)
            guard settlement.status == "new" else { throw ReviewError.frozen(id, settlement.status) }
            try refuseFrozen(id, status: settlement.status)
            let check = try approvalCheck(batch: id)
            let reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
            if check.needsAcceptance && (reason ?? "").isEmpty {
                throw ReviewError.needsAcceptance(
                    id, exceptions: check.exceptions, outOfBalanceBy: check.outOfBalanceBy)
            }
            try apply(settlement)
            try database.execute(
                "UPDATE remittance_batch SET status = 'approved', approved_at = ? WHERE id = ?",
                [Logger.timestamp(), id])
            try record(
                id, "approve",
                detail: "payment \(settlement.total.decimalString) \(settlement.total.currency)"
                    + (check.needsAcceptance
                        ? "; exceptions accepted (\(check.exceptions)"
                            + (check.outOfBalanceBy.map { ", out of balance by \($0.decimalString)" } ?? "")
                            + "): \(reason!)" : ""),
                actor: actor)
            return settlement
        }
    }

    /// Reverses an approved batch: every invoice gets back exactly what the approval took off,
    /// the reversal is dated `date` (never before the payment), recorded, and the history stays
    /// (the batch's export then carries a reversing entry on that date).
    public func reverse(batch id: Int64, actor: String, reason: String, on date: CalendarDate) throws -> BatchSettlement
    {
        try database.transaction {
            let settlement = try settlement(batch: id)
            guard settlement.status == "approved" else { throw ReviewError.notApproved(id) }
            if let paid = settlement.paymentDate, date.description < paid {
                throw ReviewError.reversalBeforeOriginal(id, date.description, paid)
            }
            try database.execute(
                """
                UPDATE open_invoice SET open_amount_minor = open_amount_minor + (SELECT sum(e.amount_minor) FROM approval_entry e WHERE e.batch_id = ? AND e.invoice_id = open_invoice.id),
                    updated_at = ?
                WHERE id IN (SELECT invoice_id FROM approval_entry WHERE batch_id = ?)
                """, [id, Logger.timestamp(), id])
            try database.execute(
                "UPDATE remittance_batch SET status = 'reversed', reversed_on = ? WHERE id = ?", [date.description, id])
            try record(id, "reverse", detail: "on \(date): \(reason)", actor: actor)
            return settlement
        }
    }

    /// The day an approved batch was reversed, if it was.
    public func reversalDate(batch id: Int64) throws -> String? {
        try database.scalar(String.self, "SELECT reversed_on FROM remittance_batch WHERE id = ?", [id])
    }

    /// The invoices each line applied to several of (a reference naming several invoices), by line id.
    func applications(batch id: Int64) throws -> [Int64: [(
        invoiceID: Int64, invoiceNumber: String, customerID: String, open: Int64, applied: Int64,
        discount: Int64, writeOff: Int64, deducted: Int64
    )]] {
        var result: [Int64: [(Int64, String, String, Int64, Int64, Int64, Int64, Int64)]] = [:]
        for row in try database.query(
            """
            SELECT a.line_id, a.invoice_id, i.invoice_number, i.customer_id, a.open_minor, a.applied_minor, a.discount_minor, a.write_off_minor, a.deducted_minor
            FROM line_application a JOIN open_invoice i ON i.id = a.invoice_id WHERE a.batch_id = ? ORDER BY a.id
            """, [id])
        {
            result[try row.int64("line_id"), default: []].append(
                (
                    try row.int64("invoice_id"), try row.string("invoice_number"), try row.string("customer_id"),
                    try row.int64("open_minor"), try row.int64("applied_minor"), try row.int64("discount_minor"),
                    try row.int64("write_off_minor"), try row.int64("deducted_minor")
                ))
        }
        return result
    }

    /// Takes each settled amount off its invoice and keeps it as the approval's entry.
    func apply(_ settlement: BatchSettlement) throws {
        for line in settlement.lines {
            guard let invoice = line.invoice, let customer = line.customer else { continue }
            // `applied` is what closes the invoice: cash, discount, deductions and write-off together.
            guard
                let invoiceID = try database.scalar(
                    Int64.self,
                    "SELECT id FROM open_invoice WHERE client_id = ? AND customer_id = ? AND invoice_number = ?",
                    [settlement.client, customer, invoice])
            else { continue }
            try database.execute(
                "UPDATE open_invoice SET open_amount_minor = open_amount_minor - ?, updated_at = ? WHERE id = ?",
                [line.applied.minorUnits, Logger.timestamp(), invoiceID])
            try database.execute(
                "INSERT INTO approval_entry (batch_id, invoice_id, line_position, amount_minor) VALUES (?, ?, ?, ?)",
                [settlement.batch, invoiceID, Int64(line.position), line.applied.minorUnits])
        }
    }

    func record(_ batch: Int64, _ action: String, line: Int? = nil, detail: String, actor: String) throws {
        try database.execute(
            "INSERT INTO review_decision (batch_id, action, line_position, detail, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
            [batch, action, line.map { Int64($0) }, detail, actor, Logger.timestamp()])
    }

    /// Human decisions on a batch, oldest first.
    public func decisions(batch id: Int64) throws -> [(
        action: String, line: Int?, detail: String, actor: String, at: String
    )] {
        try database.query("SELECT * FROM review_decision WHERE batch_id = ? ORDER BY id", [id]).map {
            (
                try $0.string("action"), try $0.get("line_position", as: Int64?.self).map { Int($0) + 1 },
                try $0.string("detail"), try $0.string("actor"), try $0.string("at")
            )
        }
    }

    /// Records an export; refuses a second one of the same batch and format unless `again`.
    public func recordExport(batch id: Int64, format: String, sha256: String, again: Bool) throws {
        try database.transaction {
            if !again,
                let at = try database.scalar(
                    String.self, "SELECT at FROM gl_export WHERE batch_id = ? AND format = ? ORDER BY id DESC LIMIT 1",
                    [id, format])
            {
                throw ReviewError.alreadyExported(id, format, at)
            }
            try database.execute(
                "INSERT INTO gl_export (batch_id, format, sha256, at) VALUES (?, ?, ?, ?)",
                [id, format, sha256, Logger.timestamp()])
        }
    }
}
