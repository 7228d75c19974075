import Foundation
public import NightjarCore
public import NightjarMatching
import NightjarStore

/// A decision a person made (a reassignment, an accepted suggestion), kept when the batch is
/// decided again, with why it no longer fits when it does not.
public struct KeptDecision: Sendable, Codable, Equatable {
    public let batchID: Int64
    /// The line as `batch show` numbers it (from 1).
    public let line: Int
    public let invoice: String?
    public let status: String
    public let rule: String
    /// Nil while it still fits; else what changed under it.
    public let problem: String?

    enum CodingKeys: String, CodingKey {
        case batchID = "batch", line, invoice, status, rule, problem
    }
}

/// How one batch came out of matching.
public struct BatchMatchResult: Sendable, Codable, Equatable {
    public let batchID: Int64
    public let client: ClientID
    /// Count of lines per status (`paid_in_full`, `short_paid`, `unknown_payer`, ...).
    public let statuses: [String: Int]
    /// The customers the payer is known as (empty: no alias yet, so nothing can match).
    public let customers: [String]
    public let currency: String
    public let appliedCash: String
    public let unappliedCash: String
    /// The batch is the same payment as this earlier one, sent again in another file.
    public let duplicateOf: Int64?
    /// Lines whose payer maps to no customer (counted apart from unknown references).
    public let unknownPayerLines: Int
    /// What to run to fix what kept lines from matching (an unknown payer, a payer id that is a customer id).
    public let hints: [String]
    public let keptDecisions: [KeptDecision]
    /// Whether the batch had been decided before (this was a re-decision).
    public let decidedBefore: Bool

    enum CodingKeys: String, CodingKey {
        case batchID = "batch", client, statuses, customers, currency, appliedCash = "applied_cash", unappliedCash =
            "unapplied_cash"
        case duplicateOf = "duplicate_of", unknownPayerLines = "unknown_payer_lines", hints, keptDecisions =
            "kept_decisions"
        case decidedBefore = "decided_before"
    }
}

/// What one call to match did, over all the batches it decided.
public struct MatchRun: Sendable, Codable, Equatable {
    public let batches: [BatchMatchResult]

    public init(batches: [BatchMatchResult]) { self.batches = batches }

    /// Lines per status over every batch.
    public var statuses: [String: Int] {
        var totals: [String: Int] = [:]
        for batch in batches { for (status, count) in batch.statuses { totals[status, default: 0] += count } }
        return totals
    }

    /// Batches decided again (they had decisions before).
    public var redecided: Int { batches.filter(\.decidedBefore).count }
    public var unknownPayerLines: Int { batches.map(\.unknownPayerLines).reduce(0, +) }
    public var duplicates: Int { batches.filter { $0.duplicateOf != nil }.count }
    public var keptDecisions: [KeptDecision] { batches.flatMap(\.keptDecisions) }
    /// Decisions a person made that no longer fit: listed, never silently undone.
    public var noLongerFitting: [KeptDecision] { keptDecisions.filter { $0.problem != nil } }

    enum CodingKeys: String, CodingKey {
        case batches, statuses, redecided, unknownPayerLines = "unknown_payer_lines", duplicates, keptDecisions =
            "kept_decisions"
        case noLongerFitting = "no_longer_fitting"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(batches, forKey: .batches)
        try container.encode(statuses, forKey: .statuses)
        try container.encode(redecided, forKey: .redecided)
        try container.encode(unknownPayerLines, forKey: .unknownPayerLines)
        try container.encode(duplicates, forKey: .duplicates)
        try container.encode(keptDecisions, forKey: .keptDecisions)
        try container.encode(noLongerFitting, forKey: .noLongerFitting)
    }

    public init(from decoder: any Decoder) throws {
        batches = try decoder.container(keyedBy: CodingKeys.self).decode([BatchMatchResult].self, forKey: .batches)
    }
}

/// Which of a client's batches a match decides.
public enum MatchScope: Sendable, Equatable {
    /// Batches never matched, and every pending batch after the first of them (import order).
    case newBatches
    /// Every batch not approved, exported or reversed: after invoices, aliases or rules changed.
    case allPending
    /// This pending batch and every pending one after it.
    case from(Int64)
}

/// One line's decision and what to say about it, ready to store.
struct DecidedLine: Sendable {
    let lineID: Int64
    let status: LineStatus
    let rule: String
    /// The one invoice, or nil (none, or several: then `several`).
    let invoiceID: Int64?
    let openAmount: Int64?
    let applied: Int64
    let discount: Int64
    let writeOff: Int64
    let unapplied: Int64
    /// As stored (the thread that decides writes them; storing is the slower side).
    let deductions: String
    let suggestions: String
    let candidates: String?
    let paidBy: Int64?
    var note: String?
    let several: [Application]

    /// Only what is stored is kept: the decision itself is freed where it was made.
    init(decision: MatchDecision, note: String?) {
        lineID = decision.lineID
        status = decision.status
        rule = decision.rule
        let single = decision.applications.count == 1 ? decision.applications[0] : nil
        invoiceID = single?.invoiceID
        openAmount = single?.openAmount.minorUnits
        var applied: Int64 = 0
        var discount: Int64 = 0
        var writeOff: Int64 = 0
        for application in decision.applications {
            applied += application.applied.minorUnits
            discount += application.discount.minorUnits
            writeOff += application.writeOff.minorUnits
        }
        self.applied = applied
        self.discount = discount
        self.writeOff = writeOff
        unapplied = decision.unapplied.minorUnits
        deductions = DecisionJSON.deductions(decision.deductions)
        suggestions = DecisionJSON.suggestions(decision.suggestions)
        candidates =
            decision.applications.isEmpty && !decision.candidates.isEmpty
            ? "[" + decision.candidates.map(String.init).joined(separator: ",") + "]" : nil
        paidBy = decision.paidBy
        self.note = note
        several = decision.applications.count > 1 ? decision.applications : []
    }
}

/// A batch decided and not yet stored.
struct PreparedBatch: Sendable {
    let batch: PendingBatch
    let decisions: [DecidedLine]
    let result: BatchMatchResult
    /// The currency its lines were matched in (the customer's, when the file named none).
    let currency: CurrencyCode
}

/// A stored remittance line as the matcher takes it, with its place in the batch.
struct StoredLine: Sendable {
    let line: LineToMatch
    let position: Int

    /// The same line in another currency of the same minor units (the file named none).
    func `in`(_ currency: CurrencyCode) -> StoredLine {
        func moved(_ money: Money) -> Money { Money(minorUnits: money.minorUnits, currency: currency) }
        return StoredLine(
            line: LineToMatch(
                id: line.id, reference: line.reference, amountPaid: moved(line.amountPaid),
                discount: line.discount.map(moved),
                adjustments: line.adjustments.map { adjustment in
                    var copy = adjustment
                    copy.amount = moved(adjustment.amount)
                    return copy
                },
                paymentDate: line.paymentDate, namedInvoice: line.namedInvoice),
            position: position)
    }
}

/// The invoices a matcher indexes and the applications it starts from (line, invoice, applied).
struct MatcherParts: Sendable {
    let table: InvoiceTable
    let earlier: [(Int64, Int64, Int64)]

    func matcher(rules: MatchingRules) -> Matcher {
        var matcher = Matcher(rules: rules, table: table)
        for (lineID, invoiceID, applied) in earlier {
            matcher.recordEarlier(invoiceID: invoiceID, applied: applied, lineID: lineID)
        }
        return matcher
    }
}

/// A batch's lines and what deciding it needs from the store, read ahead of the matcher.
struct ReadBatch: Sendable {
    let batch: PendingBatch
    let lines: [StoredLine]
    let manual: [Int64: Ledger.ManualDecision]
    let duplicate: Int64?
    let payer: PayerCustomers
    /// For a duplicate: the first payment's line at each position.
    let originals: [Int: Int64]
    let decidedBefore: Bool
}

/// A batch's row, as matching reads it.
struct PendingBatch: Sendable {
    let id: Int64
    let status: String
    let payerName: String?
    let payerID: String?
    let traceNumber: String?
    let paymentDate: CalendarDate?
    let total: Int64
    let currency: CurrencyCode
    let currencyDeclared: Bool
    let sourceFile: Int64
}

extension Ledger {
    /// Matches one batch (and the client's pending batches after it, whose paid-twice decisions
    /// depend on it); refuses an approved, exported or reversed batch.
    public func match(batch id: Int64, rules: MatchingRules = .standard) throws -> BatchMatchResult {
        let results = try match(batches: [id], rules: { _ in rules })
        guard let result = results.first(where: { $0.batchID == id }) else { throw ReviewError.missing(id) }
        return result
    }

    /// Matches these batches, each client's from the first of them onward in import order.
    /// Refuses, before changing anything, when any of them is approved,
    /// exported or reversed: matching never changes a batch a person has signed off.
    /// `beforeCommit` runs before each commit, `afterCommit` after it for each batch it held.
    public func match(
        batches ids: [Int64], rules: (ClientID) throws -> MatchingRules = { _ in .standard },
        beforeCommit: () -> Void = {},
        afterCommit: (BatchMatchResult) -> Void = { _ in }
    ) throws -> [BatchMatchResult] {
        var firstByClient: [ClientID: Int64] = [:]
        var clients: [ClientID] = []
        for id in ids {
            guard
                let row = try database.query("SELECT client_id, status FROM remittance_batch WHERE id = ?", [id]).first
            else { throw ReviewError.missing(id) }
            try refuseFrozen(id, status: try row.string("status"))
            let client = ClientID(try row.string("client_id"))
            if firstByClient[client] == nil { clients.append(client) }
            firstByClient[client] = min(firstByClient[client] ?? id, id)
        }
        var results: [BatchMatchResult] = []
        for client in clients {
            results += try match(
                client: client, scope: .from(firstByClient[client]!), rules: try rules(client),
                beforeCommit: beforeCommit,
                afterCommit: afterCommit
            ).batches
        }
        return results
    }

    /// Throws when matching may not touch this batch.
    func refuseFrozen(_ id: Int64, status: String) throws {
        if status == "approved" || status == "reversed" { throw ReviewError.frozen(id, status) }
        if try database.scalar(Int64.self, "SELECT count(*) FROM gl_export WHERE batch_id = ?", [id]) ?? 0 > 0 {
            throw ReviewError.frozen(id, "exported")
        }
    }

    /// Decides a client's pending batches in import order (file, then position), whole batches
    /// per transaction (a batch is never half decided), against all the client's invoices: what an earlier pending line applied counts for
    /// every later one, so a second payment of an invoice is `paid_twice` pointing at the first.
    /// Decisions a person made are kept (those that no longer fit are listed); approved,
    /// exported and reversed batches are never touched.
    /// `linesPerTransaction` bounds how many lines share a commit (at least one whole batch each).
    public func match(
        client: ClientID, scope: MatchScope = .newBatches, rules: MatchingRules = .standard,
        linesPerTransaction: Int = 10_000,
        beforeCommit: () -> Void = {}, afterCommit: (BatchMatchResult) -> Void = { _ in }
    ) throws -> MatchRun {
        try match(
            client: client, scope: scope, rules: rules, linesPerTransaction: linesPerTransaction,
            secondConnectionFrom: Ledger.linesWorthASecondConnection,
            beforeCommit: beforeCommit, afterCommit: afterCommit)
    }

    /// `match`, deciding on a second connection from `secondConnectionFrom` lines to decide, and
    /// with foreign-key checks off from `suspendingForeignKeysFrom` (when the count is known).
    func match(
        client: ClientID, scope: MatchScope, rules: MatchingRules, linesPerTransaction: Int,
        secondConnectionFrom: Int64, suspendingForeignKeysFrom: Int64 = Ledger.linesWorthSuspendingForeignKeys,
        beforeCommit: () -> Void, afterCommit: (BatchMatchResult) -> Void
    ) throws -> MatchRun {
        let pending = try pendingBatches(client: client)
        let first: Int
        // Lines still to decide, when known: a handful is decided faster on this connection alone
        // than a second connection and thread can be started (a night matches a thousand clients).
        var linesToDecide: Int64?
        let decided = Set(
            try database.query(
                """
                SELECT DISTINCT m.batch_id FROM line_match m JOIN remittance_batch b ON b.id = m.batch_id WHERE b.client_id = ?
                """, [client]
            ).map { try $0.int64("batch_id") })
        switch scope {
        case .allPending:
            first = 0
        case .from(let id):
            guard let index = pending.firstIndex(where: { $0.id >= id }) else { return MatchRun(batches: []) }
            first = index
        case .newBatches:
            let lineCounts = Dictionary(
                uniqueKeysWithValues: try database.query(
                    """
                    SELECT b.id, (SELECT count(*) FROM remittance_line l WHERE l.batch_id = b.id) AS lines FROM remittance_batch b WHERE b.client_id = ?
                    """, [client]
                ).map { (try $0.int64("id"), try $0.int64("lines")) })
            guard let index = pending.firstIndex(where: { !decided.contains($0.id) && (lineCounts[$0.id] ?? 0) > 0 })
            else { return MatchRun(batches: []) }
            first = index
            linesToDecide = pending[index...].reduce(0) { $0 + (lineCounts[$1.id] ?? 0) }
        }
        let batches = Array(pending[first...])
        let earlier = pending[..<first].filter { $0.status != "duplicate_payment" }.map(\.id)
        // Decisions are worked out on a second connection while this one writes the ones before
        // (two cores: reading and matching beside storing); inside the caller's transaction, or
        // in memory, on this connection alone.
        let handoff = Handoff<PreparedBatch>(limit: 8)
        let matcherBox = Handoff<MatcherParts>(limit: 1)
        let path = database.path
        let reading: Thread?
        if path != ":memory:" && !database.isInTransaction && (linesToDecide ?? Int64.max) >= secondConnectionFrom {
            // This connection builds the matcher meanwhile, then hands it over.
            let thread = Thread {
                do {
                    let reader = Ledger(
                        database: try Database(
                            path: path,
                            options: {
                                var options = DatabaseOptions()
                                options.readOnly = true
                                return options
                            }()))
                    try reader.prepareAll(
                        batches, client: client, rules: rules, decided: decided, matcher: matcherBox, into: handoff)
                } catch {
                    handoff.fail(error)
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
            reading = thread
        } else {
            reading = nil
        }
        defer { matcherBox.cancel() }
        if reading != nil {
            do {
                guard matcherBox.put(try matcherParts(client: client, earlier: earlier)) else {
                    return MatchRun(batches: [])
                }
                matcherBox.finish()
            } catch {
                matcherBox.fail(error)
                handoff.cancel()
                throw error
            }
        }
        defer { handoff.cancel() }
        var results: [BatchMatchResult] = []
        // The ids matching writes (lines, batches, invoices) are the ones it has just read, and
        // nothing deletes them: checking each against its table again would cost a sixth of the time.
        // A few lines are checked (`linesWorthSuspendingForeignKeys`).
        let checking =
            (linesToDecide ?? Int64.max) >= suspendingForeignKeysFrom ? try suspendForeignKeyChecks() : false
        defer { if checking { try? database.execute("PRAGMA foreign_keys = ON") } }
        var matcher: Matcher?
        var next = 0
        func take() throws -> PreparedBatch? {
            if reading != nil { return try handoff.take() }
            guard next < batches.count else { return nil }
            if matcher == nil { matcher = try startMatcher(client: client, rules: rules, earlier: earlier) }
            let batch = batches[next]
            next += 1
            return try prepare(
                batch, client: client, rules: rules, matcher: &matcher!, decidedBefore: decided.contains(batch.id))
        }
        // Whole batches per transaction, by default up to about ten thousand lines: a batch is never
        // half decided, and a million lines do not wait for four thousand commits.
        var pendingBatch = try take()
        while pendingBatch != nil {
            var group: [BatchMatchResult] = []
            try database.transaction {
                var lines = 0
                while let prepared = pendingBatch, group.isEmpty || lines < linesPerTransaction {
                    try write(prepared)
                    lines += prepared.decisions.count
                    group.append(prepared.result)
                    pendingBatch = try take()
                }
                beforeCommit()
            }
            for result in group { afterCommit(result) }
            results += group
        }
        return MatchRun(batches: results)
    }

    /// From how many lines to decide matching reads and decides on a second connection beside
    /// the one that writes.
    static let linesWorthASecondConnection: Int64 = 2_000

    /// Lines from which matching turns foreign-key checks off, and bytes from which an import
    /// does: turning them off and on again makes SQLite expire every statement the connection has
    /// prepared (each is compiled again on its next use), which costs more than checking the
    /// rows of a small file or a client's few new lines (a night imports thousands of those).
    public static let linesWorthSuspendingForeignKeys: Int64 = 2_000
    public static let bytesWorthSuspendingForeignKeys = 256 * 1024

    /// Turns foreign-key checks off on this connection, outside a transaction only (inside one
    /// the pragma does nothing); true when the caller must turn them on again. For writers whose
    /// every id was read or inserted in the same breath: bulk imports and matching.
    func suspendForeignKeyChecks() throws -> Bool {
        guard !database.isInTransaction, try database.scalar(Int64.self, "PRAGMA foreign_keys") ?? 0 != 0 else {
            return false
        }
        try database.execute("PRAGMA foreign_keys = OFF")
        return true
    }

    /// A matcher over all the client's invoices, with what the earlier pending batches applied.
    func startMatcher(client: ClientID, rules: MatchingRules, earlier: [Int64]) throws -> Matcher {
        try matcherParts(client: client, earlier: earlier).matcher(rules: rules)
    }

    /// What a matcher is built from, read from the store: the invoices, and what the earlier
    /// pending batches applied.
    func matcherParts(client: ClientID, earlier: [Int64]) throws -> MatcherParts {
        var applied: [(Int64, Int64, Int64)] = []
        for batch in earlier { applied += try storedApplications(batch: batch) }
        return MatcherParts(table: try invoiceTable(client: client), earlier: applied)
    }

    /// Decides `batches` in order on this (reading) connection, handing each over as it is done:
    /// reads ahead (up to some fifty thousand lines) until the matcher arrives, then decides.
    func prepareAll(
        _ batches: [PendingBatch], client: ClientID, rules: MatchingRules, decided: Set<Int64>,
        matcher box: Handoff<MatcherParts>,
        into handoff: Handoff<PreparedBatch>
    ) throws {
        var ahead: [ReadBatch] = []
        var next = 0
        var lines = 0
        while next < batches.count && lines < 50_000 && !box.hasItems {
            let batch = batches[next]
            let read = try read(batch, client: client, rules: rules, decidedBefore: decided.contains(batch.id))
            lines += read.lines.count
            ahead.append(read)
            next += 1
        }
        guard var matcher = try box.take()?.matcher(rules: rules) else { return }
        for read in ahead {
            guard handoff.put(try prepare(read, client: client, matcher: &matcher)) else { return }
        }
        ahead.removeAll()
        while next < batches.count {
            let batch = batches[next]
            next += 1
            guard
                handoff.put(
                    try prepare(
                        batch, client: client, rules: rules, matcher: &matcher,
                        decidedBefore: decided.contains(batch.id)))
            else { return }
        }
        handoff.finish()
    }

    /// Decides every pending batch of the client again: after open invoices, aliases or rules
    /// changed, after a reversal or a reassignment (lines that were paid twice against a changed
    /// line are decided again). Decisions a person made are kept.
    public func redecide(client: ClientID, rules: MatchingRules = .standard) throws -> MatchRun {
        try match(client: client, scope: .allPending, rules: rules)
    }

    /// After a batch changed (reversed, or a line reassigned): decides its client's pending batches
    /// again, so every line that pointed at a changed line is decided anew.
    public func redecideAfterChange(batch id: Int64, rules: (ClientID) throws -> MatchingRules) throws -> MatchRun {
        guard let client = try database.scalar(String.self, "SELECT client_id FROM remittance_batch WHERE id = ?", [id])
        else { throw ReviewError.missing(id) }
        return try redecide(client: ClientID(client), rules: try rules(ClientID(client)))
    }

    /// The client's batches that matching may decide, in import order.
    func pendingBatches(client: ClientID) throws -> [PendingBatch] {
        var result: [PendingBatch] = []
        for row in try database.query(
            """
            SELECT id, status, payer_name, payer_id, trace_number, payment_date, total_minor, currency, currency_declared, source_file_id
            FROM remittance_batch b WHERE client_id = ? AND status NOT IN ('approved', 'reversed')
                AND NOT EXISTS (SELECT 1 FROM gl_export g WHERE g.batch_id = b.id)
            ORDER BY id
            """, [client])
        {
            result.append(
                PendingBatch(
                    id: try row.int64("id"), status: try row.string("status"),
                    payerName: try row.optionalString("payer_name"),
                    payerID: try row.optionalString("payer_id"), traceNumber: try row.optionalString("trace_number"),
                    paymentDate: try row.get("payment_date", as: CalendarDate?.self),
                    total: try row.int64("total_minor"),
                    currency: try CurrencyCode(try row.string("currency")),
                    currencyDeclared: try row.int64("currency_declared") != 0,
                    sourceFile: try row.int64("source_file_id")))
        }
        return result
    }

    /// The earlier batch this one repeats: same payer, trace number, amount and date, from other bytes.
    func duplicateOf(_ batch: PendingBatch, client: ClientID) throws -> Int64? {
        guard let trace = batch.traceNumber, !trace.trimmingWhitespace().isEmpty else { return nil }
        for row in try database.query(
            """
            SELECT id, payer_id, payer_name, currency, currency_declared FROM remittance_batch
            WHERE client_id = ? AND trace_number = ? AND total_minor = ? AND payment_date IS ? AND id < ? AND source_file_id <> ?
                AND status <> 'duplicate_payment'
            ORDER BY id
            """, [client, trace, batch.total, batch.paymentDate, batch.id, batch.sourceFile])
        {
            // A currency the file did not name may have become the customer's: compare only named ones.
            let theirCurrency = try row.string("currency")
            let theyDeclared = try row.int64("currency_declared") != 0
            if batch.currencyDeclared && theyDeclared && theirCurrency != batch.currency.code { continue }
            let theirID = try row.optionalString("payer_id").map(Ledger.aliasKey) ?? ""
            let theirName = try row.optionalString("payer_name").map(Ledger.aliasKey) ?? ""
            let ourID = batch.payerID.map(Ledger.aliasKey) ?? ""
            let ourName = batch.payerName.map(Ledger.aliasKey) ?? ""
            if !theirID.isEmpty || !ourID.isEmpty ? theirID == ourID : theirName == ourName {
                return try row.int64("id")
            }
        }
        return nil
    }

    /// A person's stored decision on a line.
    struct ManualDecision: Sendable {
        let status: String
        let rule: String
        let invoice: Int64?
        let applied: Int64
        let unapplied: Int64
        let applications: [(invoice: Int64, applied: Int64)]
    }

    func manualDecisions(batch id: Int64) throws -> [Int64: ManualDecision] {
        var result: [Int64: ManualDecision] = [:]
        for row in try database.query(
            """
            SELECT line_id, status, rule, invoice_id, applied_minor, unapplied_minor FROM line_match WHERE batch_id = ? AND rule LIKE 'manual.%'
            """, [id])
        {
            let lineID = try row.int64("line_id")
            let invoice = try row.get("invoice_id", as: Int64?.self)
            let applied = try row.int64("applied_minor")
            var applications: [(Int64, Int64)] = invoice.map { [($0, applied)] } ?? []
            if invoice == nil {
                applications = try database.query(
                    "SELECT invoice_id, applied_minor FROM line_application WHERE line_id = ? ORDER BY id", [lineID]
                ).map {
                    (try $0.int64("invoice_id"), try $0.int64("applied_minor"))
                }
            }
            result[lineID] = ManualDecision(
                status: try row.string("status"), rule: try row.string("rule"), invoice: invoice,
                applied: try row.int64("applied_minor"), unapplied: try row.int64("unapplied_minor"),
                applications: applications)
        }
        return result
    }

    /// What a batch's stored decisions applied, line by line in order: (line, invoice, applied).
    func storedApplications(batch id: Int64) throws -> [(Int64, Int64, Int64)] {
        var result: [(Int64, Int64, Int64)] = []
        try database.prepared(
            "SELECT line_id, invoice_id, applied_minor FROM line_match WHERE batch_id = ? AND invoice_id IS NOT NULL"
        ).with(id) {
            result.append(($0.int64(0), $0.int64(1), $0.int64(2)))
        }
        try database.prepared(
            "SELECT line_id, invoice_id, applied_minor FROM line_application WHERE batch_id = ? ORDER BY id"
        ).with(id) {
            result.append(($0.int64(0), $0.int64(1), $0.int64(2)))
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// Decides one batch inside the caller's transaction.
    /// Decides one batch, reading only: what `write` then stores.
    func prepare(
        _ batch: PendingBatch, client: ClientID, rules: MatchingRules, matcher: inout Matcher, decidedBefore: Bool
    ) throws -> PreparedBatch {
        try prepare(
            try read(batch, client: client, rules: rules, decidedBefore: decidedBefore), client: client,
            matcher: &matcher)
    }

    /// What deciding a batch needs from the store, read before the matcher is ready.
    func read(_ batch: PendingBatch, client: ClientID, rules: MatchingRules, decidedBefore: Bool) throws -> ReadBatch {
        let duplicate = try duplicateOf(batch, client: client)
        var originals: [Int: Int64] = [:]
        if let duplicate {
            for row in try database.query("SELECT id, position FROM remittance_line WHERE batch_id = ?", [duplicate]) {
                originals[Int(try row.int64("position"))] = try row.int64("id")
            }
        }
        return ReadBatch(
            batch: batch,
            lines: try linesToMatch(batch: batch.id, currency: batch.currency, paymentDate: batch.paymentDate),
            manual: decidedBefore ? try manualDecisions(batch: batch.id) : [:], duplicate: duplicate,
            payer: try customers(client: client, payerID: batch.payerID, name: batch.payerName, rules: rules),
            originals: originals,
            decidedBefore: decidedBefore)
    }

    /// Decides a batch read before (the few lookups it still makes read this connection).
    func prepare(_ read: ReadBatch, client: ClientID, matcher: inout Matcher) throws -> PreparedBatch {
        let batch = read.batch
        let manual = read.manual
        let duplicate = read.duplicate
        let payer = read.payer
        let originals = read.originals
        let decidedBefore = read.decidedBefore
        let set = matcher.invoices.customerSet(payer.customers)
        // A file that names no currency: the lines are in the customer's ledger currency.
        var currency = batch.currency
        var lines = read.lines
        if !batch.currencyDeclared, let ledgerCurrency = matcher.invoices.ledgerCurrency(of: set),
            ledgerCurrency != currency,
            ledgerCurrency.minorUnitDigits == currency.minorUnitDigits
        {
            currency = ledgerCurrency
            lines = lines.map { $0.in(currency) }
        }
        var decisions: [DecidedLine] = []
        var kept: [KeptDecision] = []
        var statuses: [String: Int] = [:]
        var appliedCash: Int64 = 0
        var unknownPayerLines = 0
        var hints: [String] = payer.hint.map { [$0] } ?? []
        var answering: [String: Int] = [:]
        for stored in lines {
            let line = stored.line
            if let person = manual[line.id] {
                var problem: String?
                for application in person.applications
                where !matcher.recordEarlier(
                    invoiceID: application.invoice, applied: application.applied, lineID: line.id)
                {
                    problem =
                        try invoiceNumber(application.invoice).map {
                            "invoice \($0) was already paid when this line came"
                        } ?? "the invoice is gone"
                }
                if duplicate != nil { problem = "the batch repeats batch \(duplicate!) (duplicate payment)" }
                kept.append(
                    KeptDecision(
                        batchID: batch.id, line: stored.position + 1,
                        invoice: try person.invoice.flatMap { try invoiceNumber($0) },
                        status: person.status, rule: person.rule, problem: problem))
                statuses[person.status, default: 0] += 1
                if !person.applications.isEmpty { appliedCash += line.amountPaid.minorUnits - person.unapplied }
                continue
            }
            var decision: MatchDecision
            var note: String?
            if duplicate != nil {
                decision = matcher.undecided(
                    line, status: .duplicatePayment, rule: "payment.duplicate", paidBy: originals[stored.position])
                note = "the same payment as batch \(duplicate!): not matched again"
            } else if payer.customers.isEmpty {
                decision = matcher.undecided(line, status: .unknownPayer, rule: "payer.unknown")
                unknownPayerLines += 1
                for customer in matcher.customersAnswering(line.reference, currency: currency) {
                    answering[customer, default: 0] += 1
                }
            } else {
                decision = matcher.match(line, customers: set)
                if decision.status == .paidTwice, decision.paidBy == nil, decision.candidates.count == 1 {
                    let paidBy = try approvedLine(paying: decision.candidates[0])
                    decision = MatchDecision(
                        lineID: decision.lineID, status: decision.status, rule: decision.rule,
                        deductions: decision.deductions,
                        unapplied: decision.unapplied, candidates: decision.candidates,
                        suggestions: decision.suggestions, paidBy: paidBy)
                }
            }
            statuses[decision.status.rawValue, default: 0] += 1
            if !decision.applications.isEmpty {
                appliedCash += line.amountPaid.minorUnits - decision.unapplied.minorUnits
            }
            decisions.append(DecidedLine(decision: decision, note: note))
        }
        if unknownPayerLines > 0 {
            let payerText = [batch.payerName, batch.payerID.map { "id \($0)" }].compactMap { $0 }.joined(
                separator: ", ")
            let alias = Ledger.quoted(batch.payerID ?? batch.payerName ?? "PAYER")
            // The customer most of its references answer to, when one clearly is.
            let ranked = answering.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            let others = ranked.dropFirst().map(\.value).reduce(0, +)
            let likely = ranked.first.flatMap { $0.value > others ? $0.key : nil } ?? "CUSTOMER"
            let hint =
                "payer \(payerText.isEmpty ? "(unnamed)" : payerText) is not known as a customer of \(client): nightjar customers alias add \(alias) \(likely) --client \(client)"
            hints.append(hint)
            // A payer id that is a customer id says how to use it, too.
            let note = payer.hint.map { hint + "; " + $0 } ?? hint
            for index in decisions.indices where decisions[index].status == .unknownPayer {
                decisions[index].note = note
            }
        }
        let balance = BatchBalance(total: Money(minorUnits: batch.total, currency: currency), appliedCash: appliedCash)
        let result = BatchMatchResult(
            batchID: batch.id, client: client, statuses: statuses, customers: payer.customers, currency: currency.code,
            appliedCash: balance.appliedCash.decimalString, unappliedCash: balance.unappliedCash.decimalString,
            duplicateOf: duplicate,
            unknownPayerLines: unknownPayerLines, hints: hints, keptDecisions: kept, decidedBefore: decidedBefore)
        return PreparedBatch(batch: batch, decisions: decisions, result: result, currency: currency)
    }

    /// Stores what `prepare` decided, inside the caller's transaction.
    func write(_ prepared: PreparedBatch) throws {
        let batch = prepared.batch
        if let duplicate = prepared.result.duplicateOf {
            try database.execute(
                "UPDATE remittance_batch SET status = 'duplicate_payment', duplicate_of = ? WHERE id = ?",
                [duplicate, batch.id])
        } else if batch.status == "duplicate_payment" {
            try database.execute(
                "UPDATE remittance_batch SET status = 'new', duplicate_of = NULL WHERE id = ?", [batch.id])
        }
        if prepared.currency != batch.currency {
            try database.execute(
                "UPDATE remittance_batch SET currency = ? WHERE id = ?", [prepared.currency, batch.id])
        }
        try store(prepared.decisions, batch: batch.id, replacing: prepared.result.decidedBefore)
    }

    static func quoted(_ text: String) -> String {
        text.contains(where: { $0 == " " || $0 == "'" || $0 == "\"" })
            ? "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" : text
    }

    func invoiceNumber(_ id: Int64) throws -> String? {
        try database.scalar(String.self, "SELECT invoice_number FROM open_invoice WHERE id = ?", [id])
    }

    /// The first line of an approved batch that applied to this invoice.
    func approvedLine(paying invoice: Int64) throws -> Int64? {
        try database.scalar(
            Int64.self,
            """
            SELECT line_id FROM (
                SELECT m.line_id, m.batch_id FROM line_match m WHERE m.invoice_id = ?
                UNION ALL SELECT a.line_id, a.batch_id FROM line_application a WHERE a.invoice_id = ?
            ) x JOIN remittance_batch b ON b.id = x.batch_id WHERE b.status = 'approved' ORDER BY b.id, x.line_id LIMIT 1
            """, [invoice, invoice])
    }

    /// Writes a batch's decisions (a person's are left as they are).
    func store(_ decisions: [DecidedLine], batch id: Int64, replacing: Bool) throws {
        if replacing {
            try database.execute(
                """
                DELETE FROM line_application WHERE batch_id = ? AND line_id NOT IN (SELECT line_id FROM line_match WHERE batch_id = ? AND rule LIKE 'manual.%')
                """, [id, id])
            try database.execute("DELETE FROM line_match WHERE batch_id = ? AND rule NOT LIKE 'manual.%'", [id])
        }
        let rowsPerStatement = DecisionInserts.rowsPerStatement
        let insertMany = try database.prepared(DecisionInserts.many)
        let insertOne = try database.prepared(DecisionInserts.one)
        let insertApplication = try database.prepared(DecisionInserts.application)
        let now = Logger.timestamp()
        func bind(_ line: DecidedLine, into insert: PreparedStatement, row: Int32) {
            let base = row * 16
            insert.bind(line.lineID, at: base + 1)
            insert.bind(id, at: base + 2)
            insert.bind(line.status.rawValue, at: base + 3)
            insert.bind(line.invoiceID, at: base + 4)
            insert.bind(line.rule, at: base + 5)
            insert.bind(line.applied, at: base + 6)
            insert.bind(line.discount, at: base + 7)
            insert.bind(line.writeOff, at: base + 8)
            insert.bind(line.unapplied, at: base + 9)
            insert.bind(line.deductions, at: base + 10)
            insert.bind(line.suggestions, at: base + 11)
            insert.bind(now, at: base + 12)
            insert.bind(line.paidBy, at: base + 13)
            insert.bind(line.openAmount, at: base + 14)
            insert.bind(line.candidates, at: base + 15)
            insert.bind(line.note, at: base + 16)
        }
        var start = 0
        while start < decisions.count {
            if decisions.count - start >= rowsPerStatement {
                for offset in 0..<rowsPerStatement {
                    bind(decisions[start + offset], into: insertMany, row: Int32(offset))
                }
                try insertMany.run()
                start += rowsPerStatement
            } else {
                bind(decisions[start], into: insertOne, row: 0)
                try insertOne.run()
                start += 1
            }
        }
        for decision in decisions where !decision.several.isEmpty {
            for application in decision.several {
                insertApplication.bind(decision.lineID, at: 1)
                insertApplication.bind(id, at: 2)
                insertApplication.bind(application.invoiceID, at: 3)
                insertApplication.bind(application.openAmount.minorUnits, at: 4)
                insertApplication.bind(application.applied.minorUnits, at: 5)
                insertApplication.bind(application.discount.minorUnits, at: 6)
                insertApplication.bind(application.writeOff.minorUnits, at: 7)
                insertApplication.bind(application.deducted.minorUnits, at: 8)
                try insertApplication.run()
            }
        }
    }

    /// The statements that store decisions, written once (a night stores a thousand clients'
    /// batches one at a time: building and hashing the text for each cost a tenth of matching).
    enum DecisionInserts {
        static let columns =
            "(line_id, batch_id, status, invoice_id, rule, applied_minor, discount_minor, write_off_minor, unapplied_minor, deductions, suggestions, "
            + "matched_at, paid_by_line_id, open_minor, candidates, note)"
        static let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        /// Sixteen rows a statement: a million decisions are written with a sixteenth of the statements.
        static let rowsPerStatement = 16
        static let many =
            "INSERT INTO line_match \(columns) VALUES "
            + Array(repeating: row, count: rowsPerStatement).joined(separator: ", ")
        static let one = "INSERT INTO line_match \(columns) VALUES \(row)"
        static let application = """
            INSERT INTO line_application (line_id, batch_id, invoice_id, open_minor, applied_minor, discount_minor, write_off_minor, deducted_minor)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """
    }

    /// All the client's invoices (open and settled), column by column, for the matcher.
    func invoiceTable(client: ClientID) throws -> InvoiceTable {
        var table = InvoiceTable()
        if let count = try database.scalar(
            Int64.self, "SELECT count(*) FROM open_invoice WHERE client_id = ?", [client])
        {
            table.reserve(Int(count))
        }
        var currency = CurrencyCode.usd
        var currencyBytes: [UInt8] = Array(currency.code.utf8)
        var customer = ""
        var terms: [String: DiscountTerms?] = [:]
        try database.prepared(
            """
            SELECT id, customer_id, invoice_number, amount_minor, open_amount_minor, currency, invoice_date, po_number, terms
            FROM open_invoice WHERE client_id = ?
            """
        ).with(client.rawValue) { row in
            // Consecutive rows mostly share a customer and a currency: compare bytes, make no string.
            let code = row.bytes(5)
            if !code.elementsEqual(currencyBytes) {
                currency = try CurrencyCode(String(decoding: code, as: UTF8.self))
                currencyBytes = Array(code)
            }
            let customerBytes = row.bytes(1)
            if !customerBytes.elementsEqual(customer.utf8) { customer = String(decoding: customerBytes, as: UTF8.self) }
            var discount: DiscountTerms?
            if let text = row.optionalString(8) {
                if let known = terms[text] {
                    discount = known
                } else {
                    discount = DiscountTerms(text)
                    terms[text] = discount
                }
            }
            table.append(
                id: row.int64(0), customerID: customer, invoiceNumber: row.string(2), amount: row.int64(3),
                openAmount: row.int64(4),
                currency: currency, invoiceDay: row.isNull(6) ? nil : Ledger.daysSinceEpoch(isoDate: row.bytes(6)),
                purchaseOrderNumber: row.optionalString(7), terms: discount)
        }
        return table
    }

    /// Days since 1970-01-01 of a stored `YYYY-MM-DD` date, without building a calendar date.
    static func daysSinceEpoch(isoDate bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count == 10, bytes[4] == 0x2D, bytes[7] == 0x2D else {
            return (try? CalendarDate(iso: String(decoding: bytes, as: UTF8.self)))?.daysSinceEpoch
        }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let digit = Int(bytes[index]) - 48
                guard (0...9).contains(digit) else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let date = try? CalendarDate(year: year, month: month, day: day)
        else { return nil }
        return date.daysSinceEpoch
    }

    /// A batch's lines as the matcher takes them, in order, with their adjustments. The one place
    /// that reads `remittance_adjustment` for matching: its columns (reason text, references, the
    /// invoice an adjustment names) reach `LineAdjustment` here.
    func linesToMatch(batch id: Int64, currency: CurrencyCode, paymentDate: CalendarDate?) throws -> [StoredLine] {
        var adjustments: [(line: Int64, adjustment: LineAdjustment)] = []
        try database.prepared(
            """
            SELECT line_id, amount_minor, reason_code, reference FROM remittance_adjustment WHERE batch_id = ? AND line_id IS NOT NULL ORDER BY id
            """
        ).with(id) { row in
            adjustments.append(
                (
                    row.int64(0),
                    LineAdjustment(
                        amount: Money(minorUnits: row.int64(1), currency: currency), reasonCode: row.string(2),
                        reference: row.optionalString(3))
                ))
        }
        // An import writes lines and their adjustments in file order: walk both together (and
        // look them up by line when some other writer did not).
        var lines: [StoredLine] = []
        var next = 0
        var previous = Int64.min
        var ordered = adjustments.indices.dropFirst().allSatisfy { adjustments[$0 - 1].line <= adjustments[$0].line }
        var ownAdjustments: Set<Int64> = []
        try database.prepared(
            """
            SELECT id, position, reference, amount_paid_minor, discount_minor, invoice_reference, adjustment_minor, adjustment_reason
            FROM remittance_line WHERE batch_id = ? ORDER BY position
            """
        ).with(id) { row in
            let lineID = row.int64(0)
            if lineID <= previous { ordered = false }
            previous = lineID
            var mine: [LineAdjustment] = []
            if let own = row.optionalInt64(6) {
                // The line's one plain adjustment, on its own row.
                mine.append(
                    LineAdjustment(
                        amount: Money(minorUnits: own, currency: currency), reasonCode: row.string(7), reference: nil))
                ownAdjustments.insert(lineID)
            } else if ordered {
                while next < adjustments.count && adjustments[next].line < lineID { next += 1 }
                while next < adjustments.count && adjustments[next].line == lineID {
                    mine.append(adjustments[next].adjustment)
                    next += 1
                }
            }
            lines.append(
                StoredLine(
                    line: LineToMatch(
                        id: lineID, reference: row.string(2),
                        amountPaid: Money(minorUnits: row.int64(3), currency: currency),
                        discount: row.optionalInt64(4).map { Money(minorUnits: $0, currency: currency) },
                        adjustments: mine, paymentDate: paymentDate, namedInvoice: row.optionalString(5)),
                    position: Int(row.int64(1))))
        }
        if !ordered && !adjustments.isEmpty {
            var grouped: [Int64: [LineAdjustment]] = [:]
            for (line, adjustment) in adjustments { grouped[line, default: []].append(adjustment) }
            lines = lines.map { stored in
                let line = stored.line
                if ownAdjustments.contains(line.id) { return stored }
                return StoredLine(
                    line: LineToMatch(
                        id: line.id, reference: line.reference, amountPaid: line.amountPaid, discount: line.discount,
                        adjustments: grouped[line.id] ?? [], paymentDate: line.paymentDate,
                        namedInvoice: line.namedInvoice),
                    position: stored.position)
            }
        }
        return lines
    }

    /// The stored decision for each line of a batch: line position → (status, rule).
    public func lineStatuses(batch id: Int64) throws -> [Int: (status: String, rule: String)] {
        var result: [Int: (String, String)] = [:]
        for row in try database.query(
            """
            SELECT l.position, m.status, m.rule FROM line_match m JOIN remittance_line l ON l.id = m.line_id WHERE m.batch_id = ?
            """, [id])
        {
            result[Int(try row.int64("position"))] = (try row.string("status"), try row.string("rule"))
        }
        return result
    }

    /// Batches not matched yet, oldest first.
    public func unmatchedBatches(client: ClientID?) throws -> [Int64] {
        var sql =
            "SELECT b.id FROM remittance_batch b WHERE NOT EXISTS (SELECT 1 FROM line_match m WHERE m.batch_id = b.id)"
        var arguments: [any DatabaseValueConvertible] = []
        if let client {
            sql += " AND b.client_id = ?"
            arguments.append(client)
        }
        return try database.query(sql + " ORDER BY b.id", arguments).map { try $0.int64("id") }
    }

    /// Clients with batches that were never matched.
    public func clientsWithUnmatchedBatches() throws -> [ClientID] {
        try database.query(
            """
            SELECT DISTINCT b.client_id FROM remittance_batch b WHERE NOT EXISTS (SELECT 1 FROM line_match m WHERE m.batch_id = b.id)
                AND EXISTS (SELECT 1 FROM remittance_line l WHERE l.batch_id = b.id) ORDER BY b.client_id
            """
        ).map { ClientID(try $0.string("client_id")) }
    }
}

/// Hands prepared batches from the thread that decides them to the one that stores them, a few
/// at a time; an error on either side stops both.
final class Handoff<Item: Sendable>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Item] = []
    private var finished = false
    private var cancelled = false
    private var failure: (any Error)?
    private let limit: Int

    init(limit: Int) { self.limit = limit }

    /// False when the taker has stopped.
    func put(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= limit && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// Changes the shared state under the lock and wakes every waiting side to look at it again.
    private func changeAndWake(_ change: () -> Void) {
        condition.lock()
        change()
        condition.broadcast()
        condition.unlock()
    }

    func finish() { changeAndWake { finished = true } }

    func fail(_ error: any Error) {
        changeAndWake {
            failure = error
            finished = true
        }
    }

    /// Whether an item waits to be taken.
    var hasItems: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !items.isEmpty
    }

    /// The next item, nil when there are no more; rethrows the giver's error.
    func take() throws -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        if !items.isEmpty {
            let item = items.removeFirst()
            condition.broadcast()
            return item
        }
        if let failure { throw failure }
        return nil
    }

    /// The taker stops; waits until the giver has seen it.
    func cancel() { changeAndWake { cancelled = true } }
}

extension PreparedStatement {
    /// Binds one key (an id or a client) and streams the rows to `body`.
    func with(_ key: Int64, _ body: (Columns) throws -> Void) throws {
        bind(key, at: 1)
        try forEachRow(body)
    }

    func with(_ key: String, _ body: (Columns) throws -> Void) throws {
        bind(key, at: 1)
        try forEachRow(body)
    }
}
