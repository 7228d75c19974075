import Foundation
import NightjarCore
import NightjarLedger
import NightjarMatching
import NightjarReview
import NightjarStore
import NightjarVault

// Every call the site makes into review code, and every decision about who may see or do what,
// is in this file; nothing else in NightjarSite touches the ledger's review functions. The actions
// here are the ones the CLI's `batch approve/reverse/reassign/accept-suggestion/export` call.

/// What one person may see and do: the clients that exist for them and their roles.
struct ReviewScope: Sendable {
    let principal: SitePrincipal
    /// The only clients this person's pages and actions know of; any other client's batch,
    /// invoice or customer is answered as if it did not exist.
    let clients: [String]

    func contains(_ client: String) -> Bool { clients.contains(client) }

    /// Whether the person's roles allow `action` at all (which pages exist); each batch is then
    /// checked with `permits(_:client:)`.
    func permits(_ action: ReviewAction) -> Bool { ReviewAuthority.permits(action, roles: principal.roles) }

    /// Whether the person may take `action` on `client`'s batches (the rule the CLI applies too).
    func permits(_ action: ReviewAction, client: String) -> Bool {
        ReviewAuthority.permits(
            action, client: client, roles: principal.roles, keyClients: principal.clients, scope: principal.review)
    }

    /// The clients visible to `principal`: those it may read by the vault's roles and review
    /// grants (`ReviewAuthority.permits`); any other client does not exist for it.
    static func of(_ principal: SitePrincipal, allClients: [String]) -> ReviewScope {
        ReviewScope(
            principal: principal,
            clients: allClients.filter {
                ReviewAuthority.permits(
                    .read, client: $0, roles: principal.roles, keyClients: principal.clients, scope: principal.review)
            })
    }
}

/// Why an action was not taken.
enum ReviewRefusal: Error {
    /// No such batch, invoice or customer for this person (or one of a client they cannot see).
    case notFound
    /// Their roles do not allow it.
    case forbidden(String)
    /// The batch changed since the page was drawn; here it is now.
    case stale(BatchReview)
    /// The review code refused (frozen, not matched, a guard); the batch as it is, when there is one.
    case refused(String, BatchReview?)
}

/// The review code, as the site calls it.
struct ReviewAdapter {
    let ledger: Ledger
    /// Reads answered since the database last changed (any write, by anyone, empties it); nil reads afresh.
    let reads: ReadCache.Snapshot?
    let workspaceRoot: String
    let matchingRules: @Sendable (ClientID) throws -> MatchingRules
    let timeZone: TimeZone

    init(
        database: Database, reads: ReadCache.Snapshot? = nil, workspaceRoot: String,
        matchingRules: @escaping @Sendable (ClientID) throws -> MatchingRules = { _ in .standard },
        timeZone: TimeZone = .gmt
    ) {
        ledger = Ledger(database: database)
        self.reads = reads
        self.workspaceRoot = workspaceRoot
        self.matchingRules = matchingRules
        self.timeZone = timeZone
    }

    /// The batch page's body for `scope`'s permissions, drawn once per change of the database.
    func batchPage(_ batch: BatchReview, _ scope: ReviewScope, draw: () -> String) -> CachedBody {
        read(
            .batchPage(
                batch.id,
                [ReviewAction.work, .approve, .reverse, .export].map { scope.permits($0, client: batch.client) })
        ) { CachedBody(draw()) }
    }

    private func read<T: Sendable>(_ key: Read, _ body: () throws -> T) rethrows -> T {
        guard let reads else { return try body() }
        return try reads.value(key, body)
    }

    /// What the cache keeps reads under.
    enum Read: Hashable, Sendable {
        case clients, morning([String]), worklist(WorklistQuery), batches([String], [String]?), batch(Int64)
        /// A batch page's body as drawn for these permissions (work, approve, reverse, export).
        case batchPage(Int64, [Bool])
    }

    // MARK: Scope

    func scope(for principal: SitePrincipal) throws -> ReviewScope {
        ReviewScope.of(principal, allClients: try read(.clients) { try ledger.clientIDs() })
    }

    /// The number people see for a line (`batch show`, the report, the export comments).
    static func lineNumber(_ position: Int) -> Int { position + 1 }

    /// Wording for a payer's reason code, when the review code has one.
    static func reasonWording(_ code: String?) -> String? { code.flatMap(ReasonCodeTable.wording(of:)) }

    // MARK: Reads

    func morning(_ scope: ReviewScope) throws -> [ClientMorning] {
        try read(.morning(scope.clients)) { try ledger.morning(clients: scope.clients) }
    }

    func worklist(_ scope: ReviewScope, _ query: WorklistQuery) throws -> WorklistPage {
        var query = query
        query.clients = scope.clients
        if let client = query.client, !scope.contains(client) { query.clients = [] }
        return try read(.worklist(query)) { try ledger.worklist(query) }
    }

    func batches(_ scope: ReviewScope, statuses: [String]? = nil) throws -> [BatchSummary] {
        try read(.batches(scope.clients, statuses)) {
            try ledger.batchSummaries(clients: scope.clients, statuses: statuses)
        }
    }

    /// The batch, or nil when it does not exist for this person.
    func batch(_ id: Int64, _ scope: ReviewScope) throws -> BatchReview? {
        guard let batch = try read(.batch(id), { try ledger.batchReview(id) }), scope.contains(batch.client) else {
            return nil
        }
        return batch
    }

    func invoice(client: String, number: String, _ scope: ReviewScope) throws -> InvoiceHistory? {
        guard scope.contains(client) else { return nil }
        do {
            return try ledger.invoiceHistory(client: ClientID(client), invoice: number)
        } catch let error as GeneralError where error.code == "invoice.missing" {
            return nil
        }
    }

    func account(client: String, customer: String, _ scope: ReviewScope) throws -> CustomerAccount? {
        guard scope.contains(client) else { return nil }
        do {
            return try ledger.account(client: ClientID(client), customer: customer)
        } catch let error as GeneralError where error.code == "customer.missing" {
            return nil
        }
    }

    func searchInvoices(for batch: BatchReview, text: String, _ scope: ReviewScope) throws -> [InvoiceMatch] {
        guard scope.contains(batch.client) else { return [] }
        return try ledger.searchInvoices(client: batch.client, text: text)
    }

    // MARK: Actions

    /// Runs `action` on batch `id` for `scope`'s person if they may, and only if the batch is
    /// still at `version` (checked in the same transaction as the change).
    private func act(
        _ id: Int64, version: String, _ what: ReviewAction, _ scope: ReviewScope,
        _ action: (BatchReview) throws -> String
    ) throws -> String {
        guard let current = try batch(id, scope) else { throw ReviewRefusal.notFound }
        guard scope.permits(what, client: current.client) else {
            throw ReviewRefusal.forbidden(
                ReviewAuthority.refusal(
                    what, client: current.client, name: scope.principal.name, roles: scope.principal.roles))
        }
        defer { reads?.forget() }
        do {
            return try ledger.database.transaction {
                guard try ledger.batchVersion(id) == version, let fresh = try ledger.batchReview(id) else {
                    throw StaleBatch()
                }
                return try action(fresh)
            }
        } catch is StaleBatch {
            throw ReviewRefusal.stale(try batch(id, scope) ?? current)
        } catch let refusal as ReviewRefusal {
            throw refusal
        } catch let error as any NightjarError where !(error is StoreError) {
            throw ReviewRefusal.refused(error.message, try batch(id, scope))
        }
    }

    private struct StaleBatch: Error {}

    /// `batch approve`: a batch out of balance or with exceptions needs `acceptExceptions` and a reason.
    func approve(_ id: Int64, version: String, acceptExceptions: Bool, reason: String, _ scope: ReviewScope) throws
        -> String
    {
        try act(id, version: version, .approve, scope) { _ in
            let settlement = try ledger.approve(
                batch: id, actor: scope.principal.name, acceptingExceptions: acceptExceptions ? reason : nil)
            return
                "Batch \(id) approved by \(scope.principal.name): \(settlement.lines.filter { $0.invoice != nil }.count) invoice(s) settled."
        }
    }

    /// `batch reverse` (admin), dated today in the workspace's time zone.
    func reverse(_ id: Int64, version: String, reason: String, _ scope: ReviewScope) throws -> String {
        try act(id, version: version, .reverse, scope) { _ in
            let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !reason.isEmpty else {
                throw ReviewRefusal.refused("say why the batch is reversed", try batch(id, scope))
            }
            _ = try ledger.reverse(
                batch: id, actor: scope.principal.name, reason: reason, on: CalendarDate.today(in: timeZone))
            try redecide(id)
            return "Batch \(id) reversed by \(scope.principal.name); open amounts restored."
        }
    }

    /// `batch reassign`: the line at `position` now applies to `invoice`.
    func reassign(_ id: Int64, position: Int, invoice: String, version: String, _ scope: ReviewScope) throws -> String {
        try act(id, version: version, .work, scope) { _ in
            let change = try ledger.reassign(
                batch: id, line: ReviewAdapter.lineNumber(position), invoice: invoice, actor: scope.principal.name)
            try redecide(id)
            return "Changed " + change.description + "."
        }
    }

    /// `batch accept-suggestion`: suggestion `number` of the line, refused unless it still names `invoice`.
    func acceptSuggestion(
        _ id: Int64, position: Int, number: Int, invoice: String, version: String, _ scope: ReviewScope
    ) throws -> String {
        try act(id, version: version, .work, scope) { _ in
            let change = try ledger.acceptSuggestion(
                batch: id, line: ReviewAdapter.lineNumber(position), number: number, invoice: invoice,
                actor: scope.principal.name)
            try redecide(id)
            return "Suggestion \(number) accepted: " + change.description + "."
        }
    }

    /// After a line or a batch changed: the client's waiting batches decided again (a line paid
    /// twice against the changed one is decided anew), with the client's rules.
    private func redecide(_ id: Int64) throws {
        _ = try ledger.redecideAfterChange(batch: id, rules: matchingRules)
    }

    /// `batch export --out`: the journal, recorded.
    func export(_ id: Int64, format: GLExport.Format, again: Bool, _ scope: ReviewScope) throws -> JournalExport {
        defer { reads?.forget() }
        guard let current = try batch(id, scope) else { throw ReviewRefusal.notFound }
        guard scope.permits(.export, client: current.client) else {
            throw ReviewRefusal.forbidden(
                ReviewAuthority.refusal(
                    .export, client: current.client, name: scope.principal.name, roles: scope.principal.roles))
        }
        do {
            return try JournalExport.make(
                batch: id, format: format, ledger: ledger,
                accounts: try JournalExport.accounts(workspaceRoot: workspaceRoot),
                record: true, again: again)
        } catch let error as any NightjarError where !(error is StoreError) {
            throw ReviewRefusal.refused(error.message, current)
        }
    }
}
