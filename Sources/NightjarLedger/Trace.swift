import Foundation
import NightjarCore
public import NightjarMatching
import NightjarStore

/// Where a reference appeared: every file, batch and line, when it was fetched and what
/// matched it — finance's "why is invoice X not in this morning's batch?".
public struct ReferenceTrace: Sendable, Codable {
    public struct Appearance: Sendable, Codable {
        public let client: String
        public let portal: String?
        public let file: String
        public let sha256: String
        public let fetchedAt: String?
        public let importedAt: String
        public let batch: Int64
        public let paymentDate: String?
        public let traceNumber: String?
        public let payer: String?
        /// The line's number in its batch, from 1 as `batch show` prints it (0: the payment as a whole).
        public let line: Int
        public let reference: String
        public let amountPaid: String
        /// The currency of `amount_paid`.
        public let currency: String
        public let matchStatus: String?
        public let matchedInvoice: String?
        /// How the reference appeared: `line` (what a line paid), `PO` (or another REF qualifier)
        /// on a line, `deduction` (a deduction's own reference), `deduction text`, `deduction invoice`.
        public var foundAs: String = "line"

        enum CodingKeys: String, CodingKey {
            case client, portal, file, sha256, batch, payer, line, reference
            case foundAs = "found_as"
            case fetchedAt = "fetched_at", importedAt = "imported_at", paymentDate = "payment_date", traceNumber =
                "trace_number"
            case amountPaid = "amount_paid", currency, matchStatus = "match_status", matchedInvoice = "matched_invoice"
        }
    }

    /// A portal range a run checked for the client.
    public struct Check: Sendable, Codable {
        public let client: String
        public let portal: String
        public let from: String
        public let to: String
        public let status: String
        public let at: String
    }

    public let reference: String
    public let normalised: String
    public let appearances: [Appearance]
    /// The open invoice with this number, if the client's ERP export has it.
    public let openInvoice: String?
    /// What the nights checked, newest first (for "never seen").
    public let checks: [Check]

    enum CodingKeys: String, CodingKey {
        case reference, normalised, appearances, checks
        case openInvoice = "open_invoice"
    }
}

extension Ledger {
    /// Every appearance of a reference (compared after normalisation), for one client or all.
    public func trace(reference: String, client: String? = nil, normalisation: ReferenceNormalisation = .standard)
        throws -> ReferenceTrace
    {
        let wanted = normalisation.normalise(reference)
        var sql = """
            SELECT l.reference, l.position, l.amount_paid_minor, l.po_reference, l.po_number, b.id AS batch, b.client_id, b.payment_date, b.trace_number, b.payer_name, b.currency,
                   f.original_name, f.sha256, f.portal, f.fetched_at, f.imported_at, m.status AS match_status,
                   (SELECT invoice_number FROM open_invoice WHERE id = m.invoice_id) AS invoice_number,
                   (SELECT first_seen_at FROM inbox_file i WHERE i.client = b.client_id AND i.sha256 = f.sha256) AS seen_at
            FROM remittance_line l JOIN remittance_batch b ON b.id = l.batch_id JOIN source_file f ON f.id = b.source_file_id
            LEFT JOIN line_match m ON m.line_id = l.id
            """
        var arguments: [any DatabaseValueConvertible] = []
        if let client {
            sql += " WHERE b.client_id = ?"
            arguments.append(client)
        }
        var appearances: [ReferenceTrace.Appearance] = []
        // Lines' first REFs kept on the line (its PO), by batch and line: they join the other references below.
        var ownReferences: [(batch: Int64, position: Int64, appearance: ReferenceTrace.Appearance)] = []
        func matches(_ value: String) -> Bool {
            normalisation.normalise(value) == wanted || value.uppercased() == reference.uppercased()
        }
        try database.forEachRow(sql + " ORDER BY b.id, l.position", arguments) { row in
            if try row.int64("po_reference") == 1, let po = try row.optionalString("po_number"), matches(po) {
                var appearance = try ReferenceTrace.Appearance(
                    row, fetchedAt: try row.optionalString("fetched_at"), line: Int(try row.int64("position")) + 1,
                    reference: po, amount: try row.int64("amount_paid_minor"), matchStatus: nil,
                    matchedInvoice: try row.optionalString("reference"))
                appearance.foundAs = "PO"
                ownReferences.append((try row.int64("batch"), try row.int64("position"), appearance))
            }
            let text = try row.string("reference")
            guard normalisation.normalise(text) == wanted else { return }
            appearances.append(
                try ReferenceTrace.Appearance(
                    row, fetchedAt: try row.optionalString("seen_at") ?? row.optionalString("fetched_at"),
                    line: Int(try row.int64("position")) + 1, reference: text,
                    amount: try row.int64("amount_paid_minor"),
                    matchStatus: try row.optionalString("match_status"),
                    matchedInvoice: try row.optionalString("invoice_number")))
        }
        // The other references files give: REF on lines, deductions' own references, their words and invoices.
        var otherSQL = """
            SELECT d.qualifier, d.value, d.adjustment_id, d.batch_id, l.position, l.reference AS line_reference, l.amount_paid_minor,
                   a.amount_minor AS adjustment_minor, b.id AS batch, b.client_id, b.payment_date, b.trace_number, b.payer_name, b.currency,
                   f.original_name, f.sha256, f.portal, f.fetched_at, f.imported_at
            FROM document_reference d JOIN remittance_batch b ON b.id = d.batch_id JOIN source_file f ON f.id = b.source_file_id
            LEFT JOIN remittance_line l ON l.id = d.line_id LEFT JOIN remittance_adjustment a ON a.id = d.adjustment_id
            """
        if client != nil { otherSQL += " WHERE b.client_id = ?" }
        var nextOwn = ownReferences.startIndex
        try database.forEachRow(otherSQL + " ORDER BY d.id", arguments) { row in
            let value = try row.string("value")
            guard matches(value) else { return }
            // A line's own first reference came before every other row of its line and of the lines after it.
            let place = (try row.int64("batch_id"), try row.get("position", as: Int64?.self) ?? -1)
            while nextOwn < ownReferences.endIndex,
                (ownReferences[nextOwn].batch, ownReferences[nextOwn].position) <= place
            {
                appearances.append(ownReferences[nextOwn].appearance)
                nextOwn += 1
            }
            let amount =
                try row.get("adjustment_minor", as: Int64?.self) ?? row.get("amount_paid_minor", as: Int64?.self) ?? 0
            let isDeduction = try row.get("adjustment_id", as: Int64?.self) != nil
            var appearance = try ReferenceTrace.Appearance(
                row, fetchedAt: try row.optionalString("fetched_at"),
                line: Int(try row.get("position", as: Int64?.self) ?? -1) + 1, reference: value, amount: amount,
                matchStatus: nil, matchedInvoice: try row.optionalString("line_reference"))
            appearance.foundAs = isDeduction ? "deduction" : try row.string("qualifier")
            appearances.append(appearance)
        }
        appearances += ownReferences[nextOwn...].map(\.appearance)
        var textSQL = """
            SELECT a.reason_text, a.invoice_reference, a.amount_minor, l.position, l.reference AS line_reference, b.id AS batch, b.client_id, b.payment_date,
                   b.trace_number, b.payer_name, b.currency, f.original_name, f.sha256, f.portal, f.fetched_at, f.imported_at
            FROM remittance_adjustment a JOIN remittance_batch b ON b.id = a.batch_id JOIN source_file f ON f.id = b.source_file_id
            LEFT JOIN remittance_line l ON l.id = a.line_id
            WHERE (a.reason_text IS NOT NULL OR a.invoice_reference IS NOT NULL)
            """
        if client != nil { textSQL += " AND b.client_id = ?" }
        let upper = reference.uppercased()
        try database.forEachRow(textSQL + " ORDER BY a.id", arguments) { row in
            let words = try row.optionalString("reason_text")?.uppercased() ?? ""
            let invoice = try row.optionalString("invoice_reference")
            let inText = upper.count >= 4 && words.contains(upper)
            let onInvoice = invoice.map { normalisation.normalise($0) == wanted } ?? false
            guard inText || onInvoice else { return }
            var appearance = try ReferenceTrace.Appearance(
                row, fetchedAt: try row.optionalString("fetched_at"),
                line: Int(try row.get("position", as: Int64?.self) ?? -1) + 1,
                reference: onInvoice ? invoice! : (try row.optionalString("reason_text") ?? ""),
                amount: try row.int64("amount_minor"), matchStatus: nil,
                matchedInvoice: try row.optionalString("line_reference"))
            appearance.foundAs = onInvoice ? "deduction invoice" : "deduction text"
            appearances.append(appearance)
        }
        var invoiceSQL = "SELECT invoice_number, open_amount_minor, currency, customer_id FROM open_invoice"
        var invoiceArguments: [any DatabaseValueConvertible] = []
        if let client {
            invoiceSQL += " WHERE client_id = ?"
            invoiceArguments.append(client)
        }
        var openInvoice: String?
        try database.forEachRow(invoiceSQL, invoiceArguments) { row in
            guard openInvoice == nil, normalisation.normalise(try row.string("invoice_number")) == wanted else {
                return
            }
            let money = Money(
                minorUnits: try row.int64("open_amount_minor"), currency: try CurrencyCode(try row.string("currency")))
            openInvoice =
                "\(try row.string("invoice_number")) for \(try row.string("customer_id")), open \(money.decimalString) \(money.currency)"
        }
        var checkSQL = "SELECT client, portal, range_from, range_to, status, started_at FROM night_run_item"
        var checkArguments: [any DatabaseValueConvertible] = []
        if let client {
            checkSQL += " WHERE client = ?"
            checkArguments.append(client)
        }
        let checks = try database.query(checkSQL + " ORDER BY id DESC LIMIT 50", checkArguments).map {
            ReferenceTrace.Check(
                client: try $0.string("client"), portal: try $0.string("portal"), from: try $0.string("range_from"),
                to: try $0.string("range_to"), status: try $0.string("status"), at: try $0.string("started_at"))
        }
        return ReferenceTrace(
            reference: reference, normalised: wanted, appearances: appearances, openInvoice: openInvoice, checks: checks
        )
    }
}

extension ReferenceTrace.Appearance {
    /// An appearance from a row of one of the trace's queries: the file, batch and payment from
    /// their columns (`client_id`, `portal`, `original_name`, `sha256`, `imported_at`, `batch`,
    /// `payment_date`, `trace_number`, `payer_name`, `currency`), the rest as each query reads it.
    init(
        _ row: Row, fetchedAt: String?, line: Int, reference: String, amount: Int64, matchStatus: String?,
        matchedInvoice: String?
    ) throws {
        let currency = try CurrencyCode(try row.string("currency"))
        self.init(
            client: try row.string("client_id"), portal: try row.optionalString("portal"),
            file: try row.string("original_name"), sha256: try row.string("sha256"), fetchedAt: fetchedAt,
            importedAt: try row.string("imported_at"), batch: try row.int64("batch"),
            paymentDate: try row.optionalString("payment_date"), traceNumber: try row.optionalString("trace_number"),
            payer: try row.optionalString("payer_name"), line: line, reference: reference,
            amountPaid: Money(minorUnits: amount, currency: currency).decimalString, currency: currency.description,
            matchStatus: matchStatus, matchedInvoice: matchedInvoice)
    }
}
