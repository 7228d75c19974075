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

    public init(position: Int, reference: String, invoice: String?, customer: String?, applied: Money, discount: Money, writeOff: Money,
                unapplied: Money, deductions: [ReviewBatch.Deduction]) {
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

    public init(batch: Int64, client: String, payer: String?, traceNumber: String?, paymentDate: String?, total: Money, status: String, lines: [LineSettlement]) {
        self.batch = batch
        self.client = client
        self.payer = payer
        self.traceNumber = traceNumber
        self.paymentDate = paymentDate
        self.total = total
        self.status = status
        self.lines = lines
    }
}

public enum ReviewError: NightjarError {
    case missing(Int64)
    case notMatched(Int64)
    case frozen(Int64, String)
    case notApproved(Int64)
    case alreadyExported(Int64, String, String)

    public var code: String {
        switch self {
        case .missing: "batch.missing"
        case .notMatched: "batch.not_matched"
        case .frozen: "batch.frozen"
        case .notApproved: "batch.not_approved"
        case .alreadyExported: "batch.already_exported"
        }
    }

    public var message: String {
        switch self {
        case .missing(let id): "no batch \(id)"
        case .notMatched(let id): "batch \(id) has not been matched yet (nightjar match --batch \(id))"
        case .frozen(let id, let status): "batch \(id) is \(status) and frozen; an admin can reverse an approved batch"
        case .notApproved(let id): "batch \(id) is not approved yet (nightjar batch approve \(id) --as REVIEWER)"
        case .alreadyExported(let id, let format, let at): "batch \(id) was already exported as \(format) at \(at); pass --again to export it again"
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .missing: .noInput
        case .alreadyExported, .frozen, .notApproved, .notMatched: .dataError
        }
    }
}

extension Ledger {
    /// Each line's settlement as matched (amounts in the batch's currency).
    public func settlement(batch id: Int64) throws -> BatchSettlement {
        guard let batch = try database.query("SELECT * FROM remittance_batch WHERE id = ?", [id]).first else { throw ReviewError.missing(id) }
        let currency = try CurrencyCode(try batch.string("currency"))
        func money(_ value: Int64) -> Money { Money(minorUnits: value, currency: currency) }
        var lines: [LineSettlement] = []
        let rows = try database.query("""
            SELECT l.id, l.position, l.reference, l.amount_paid_minor, m.applied_minor, m.discount_minor, m.write_off_minor, m.unapplied_minor, m.deductions,
                   m.invoice_id, i.invoice_number, i.customer_id
            FROM remittance_line l LEFT JOIN line_match m ON m.line_id = l.id LEFT JOIN open_invoice i ON i.id = m.invoice_id
            WHERE l.batch_id = ? ORDER BY l.position
            """, [id])
        let several = try applications(batch: id)
        for row in rows {
            guard let applied: Int64 = try row.get("applied_minor", as: Int64?.self) else { throw ReviewError.notMatched(id) }
            let deductions = ReviewBatch.Deduction.stored(try row.optionalString("deductions"))
            let position = Int(try row.int64("position")), reference = try row.string("reference")
            if let parts = several[try row.int64("id")] {
                // A reference naming several invoices: one settlement per invoice, each with its own deductions.
                for (index, part) in parts.enumerated() {
                    lines.append(LineSettlement(position: position, reference: reference, invoice: part.invoiceNumber, customer: part.customerID,
                                                applied: money(part.applied), discount: money(part.discount), writeOff: money(part.writeOff),
                                                unapplied: money(index == 0 ? try row.int64("unapplied_minor") : 0),
                                                deductions: deductions.filter { $0.invoiceID == part.invoiceID }))
                }
                continue
            }
            let invoice = try row.optionalString("invoice_number")
            // Deductions on a line applied to no invoice are not taken: they wait, with the line, for a person.
            lines.append(LineSettlement(position: position, reference: reference, invoice: invoice, customer: try row.optionalString("customer_id"),
                                        applied: money(applied), discount: money(try row.int64("discount_minor")),
                                        writeOff: money(try row.int64("write_off_minor")), unapplied: money(try row.int64("unapplied_minor")),
                                        deductions: invoice == nil ? [] : deductions))
        }
        return BatchSettlement(batch: id, client: try batch.string("client_id"), payer: try batch.optionalString("payer_name"),
                               traceNumber: try batch.optionalString("trace_number"), paymentDate: try batch.optionalString("payment_date"),
                               total: money(try batch.int64("total_minor")), status: try batch.string("status"), lines: lines)
    }

    /// Approves a matched batch: its settlements reduce the invoices' open amounts, the decision is
    /// recorded with who and when (and `reason`, when the approver accepted exceptions), and the
    /// batch is frozen.
    public func approve(batch id: Int64, actor: String, reason: String? = nil) throws -> BatchSettlement {
        try database.transaction {
            let settlement = try settlement(batch: id)
            guard settlement.status == "new" else { throw ReviewError.frozen(id, settlement.status) }
            try apply(settlement, sign: 1)
            try database.execute("UPDATE remittance_batch SET status = 'approved' WHERE id = ?", [id])
            try record(id, "approve", detail: "payment \(settlement.total.decimalString) \(settlement.total.currency)"
                           + (reason.map { "; exceptions accepted: \($0)" } ?? ""), actor: actor)
            return settlement
        }
    }

    /// Reverses an approved batch: open amounts are restored and the reversal is recorded; the
    /// history stays (an export of a reversed batch writes reversing entries).
    public func reverse(batch id: Int64, actor: String, reason: String) throws -> BatchSettlement {
        try database.transaction {
            let settlement = try settlement(batch: id)
            guard settlement.status == "approved" else { throw ReviewError.notApproved(id) }
            try apply(settlement, sign: -1)
            try database.execute("UPDATE remittance_batch SET status = 'reversed' WHERE id = ?", [id])
            try record(id, "reverse", detail: reason, actor: actor)
            return settlement
        }
    }

    /// The invoices each line applied to several of (a reference naming several invoices), by line id.
    func applications(batch id: Int64) throws -> [Int64: [(invoiceID: Int64, invoiceNumber: String, customerID: String, open: Int64, applied: Int64,
                                                          discount: Int64, writeOff: Int64, deducted: Int64)]] {
        var result: [Int64: [(Int64, String, String, Int64, Int64, Int64, Int64, Int64)]] = [:]
        for row in try database.query("""
            SELECT a.line_id, a.invoice_id, i.invoice_number, i.customer_id, a.open_minor, a.applied_minor, a.discount_minor, a.write_off_minor, a.deducted_minor
            FROM line_application a JOIN open_invoice i ON i.id = a.invoice_id WHERE a.batch_id = ? ORDER BY a.id
            """, [id]) {
            result[try row.int64("line_id"), default: []].append((try row.int64("invoice_id"), try row.string("invoice_number"), try row.string("customer_id"),
                                                                 try row.int64("open_minor"), try row.int64("applied_minor"), try row.int64("discount_minor"),
                                                                 try row.int64("write_off_minor"), try row.int64("deducted_minor")))
        }
        return result
    }

    func apply(_ settlement: BatchSettlement, sign: Int64) throws {
        for line in settlement.lines {
            guard let invoice = line.invoice, let customer = line.customer else { continue }
            // `applied` is what closes the invoice: cash, discount, deductions and write-off together.
            let settled = line.applied.minorUnits
            try database.execute("""
                UPDATE open_invoice SET open_amount_minor = open_amount_minor - ?, updated_at = ?
                WHERE client_id = ? AND customer_id = ? AND invoice_number = ?
                """, [sign * settled, Logger.timestamp(), settlement.client, customer, invoice])
        }
    }

    func record(_ batch: Int64, _ action: String, line: Int? = nil, detail: String, actor: String) throws {
        try database.execute("INSERT INTO review_decision (batch_id, action, line_position, detail, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
                             [batch, action, line.map { Int64($0) }, detail, actor, Logger.timestamp()])
    }

    /// Human decisions on a batch, oldest first.
    public func decisions(batch id: Int64) throws -> [(action: String, line: Int?, detail: String, actor: String, at: String)] {
        try database.query("SELECT * FROM review_decision WHERE batch_id = ? ORDER BY id", [id]).map {
            (try $0.string("action"), try $0.get("line_position", as: Int64?.self).map { Int($0) }, try $0.string("detail"), try $0.string("actor"), try $0.string("at"))
        }
    }

    /// Records an export; refuses a second one of the same batch and format unless `again`.
    public func recordExport(batch id: Int64, format: String, sha256: String, again: Bool) throws {
        try database.transaction {
            if !again, let at = try database.scalar(String.self, "SELECT at FROM gl_export WHERE batch_id = ? AND format = ? ORDER BY id DESC LIMIT 1", [id, format]) {
                throw ReviewError.alreadyExported(id, format, at)
            }
            try database.execute("INSERT INTO gl_export (batch_id, format, sha256, at) VALUES (?, ?, ?, ?)", [id, format, sha256, Logger.timestamp()])
        }
    }
}
