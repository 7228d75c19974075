import Foundation
public import NightjarCore
import NightjarCrypto
public import NightjarDocuments
public import NightjarStore

/// Supplier documents into purchase orders: the catalogue with each supplier's reorder numbers,
/// purchase orders made from 810 invoices, and the processing log a store manager reads.
public struct PurchaseOrders {
    let database: Database

    public init(database: Database) { self.database = database }

    public static let statuses = ["inventory_not_received", "inventory_received"]
    /// IT1 qualifiers tried in order to find an item: vendor's item, buyer's item, buyer's part, UPC.
    public static let defaultQualifiers = ["VN", "IN", "BP", "UP"]

    // MARK: Catalogue

    public struct CatalogImport: Sendable, Codable {
        public let kind: String
        public let rows: Int
    }

    /// Loads products (`sku,name,supplier,reorder_number`), suppliers (`supplier,name,their_code`)
    /// or locations (`location,name,their_code`) by the file's header; one transaction.
    public func importCatalog(_ text: String, client: String, file: String) throws -> CatalogImport {
        try importCatalog(MemorySource(Array(text.utf8), name: file), client: client, file: file)
    }

    /// The same, read a chunk at a time: a catalogue of any size in bounded memory.
    public func importCatalog(_ source: any ByteSource, client: String, file: String) throws -> CatalogImport {
        var header: [String]?
        var kind = ""
        var count = 0
        var offset = -1
        return try database.transaction {
            try DelimitedFile.forEachRow(source, separator: ",", file: file) { row in
                offset += 1
                try DelimitedText.refuseNUL(in: [row], header: header, file: file)
                guard let header else {
                    let names = row.fields.map { $0.trimmingWhitespace().lowercased() }
                    header = names
                    kind =
                        names.contains("sku")
                        ? "products"
                        : names.contains("supplier") && names.contains("their_code")
                            ? "suppliers"
                            : names.contains("location") ? "locations" : ""
                    guard !kind.isEmpty else {
                        throw GeneralError(
                            code: "catalog.header",
                            message:
                                "\(file): expected a header of products (sku,name,supplier,reorder_number), suppliers (supplier,name,their_code) or locations (location,name,their_code)",
                            location: SourceLocation(file: file, line: 1), exitStatus: .dataError)
                    }
                    return
                }
                try importCatalogRow(row, offset: offset - 1, header: header, kind: kind, client: client, file: file)
                if !row.fields.allSatisfy({ $0.isEmpty }) { count += 1 }
            }
            guard header != nil else {
                throw GeneralError(code: "catalog.empty", message: "\(file) is empty", exitStatus: .dataError)
            }
            return CatalogImport(kind: kind, rows: count)
        }
    }

    func importCatalogRow(
        _ row: DelimitedText.Row, offset: Int, header: [String], kind: String, client: String, file: String
    ) throws {
        guard !row.fields.allSatisfy({ $0.isEmpty }) else { return }
        func column(_ name: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else {
                throw GeneralError(
                    code: "catalog.header",
                    message: "\(file): no `\(name)` column (header: \(header.joined(separator: ",")))",
                    location: SourceLocation(file: file, line: 1), exitStatus: .dataError)
            }
            return index
        }
        func field(_ index: Int) throws -> String {
            guard index < row.fields.count, !row.fields[index].trimmingWhitespace().isEmpty else {
                throw GeneralError(
                    code: "catalog.field", message: "\(file): line \(offset + 2) is missing `\(header[index])`",
                    location: SourceLocation(file: file, line: offset + 2), exitStatus: .dataError)
            }
            return row.fields[index].trimmingWhitespace()
        }
        switch kind {
        case "products":
            let sku = try field(try column("sku"))
            try database.execute(
                "INSERT INTO product (client_id, sku, name) VALUES (?, ?, ?) ON CONFLICT (client_id, sku) DO UPDATE SET name = excluded.name",
                [client, sku, try field(try column("name"))])
            if let supplierColumn = header.firstIndex(of: "supplier"),
                let reorderColumn = header.firstIndex(of: "reorder_number"),
                supplierColumn < row.fields.count, reorderColumn < row.fields.count,
                !row.fields[supplierColumn].isEmpty, !row.fields[reorderColumn].isEmpty
            {
                try mapItem(
                    client: client, supplier: row.fields[supplierColumn].trimmingWhitespace(),
                    reorderNumber: row.fields[reorderColumn].trimmingWhitespace(), sku: sku,
                    fixOpenOrders: false)
            }
        case "suppliers":
            try database.execute(
                """
                INSERT INTO supplier (client_id, code, name, their_code) VALUES (?, ?, ?, ?)
                ON CONFLICT (client_id, code) DO UPDATE SET name = excluded.name, their_code = excluded.their_code
                """,
                [
                    client, try field(try column("supplier")), try field(try column("name")),
                    try field(try column("their_code")),
                ])
        default:
            try database.execute(
                """
                INSERT INTO location (client_id, code, name, their_code) VALUES (?, ?, ?, ?)
                ON CONFLICT (client_id, code) DO UPDATE SET name = excluded.name, their_code = excluded.their_code
                """,
                [
                    client, try field(try column("location")), try field(try column("name")),
                    try field(try column("their_code")),
                ])
        }
    }

    /// Products whose SKU or name contains `text`, with their suppliers' reorder numbers.
    public func search(client: String, text: String) throws -> [(sku: String, name: String, reorderNumbers: [String])] {
        try database.query(
            "SELECT sku, name FROM product WHERE client_id = ? AND (sku LIKE ? OR name LIKE ?) ORDER BY sku LIMIT 50",
            [client, "%\(text)%", "%\(text)%"]
        ).map { row in
            let sku = try row.string("sku")
            let numbers = try database.query(
                "SELECT supplier_code, reorder_number FROM supplier_item WHERE client_id = ? AND sku = ? ORDER BY 1, 2",
                [client, sku]
            )
            .map { "\(try $0.string("supplier_code")):\(try $0.string("reorder_number"))" }
            return (sku, try row.string("name"), numbers)
        }
    }

    /// Records that a supplier's item code is one of our products; open purchase orders with that
    /// unmapped item are mapped at once. Returns how many lines it fixed.
    @discardableResult
    public func mapItem(
        client: String, supplier: String, reorderNumber: String, sku: String, fixOpenOrders: Bool = true
    ) throws -> Int {
        try database.transaction {
            guard
                try database.scalar(
                    Int64.self, "SELECT count(*) FROM product WHERE client_id = ? AND sku = ?", [client, sku]) ?? 0 > 0
            else {
                throw GeneralError(
                    code: "catalog.no_product", message: "no product \(sku) for \(client) (nightjar catalog search)",
                    exitStatus: .noInput)
            }
            try database.execute(
                """
                INSERT INTO supplier_item (client_id, supplier_code, reorder_number, sku) VALUES (?, ?, ?, ?)
                ON CONFLICT (client_id, supplier_code, reorder_number) DO UPDATE SET sku = excluded.sku
                """, [client, supplier, reorderNumber, sku])
            guard fixOpenOrders else { return 0 }
            let lines = try database.query(
                """
                SELECT l.id FROM purchase_order_line l JOIN purchase_order p ON p.id = l.po_id
                WHERE p.client_id = ? AND p.supplier_code = ? AND p.status = 'inventory_not_received' AND l.sku IS NULL AND l.item_code = ?
                """, [client, supplier, reorderNumber]
            ).map { try $0.int64("id") }
            for id in lines {
                try database.execute("UPDATE purchase_order_line SET sku = ?, error = NULL WHERE id = ?", [sku, id])
            }
            return lines.count
        }
    }

    public func setting(client: String, key: String) throws -> String? {
        try database.scalar(
            String.self, "SELECT value FROM client_setting WHERE client_id = ? AND key = ?", [client, key])
    }

    public func setSetting(client: String, key: String, value: String) throws {
        try database.execute(
            "INSERT INTO client_setting (client_id, key, value) VALUES (?, ?, ?) ON CONFLICT (client_id, key) DO UPDATE SET value = excluded.value",
            [client, key, value])
    }

    // MARK: Importing supplier invoices

    public struct Unmapped: Sendable, Codable, Equatable {
        public let code: String
        public let qualifier: String
        public let description: String?
        public let segment: Int
    }

    /// What became of one document.
    public struct Outcome: Sendable, Codable {
        public let reference: String?
        /// created, replaced, unchanged, older_ignored, conflict, failed
        public let action: String
        public let message: String
        public let unmapped: [Unmapped]
    }

    /// The purchase order reference: the supplier's invoice number and the order date.
    public static func reference(for invoice: SupplierInvoice) -> String {
        let date = invoice.purchaseOrderDate ?? invoice.invoiceDate
        return invoice.invoiceNumber + (date.map { " " + $0.format("yyyyMMdd") } ?? "")
    }

    /// Reads an 810 file and turns each invoice into a purchase order, one transaction per file;
    /// a file that cannot be read changes nothing and is logged as failed with its location.
    public func importInvoices(
        _ bytes: [UInt8], name: String, client: String, defaultCurrency: CurrencyCode,
        qualifiers: [String] = PurchaseOrders.defaultQualifiers, profiles: [LayoutProfile] = []
    ) throws -> [Outcome] {
        try importInvoices(
            MemorySource(bytes, name: name), name: name, client: client, defaultCurrency: defaultCurrency,
            qualifiers: qualifiers,
            profiles: profiles, sha256: SHA256.hash(bytes).hexString)
    }

    /// The same over a file read in chunks: each 810 becomes a purchase order as soon as it is
    /// read (a feed by profile is grouped by invoice number first), all in one transaction.
    public func importInvoices(
        _ source: any ByteSource, name: String, client: String, defaultCurrency: CurrencyCode,
        qualifiers: [String] = PurchaseOrders.defaultQualifiers, profiles: [LayoutProfile] = [], sha256: String? = nil
    ) throws -> [Outcome] {
        let sha: String
        if let sha256 {
            sha = sha256
        } else {
            let hasher = SHA256()
            try source.forEachChunk { hasher.update($0) }
            sha = hasher.finalize().hexString
        }
        do {
            return try database.transaction {
                var outcomes: [Outcome] = []
                func apply(_ invoice: SupplierInvoice) throws {
                    let outcome = try upsert(invoice, client: client, file: name, sha256: sha, qualifiers: qualifiers)
                    try log(client: client, outcome, file: name)
                    outcomes.append(outcome)
                }
                switch try DocumentFormat.detect(source) {
                case .text, .xlsx, .json, .html:
                    // A distributor's invoice feed, read by the one supplier_invoices profile that fits it.
                    switch ProfileSelection.choose(profiles, kind: .supplierInvoices, source: source, fileName: name) {
                    case .success(let profile):
                        source.rewind()
                        for invoice in try SupplierInvoiceTableReader.read(
                            source, profile: profile, defaultCurrency: defaultCurrency, file: name)
                        { try apply(invoice) }
                    case .failure(let refusal) where refusal.fitting.isEmpty:
                        throw GeneralError(
                            code: "po.no_profile", message: "\(name): no supplier_invoices profile fits it",
                            location: SourceLocation(file: name),
                            exitStatus: .dataError)
                    case .failure(let refusal):
                        throw GeneralError(
                            code: "po.several_profiles",
                            message:
                                "\(name): profiles \(refusal.fitting.joined(separator: " and ")) both fit it; give --profile",
                            location: SourceLocation(file: name),
                            exitStatus: .dataError)
                    }
                default:
                    source.rewind()
                    try SupplierInvoiceReader.forEach(source, defaultCurrency: defaultCurrency, file: name) {
                        try apply($0)
                    }
                }
                guard !outcomes.isEmpty else {
                    throw GeneralError(
                        code: "po.no_invoice", message: "\(name) holds no 810 invoice", exitStatus: .dataError)
                }
                return outcomes
            }
        } catch let error as any NightjarError
            where error is X12Error || error is LayoutError || error is InputError
            || (error as? GeneralError)?.code.hasPrefix("po.") == true
        {
            let outcome = Outcome(reference: nil, action: "failed", message: error.description, unmapped: [])
            try log(client: client, outcome, file: name)
            return [outcome]
        }
    }

    func log(client: String, _ outcome: Outcome, file: String) throws {
        let unmapped = String(decoding: try JSONEncoder().encode(outcome.unmapped), as: UTF8.self)
        try database.execute(
            "INSERT INTO po_log (at, client_id, reference, action, file, message, unmapped) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [Logger.timestamp(), client, outcome.reference, outcome.action, file, outcome.message, unmapped])
    }

    func upsert(_ invoice: SupplierInvoice, client: String, file: String, sha256: String, qualifiers: [String]) throws
        -> Outcome
    {
        let reference = PurchaseOrders.reference(for: invoice)
        let documentKey =
            (invoice.invoiceDate?.format("yyyyMMdd") ?? "00000000") + "|"
            + String(repeating: "0", count: max(0, 12 - invoice.controlNumber.count)) + invoice.controlNumber
        // The vendor and the ship-to, by the roles' order of preference.
        let vendor = ["VN", "SU", "SE", "RI"].lazy.compactMap { role in invoice.parties.first { $0.role == role } }
            .first
        let shipTo = ["ST", "BY", "BT"].lazy.compactMap { role in invoice.parties.first { $0.role == role } }.first
        let supplier = try findCode(table: "supplier", client: client, their: vendor?.id, name: vendor?.name)
        let location = try findCode(table: "location", client: client, their: shipTo?.id, name: shipTo?.name)
        var errors: [String] = invoice.findings.map { "segment \($0.segment ?? 0): \($0.message)" }
        if supplier == nil {
            errors.append(
                "supplier \(vendor?.name ?? "-") (\(vendor?.id ?? "no id")) is not in the catalogue: nightjar catalog import a suppliers file"
            )
        }
        if location == nil {
            errors.append("location \(shipTo?.name ?? "-") (\(shipTo?.id ?? "no id")) is not in the catalogue")
        }
        let digits = invoice.currency.minorUnitDigits
        var lines: [(sku: String?, qualifier: String?, code: String?, line: InvoiceLine, error: String?)] = []
        var unmapped: [Unmapped] = []
        for line in invoice.lines {
            var sku: String?
            var used: ProductID?
            if let supplier {
                for qualifier in qualifiers {
                    for id in line.productIDs where id.qualifier == qualifier {
                        if let found = try database.scalar(
                            String.self,
                            "SELECT sku FROM supplier_item WHERE client_id = ? AND supplier_code = ? AND reorder_number = ?",
                            [client, supplier, id.value])
                        {
                            sku = found
                            used = id
                            break
                        }
                    }
                    if sku != nil { break }
                }
            }
            let preferred =
                used ?? qualifiers.lazy.compactMap { q in line.productIDs.first { $0.qualifier == q } }.first
                ?? line.productIDs.first
            var error: String?
            if sku == nil {
                error =
                    "no product for \(preferred.map { "\($0.qualifier) \($0.value)" } ?? "an item without a code")\(line.description.map { " (\($0))" } ?? "")"
                unmapped.append(
                    Unmapped(
                        code: preferred?.value ?? "", qualifier: preferred?.qualifier ?? "",
                        description: line.description, segment: line.segment))
            }
            lines.append((sku, preferred?.qualifier, preferred?.value, line, error))
        }
        let total = lines.map { $0.line.extendedMinorUnits(digits: digits) }.reduce(0, +)
        let now = Logger.timestamp()
        if let existing = try database.query(
            "SELECT * FROM purchase_order WHERE client_id = ? AND reference = ?", [client, reference]
        ).first {
            let existingKey = try existing.string("document_key")
            if try existing.string("status") == "inventory_received" || existing.int64("corrected") != 0 {
                return Outcome(
                    reference: reference, action: "conflict",
                    message:
                        "purchase order \(reference) is already \(try existing.int64("corrected") != 0 ? "corrected by a person" : "received"); the new document (\(file)) was not applied: a person must compare them",
                    unmapped: unmapped)
            }
            if documentKey < existingKey {
                return Outcome(
                    reference: reference, action: "older_ignored",
                    message: "an older document for \(reference) than the one applied (\(existingKey)); kept the newer",
                    unmapped: [])
            }
            let existingSource = try existing.string("source_sha256")
            if documentKey == existingKey && existingSource == sha256 {
                return Outcome(
                    reference: reference, action: "unchanged", message: "the same document again", unmapped: [])
            }
            let id = try existing.int64("id")
            try database.execute("DELETE FROM purchase_order_line WHERE po_id = ?", [id])
            try database.execute(
                """
                UPDATE purchase_order SET supplier_code = ?, location_code = ?, order_date = ?, document_key = ?, total_minor = ?, currency = ?,
                    source_sha256 = ?, source_name = ?, errors = ?, updated_at = ? WHERE id = ?
                """,
                [
                    supplier, location, (invoice.purchaseOrderDate ?? invoice.invoiceDate)?.description, documentKey,
                    total, invoice.currency.description,
                    sha256, file, errors.joined(separator: "\n"), now, id,
                ])
            try insertLines(id, lines, digits: digits)
            return Outcome(
                reference: reference, action: "replaced",
                message:
                    "purchase order \(reference) replaced by \(file): \(lines.count) lines, \(unmapped.count) not mapped"
                    + (errors.isEmpty ? "" : "; " + errors.joined(separator: "; ")), unmapped: unmapped)
        }
        let status = try setting(client: client, key: "po.default_status") ?? "inventory_not_received"
        try database.execute(
            """
            INSERT INTO purchase_order (client_id, reference, supplier_code, location_code, order_date, document_key, status, total_minor, currency,
                source_sha256, source_name, errors, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                client, reference, supplier, location, (invoice.purchaseOrderDate ?? invoice.invoiceDate)?.description,
                documentKey, status, total,
                invoice.currency.description, sha256, file, errors.joined(separator: "\n"), now, now,
            ])
        try insertLines(database.lastInsertRowID, lines, digits: digits)
        return Outcome(
            reference: reference, action: "created",
            message:
                "purchase order \(reference) created from \(file): \(lines.count) lines, \(unmapped.count) not mapped"
                + (errors.isEmpty ? "" : "; " + errors.joined(separator: "; ")), unmapped: unmapped)
    }

    func insertLines(
        _ id: Int64, _ lines: [(sku: String?, qualifier: String?, code: String?, line: InvoiceLine, error: String?)],
        digits: Int
    ) throws {
        for (position, item) in lines.enumerated() {
            try database.execute(
                """
                INSERT INTO purchase_order_line (po_id, position, sku, item_qualifier, item_code, description, quantity_milli, unit_cost_ten_thousandths,
                    extended_minor, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    id, position + 1, item.sku, item.qualifier, item.code, item.line.description,
                    item.line.quantityMilli,
                    item.line.unitPriceTenThousandths, item.line.extendedMinorUnits(digits: digits), item.error,
                ])
        }
    }

    /// Our code for a supplier or location, by the distributor's id or, failing that, its name.
    func findCode(table: String, client: String, their: String?, name: String?) throws -> String? {
        if let their,
            let code = try database.scalar(
                String.self, "SELECT code FROM \(table) WHERE client_id = ? AND their_code = ?", [client, their])
        {
            return code
        }
        if let name,
            let code = try database.scalar(
                String.self, "SELECT code FROM \(table) WHERE client_id = ? AND upper(name) = upper(?)", [client, name])
        {
            return code
        }
        return nil
    }

    // MARK: Viewing and changing

    public struct Order: Sendable, Codable {
        public struct Line: Sendable, Codable {
            public let position: Int
            public let sku: String?
            public let itemQualifier: String?
            public let itemCode: String?
            public let description: String?
            public let quantity: String
            public let unitCost: String
            public let extended: String
            /// The currency of `unit_cost` and `extended` (the order's).
            public let currency: String
            public let error: String?
            public let correctedBy: String?

            enum CodingKeys: String, CodingKey {
                case position, sku, itemQualifier = "item_qualifier", itemCode = "item_code", description, quantity,
                    unitCost = "unit_cost", extended, currency, error, correctedBy = "corrected_by"
            }
        }
        public let reference: String
        public let client: String
        public let supplier: String?
        public let location: String?
        public let orderDate: String?
        public let status: String
        public let corrected: Bool
        public let total: String
        public let currency: String
        public let source: String
        public let errors: [String]
        public let lines: [Line]

        enum CodingKeys: String, CodingKey {
            case reference, client, supplier, location, orderDate = "order_date", status, corrected, total, currency,
                source, errors, lines
        }
    }

    static func decimal(_ value: Int64, scale: Int) -> String {
        let negative = value < 0
        let magnitude = value.magnitude
        let divisor = UInt64((0..<scale).reduce(1) { value, _ in value * 10 })
        var fraction = String(magnitude % divisor)
        fraction = String(repeating: "0", count: max(0, scale - fraction.count)) + fraction
        while fraction.count > 2 && fraction.hasSuffix("0") { fraction.removeLast() }
        return (negative ? "-" : "") + "\(magnitude / divisor)" + (scale > 0 ? "." + fraction : "")
    }

    public func orders(client: String?, status: String?) throws -> [Order] {
        var sql = "SELECT client_id, reference FROM purchase_order WHERE 1 = 1"
        var arguments: [any DatabaseValueConvertible] = []
        if let client {
            sql += " AND client_id = ?"
            arguments.append(client)
        }
        if let status {
            sql += " AND status = ?"
            arguments.append(status)
        }
        return try database.query(sql + " ORDER BY order_date, reference", arguments).compactMap {
            try order(client: try $0.string("client_id"), reference: try $0.string("reference"))
        }
    }

    public func order(client: String, reference: String) throws -> Order? {
        guard
            let row = try database.query(
                "SELECT * FROM purchase_order WHERE client_id = ? AND reference = ?", [client, reference]
            ).first
        else { return nil }
        let currency = try CurrencyCode(try row.string("currency"))
        let lines = try database.query(
            "SELECT * FROM purchase_order_line WHERE po_id = ? ORDER BY position", [try row.int64("id")]
        ).map { line in
            Order.Line(
                position: Int(try line.int64("position")), sku: try line.optionalString("sku"),
                itemQualifier: try line.optionalString("item_qualifier"),
                itemCode: try line.optionalString("item_code"), description: try line.optionalString("description"),
                quantity: PurchaseOrders.decimal(try line.int64("quantity_milli"), scale: 3),
                unitCost: PurchaseOrders.decimal(try line.int64("unit_cost_ten_thousandths"), scale: 4),
                extended: Money(minorUnits: try line.int64("extended_minor"), currency: currency).decimalString,
                currency: currency.description, error: try line.optionalString("error"),
                correctedBy: try line.optionalString("corrected_by"))
        }
        let errors = try row.string("errors")
        return Order(
            reference: reference, client: client, supplier: try row.optionalString("supplier_code"),
            location: try row.optionalString("location_code"),
            orderDate: try row.optionalString("order_date"), status: try row.string("status"),
            corrected: try row.int64("corrected") != 0,
            total: Money(minorUnits: try row.int64("total_minor"), currency: currency).decimalString,
            currency: currency.description,
            source: try row.string("source_name"), errors: errors.isEmpty ? [] : errors.components(separatedBy: "\n"),
            lines: lines)
    }

    func requireOrder(client: String, reference: String) throws -> Row {
        guard
            let row = try database.query(
                "SELECT * FROM purchase_order WHERE client_id = ? AND reference = ?", [client, reference]
            ).first
        else {
            throw GeneralError(
                code: "po.missing", message: "no purchase order \"\(reference)\" for \(client) (nightjar po list)",
                exitStatus: .noInput)
        }
        return row
    }

    public func receive(client: String, reference: String, by actor: String) throws {
        try database.transaction {
            let row = try requireOrder(client: client, reference: reference)
            try database.execute(
                "UPDATE purchase_order SET status = 'inventory_received', updated_at = ? WHERE id = ?",
                [Logger.timestamp(), try row.int64("id")])
            try log(
                client: client,
                Outcome(reference: reference, action: "received", message: "received by \(actor)", unmapped: []),
                file: "-")
        }
    }

    /// A person's correction of a line after delivery; the document's figures are kept in the log.
    public func correct(
        client: String, reference: String, line position: Int, quantityMilli: Int64?, unitCostTenThousandths: Int64?,
        by actor: String
    ) throws {
        try database.transaction {
            let row = try requireOrder(client: client, reference: reference)
            let id = try row.int64("id")
            guard
                let line = try database.query(
                    "SELECT * FROM purchase_order_line WHERE po_id = ? AND position = ?", [id, position]
                ).first
            else {
                throw GeneralError(
                    code: "po.no_line", message: "purchase order \(reference) has no line \(position)",
                    exitStatus: .noInput)
            }
            let oldQuantity = try line.int64("quantity_milli")
            let oldCost = try line.int64("unit_cost_ten_thousandths")
            let quantity = quantityMilli ?? oldQuantity
            let cost = unitCostTenThousandths ?? oldCost
            let digits = try CurrencyCode(try row.string("currency")).minorUnitDigits
            let raw = quantity * cost
            let scale = (0..<(7 - digits)).reduce(Int64(1)) { value, _ in value * 10 }
            let extended = raw >= 0 ? (raw + scale / 2) / scale : -((-raw + scale / 2) / scale)
            try database.execute(
                "UPDATE purchase_order_line SET quantity_milli = ?, unit_cost_ten_thousandths = ?, extended_minor = ?, corrected_by = ? WHERE id = ?",
                [quantity, cost, extended, actor, try line.int64("id")])
            try database.execute(
                "UPDATE purchase_order SET corrected = 1, total_minor = (SELECT sum(extended_minor) FROM purchase_order_line WHERE po_id = ?), updated_at = ? WHERE id = ?",
                [id, Logger.timestamp(), id])
            try log(
                client: client,
                Outcome(
                    reference: reference, action: "corrected",
                    message:
                        "line \(position) corrected by \(actor): quantity \(PurchaseOrders.decimal(try line.int64("quantity_milli"), scale: 3)) -> \(PurchaseOrders.decimal(quantity, scale: 3)), unit cost \(PurchaseOrders.decimal(try line.int64("unit_cost_ten_thousandths"), scale: 4)) -> \(PurchaseOrders.decimal(cost, scale: 4))",
                    unmapped: []), file: "-")
        }
    }

    public func delete(client: String, reference: String, by actor: String) throws {
        try database.transaction {
            let row = try requireOrder(client: client, reference: reference)
            try database.execute("DELETE FROM purchase_order_line WHERE po_id = ?", [try row.int64("id")])
            try database.execute("DELETE FROM purchase_order WHERE id = ?", [try row.int64("id")])
            try log(
                client: client,
                Outcome(reference: reference, action: "deleted", message: "deleted by \(actor)", unmapped: []),
                file: "-")
        }
    }

    public struct LogEntry: Sendable, Codable {
        public let at: String
        public let client: String
        public let reference: String?
        public let action: String
        public let file: String
        public let message: String
        public let unmapped: [Unmapped]
    }

    public func processingLog(date: CalendarDate?, client: String?) throws -> [LogEntry] {
        var sql = "SELECT * FROM po_log WHERE 1 = 1"
        var arguments: [any DatabaseValueConvertible] = []
        if let date {
            sql += " AND substr(at, 1, 10) = ?"
            arguments.append(date.description)
        }
        if let client {
            sql += " AND client_id = ?"
            arguments.append(client)
        }
        return try database.query(sql + " ORDER BY id", arguments).map {
            LogEntry(
                at: try $0.string("at"), client: try $0.string("client_id"),
                reference: try $0.optionalString("reference"), action: try $0.string("action"),
                file: try $0.string("file"), message: try $0.string("message"),
                unmapped: (try? JSONDecoder().decode([Unmapped].self, from: Data(try $0.string("unmapped").utf8))) ?? []
            )
        }
    }
}
