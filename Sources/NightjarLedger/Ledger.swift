import Foundation
public import NightjarCore
import NightjarCrypto
public import NightjarDocuments
public import NightjarStore

/// What one import did.
public struct ImportResult: Sendable, Codable, Equatable {
    public let file: String
    public let sha256: String
    /// True when the same bytes were imported before for this client: nothing changed.
    public let alreadyImported: Bool
    public let kind: String
    public let batches: Int
    public let lines: Int
    public let outOfBalance: Int
    public let invoicesCreated: Int
    public let invoicesUpdated: Int

    enum CodingKeys: String, CodingKey {
        case file, sha256, alreadyImported = "already_imported", kind, batches, lines, outOfBalance = "out_of_balance",
            invoicesCreated = "invoices_created", invoicesUpdated = "invoices_updated"
    }
}

/// A stored batch as listings show it.
public struct BatchSummary: Sendable, Codable, Equatable {
    public let id: Int64
    public let client: String
    public let payer: String?
    public let traceNumber: String?
    public let paymentDate: String?
    public let total: String
    public let currency: String
    public let lines: Int
    public let balanced: Bool
    public let difference: String
    public let status: String
    public let sourceFile: String
    /// Where the batch is in review: `new` (not matched), `matched`, `approved`, `exported`,
    /// `reversed`, or `duplicate_payment` (a payment sent again; never matched).
    public let state: String
    /// Lines still needing a person (anything but paid in full or with its discount).
    public let exceptions: Int

    enum CodingKeys: String, CodingKey {
        case id, client, payer, traceNumber = "trace_number", paymentDate = "payment_date", total, currency, lines,
            balanced, difference
        case status, sourceFile = "source_file", state, exceptions
    }
}

/// Which batches `batches` lists.
public struct BatchFilter: Sendable {
    public var client: ClientID?
    /// Payments dated this day.
    public var paymentDate: CalendarDate?
    /// Imported on or after this day.
    public var since: CalendarDate?
    /// States (`BatchSummary.state`); empty: every state.
    public var states: [String] = []
    /// Only batches with at least one exception.
    public var withExceptions = false

    public init() {}

    /// The states a batch can be in, in the order review moves it.
    public static let allStates = ["new", "matched", "approved", "exported", "reversed", "duplicate_payment"]
}

/// A stored batch with its lines and adjustments (for a batch with its decisions, the stable
/// shape `batch show --json` prints, see `BatchView`).
public struct BatchDetail: Sendable, Codable, Equatable {
    public struct Line: Sendable, Codable, Equatable {
        public let position: Int
        public let referenceQualifier: String
        public let reference: String
        public let amountPaid: String
        public let invoiceAmount: String?
        public let discount: String?
        public let adjustments: [String]
        /// X12 segment number or CSV line in the source file.
        public let sourceLocation: Int
    }

    public let summary: BatchSummary
    public let paymentMethod: String?
    /// Only the last four characters are kept.
    public let receivingAccount: String?
    public let remitted: String
    public let entityAdjustments: [String]
    public let lines: [Line]
}

/// The domain tables over the workspace database. Every import is one transaction and
/// idempotent by the file's SHA-256: importing the same bytes twice changes nothing.
public struct Ledger {
    public let database: Database

    public init(database: Database) { self.database = database }

    func ensureClient(_ client: ClientID) throws {
        try database.execute(
            "INSERT OR IGNORE INTO client (id, created_at) VALUES (?, ?)", [client, Logger.timestamp()])
    }

    /// The source-file row for these bytes, or nil when it is new (inserted inside the caller's transaction).
    func recordFile(_ bytes: [UInt8], name: String, client: ClientID, kind: String, format: String, portal: String?)
        throws -> (Int64, String, Bool)
    {
        try recordFile(
            sha256: SHA256.hash(bytes).hexString, size: bytes.count, name: name, client: client, kind: kind,
            format: format, portal: portal)
    }

    func recordFile(
        sha256 sha: String, size: Int, name: String, client: ClientID, kind: String, format: String, portal: String?
    ) throws -> (Int64, String, Bool) {
        if let existing = try database.scalar(
            Int64.self, "SELECT id FROM source_file WHERE client_id = ? AND sha256 = ?", [client, sha])
        {
            return (existing, sha, true)
        }
        try database.execute(
            """
            INSERT INTO source_file (client_id, sha256, original_name, kind, format, portal, size, imported_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [client, sha, name, kind, format, portal, size, Logger.timestamp()])
        return (database.lastInsertRowID, sha, false)
    }

    /// The page cache an import writes with, in SQLite's negative-KiB form (64 MiB).
    public static let importCacheKiB: Int64 = -65_536

    /// The SHA-256 of a source's bytes, read in chunks.
    public static func sha256(of source: any ByteSource) throws -> String {
        let hasher = SHA256()
        try source.forEachChunk { hasher.update($0) }
        return hasher.finalize().hexString
    }

    /// Stores remittance advices read from `bytes` in one transaction.
    public func importRemittances(
        _ advices: [RemittanceAdvice], bytes: [UInt8], name: String, client: ClientID, format: String,
        portal: String? = nil
    ) throws -> ImportResult {
        try importRemittances(
            sha256: SHA256.hash(bytes).hexString, size: bytes.count, name: name, client: client, format: format,
            portal: portal, inMemory: true
        ) { writer in
            for advice in advices { try writer.write(advice) }
        }
    }

    /// Stores the remittances `read` hands to the writer, as it reads them, in one transaction:
    /// a file is stored once per content hash (`sha256`), and a failure anywhere stores nothing.
    /// Memory does not grow with the file: each batch is written and let go. `read` runs on a
    /// thread of its own, reading while the writes go on; with `inMemory` (payments already
    /// read, only handed over) it runs on the caller's thread, with nothing to overlap.
    public func importRemittances(
        sha256: String, size: Int, name: String, client: ClientID, format: String, portal: String? = nil,
        inMemory: Bool = false, _ read: (RemittanceWriter) throws -> Void
    ) throws -> ImportResult {
        // Every line and adjustment points at a batch or line inserted just before it: a large
        // file's rows are not checked against them again (`bytesWorthSuspendingForeignKeys`).
        let large = size >= Ledger.bytesWorthSuspendingForeignKeys
        let checking = large ? try suspendForeignKeyChecks() : false
        defer { if checking { try? database.execute("PRAGMA foreign_keys = ON") } }
        // A large file's indexes stay in memory while it is written (64 MiB at most), then the
        // connection's setting is restored; a small file's fit in the connection's own cache.
        let cache = large ? try database.scalar(Int64.self, "PRAGMA cache_size") ?? -2000 : Ledger.importCacheKiB
        if cache > Ledger.importCacheKiB { try database.execute("PRAGMA cache_size = \(Ledger.importCacheKiB)") }
        defer { if cache > Ledger.importCacheKiB { try? database.execute("PRAGMA cache_size = \(cache)") } }
        return try database.transaction {
            try ensureClient(client)
            let (fileID, sha, seen) = try recordFile(
                sha256: sha256, size: size, name: name, client: client, kind: "remittance", format: format,
                portal: portal)
            if seen {
                return ImportResult(
                    file: name, sha256: sha, alreadyImported: true, kind: "remittance", batches: 0, lines: 0,
                    outOfBalance: 0,
                    invoicesCreated: 0, invoicesUpdated: 0)
            }
            let writer = try RemittanceWriter(database: database, client: client, fileID: fileID)
            if inMemory { try writer.storeInPlace(read) } else { try writer.store(reading: read) }
            return ImportResult(
                file: name, sha256: sha, alreadyImported: false, kind: "remittance", batches: writer.batchIDs.count,
                lines: writer.lines,
                outOfBalance: writer.balanced.filter { !$0 }.count, invoicesCreated: 0, invoicesUpdated: 0)
        }
    }

    /// Findings as stored on a batch: `[{"code": …, "message": …, "segment": …}]`.
    public static func findingsJSON(_ findings: [DocumentFinding]) -> String {
        guard !findings.isEmpty else { return "[]" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(findings)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    static func findings(_ json: String?) -> [DocumentFinding] {
        guard let json, json != "[]" else { return [] }
        return (try? JSONDecoder().decode([DocumentFinding].self, from: Data(json.utf8))) ?? []
    }

    /// Stores or updates open invoices (by customer and number) in one transaction.
    public func importOpenInvoices(_ invoices: [OpenInvoice], bytes: [UInt8], name: String, client: ClientID) throws
        -> ImportResult
    {
        try importOpenInvoices(
            sha256: SHA256.hash(bytes).hexString, size: bytes.count, name: name, client: client, refuseRepeats: false
        ) { store in
            for invoice in invoices { try store(invoice) }
        }
    }

    /// Stores the open invoices `read` hands over as it reads a file, in one transaction. With
    /// `refuseRepeats`, an invoice the file gives twice refuses the file, naming both lines.
    public func importOpenInvoices(
        sha256: String, size: Int, name: String, client: ClientID, refuseRepeats: Bool = true,
        _ read: (_ store: (OpenInvoice) throws -> Void) throws -> Void
    ) throws -> ImportResult {
        try database.transaction {
            try ensureClient(client)
            let (fileID, sha, seen) = try recordFile(
                sha256: sha256, size: size, name: name, client: client, kind: "open_invoices", format: "delimited",
                portal: nil)
            if seen {
                return ImportResult(
                    file: name, sha256: sha, alreadyImported: true, kind: "open_invoices", batches: 0, lines: 0,
                    outOfBalance: 0,
                    invoicesCreated: 0, invoicesUpdated: 0)
            }
            var created = 0
            var updated = 0
            let now = Logger.timestamp()
            let find = try database.prepared(
                "SELECT id, source_file_id, source_line, open_amount_minor FROM open_invoice WHERE client_id = ? AND customer_id = ? AND invoice_number = ?"
            )
            // What approved batches took off an invoice stands: a file from the ERP that has not
            // yet seen those payments may lower an open amount, never raise it back (only a
            // reversal gives an approval's amounts back).
            let settledByApprovals = Set(
                try database.query(
                    """
                    SELECT DISTINCT e.invoice_id FROM approval_entry e JOIN remittance_batch b ON b.id = e.batch_id
                    WHERE b.client_id = ? AND b.status = 'approved'
                    """, [client]
                ).map { try $0.int64("invoice_id") })
            let update = try database.prepared(
                """
                UPDATE open_invoice SET invoice_date = ?, due_date = ?, amount_minor = ?, open_amount_minor = ?, currency = ?, po_number = ?,
                    terms = ?, source_file_id = ?, source_line = ?, updated_at = ? WHERE id = ?
                """)
            let insert = try database.prepared(
                """
                INSERT INTO open_invoice (client_id, customer_id, invoice_number, invoice_date, due_date, amount_minor, open_amount_minor,
                    currency, po_number, terms, source_file_id, source_line, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var customers: Set<String> = []
            try read { invoice in
                if customers.insert(invoice.customerID).inserted {
                    // The customer's name as the client's books give it, when the file has one (the morning report shows it).
                    try database.execute(
                        """
                        INSERT INTO customer (client_id, customer_id, name) VALUES (?, ?, ?)
                        ON CONFLICT (client_id, customer_id) DO UPDATE SET name = coalesce(excluded.name, customer.name)
                        """, [client, invoice.customerID, invoice.customerName])
                }
                find.bind(client.rawValue, at: 1)
                find.bind(invoice.customerID, at: 2)
                find.bind(invoice.invoiceNumber, at: 3)
                var existing: Int64?
                var earlierLine: Int64?
                var currentOpen: Int64 = 0
                try find.forEachRow { row in
                    existing = row.int64(0)
                    if row.int64(1) == fileID { earlierLine = row.int64(2) }
                    currentOpen = row.int64(3)
                }
                if refuseRepeats, let earlierLine {
                    throw LayoutError(
                        code: "csv.duplicate",
                        message:
                            "invoice \(invoice.invoiceNumber) of customer \(invoice.customerID) also appears at \(SourceLocation(file: name, line: Int(earlierLine)))",
                        location: SourceLocation(file: name, line: invoice.line))
                }
                let statement = existing == nil ? insert : update
                var index: Int32 = 1
                func next() -> Int32 {
                    defer { index += 1 }
                    return index
                }
                if existing == nil {
                    statement.bind(client.rawValue, at: next())
                    statement.bind(invoice.customerID, at: next())
                    statement.bind(invoice.invoiceNumber, at: next())
                }
                statement.bind(invoice.invoiceDate?.description, at: next())
                statement.bind(invoice.dueDate?.description, at: next())
                statement.bind(invoice.amount.minorUnits, at: next())
                let open =
                    existing.map { settledByApprovals.contains($0) } == true
                    ? min(invoice.openAmount.minorUnits, currentOpen) : invoice.openAmount.minorUnits
                statement.bind(open, at: next())
                statement.bind(invoice.openAmount.currency.code, at: next())
                statement.bind(invoice.purchaseOrderNumber, at: next())
                statement.bind(invoice.terms, at: next())
                statement.bind(fileID, at: next())
                statement.bind(Int64(invoice.line), at: next())
                statement.bind(now, at: next())
                if let existing {
                    statement.bind(existing, at: next())
                    updated += 1
                } else {
                    created += 1
                }
                try statement.run()
            }
            return ImportResult(
                file: name, sha256: sha, alreadyImported: false, kind: "open_invoices", batches: 0, lines: 0,
                outOfBalance: 0,
                invoicesCreated: created, invoicesUpdated: updated)
        }
    }

    /// Batches, newest first, optionally for one client and payment date.
    public func batches(client: ClientID? = nil, date: CalendarDate? = nil) throws -> [BatchSummary] {
        var filter = BatchFilter()
        filter.client = client
        filter.paymentDate = date
        return try batches(filter)
    }

    /// The columns `summary` reads, beside `b.*`: the source file's name, the line count, the
    /// state and the exceptions.
    static let summaryColumns = """
        b.*, f.original_name, (SELECT count(*) FROM remittance_line l WHERE l.batch_id = b.id) AS line_count,
        CASE WHEN b.status IN ('reversed', 'duplicate_payment') THEN b.status
             WHEN b.status = 'approved' AND EXISTS (SELECT 1 FROM gl_export g WHERE g.batch_id = b.id) THEN 'exported'
             WHEN b.status = 'approved' THEN 'approved'
             WHEN EXISTS (SELECT 1 FROM line_match m WHERE m.batch_id = b.id) THEN 'matched' ELSE 'new' END AS state,
        (SELECT count(*) FROM remittance_line l LEFT JOIN line_match m ON m.line_id = l.id
         WHERE l.batch_id = b.id AND coalesce(m.status, 'not_matched') NOT IN ('paid_in_full', 'paid_with_discount')) AS exception_count
        """

    /// Batches, newest first, as `filter` selects them.
    public func batches(_ filter: BatchFilter) throws -> [BatchSummary] {
        var sql =
            "SELECT * FROM (SELECT \(Ledger.summaryColumns), f.imported_at AS file_imported_at FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id) WHERE 1 = 1"
        var arguments: [any DatabaseValueConvertible] = []
        if let client = filter.client {
            sql += " AND client_id = ?"
            arguments.append(client)
        }
        if let date = filter.paymentDate {
            sql += " AND payment_date = ?"
            arguments.append(date)
        }
        if let since = filter.since {
            sql += " AND substr(file_imported_at, 1, 10) >= ?"
            arguments.append(since.description)
        }
        if !filter.states.isEmpty {
            sql += " AND state IN (\(filter.states.map { _ in "?" }.joined(separator: ",")))"
            arguments += filter.states.map { $0 as any DatabaseValueConvertible }
        }
        if filter.withExceptions { sql += " AND exception_count > 0" }
        return try database.query(sql + " ORDER BY id DESC", arguments).map(Ledger.summary)
    }

    /// Whether the workspace knows this client (an import or open invoices created it).
    public func knowsClient(_ client: ClientID) throws -> Bool {
        try database.scalar(Int64.self, "SELECT count(*) FROM client WHERE id = ?", [client]) ?? 0 > 0
    }

    static func summary(_ row: Row) throws -> BatchSummary {
        let currency = try CurrencyCode(try row.string("currency"))
        let digits = currency.minorUnitDigits
        return BatchSummary(
            id: try row.int64("id"), client: try row.string("client_id"), payer: try row.optionalString("payer_name"),
            traceNumber: try row.optionalString("trace_number"), paymentDate: try row.optionalString("payment_date"),
            total: Money.decimalString(try row.int64("total_minor"), digits: digits), currency: currency.code,
            lines: Int(try row.int64("line_count")), balanced: try row.get("balanced", as: Bool.self),
            difference: Money.decimalString(try row.int64("difference_minor"), digits: digits),
            status: try row.string("status"), sourceFile: try row.string("original_name"),
            state: try row.string("state"),
            exceptions: Int(try row.int64("exception_count")))
    }

    /// One batch with its lines, or nil.
    public func batch(_ id: Int64) throws -> BatchDetail? {
        guard
            let row = try database.query(
                """
                SELECT \(Ledger.summaryColumns)
                FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id WHERE b.id = ?
                """, [id]
            ).first
        else { return nil }
        let summary = try Ledger.summary(row)
        let digits = try CurrencyCode(summary.currency).minorUnitDigits
        func money(_ value: Int64?) -> String? { value.map { Money.decimalString($0, digits: digits) } }
        var adjustmentsByLine: [Int64: [String]] = [:]
        var entityAdjustments: [String] = []
        for adjustment in try database.query("SELECT * FROM remittance_adjustment WHERE batch_id = ? ORDER BY id", [id])
        {
            let text = "\(money(try adjustment.int64("amount_minor"))!) \(try adjustment.string("reason_code"))"
            if let line: Int64 = try adjustment.get("line_id", as: Int64?.self) {
                adjustmentsByLine[line, default: []].append(text)
            } else {
                entityAdjustments.append(text)
            }
        }
        let lines = try database.query("SELECT * FROM remittance_line WHERE batch_id = ? ORDER BY position", [id]).map {
            line in
            BatchDetail.Line(
                position: Int(try line.int64("position")), referenceQualifier: try line.string("reference_qualifier"),
                reference: try line.string("reference"), amountPaid: money(try line.int64("amount_paid_minor"))!,
                invoiceAmount: money(try line.get("invoice_amount_minor", as: Int64?.self)),
                discount: money(try line.get("discount_minor", as: Int64?.self)),
                adjustments: try line.ownAdjustment().map { ["\(money($0.amount)!) \($0.reasonCode)"] }
                    ?? adjustmentsByLine[try line.int64("id")] ?? [],
                sourceLocation: Int(try line.int64("source_location")))
        }
        return BatchDetail(
            summary: summary, paymentMethod: try row.optionalString("payment_method"),
            receivingAccount: try row.optionalString("receiving_account_masked"),
            remitted: money(try row.int64("remitted_minor"))!, entityAdjustments: entityAdjustments, lines: lines)
    }

    /// Open invoices of a client.
    public func openInvoices(client: ClientID) throws -> [OpenInvoice] {
        try database.query(
            "SELECT * FROM open_invoice WHERE client_id = ? ORDER BY customer_id, invoice_number", [client]
        ).map { row in
            let currency = try CurrencyCode(try row.string("currency"))
            return OpenInvoice(
                customerID: try row.string("customer_id"), invoiceNumber: try row.string("invoice_number"),
                invoiceDate: try row.get("invoice_date", as: CalendarDate?.self),
                dueDate: try row.get("due_date", as: CalendarDate?.self),
                amount: Money(minorUnits: try row.int64("amount_minor"), currency: currency),
                openAmount: Money(minorUnits: try row.int64("open_amount_minor"), currency: currency),
                purchaseOrderNumber: try row.optionalString("po_number"), terms: try row.optionalString("terms"),
                line: Int(try row.int64("source_line")))
        }
    }

    /// `****6789`: bank account numbers are never stored or shown in full.
    public static func mask(_ account: String) -> String {
        let trimmed = account.trimmingWhitespace()
        guard trimmed.count > 4 else { return String(repeating: "*", count: trimmed.count) }
        return String(repeating: "*", count: 4) + trimmed.suffix(4)
    }
}

extension Row {
    /// The line's one plain adjustment, kept on its row (`LedgerSchema.lineOwnFacts`), if it has one there.
    func ownAdjustment() throws -> (amount: Int64, reasonCode: String, location: Int)? {
        guard let amount = try get("adjustment_minor", as: Int64?.self) else { return nil }
        return (amount, try string("adjustment_reason"), Int(try int64("adjustment_location")))
    }

    /// The line's first reference when it is its PO, kept on its row as `po_number` (`LedgerSchema.lineOwnFacts`).
    func ownPOReference() throws -> String? {
        try int64("po_reference") == 1 ? try optionalString("po_number") : nil
    }
}

/// Writes one file's batches through prepared statements, inside the import's transaction: a
/// batch, its lines, their references and adjustments, as each payment is read. A line is one
/// row: its first REF when that is its PO, and its one plain adjustment, live on the row
/// (`LedgerSchema.lineOwnFacts`); only what adds to it gets rows of its own. Lines are given
/// their ids here and written `linesPerStatement` to a statement.
public final class RemittanceWriter: RemittanceSink {
    let database: Database
    let client: ClientID
    let fileID: Int64
    let insertBatch: PreparedStatement
    let insertLine: PreparedStatement
    let insertLines: PreparedStatement
    let insertAdjustment: PreparedStatement
    let insertReference: PreparedStatement
    let amendBatch: PreparedStatement
    /// Batch ids by position in the file, and whether each is balanced.
    public private(set) var batchIDs: [Int64] = []
    public private(set) var balanced: [Bool] = []
    public private(set) var lines = 0
    /// The id the next line gets (the import holds the write lock: nobody else adds lines).
    var nextLineID: Int64
    /// Lines read but not yet written.
    var pending: [PendingLine] = []

    /// Lines written by one statement: enough that a statement's own cost is spread thin, few
    /// enough to stay under every SQLite build's limit of 999 parameters (17 a line).
    public static let linesPerStatement = 50

    /// The columns of a line row, in the order the statements bind them.
    public static let lineColumns = """
        id, batch_id, position, reference_qualifier, reference, payment_action, amount_paid_minor, invoice_amount_minor,
        discount_minor, po_number, source_location, invoice_reference, invoice_date, po_reference, adjustment_minor,
        adjustment_reason, adjustment_location
        """

    /// `INSERT INTO remittance_line` of `rows` rows.
    /// The statements inserting one line and `linesPerStatement` lines, written once (a writer is
    /// made for every file).
    static let insertLineSQL = insertLinesSQL(rows: 1)
    static let insertManyLinesSQL = insertLinesSQL(rows: linesPerStatement)

    public static func insertLinesSQL(rows: Int) -> String {
        let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        return "INSERT INTO remittance_line (\(lineColumns)) VALUES "
            + Array(repeating: row, count: rows).joined(separator: ", ")
    }

    struct PendingLine {
        let id: Int64
        let batch: Int64
        let position: Int64
        let line: RemittanceLine
        let poReference: Bool
        let adjustment: Adjustment?
    }

    init(database: Database, client: ClientID, fileID: Int64) throws {
        self.database = database
        self.client = client
        self.fileID = fileID
        insertBatch = try database.prepared(
            """
            INSERT INTO remittance_batch (client_id, source_file_id, position, control_number, payer_name, payer_id_qualifier, payer_id,
                trace_number, payment_date, payment_method, receiving_account_masked, total_minor, remitted_minor, difference_minor,
                currency, balanced, source_location, currency_declared, findings)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertLine = try database.prepared(RemittanceWriter.insertLineSQL)
        insertLines = try database.prepared(RemittanceWriter.insertManyLinesSQL)
        insertAdjustment = try database.prepared(
            """
            INSERT INTO remittance_adjustment (batch_id, line_id, amount_minor, reason_code, reference, source_location, reason_text,
                reference_qualifier, invoice_reference)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        insertReference = try database.prepared(
            """
            INSERT INTO document_reference (batch_id, line_id, adjustment_id, qualifier, value, source_location) VALUES (?, ?, ?, ?, ?, ?)
            """)
        amendBatch = try database.prepared("UPDATE remittance_batch SET findings = ?, balanced = ? WHERE id = ?")
        nextLineID = (try database.scalar(Int64.self, "SELECT max(id) FROM remittance_line") ?? 0) + 1
        pending.reserveCapacity(RemittanceWriter.linesPerStatement)
    }

    /// Whether an adjustment says no more than its amount and reason code, so that a line's only
    /// one can live on the line's row.
    public static func isPlain(_ adjustment: Adjustment) -> Bool {
        adjustment.reference == nil && adjustment.reasonText == nil && adjustment.referenceQualifier == nil
            && adjustment.invoice == nil
    }

    /// What the reading thread hands over, in the file's order.
    enum Work: Sendable {
        case write(RemittanceAdvice, position: Int)
        case amend(position: Int, findings: [DocumentFinding], isBalanced: Bool)
    }

    /// Set while `store(reading:)` runs: `write` and `amend` hand their work over to it.
    var relay: Handoff<Work>?
    /// Batches the file has given so far, by position (where the next one goes).
    var positions = 0

    /// Runs `read` on a second thread, which hands each payment to this one as soon as it is
    /// read, while this one stores the payments before it: reading and storing on two cores. The
    /// database is used on this thread alone; an error on either side stops both and is thrown.
    /// `read` run on this thread, each payment stored as it is handed over: for payments
    /// already in memory, where a reading thread would have nothing to overlap.
    func storeInPlace(_ read: (RemittanceWriter) throws -> Void) throws {
        try read(self)
        try flush()
    }

    func store(reading read: (RemittanceWriter) throws -> Void) throws {
        // At most four payments wait between the threads: memory stays a few payments' worth.
        let handoff = Handoff<Work>(limit: 4)
        relay = handoff
        defer { relay = nil }
        try withoutActuallyEscaping(read) { read in
            let reading = ReadingThread { [self] in
                do {
                    try read(self)
                    handoff.finish()
                } catch {
                    handoff.fail(error)
                }
            }
            reading.start()
            defer {
                handoff.cancel()
                reading.wait()
            }
            while let work = try handoff.take() {
                switch work {
                case .write(let advice, let position): try store(advice, position: position)
                case .amend(let position, let findings, let isBalanced):
                    try storeAmendment(position: position, findings: findings, isBalanced: isBalanced)
                }
            }
            try flush()
        }
    }

    /// Stores one advice as the file's next batch (or at `position`, when payments are finished out of order).
    public func write(_ advice: RemittanceAdvice, position: Int? = nil) throws {
        let position = position ?? positions
        positions = max(positions, position + 1)
        if let relay {
            guard relay.put(.write(advice, position: position)) else { throw RemittanceWriter.stopped }
            return
        }
        try store(advice, position: position)
    }

    /// What a reading thread's write meets once storing has failed (the caller throws that failure).
    static let stopped = GeneralError(code: "import.stopped", message: "storing stopped", exitStatus: .failure)

    func store(_ advice: RemittanceAdvice, position: Int) throws {
        let masked = advice.receivingAccount.map { Ledger.mask($0) }
        let remitted = advice.remittedTotal.minorUnits
        insertBatch.bind(client.rawValue, at: 1)
        insertBatch.bind(fileID, at: 2)
        insertBatch.bind(Int64(position), at: 3)
        insertBatch.bind(advice.controlNumber, at: 4)
        insertBatch.bind(advice.payer?.name, at: 5)
        insertBatch.bind(advice.payer?.idQualifier, at: 6)
        insertBatch.bind(advice.payer?.id, at: 7)
        insertBatch.bind(advice.traceNumber, at: 8)
        insertBatch.bind(advice.effectiveDate?.description, at: 9)
        insertBatch.bind(advice.paymentMethod, at: 10)
        insertBatch.bind(masked, at: 11)
        insertBatch.bind(advice.total.minorUnits, at: 12)
        insertBatch.bind(remitted, at: 13)
        insertBatch.bind(advice.total.minorUnits &- remitted, at: 14)
        insertBatch.bind(advice.currency.code, at: 15)
        insertBatch.bind(advice.isBalanced ? 1 : 0, at: 16)
        insertBatch.bind(Int64(advice.segment), at: 17)
        insertBatch.bind(advice.currencyDeclared ? 1 : 0, at: 18)
        insertBatch.bind(Ledger.findingsJSON(advice.findings), at: 19)
        try insertBatch.run()
        let batchID = database.lastInsertRowID
        while batchIDs.count <= position {
            batchIDs.append(0)
            balanced.append(true)
        }
        batchIDs[position] = batchID
        balanced[position] = advice.isBalanced
        for entity in advice.entities {
            for adjustment in entity.adjustments { try insert(adjustment, batch: batchID, line: nil) }
        }
        for (linePosition, line) in advice.lines.enumerated() {
            let lineID = nextLineID
            nextLineID += 1
            let poReference = line.references.first?.qualifier == "PO"
            let inline = line.adjustments.count == 1 && RemittanceWriter.isPlain(line.adjustments[0])
            pending.append(
                PendingLine(
                    id: lineID, batch: batchID, position: Int64(linePosition), line: line, poReference: poReference,
                    adjustment: inline ? line.adjustments[0] : nil))
            let references = poReference ? line.references.dropFirst() : line.references[...]
            if !references.isEmpty || (!inline && !line.adjustments.isEmpty) {
                // The rows that point at the line follow it.
                try flush()
                for reference in references {
                    try insertReference(
                        batch: batchID, line: lineID, adjustment: nil, qualifier: reference.qualifier,
                        value: reference.value, location: line.segment)
                }
                if !inline {
                    for adjustment in line.adjustments { try insert(adjustment, batch: batchID, line: lineID) }
                }
            } else if pending.count == RemittanceWriter.linesPerStatement {
                try flush()
            }
            lines += 1
        }
    }

    func flush() throws {
        guard !pending.isEmpty else { return }
        if pending.count == RemittanceWriter.linesPerStatement {
            for (index, line) in pending.enumerated() { bind(line, to: insertLines, from: Int32(index * 17)) }
            try insertLines.run()
        } else {
            for line in pending {
                bind(line, to: insertLine, from: 0)
                try insertLine.run()
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Binds a line's 17 columns (`lineColumns`) at parameters `offset + 1` on.
    func bind(_ pending: PendingLine, to statement: PreparedStatement, from offset: Int32) {
        let line = pending.line
        statement.bind(pending.id, at: offset + 1)
        statement.bind(pending.batch, at: offset + 2)
        statement.bind(pending.position, at: offset + 3)
        statement.bind(line.referenceQualifier, at: offset + 4)
        statement.bind(line.reference, at: offset + 5)
        statement.bind(line.paymentAction, at: offset + 6)
        statement.bind(line.amountPaid.minorUnits, at: offset + 7)
        statement.bind(line.invoiceAmount?.minorUnits, at: offset + 8)
        statement.bind(line.discount?.minorUnits, at: offset + 9)
        statement.bind(
            pending.poReference ? line.references[0].value : line.references.first { $0.qualifier == "PO" }?.value,
            at: offset + 10)
        statement.bind(Int64(line.segment), at: offset + 11)
        // An invoice the line names besides its own reference: a debit memo's original invoice.
        statement.bind(line.references.first { $0.qualifier == "IV" || $0.qualifier == "OI" }?.value, at: offset + 12)
        statement.bind(line.dates.first { $0.qualifier == "003" }?.date.description, at: offset + 13)
        statement.bind(pending.poReference ? 1 : 0, at: offset + 14)
        statement.bind(pending.adjustment?.amount.minorUnits, at: offset + 15)
        statement.bind(pending.adjustment?.reasonCode, at: offset + 16)
        statement.bind(pending.adjustment.map { Int64($0.segment) }, at: offset + 17)
    }

    /// Replaces the findings of the batch at `position` (a total row further down the file
    /// found something about a payment already written).
    public func amend(position: Int, findings: [DocumentFinding], isBalanced: Bool) throws {
        if let relay {
            guard relay.put(.amend(position: position, findings: findings, isBalanced: isBalanced)) else {
                throw RemittanceWriter.stopped
            }
            return
        }
        try storeAmendment(position: position, findings: findings, isBalanced: isBalanced)
    }

    func storeAmendment(position: Int, findings: [DocumentFinding], isBalanced: Bool) throws {
        amendBatch.bind(Ledger.findingsJSON(findings), at: 1)
        amendBatch.bind(isBalanced ? 1 : 0, at: 2)
        amendBatch.bind(batchIDs[position], at: 3)
        try amendBatch.run()
        balanced[position] = isBalanced
    }

    func insert(_ adjustment: Adjustment, batch: Int64, line: Int64?) throws {
        insertAdjustment.bind(batch, at: 1)
        insertAdjustment.bind(line, at: 2)
        insertAdjustment.bind(adjustment.amount.minorUnits, at: 3)
        insertAdjustment.bind(adjustment.reasonCode, at: 4)
        insertAdjustment.bind(adjustment.reference, at: 5)
        insertAdjustment.bind(Int64(adjustment.segment), at: 6)
        insertAdjustment.bind(adjustment.reasonText, at: 7)
        insertAdjustment.bind(adjustment.referenceQualifier, at: 8)
        insertAdjustment.bind(adjustment.invoice, at: 9)
        try insertAdjustment.run()
        if let reference = adjustment.reference {
            try insertReference(
                batch: batch, line: line, adjustment: database.lastInsertRowID,
                qualifier: adjustment.referenceQualifier ?? "deduction",
                value: reference, location: adjustment.segment)
        }
    }

    /// A reference a file gives besides a line's own (REF on a line, a deduction's own number), for trace.
    func insertReference(
        batch: Int64, line: Int64?, adjustment: Int64?, qualifier: String, value: String, location: Int
    ) throws {
        insertReference.bind(batch, at: 1)
        insertReference.bind(line, at: 2)
        insertReference.bind(adjustment, at: 3)
        insertReference.bind(qualifier, at: 4)
        insertReference.bind(value, at: 5)
        insertReference.bind(Int64(location), at: 6)
        try insertReference.run()
    }
}

/// A thread that runs `body` once; `wait` returns when it has, and the body is let go by then.
final class ReadingThread: @unchecked Sendable {
    private var body: (() -> Void)?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping () -> Void) { self.body = body }

    func start() {
        let thread = Thread { [self] in
            body?()
            body = nil
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    func wait() { done.wait() }
}
