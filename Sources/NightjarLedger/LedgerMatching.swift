public import NightjarCore
public import NightjarMatching
import NightjarStore
import Foundation

/// How one batch came out of matching.
public struct BatchMatchResult: Sendable, Codable, Equatable {
    public let batchID: Int64
    /// Count of lines per status (`paid_in_full`, `short_paid`, ...).
    public let statuses: [String: Int]
    /// The customers the payer is known as (empty: no alias yet, so nothing can match).
    public let customers: [String]
    public let appliedCash: String
    public let unappliedCash: String
}

extension Ledger {
    /// Matches a batch's lines against the open invoices of the customers its payer is known as,
    /// and stores each decision with the rule that made it. Matching again replaces the earlier
    /// decisions; open amounts are not changed until a person approves the batch.
    public func match(batch id: Int64, rules: MatchingRules = .standard) throws -> BatchMatchResult {
        try match(batches: [id], rules: { _ in rules })[0]
    }

    /// Matches many batches, one transaction each, loading each payer's open invoices once: the
    /// same decisions as matching them one by one, at the speed a night with a million lines needs.
    /// `beforeCommit` and `afterCommit` run around each batch's commit.
    public func match(batches ids: [Int64], rules: (String) throws -> MatchingRules = { _ in .standard }, beforeCommit: () -> Void = {},
                      afterCommit: (BatchMatchResult) -> Void = { _ in }) throws -> [BatchMatchResult] {
        var matchers: [String: Matcher] = [:]
        var results: [BatchMatchResult] = []
        let insert = """
            INSERT INTO line_match (line_id, batch_id, status, invoice_id, rule, applied_minor, discount_minor, write_off_minor,
                unapplied_minor, deductions, suggestions, matched_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        for id in ids {
            let result = try database.transaction { () throws -> BatchMatchResult in
                guard let batch = try database.query("SELECT * FROM remittance_batch WHERE id = ?", [id]).first else {
                    throw GeneralError(code: "batch.missing", message: "no batch \(id)", exitStatus: .noInput)
                }
                let client = try batch.string("client_id")
                let currency = try CurrencyCode(try batch.string("currency"))
                let customers = try self.customers(forPayerID: try batch.optionalString("payer_id"), name: try batch.optionalString("payer_name"))
                let key = client + "\u{1}" + customers.joined(separator: "\u{1}")
                if matchers[key] == nil {
                    let (items, settled) = try openItems(client: client, customers: customers)
                    matchers[key] = Matcher(rules: try rules(client), items: items, settledInvoiceNumbers: settled)
                }
                let lines = try linesToMatch(batch: id, currency: currency, paymentDate: try batch.get("payment_date", as: CalendarDate?.self))
                matchers[key]!.startPayment()
                let decisions = matchers[key]!.match(lines)
                try database.execute("DELETE FROM line_match WHERE batch_id = ?", [id])
                var statuses: [String: Int] = [:]
                let now = Logger.timestamp()
                for decision in decisions {
                    statuses[decision.status.rawValue, default: 0] += 1
                    try database.execute(insert, [decision.lineID, id, decision.status.rawValue, decision.invoiceID, decision.rule, decision.applied.minorUnits,
                                                  decision.discount.minorUnits, decision.writeOff.minorUnits, decision.unapplied.minorUnits,
                                                  DecisionJSON.deductions(decision.deductions), DecisionJSON.suggestions(decision.suggestions), now])
                }
                let balance = BatchBalance(total: Money(minorUnits: try batch.int64("total_minor"), currency: currency), lines: lines, decisions: decisions)
                beforeCommit()
                return BatchMatchResult(batchID: id, statuses: statuses, customers: customers, appliedCash: balance.appliedCash.decimalString,
                                        unappliedCash: balance.unappliedCash.decimalString)
            }
            afterCommit(result)
            results.append(result)
        }
        return results
    }

    /// The open invoices of some customers, and the numbers of those already settled.
    func openItems(client: String, customers: [String]) throws -> ([OpenItem], Set<String>) {
        var items: [OpenItem] = []
        var settled: Set<String> = []
        for customer in customers {
            try database.forEachRow("""
                SELECT id, invoice_number, amount_minor, open_amount_minor, currency, invoice_date, po_number, terms
                FROM open_invoice WHERE client_id = ? AND customer_id = ?
                """, [client, customer]) { row in
                let open = try row.int64("open_amount_minor")
                if open == 0 { settled.insert(try row.string("invoice_number")); return }
                let invoiceCurrency = try CurrencyCode(try row.string("currency"))
                items.append(OpenItem(id: try row.int64("id"), customerID: customer, invoiceNumber: try row.string("invoice_number"),
                                      amount: Money(minorUnits: try row.int64("amount_minor"), currency: invoiceCurrency),
                                      openAmount: Money(minorUnits: open, currency: invoiceCurrency),
                                      invoiceDate: try row.get("invoice_date", as: CalendarDate?.self),
                                      purchaseOrderNumber: try row.optionalString("po_number"),
                                      terms: try row.optionalString("terms").flatMap { DiscountTerms($0) }))
            }
        }
        return (items, settled)
    }

    func linesToMatch(batch id: Int64, currency: CurrencyCode, paymentDate: CalendarDate?) throws -> [LineToMatch] {
        var adjustments: [Int64: [(amount: Money, reasonCode: String)]] = [:]
        try database.forEachRow("SELECT line_id, amount_minor, reason_code FROM remittance_adjustment WHERE batch_id = ? AND line_id IS NOT NULL", [id]) { row in
            adjustments[try row.int64("line_id"), default: []].append((Money(minorUnits: try row.int64("amount_minor"), currency: currency), try row.string("reason_code")))
        }
        var lines: [LineToMatch] = []
        try database.forEachRow("SELECT id, reference, amount_paid_minor, discount_minor FROM remittance_line WHERE batch_id = ? ORDER BY position", [id]) { row in
            let lineID = try row.int64("id")
            lines.append(LineToMatch(id: lineID, reference: try row.string("reference"),
                                     amountPaid: Money(minorUnits: try row.int64("amount_paid_minor"), currency: currency),
                                     discount: try row.get("discount_minor", as: Int64?.self).map { Money(minorUnits: $0, currency: currency) },
                                     adjustments: adjustments[lineID] ?? [], paymentDate: paymentDate))
        }
        return lines
    }

    /// The stored decision for each line of a batch: line id → (status, rule).
    public func lineStatuses(batch id: Int64) throws -> [Int: (status: String, rule: String)] {
        var result: [Int: (String, String)] = [:]
        for row in try database.query("""
            SELECT l.position, m.status, m.rule FROM line_match m JOIN remittance_line l ON l.id = m.line_id WHERE m.batch_id = ?
            """, [id]) {
            result[Int(try row.int64("position"))] = (try row.string("status"), try row.string("rule"))
        }
        return result
    }

    /// Batches not matched yet.
    public func unmatchedBatches(client: String?) throws -> [Int64] {
        var sql = "SELECT b.id FROM remittance_batch b WHERE NOT EXISTS (SELECT 1 FROM line_match m WHERE m.batch_id = b.id)"
        var arguments: [any DatabaseValueConvertible] = []
        if let client { sql += " AND b.client_id = ?"; arguments.append(client) }
        return try database.query(sql + " ORDER BY b.id", arguments).map { try $0.int64("id") }
    }
}
