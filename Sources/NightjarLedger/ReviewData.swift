import Foundation
public import NightjarCore
public import NightjarMatching
import NightjarStore

/// A batch as the morning review shows it: its payment, where it came from, and each line with
/// its match decision and typed deductions.
public struct ReviewBatch: Sendable, Codable {
    public struct Deduction: Sendable, Codable {
        public let type: String
        public let reasonCode: String?
        public let amount: Money
        /// The payer's wording of the reason.
        public let text: String?
        /// The payer's reference: a debit memo, return authorisation or promotion number.
        public let reference: String?
        /// The invoice it was taken against.
        public let invoiceID: Int64?
        /// The code is not in the client's reason-code table (the report lists it as an unmapped reason code).
        public let unmapped: Bool

        public init(
            type: String, reasonCode: String?, amount: Money, text: String? = nil, reference: String? = nil,
            invoiceID: Int64? = nil,
            unmapped: Bool = false
        ) {
            self.type = type
            self.reasonCode = reasonCode
            self.amount = amount
            self.text = text
            self.reference = reference
            self.invoiceID = invoiceID
            self.unmapped = unmapped
        }

        /// The deductions a match decision stored (`line_match.deductions`, as `DecisionJSON` writes them).
        static func stored(_ json: String?) -> [Deduction] {
            guard let json, json != "[]",
                let list = DecisionJSON.readDeductions(json)
                    ?? (try? JSONDecoder().decode([TypedDeduction].self, from: Data(json.utf8)))
            else { return [] }
            return list.map {
                Deduction(
                    type: $0.type.rawValue, reasonCode: $0.reasonCode, amount: $0.amount, text: $0.text,
                    reference: $0.reference,
                    invoiceID: $0.invoiceID, unmapped: $0.unmapped)
            }
        }
    }

    public struct Line: Sendable, Codable {
        public let position: Int
        public let reference: String
        public let amountPaid: Money
        public let status: String?
        public let rule: String?
        /// The invoice the line applies to (several, comma-separated, for a reference naming several).
        public let invoice: String?
        public let deductions: [Deduction]
        /// Candidates a person may confirm, in the order they rank.
        public let suggestions: [Suggestion]
        /// Why, when the status alone does not say (an unknown payer and the command that maps it).
        public let note: String?
        /// The customer the line applies to, as the client's books know it (id and name).
        public let customer: String?
        public let customerName: String?

        /// The line's number, from 1, as every command and page prints it.
        public var number: Int { position + 1 }

        public init(
            position: Int, reference: String, amountPaid: Money, status: String?, rule: String?, invoice: String?,
            deductions: [Deduction],
            suggestions: [Suggestion] = [], note: String? = nil, customer: String? = nil, customerName: String? = nil
        ) {
            self.position = position
            self.reference = reference
            self.amountPaid = amountPaid
            self.status = status
            self.rule = rule
            self.invoice = invoice
            self.deductions = deductions
            self.suggestions = suggestions
            self.note = note
            self.customer = customer
            self.customerName = customerName
        }

        /// Whether a person must look at it (anything but paid in full or with a discount).
        public var isException: Bool { !["paid_in_full", "paid_with_discount"].contains(status ?? "") }
    }

    public let id: Int64
    public let client: String
    public let payer: String?
    public let traceNumber: String?
    public let paymentDate: String?
    public let total: Money
    public let balanced: Bool
    public let difference: Money
    public let status: String
    public let file: String
    public let portal: String?
    public let importedAt: String
    public let lines: [Line]

    public init(
        id: Int64, client: String, payer: String?, traceNumber: String?, paymentDate: String?, total: Money,
        balanced: Bool,
        difference: Money, status: String, file: String, portal: String?, importedAt: String, lines: [Line]
    ) {
        self.id = id
        self.client = client
        self.payer = payer
        self.traceNumber = traceNumber
        self.paymentDate = paymentDate
        self.total = total
        self.balanced = balanced
        self.difference = difference
        self.status = status
        self.file = file
        self.portal = portal
        self.importedAt = importedAt
        self.lines = lines
    }
}

extension Ledger {
    /// The suggestions a match decision stored (`line_match.suggestions`, as `DecisionJSON` writes them).
    static func storedSuggestions(_ json: String?) -> [Suggestion] {
        guard let json, json != "[]" else { return [] }
        return (try? JSONDecoder().decode([Suggestion].self, from: Data(json.utf8))) ?? []
    }

    /// Batches awaiting review (not approved), or those imported on a date, with their lines.
    public func reviewBatches(clients: [ClientID]? = nil, importedOn date: CalendarDate? = nil) throws -> [ReviewBatch]
    {
        // The batches chosen, then all their lines in one query and their clients' customer
        // names in another (a query per batch cost more than the rows).
        var condition = ""
        var arguments: [any DatabaseValueConvertible] = []
        if let date {
            condition += " AND substr(f.imported_at, 1, 10) = ?"
            arguments.append(date.description)
        } else {
            condition += " AND b.status NOT IN ('approved', 'reversed')"
        }
        var clientCondition = ""
        if let clients, !clients.isEmpty {
            clientCondition = " IN (\(clients.map { _ in "?" }.joined(separator: ",")))"
            condition += " AND b.client_id" + clientCondition
            arguments += clients.map { $0 as any DatabaseValueConvertible }
        }
        let chosen = "FROM remittance_batch b JOIN source_file f ON f.id = b.source_file_id WHERE 1 = 1" + condition
        let batchRows = try database.query(
            "SELECT b.*, f.original_name, f.portal, f.imported_at " + chosen
                + " ORDER BY b.client_id, b.payment_date, b.id",
            arguments)
        guard !batchRows.isEmpty else { return [] }
        var namesByClient: [String: [String: String]] = [:]
        for customer in try database.query(
            "SELECT client_id, customer_id, name FROM customer WHERE name IS NOT NULL"
                + (clientCondition.isEmpty ? "" : " AND client_id" + clientCondition),
            clients.map { $0.map { $0 as any DatabaseValueConvertible } } ?? [])
        {
            namesByClient[try customer.string("client_id"), default: [:]][try customer.string("customer_id")] =
                try customer.string("name")
        }
        var lineRows: [Int64: [Row]] = [:]
        for line in try database.query(
            """
            SELECT l.batch_id, l.position, l.reference, l.amount_paid_minor, m.status, m.rule, m.deductions, m.suggestions, m.note,
                   coalesce((SELECT invoice_number FROM open_invoice WHERE id = m.invoice_id),
                            (SELECT group_concat(i.invoice_number, ', ') FROM line_application a JOIN open_invoice i ON i.id = a.invoice_id
                             WHERE a.line_id = l.id)) AS invoice,
                   coalesce((SELECT customer_id FROM open_invoice WHERE id = m.invoice_id),
                            (SELECT min(i.customer_id) FROM line_application a JOIN open_invoice i ON i.id = a.invoice_id WHERE a.line_id = l.id)) AS customer
            FROM remittance_line l LEFT JOIN line_match m ON m.line_id = l.id
            WHERE l.batch_id IN (SELECT b.id
            """ + " " + chosen + ") ORDER BY l.batch_id, l.position", arguments)
        {
            lineRows[try line.int64("batch_id"), default: []].append(line)
        }
        var batches: [ReviewBatch] = []
        batches.reserveCapacity(batchRows.count)
        for row in batchRows {
            let id = try row.int64("id")
            let client = try row.string("client_id")
            let names = namesByClient[client] ?? [:]
            let currency = try CurrencyCode(try row.string("currency"))
            var lines: [ReviewBatch.Line] = []
            for line in lineRows[id] ?? [] {
                let deductions = ReviewBatch.Deduction.stored(try line.optionalString("deductions"))
                lines.append(
                    ReviewBatch.Line(
                        position: Int(try line.int64("position")), reference: try line.string("reference"),
                        amountPaid: Money(minorUnits: try line.int64("amount_paid_minor"), currency: currency),
                        status: try line.optionalString("status"), rule: try line.optionalString("rule"),
                        invoice: try line.optionalString("invoice"), deductions: deductions,
                        suggestions: Ledger.storedSuggestions(try line.optionalString("suggestions")),
                        note: try line.optionalString("note"),
                        customer: try line.optionalString("customer"),
                        customerName: try line.optionalString("customer").flatMap { names[$0] }))
            }
            batches.append(
                ReviewBatch(
                    id: id, client: client, payer: try row.optionalString("payer_name"),
                    traceNumber: try row.optionalString("trace_number"),
                    paymentDate: try row.optionalString("payment_date"),
                    total: Money(minorUnits: try row.int64("total_minor"), currency: currency),
                    balanced: try row.int64("balanced") != 0,
                    difference: Money(minorUnits: try row.int64("difference_minor"), currency: currency),
                    status: try row.string("status"), file: try row.string("original_name"),
                    portal: try row.optionalString("portal"),
                    importedAt: try row.string("imported_at"), lines: lines))
        }
        return batches
    }
}
