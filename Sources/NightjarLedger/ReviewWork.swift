import Foundation
public import NightjarCore
import NightjarCrypto
import NightjarMatching
import NightjarStore

/// Batch statuses still waiting for a person (not approved, not reversed).
public enum ReviewStatus {
    public static let settled = ["approved", "reversed"]
    /// Line statuses that need no person.
    public static let clean = ["paid_in_full", "paid_with_discount"]
}

/// Which exceptions a worklist shows and in what order.
public struct WorklistQuery: Sendable, Hashable {
    public enum Sort: String, Sendable, CaseIterable {
        case amount, age, payer, kind, client, batch
    }

    /// nil: every client (the caller has already limited it to those the person may see).
    public var clients: [String]?
    public var client: String?
    /// A line status (`short_paid`, `unknown_reference`, `not_matched`, ...).
    public var kind: String?
    /// Part of the payer's name.
    public var payer: String?
    public var batch: Int64?
    public var sort: Sort = .amount
    public var descending = true
    /// 1-based.
    public var page = 1
    public var pageSize = 50

    public init() {}
}

/// One exception in the worklist.
public struct WorklistEntry: Sendable, Codable, Equatable {
    public let batch: Int64
    public let client: String
    public let payer: String?
    public let paymentDate: String?
    public let position: Int
    public let reference: String
    public let amountPaid: Money
    /// The line's status, `not_matched` before matching.
    public let kind: String
    public let invoice: String?
    public let suggestions: Int
}

/// A page of the worklist, with the count and total of everything the filters selected.
public struct WorklistPage: Sendable, Codable, Equatable {
    public let entries: [WorklistEntry]
    public let total: Int
    public let totals: [Money]
    public let page: Int
    public let pageCount: Int
    /// The kinds and clients present (for the filters).
    public let kinds: [String]
}

/// A batch with everything the review of it shows: its lines with their decisions, deductions
/// (with reason code and reference), suggestions (with the candidate's open amount), the
/// decisions taken so far and the exports.
public struct BatchReview: Sendable, Codable {
    public struct Deduction: Sendable, Codable, Equatable {
        public let type: String
        public let reasonCode: String?
        public let amount: Money
        /// The payer's reference for it, when the file gave one.
        public let reference: String?
    }

    public struct Candidate: Sendable, Codable, Equatable {
        /// 1-based, in the order matching ranked them.
        public let number: Int
        public let invoice: String
        public let customer: String?
        public let openAmount: Money?
        /// Why: `one_character_different`, `transposed`, `purchase_order_number`, `amount_matches`.
        public let kind: String
    }

    public struct Line: Sendable, Codable {
        public let position: Int
        public let referenceQualifier: String
        public let reference: String
        public let amountPaid: Money
        public let invoiceAmount: Money?
        public let status: String?
        public let rule: String?
        public let invoice: String?
        public let customer: String?
        public let applied: Money?
        public let unapplied: Money?
        public let deductions: [Deduction]
        public let suggestions: [Candidate]
        public let sourceLocation: Int

        public var isException: Bool { !ReviewStatus.clean.contains(status ?? "") }

        func with(suggestions: [Candidate]) -> Line {
            Line(
                position: position, referenceQualifier: referenceQualifier, reference: reference,
                amountPaid: amountPaid, invoiceAmount: invoiceAmount,
                status: status, rule: rule, invoice: invoice, customer: customer, applied: applied,
                unapplied: unapplied, deductions: deductions,
                suggestions: suggestions, sourceLocation: sourceLocation)
        }
    }

    public struct Decision: Sendable, Codable, Equatable {
        public let action: String
        public let line: Int?
        public let detail: String
        public let actor: String
        public let at: String
    }

    public struct Export: Sendable, Codable, Equatable {
        public let format: String
        public let sha256: String
        public let at: String
    }

    public let id: Int64
    public let client: String
    public let payer: String?
    public let payerID: String?
    public let traceNumber: String?
    public let paymentDate: String?
    public let paymentMethod: String?
    public let total: Money
    public let remitted: Money
    public let balanced: Bool
    public let difference: Money
    public let status: String
    public let file: String
    public let portal: String?
    public let importedAt: String
    /// Adjustments of the whole payment (not of one line).
    public let batchDeductions: [Deduction]
    public let lines: [Line]
    public let decisions: [Decision]
    public let exports: [Export]
    /// Changes whenever anything a decision depends on changes (see `Ledger.batchVersion`).
    public let version: String

    public var exceptions: [Line] { lines.filter(\.isException) }
}

/// One client's morning: what the last night did for it and what waits.
public struct ClientMorning: Sendable, Codable, Equatable {
    public struct Credential: Sendable, Codable, Equatable {
        public let portal: String
        public let status: String
        public let filesNew: Int
        public let message: String?
    }

    public let client: String
    /// The last finished night's outcome per credential of this client (empty if none ran).
    public let credentials: [Credential]
    public let lastRun: Int64?
    public let batchesWaiting: Int
    public let exceptions: Int
    public let exceptionTotals: [Money]
    public let outOfBalance: Int
}

/// An invoice found by number, amount or customer.
public struct InvoiceMatch: Sendable, Codable, Equatable {
    public let customer: String
    public let customerName: String?
    public let invoice: String
    public let date: String?
    public let amount: Money
    public let openAmount: Money
}

/// The digest behind `Ledger.batchVersion`, fed the same way by the page that shows a batch and
/// by the check before an action on it.
final class BatchVersionDigest {
    let digest = SHA256()

    init(status: String) { digest.update(Array("status=\(status)\n".utf8)) }

    /// One line's decision, from a row whose columns `first...first+9` are position, status,
    /// invoice_id, rule, applied, discount, write-off, unapplied, deductions and suggestions.
    func add(_ row: Row, from first: Int) {
        var text = ""
        text.reserveCapacity(160)
        for index in first..<(first + 10) {
            switch row[index] {
            case .integer(let value): text += String(value)
            case .text(let value): text += value
            default: text += "-"
            }
            text += index == first + 9 ? "\n" : "|"
        }
        digest.update(Array(text.utf8))
    }

    func finish(decisions count: Int64, last: Int64) -> String {
        digest.update(Array("decisions=\(count)/\(last)".utf8))
        return String(digest.finalize().hexString.prefix(20))
    }
}

extension DatabaseValue {
    var integerValue: Int64? { if case .integer(let value) = self { value } else { nil } }
    var textValue: String? { if case .text(let value) = self { value } else { nil } }
}

extension Ledger {
    /// Every client the workspace knows (imports create them).
    public func clientIDs() throws -> [String] {
        try database.query("SELECT id FROM client ORDER BY id").map { try $0.string("id") }
    }

    /// A batch's version: a digest of its status, of each line's decision and of the decisions
    /// recorded. A form carries the version it was drawn with; an action on a batch whose
    /// version has moved since (a re-match, another clerk, the CLI) must be refused. nil when
    /// the batch does not exist.
    public func batchVersion(_ id: Int64) throws -> String? {
        guard let status = try database.scalar(String.self, "SELECT status FROM remittance_batch WHERE id = ?", [id])
        else { return nil }
        let digest = BatchVersionDigest(status: status)
        try database.forEachRow(
            """
            SELECT l.position, m.status, m.invoice_id, m.rule, m.applied_minor, m.discount_minor, m.write_off_minor, m.unapplied_minor,
                   m.deductions, m.suggestions
            FROM remittance_line l LEFT JOIN line_match m ON m.line_id = l.id WHERE l.batch_id = ? ORDER BY l.position
            """, [id]
        ) { digest.add($0, from: 0) }
        let decisions = try database.query(
            "SELECT count(*) AS n, coalesce(max(id), 0) AS last FROM review_decision WHERE batch_id = ?", [id])[0]
        return digest.finish(decisions: try decisions.int64("n"), last: try decisions.int64("last"))
    }

    /// The batch with everything its review shows, or nil when there is no such batch.
    public func batchReview(_ id: Int64) throws -> BatchReview? {
        try database.read {
            guard
                let batch = try database.query(
                    """
                    SELECT b.*, f.original_name, f.portal, f.imported_at FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id WHERE b.id = ?
                    """, [id]
                ).first
            else { return nil }
            let currency = try CurrencyCode(try batch.string("currency"))
            let client = try batch.string("client_id")
            func money(_ value: Int64) -> Money { Money(minorUnits: value, currency: currency) }
            var batchDeductions: [BatchReview.Deduction] = []
            var references: [Int64: [(code: String, reference: String?)]] = [:]
            for adjustment in try database.query(
                "SELECT * FROM remittance_adjustment WHERE batch_id = ? ORDER BY id", [id])
            {
                let code = try adjustment.string("reason_code")
                let reference = try adjustment.optionalString("reference")
                if let line = try adjustment.get("line_id", as: Int64?.self) {
                    references[line, default: []].append((code, reference))
                } else {
                    batchDeductions.append(
                        BatchReview.Deduction(
                            type: "adjustment", reasonCode: code, amount: money(try adjustment.int64("amount_minor")),
                            reference: reference))
                }
            }
            // Lines first, with their suggestions as stored; the candidates' open amounts in one query after.
            var lines: [(line: BatchReview.Line, suggestions: [Suggestion])] = []
            let digest = BatchVersionDigest(status: try batch.string("status"))
            // Columns by position (a thousand rows): 0-6 the line, 7-16 the decision as the version reads it, 17-18 the
            // invoice, 19 the reason code of the line's one plain adjustment when its row holds it.
            try database.forEachRow(
                """
                SELECT l.id, l.position, l.reference_qualifier, l.reference, l.amount_paid_minor, l.invoice_amount_minor, l.source_location,
                       l.position, m.status, m.invoice_id, m.rule, m.applied_minor, m.discount_minor, m.write_off_minor, m.unapplied_minor,
                       m.deductions, m.suggestions, i.invoice_number, i.customer_id,
                       CASE WHEN l.adjustment_minor IS NOT NULL THEN l.adjustment_reason END
                FROM remittance_line l LEFT JOIN line_match m ON m.line_id = l.id LEFT JOIN open_invoice i ON i.id = m.invoice_id
                WHERE l.batch_id = ? ORDER BY l.position
                """, [id]
            ) { row in
                digest.add(row, from: 7)
                guard let lineID = row[0].integerValue, let position = row[1].integerValue,
                    let paid = row[4].integerValue
                else {
                    throw GeneralError(
                        code: "batch.damaged", message: "batch \(id) has a line without id, position or amount")
                }
                var known = row[19].textValue.map { [(code: $0, reference: String?.none)] } ?? references[lineID] ?? []
                let deductions = ReviewBatch.Deduction.stored(row[15].textValue).map {
                    deduction -> BatchReview.Deduction in
                    // The payer's reference for the adjustment with this reason code, taken once.
                    let index = known.firstIndex { $0.code == deduction.reasonCode }
                    let reference = index.flatMap { known[$0].reference }
                    if let index { known.remove(at: index) }
                    return BatchReview.Deduction(
                        type: deduction.type, reasonCode: deduction.reasonCode, amount: deduction.amount,
                        reference: reference)
                }
                let line = BatchReview.Line(
                    position: Int(position), referenceQualifier: row[2].textValue ?? "",
                    reference: row[3].textValue ?? "", amountPaid: money(paid),
                    invoiceAmount: row[5].integerValue.map(money), status: row[8].textValue, rule: row[10].textValue,
                    invoice: row[17].textValue,
                    customer: row[18].textValue, applied: row[11].integerValue.map(money),
                    unapplied: row[14].integerValue.map(money),
                    deductions: deductions, suggestions: [], sourceLocation: Int(row[6].integerValue ?? 0))
                lines.append((line, Ledger.suggestions(row[16].textValue)))
            }
            let open = try openAmounts(Set(lines.flatMap { $0.suggestions.map(\.invoiceID) }), client: client)
            let decisions = try database.query("SELECT * FROM review_decision WHERE batch_id = ? ORDER BY id", [id]).map
            {
                (
                    id: try $0.int64("id"),
                    decision: BatchReview.Decision(
                        action: try $0.string("action"),
                        line: try $0.get("line_position", as: Int64?.self).map { Int($0) + 1 },
                        detail: try $0.string("detail"), actor: try $0.string("actor"), at: try $0.string("at"))
                )
            }
            let exports = try database.query("SELECT * FROM gl_export WHERE batch_id = ? ORDER BY id", [id]).map {
                BatchReview.Export(
                    format: try $0.string("format"), sha256: try $0.string("sha256"), at: try $0.string("at"))
            }
            return BatchReview(
                id: id, client: client, payer: try batch.optionalString("payer_name"),
                payerID: try batch.optionalString("payer_id"), traceNumber: try batch.optionalString("trace_number"),
                paymentDate: try batch.optionalString("payment_date"),
                paymentMethod: try batch.optionalString("payment_method"),
                total: money(try batch.int64("total_minor")), remitted: money(try batch.int64("remitted_minor")),
                balanced: try batch.int64("balanced") != 0, difference: money(try batch.int64("difference_minor")),
                status: try batch.string("status"), file: try batch.string("original_name"),
                portal: try batch.optionalString("portal"),
                importedAt: try batch.string("imported_at"), batchDeductions: batchDeductions,
                lines: lines.map { entry in
                    entry.line.with(
                        suggestions: entry.suggestions.enumerated().map { index, suggestion in
                            BatchReview.Candidate(
                                number: index + 1, invoice: suggestion.invoiceNumber,
                                customer: open[suggestion.invoiceID]?.customer,
                                openAmount: open[suggestion.invoiceID]?.amount, kind: suggestion.kind.rawValue)
                        })
                },
                decisions: decisions.map(\.decision), exports: exports,
                version: digest.finish(decisions: Int64(decisions.count), last: decisions.last?.id ?? 0))
        }
    }

    /// The suggestions stored with a line's decision, in their order.
    static func suggestions(_ json: String?) -> [Suggestion] {
        guard let json, json != "[]" else { return [] }
        return DecisionJSON.readSuggestions(json)
            ?? (try? JSONDecoder().decode([Suggestion].self, from: Data(json.utf8))) ?? []
    }

    /// Open amounts (and customers) of a client's invoices by id.
    func openAmounts(_ ids: Set<Int64>, client: String) throws -> [Int64: (customer: String, amount: Money)] {
        var result: [Int64: (customer: String, amount: Money)] = [:]
        let list = Array(ids)
        for start in stride(from: 0, to: list.count, by: 500) {
            let chunk = list[start..<min(start + 500, list.count)]
            for row in try database.query(
                """
                SELECT id, customer_id, open_amount_minor, currency FROM open_invoice WHERE client_id = ? AND id IN (\(chunk.map { _ in "?" }.joined(separator: ",")))
                """, [client] + chunk.map { $0 as any DatabaseValueConvertible })
            {
                result[try row.int64("id")] = (
                    try row.string("customer_id"),
                    Money(
                        minorUnits: try row.int64("open_amount_minor"),
                        currency: try CurrencyCode(try row.string("currency")))
                )
            }
        }
        return result
    }

    /// Every exception in batches still waiting, filtered, sorted and paged.
    public func worklist(_ query: WorklistQuery) throws -> WorklistPage {
        var filter =
            " WHERE b.status NOT IN ('approved', 'reversed') AND coalesce(m.status, 'not_matched') NOT IN ('paid_in_full', 'paid_with_discount')"
        var arguments: [any DatabaseValueConvertible] = []
        if let clients = query.clients {
            if clients.isEmpty {
                return WorklistPage(entries: [], total: 0, totals: [], page: 1, pageCount: 1, kinds: [])
            }
            filter += " AND b.client_id IN (\(clients.map { _ in "?" }.joined(separator: ",")))"
            arguments += clients.map { $0 as any DatabaseValueConvertible }
        }
        if let client = query.client {
            filter += " AND b.client_id = ?"
            arguments.append(client)
        }
        if let payer = query.payer, !payer.isEmpty {
            filter += " AND b.payer_name LIKE ? ESCAPE '\\'"
            arguments.append(
                "%"
                    + payer.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                    .replacingOccurrences(of: "_", with: "\\_") + "%")
        }
        if let batch = query.batch {
            filter += " AND b.id = ?"
            arguments.append(batch)
        }
        let from =
            " FROM remittance_line l JOIN remittance_batch b ON b.id = l.batch_id LEFT JOIN line_match m ON m.line_id = l.id"
        // One pass, no sort, for the counts by kind (the filter's choices) and the total; by
        // currency only when there are several, or a kind this code does not know.
        let known = ["short_paid", "over_paid", "paid_twice", "unknown_reference", "ambiguous", "not_matched"]
        let kindColumns = known.enumerated().map { index, kind in
            "sum(coalesce(m.status, 'not_matched') = '\(kind)') AS n\(index), sum(CASE WHEN coalesce(m.status, 'not_matched') = '\(kind)' THEN l.amount_paid_minor ELSE 0 END) AS a\(index)"
        }.joined(separator: ", ")
        let summary = try database.query(
            "SELECT min(b.currency) AS low, max(b.currency) AS high, count(*) AS n, coalesce(sum(l.amount_paid_minor), 0) AS amount, "
                + kindColumns + from + filter, arguments)[0]
        var total = 0
        var totals: [Money] = []
        var kinds: [String] = []
        var knownCount: Int64 = 0
        var kindTotal: (count: Int64, amount: Int64)?
        for (index, kind) in known.enumerated() {
            let count = try summary.get("n\(index)", as: Int64?.self) ?? 0
            knownCount += count
            if count > 0 { kinds.append(kind) }
            if kind == query.kind { kindTotal = (count, try summary.get("a\(index)", as: Int64?.self) ?? 0) }
        }
        kinds.sort()
        let all = try summary.int64("n")
        let high = try summary.optionalString("high")
        let allAmount = try summary.int64("amount")
        if all > 0, let low = try summary.optionalString("low"), low == high, knownCount == all,
            query.kind == nil || kindTotal != nil
        {
            total = Int(kindTotal?.count ?? all)
            totals =
                total == 0 ? [] : [Money(minorUnits: kindTotal?.amount ?? allAmount, currency: try CurrencyCode(low))]
        } else if all > 0 {
            var sums: [String: Int64] = [:]
            var found: Set<String> = []
            for row in try database.query(
                "SELECT coalesce(m.status, 'not_matched') AS kind, b.currency, count(*) AS n, sum(l.amount_paid_minor) AS amount"
                    + from + filter + " GROUP BY 1, 2", arguments)
            {
                let kind = try row.string("kind")
                found.insert(kind)
                guard query.kind == nil || query.kind == kind else { continue }
                total += Int(try row.int64("n"))
                sums[try row.string("currency"), default: 0] += try row.int64("amount")
            }
            kinds = found.sorted()
            totals = try sums.keys.sorted().map { Money(minorUnits: sums[$0]!, currency: try CurrencyCode($0)) }
        }
        if let kind = query.kind {
            filter += " AND coalesce(m.status, 'not_matched') = ?"
            arguments.append(kind)
        }
        let size = max(1, min(query.pageSize, 500))
        let pageCount = max(1, (total + size - 1) / size)
        let page = max(1, min(query.page, pageCount))
        let direction = query.descending ? "DESC" : "ASC"
        let order: String =
            switch query.sort {
            case .amount: "l.amount_paid_minor \(direction)"
            case .age: "coalesce(b.payment_date, '') \(query.descending ? "ASC" : "DESC")"
            case .payer: "coalesce(b.payer_name, '') \(direction)"
            case .kind: "coalesce(m.status, 'not_matched') \(direction)"
            case .client: "b.client_id \(direction)"
            case .batch: "b.id \(direction)"
            }
        // The page's lines first (only the sort keys go through the sort), then their details.
        let ids = try database.query(
            "SELECT l.id AS id" + from + filter + " ORDER BY \(order), b.id, l.position LIMIT ? OFFSET ?",
            arguments + [size, (page - 1) * size]
        ).map { try $0.int64("id") }
        guard !ids.isEmpty else {
            return WorklistPage(
                entries: [], total: total, totals: totals, page: page, pageCount: pageCount, kinds: kinds)
        }
        var entries: [Int64: WorklistEntry] = [:]
        for row in try database.query(
            """
            SELECT l.id, b.id AS batch, b.client_id, b.payer_name, b.payment_date, b.currency, l.position, l.reference, l.amount_paid_minor,
                   coalesce(m.status, 'not_matched') AS kind, m.suggestions, i.invoice_number
            FROM remittance_line l JOIN remittance_batch b ON b.id = l.batch_id LEFT JOIN line_match m ON m.line_id = l.id
            LEFT JOIN open_invoice i ON i.id = m.invoice_id WHERE l.id IN (\(ids.map { _ in "?" }.joined(separator: ",")))
            """, ids.map { $0 as any DatabaseValueConvertible })
        {
            entries[try row.int64("id")] = WorklistEntry(
                batch: try row.int64("batch"), client: try row.string("client_id"),
                payer: try row.optionalString("payer_name"),
                paymentDate: try row.optionalString("payment_date"), position: Int(try row.int64("position")),
                reference: try row.string("reference"),
                amountPaid: Money(
                    minorUnits: try row.int64("amount_paid_minor"),
                    currency: try CurrencyCode(try row.string("currency"))),
                kind: try row.string("kind"), invoice: try row.optionalString("invoice_number"),
                suggestions: Ledger.suggestions(try row.optionalString("suggestions")).count)
        }
        return WorklistPage(
            entries: ids.compactMap { entries[$0] }, total: total, totals: totals, page: page, pageCount: pageCount,
            kinds: kinds)
    }

    /// Each client's morning: the last finished night's outcome for its credentials, and what waits.
    public func morning(clients: [String]) throws -> [ClientMorning] {
        let lastRun = try database.scalar(
            Int64.self, "SELECT id FROM night_run WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1")
        var result: [ClientMorning] = []
        for client in clients {
            let credentials =
                try lastRun.map { run in
                    try database.query(
                        "SELECT * FROM night_run_item WHERE run_id = ? AND client = ? ORDER BY portal", [run, client]
                    ).map {
                        ClientMorning.Credential(
                            portal: try $0.string("portal"), status: try $0.string("status"),
                            filesNew: Int(try $0.int64("files_new")),
                            message: try $0.optionalString("message"))
                    }
                } ?? []
            let waiting = try database.query(
                """
                SELECT count(*) AS n, coalesce(sum(1 - balanced), 0) AS unbalanced FROM remittance_batch WHERE client_id = ? AND status NOT IN ('approved', 'reversed')
                """, [client])[0]
            var exceptions = 0
            var totals: [Money] = []
            for row in try database.query(
                """
                SELECT b.currency, count(*) AS n, sum(l.amount_paid_minor) AS amount
                FROM remittance_line l JOIN remittance_batch b ON b.id = l.batch_id LEFT JOIN line_match m ON m.line_id = l.id
                WHERE b.client_id = ? AND b.status NOT IN ('approved', 'reversed') AND coalesce(m.status, 'not_matched') NOT IN ('paid_in_full', 'paid_with_discount')
                GROUP BY b.currency ORDER BY b.currency
                """, [client])
            {
                exceptions += Int(try row.int64("n"))
                totals.append(
                    Money(minorUnits: try row.int64("amount"), currency: try CurrencyCode(try row.string("currency"))))
            }
            result.append(
                ClientMorning(
                    client: client, credentials: credentials, lastRun: credentials.isEmpty ? nil : lastRun,
                    batchesWaiting: Int(try waiting.int64("n")), exceptions: exceptions, exceptionTotals: totals,
                    outOfBalance: Int(try waiting.int64("unbalanced"))))
        }
        return result
    }

    /// Batches of the given clients, newest first, optionally only those in `statuses`.
    public func batchSummaries(clients: [String], statuses: [String]? = nil, limit: Int = 200) throws -> [BatchSummary]
    {
        guard !clients.isEmpty else { return [] }
        var sql = """
            SELECT \(Ledger.summaryColumns)
            FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id WHERE b.client_id IN (\(clients.map { _ in "?" }.joined(separator: ",")))
            """
        var arguments = clients.map { $0 as any DatabaseValueConvertible }
        if let statuses, !statuses.isEmpty {
            sql += " AND b.status IN (\(statuses.map { _ in "?" }.joined(separator: ",")))"
            arguments += statuses.map { $0 as any DatabaseValueConvertible }
        }
        return try database.query(sql + " ORDER BY b.id DESC LIMIT ?", arguments + [limit]).map(Ledger.summary)
    }

    /// A client's invoices whose number or customer contains `text`, or whose amount or open
    /// amount is `text` as an amount; open ones first.
    public func searchInvoices(client: String, text: String, limit: Int = 25) throws -> [InvoiceMatch] {
        let needle = text.trimmingWhitespace()
        guard !needle.isEmpty else { return [] }
        let like =
            "%"
            + needle.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        var sql = """
            SELECT i.*, c.name FROM open_invoice i LEFT JOIN customer c ON c.client_id = i.client_id AND c.customer_id = i.customer_id
            WHERE i.client_id = ? AND (i.invoice_number LIKE ? ESCAPE '\\' OR i.customer_id LIKE ? ESCAPE '\\' OR coalesce(c.name, '') LIKE ? ESCAPE '\\'
            """
        var arguments: [any DatabaseValueConvertible] = [client, like, like, like]
        if let minor = try? Money.parseMinorUnits(needle.replacingOccurrences(of: ",", with: ""), digits: 2) {
            sql += " OR i.amount_minor = ? OR i.open_amount_minor = ?"
            arguments += [minor, minor]
        }
        sql += ") ORDER BY (i.open_amount_minor = 0), i.invoice_number LIMIT ?"
        return try database.query(sql, arguments + [limit]).map { row in
            let currency = try CurrencyCode(try row.string("currency"))
            return InvoiceMatch(
                customer: try row.string("customer_id"), customerName: try row.optionalString("name"),
                invoice: try row.string("invoice_number"),
                date: try row.optionalString("invoice_date"),
                amount: Money(minorUnits: try row.int64("amount_minor"), currency: currency),
                openAmount: Money(minorUnits: try row.int64("open_amount_minor"), currency: currency))
        }
    }
}
