public import NightjarCore
public import NightjarStore
public import NightjarDocuments
import NightjarCrypto
import Foundation

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
}

/// A stored batch with its lines and adjustments.
public struct BatchDetail: Sendable, Codable, Equatable {
    /// A deduction (or other adjustment) as the file gave it.
    public struct Deduction: Sendable, Codable, Equatable {
        public let amount: String
        public let currency: String
        public let code: String
        /// The payer's words for it.
        public let text: String?
        public let referenceQualifier: String?
        /// Its own reference: debit memo, return authorisation, promotion number.
        public let reference: String?
        /// The invoice a payment-level deduction names.
        public let invoice: String?
        /// X12 segment number or the file's line.
        public let sourceLocation: Int

        enum CodingKeys: String, CodingKey {
            case amount, currency, code, text, reference, invoice
            case referenceQualifier = "reference_qualifier", sourceLocation = "source_location"
        }
    }

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
        /// The line's deductions with their codes, words and references.
        public let deductions: [Deduction]
        /// DTM*003 or an invoice-date column.
        public let invoiceDate: String?
        /// REF segments and PO columns: `PO` → number.
        public let references: [[String: String]]
    }

    public let summary: BatchSummary
    public let paymentMethod: String?
    /// Only the last four characters are kept.
    public let receivingAccount: String?
    public let remitted: String
    public let entityAdjustments: [String]
    public let lines: [Line]
    /// Deductions not inside any line (ENT-level ADX, deduction rows naming no invoice of the payment).
    public let paymentDeductions: [Deduction]
    /// Totals and counts the file states that its contents do not match.
    public let findings: [DocumentFinding]
}

/// The domain tables over the workspace database. Every import is one transaction and
/// idempotent by the file's SHA-256: importing the same bytes twice changes nothing.
public struct Ledger {
    public let database: Database

    public init(database: Database) { self.database = database }

    func ensureClient(_ client: String) throws {
        try database.execute("INSERT OR IGNORE INTO client (id, created_at) VALUES (?, ?)", [client, Logger.timestamp()])
    }

    /// The source-file row for these bytes, or nil when it is new (inserted inside the caller's transaction).
    func recordFile(_ bytes: [UInt8], name: String, client: String, kind: String, format: String, portal: String?) throws -> (Int64, String, Bool) {
        let sha = SHA256.hash(bytes).hexString
        if let existing = try database.scalar(Int64.self, "SELECT id FROM source_file WHERE client_id = ? AND sha256 = ?", [client, sha]) {
            return (existing, sha, true)
        }
        try database.execute("""
            INSERT INTO source_file (client_id, sha256, original_name, kind, format, portal, size, imported_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, [client, sha, name, kind, format, portal, bytes.count, Logger.timestamp()])
        return (database.lastInsertRowID, sha, false)
    }

    /// Stores remittance advices read from `bytes` in one transaction.
    public func importRemittances(_ advices: [RemittanceAdvice], bytes: [UInt8], name: String, client: String, format: String,
                                  portal: String? = nil) throws -> ImportResult {
        try database.transaction {
            try ensureClient(client)
            let (fileID, sha, seen) = try recordFile(bytes, name: name, client: client, kind: "remittance", format: format, portal: portal)
            if seen {
                return ImportResult(file: name, sha256: sha, alreadyImported: true, kind: "remittance", batches: 0, lines: 0, outOfBalance: 0,
                                    invoicesCreated: 0, invoicesUpdated: 0)
            }
            var lineCount = 0
            for (position, advice) in advices.enumerated() {
                let masked = advice.receivingAccount.map { Ledger.mask($0) }
                try database.execute("""
                    INSERT INTO remittance_batch (client_id, source_file_id, position, control_number, payer_name, payer_id_qualifier, payer_id,
                        trace_number, payment_date, payment_method, receiving_account_masked, total_minor, remitted_minor, difference_minor,
                        currency, balanced, source_location, findings)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [client, fileID, position, advice.controlNumber, advice.payer?.name, advice.payer?.idQualifier, advice.payer?.id,
                          advice.traceNumber, advice.effectiveDate, advice.paymentMethod, masked, advice.total.minorUnits,
                          advice.remittedTotal.minorUnits, advice.difference.minorUnits, advice.currency, advice.isBalanced, advice.segment,
                          Ledger.findingsJSON(advice.findings)])
                let batchID = database.lastInsertRowID
                for entity in advice.entities {
                    for adjustment in entity.adjustments { try insert(adjustment, batch: batchID, line: nil) }
                }
                for (linePosition, line) in advice.lines.enumerated() {
                    try database.execute("""
                        INSERT INTO remittance_line (batch_id, position, reference_qualifier, reference, payment_action, amount_paid_minor,
                            invoice_amount_minor, discount_minor, po_number, source_location, invoice_date)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, [batchID, linePosition, line.referenceQualifier, line.reference, line.paymentAction, line.amountPaid.minorUnits,
                              line.invoiceAmount?.minorUnits, line.discount?.minorUnits,
                              line.references.first { $0.qualifier == "PO" }?.value, line.segment,
                              line.dates.first { $0.qualifier == "003" }?.date])
                    let lineID = database.lastInsertRowID
                    for reference in line.references {
                        try database.execute("""
                            INSERT INTO document_reference (batch_id, line_id, qualifier, value, source_location) VALUES (?, ?, ?, ?, ?)
                            """, [batchID, lineID, reference.qualifier, reference.value, line.segment])
                    }
                    for adjustment in line.adjustments { try insert(adjustment, batch: batchID, line: lineID) }
                    lineCount += 1
                }
            }
            return ImportResult(file: name, sha256: sha, alreadyImported: false, kind: "remittance", batches: advices.count, lines: lineCount,
                                outOfBalance: advices.filter { !$0.isBalanced }.count, invoicesCreated: 0, invoicesUpdated: 0)
        }
    }

    func insert(_ adjustment: Adjustment, batch: Int64, line: Int64?) throws {
        try database.execute("""
            INSERT INTO remittance_adjustment (batch_id, line_id, amount_minor, reason_code, reference, source_location, reason_text,
                reference_qualifier, invoice_reference)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [batch, line, adjustment.amount.minorUnits, adjustment.reasonCode, adjustment.reference, adjustment.segment, adjustment.reasonText,
                  adjustment.referenceQualifier, adjustment.invoice])
        if let reference = adjustment.reference {
            try database.execute("""
                INSERT INTO document_reference (batch_id, line_id, adjustment_id, qualifier, value, source_location) VALUES (?, ?, ?, ?, ?, ?)
                """, [batch, line, database.lastInsertRowID, adjustment.referenceQualifier ?? "deduction", reference, adjustment.segment])
        }
    }

    /// Findings as stored on a batch: `[{"code": …, "message": …, "segment": …}]`.
    static func findingsJSON(_ findings: [DocumentFinding]) -> String {
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
    public func importOpenInvoices(_ invoices: [OpenInvoice], bytes: [UInt8], name: String, client: String) throws -> ImportResult {
        try database.transaction {
            try ensureClient(client)
            let (fileID, sha, seen) = try recordFile(bytes, name: name, client: client, kind: "open_invoices", format: "delimited", portal: nil)
            if seen {
                return ImportResult(file: name, sha256: sha, alreadyImported: true, kind: "open_invoices", batches: 0, lines: 0, outOfBalance: 0,
                                    invoicesCreated: 0, invoicesUpdated: 0)
            }
            var created = 0, updated = 0
            for invoice in invoices {
                try database.execute("INSERT OR IGNORE INTO customer (client_id, customer_id) VALUES (?, ?)", [client, invoice.customerID])
                let existing = try database.scalar(Int64.self, "SELECT id FROM open_invoice WHERE client_id = ? AND customer_id = ? AND invoice_number = ?",
                                                   [client, invoice.customerID, invoice.invoiceNumber])
                if let existing {
                    try database.execute("""
                        UPDATE open_invoice SET invoice_date = ?, due_date = ?, amount_minor = ?, open_amount_minor = ?, currency = ?, po_number = ?,
                            terms = ?, source_file_id = ?, source_line = ?, updated_at = ? WHERE id = ?
                        """, [invoice.invoiceDate, invoice.dueDate, invoice.amount.minorUnits, invoice.openAmount.minorUnits, invoice.openAmount.currency,
                              invoice.purchaseOrderNumber, invoice.terms, fileID, invoice.line, Logger.timestamp(), existing])
                    updated += 1
                } else {
                    try database.execute("""
                        INSERT INTO open_invoice (client_id, customer_id, invoice_number, invoice_date, due_date, amount_minor, open_amount_minor,
                            currency, po_number, terms, source_file_id, source_line, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, [client, invoice.customerID, invoice.invoiceNumber, invoice.invoiceDate, invoice.dueDate, invoice.amount.minorUnits,
                              invoice.openAmount.minorUnits, invoice.openAmount.currency, invoice.purchaseOrderNumber, invoice.terms, fileID,
                              invoice.line, Logger.timestamp()])
                    created += 1
                }
            }
            return ImportResult(file: name, sha256: sha, alreadyImported: false, kind: "open_invoices", batches: 0, lines: 0, outOfBalance: 0,
                                invoicesCreated: created, invoicesUpdated: updated)
        }
    }

    /// Batches, newest first, optionally for one client and payment date.
    public func batches(client: String? = nil, date: CalendarDate? = nil) throws -> [BatchSummary] {
        var sql = """
            SELECT b.*, f.original_name, (SELECT count(*) FROM remittance_line l WHERE l.batch_id = b.id) AS line_count
            FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id WHERE 1 = 1
            """
        var arguments: [any DatabaseValueConvertible] = []
        if let client { sql += " AND b.client_id = ?"; arguments.append(client) }
        if let date { sql += " AND b.payment_date = ?"; arguments.append(date) }
        sql += " ORDER BY b.id DESC"
        return try database.query(sql, arguments).map(Ledger.summary)
    }

    static func summary(_ row: Row) throws -> BatchSummary {
        let currency = try CurrencyCode(try row.string("currency"))
        let digits = currency.minorUnitDigits
        return BatchSummary(id: try row.int64("id"), client: try row.string("client_id"), payer: try row.optionalString("payer_name"),
                            traceNumber: try row.optionalString("trace_number"), paymentDate: try row.optionalString("payment_date"),
                            total: Money.decimalString(try row.int64("total_minor"), digits: digits), currency: currency.code,
                            lines: Int(try row.int64("line_count")), balanced: try row.get("balanced", as: Bool.self),
                            difference: Money.decimalString(try row.int64("difference_minor"), digits: digits),
                            status: try row.string("status"), sourceFile: try row.string("original_name"))
    }

    /// One batch with its lines, or nil.
    public func batch(_ id: Int64) throws -> BatchDetail? {
        guard let row = try database.query("""
            SELECT b.*, f.original_name, (SELECT count(*) FROM remittance_line l WHERE l.batch_id = b.id) AS line_count
            FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id WHERE b.id = ?
            """, [id]).first else { return nil }
        let summary = try Ledger.summary(row)
        let digits = try CurrencyCode(summary.currency).minorUnitDigits
        func money(_ value: Int64?) -> String? { value.map { Money.decimalString($0, digits: digits) } }
        var adjustmentsByLine: [Int64: [String]] = [:]
        var deductionsByLine: [Int64: [BatchDetail.Deduction]] = [:]
        var entityAdjustments: [String] = []
        var paymentDeductions: [BatchDetail.Deduction] = []
        for adjustment in try database.query("SELECT * FROM remittance_adjustment WHERE batch_id = ? ORDER BY id", [id]) {
            let text = "\(money(try adjustment.int64("amount_minor"))!) \(try adjustment.string("reason_code"))"
            let deduction = BatchDetail.Deduction(
                amount: money(try adjustment.int64("amount_minor"))!, currency: summary.currency, code: try adjustment.string("reason_code"),
                text: try adjustment.optionalString("reason_text"), referenceQualifier: try adjustment.optionalString("reference_qualifier"),
                reference: try adjustment.optionalString("reference"), invoice: try adjustment.optionalString("invoice_reference"),
                sourceLocation: Int(try adjustment.int64("source_location")))
            if let line: Int64 = try adjustment.get("line_id", as: Int64?.self) {
                adjustmentsByLine[line, default: []].append(text)
                deductionsByLine[line, default: []].append(deduction)
            } else {
                entityAdjustments.append(text)
                paymentDeductions.append(deduction)
            }
        }
        var referencesByLine: [Int64: [[String: String]]] = [:]
        for reference in try database.query("SELECT line_id, qualifier, value FROM document_reference WHERE batch_id = ? AND adjustment_id IS NULL ORDER BY id", [id]) {
            guard let line: Int64 = try reference.get("line_id", as: Int64?.self) else { continue }
            referencesByLine[line, default: []].append(["qualifier": try reference.string("qualifier"), "value": try reference.string("value")])
        }
        let lines = try database.query("SELECT * FROM remittance_line WHERE batch_id = ? ORDER BY position", [id]).map { line in
            let lineID = try line.int64("id")
            return BatchDetail.Line(position: Int(try line.int64("position")), referenceQualifier: try line.string("reference_qualifier"),
                                    reference: try line.string("reference"), amountPaid: money(try line.int64("amount_paid_minor"))!,
                                    invoiceAmount: money(try line.get("invoice_amount_minor", as: Int64?.self)),
                                    discount: money(try line.get("discount_minor", as: Int64?.self)),
                                    adjustments: adjustmentsByLine[lineID] ?? [], sourceLocation: Int(try line.int64("source_location")),
                                    deductions: deductionsByLine[lineID] ?? [], invoiceDate: try line.optionalString("invoice_date"),
                                    references: referencesByLine[lineID] ?? [])
        }
        return BatchDetail(summary: summary, paymentMethod: try row.optionalString("payment_method"),
                           receivingAccount: try row.optionalString("receiving_account_masked"),
                           remitted: money(try row.int64("remitted_minor"))!, entityAdjustments: entityAdjustments, lines: lines,
                           paymentDeductions: paymentDeductions, findings: Ledger.findings(try row.optionalString("findings")))
    }

    /// Open invoices of a client.
    public func openInvoices(client: String) throws -> [OpenInvoice] {
        try database.query("SELECT * FROM open_invoice WHERE client_id = ? ORDER BY customer_id, invoice_number", [client]).map { row in
            let currency = try CurrencyCode(try row.string("currency"))
            return OpenInvoice(customerID: try row.string("customer_id"), invoiceNumber: try row.string("invoice_number"),
                               invoiceDate: try row.get("invoice_date", as: CalendarDate?.self), dueDate: try row.get("due_date", as: CalendarDate?.self),
                               amount: Money(minorUnits: try row.int64("amount_minor"), currency: currency),
                               openAmount: Money(minorUnits: try row.int64("open_amount_minor"), currency: currency),
                               purchaseOrderNumber: try row.optionalString("po_number"), terms: try row.optionalString("terms"),
                               line: Int(try row.int64("source_line")))
        }
    }

    /// `****6789`: bank account numbers are never stored or shown in full.
    public static func mask(_ account: String) -> String {
        let trimmed = account.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 4 else { return String(repeating: "*", count: trimmed.count) }
        return String(repeating: "*", count: 4) + trimmed.suffix(4)
    }
}

/// A payer identifier (vendor number, DUNS, name as written) mapped to one of the client's customers.
public struct CustomerAlias: Sendable, Codable, Equatable {
    public let alias: String
    public let customerID: String
}

extension Ledger {
    /// Records that `alias` (as a payer writes it in an N1 or a CSV) means `customerID`.
    public func addCustomerAlias(client: String, alias: String, customerID: String) throws {
        let trimmed = alias.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw GeneralError(code: "customer.alias_empty", message: "the alias is empty", exitStatus: .usage) }
        try database.transaction {
            try ensureClient(client)
            try database.execute("INSERT OR IGNORE INTO customer (client_id, customer_id) VALUES (?, ?)", [client, customerID])
            try database.execute("""
                INSERT INTO customer_alias (client_id, alias, customer_id) VALUES (?, ?, ?)
                ON CONFLICT (client_id, alias) DO UPDATE SET customer_id = excluded.customer_id
                """, [client, trimmed.uppercased(), customerID])
        }
    }

    /// Removes an alias; false when there was none.
    @discardableResult
    public func removeCustomerAlias(client: String, alias: String) throws -> Bool {
        try database.execute("DELETE FROM customer_alias WHERE client_id = ? AND alias = ?", [client, alias.trimmingCharacters(in: .whitespaces).uppercased()])
        return database.changes > 0
    }

    public func customerAliases(client: String) throws -> [CustomerAlias] {
        try database.query("SELECT alias, customer_id FROM customer_alias WHERE client_id = ? ORDER BY alias", [client]).map {
            CustomerAlias(alias: try $0.string("alias"), customerID: try $0.string("customer_id"))
        }
    }

    /// The customers a payer is known as: its id and name looked up among the aliases (and
    /// customer ids themselves). Matching only ever considers these customers' invoices.
    public func customers(forPayerID payerID: String?, name: String?) throws -> [String] {
        var result: [String] = []
        for key in [payerID, name].compactMap({ $0?.trimmingCharacters(in: .whitespaces).uppercased() }) where !key.isEmpty {
            for row in try database.query("SELECT customer_id FROM customer_alias WHERE alias = ?", [key]) {
                let id = try row.string("customer_id")
                if !result.contains(id) { result.append(id) }
            }
        }
        return result
    }

    /// The client's customers with their open invoice counts.
    public func customers(client: String) throws -> [(customerID: String, openInvoices: Int)] {
        try database.query("""
            SELECT c.customer_id, (SELECT count(*) FROM open_invoice i WHERE i.client_id = c.client_id AND i.customer_id = c.customer_id
                AND i.open_amount_minor <> 0) AS open_count
            FROM customer c WHERE c.client_id = ? ORDER BY c.customer_id
            """, [client]).map { (try $0.string("customer_id"), Int(try $0.int64("open_count"))) }
    }
}
