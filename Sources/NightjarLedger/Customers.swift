public import NightjarCore
public import NightjarMatching
import NightjarStore

/// A payer identifier (vendor number, DUNS, name as written) mapped to one of the client's customers.
public struct CustomerAlias: Sendable, Codable, Equatable {
    public let alias: String
    public let customerID: String

    public init(alias: String, customerID: String) {
        self.alias = alias
        self.customerID = customerID
    }

    enum CodingKeys: String, CodingKey {
        case alias, customerID = "customer_id"
    }
}

/// One row of an alias file, with the line it came from.
public struct CustomerAliasEntry: Sendable, Equatable {
    public let alias: String
    public let customerID: String
    public let line: Int

    public init(alias: String, customerID: String, line: Int) {
        self.alias = alias
        self.customerID = customerID
        self.line = line
    }
}

/// Reads an alias file: a header row naming an `alias` column (or `payer_id`, `payer`,
/// `payer_name`) and a `customer_id` column, then one alias per row.
public enum CustomerAliasFile {
    public static func read(_ bytes: [UInt8], file: String) throws -> [CustomerAliasEntry] {
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let separator: Character =
            text.prefix(while: { $0 != "\n" }).contains(";") && !text.prefix(while: { $0 != "\n" }).contains(",")
            ? ";" : ","
        let rows = try DelimitedText.parse(text, separator: separator, file: file).filter {
            !$0.fields.allSatisfy { $0.trimmingWhitespace().isEmpty }
        }
        try DelimitedText.refuseNUL(in: rows, file: file)
        guard let header = rows.first else {
            throw GeneralError(
                code: "alias_file.empty", message: "\(file) is empty; expected a header row `alias,customer_id`",
                location: SourceLocation(file: file, line: 1), exitStatus: .dataError)
        }
        let names = header.fields.map { $0.trimmingWhitespace().lowercased() }
        guard let aliasColumn = names.firstIndex(where: { ["alias", "payer_id", "payer", "payer_name"].contains($0) }),
            let customerColumn = names.firstIndex(of: "customer_id")
        else {
            throw GeneralError(
                code: "alias_file.header",
                message:
                    "the header must name an `alias` column and a `customer_id` column (found \(names.joined(separator: ", ")))",
                location: SourceLocation(file: file, line: header.line), exitStatus: .dataError)
        }
        var entries: [CustomerAliasEntry] = []
        var seen: [String: Int] = [:]
        for row in rows.dropFirst() {
            func value(_ column: Int) -> String {
                column < row.fields.count ? row.fields[column].trimmingWhitespace() : ""
            }
            let alias = value(aliasColumn)
            let customer = value(customerColumn)
            let location = SourceLocation(file: file, line: row.line)
            guard !alias.isEmpty else {
                throw GeneralError(
                    code: "alias_file.missing_value", message: "the alias is empty", location: location,
                    exitStatus: .dataError)
            }
            guard !customer.isEmpty else {
                throw GeneralError(
                    code: "alias_file.missing_value", message: "no customer id for \(alias)", location: location,
                    exitStatus: .dataError)
            }
            if let earlier = seen[alias.uppercased()] {
                throw GeneralError(
                    code: "alias_file.duplicate", message: "\(alias) is listed twice (first on line \(earlier))",
                    location: location, exitStatus: .dataError)
            }
            seen[alias.uppercased()] = row.line
            entries.append(CustomerAliasEntry(alias: alias, customerID: customer, line: row.line))
        }
        return entries
    }
}

/// What loading aliases changed.
public struct AliasImportResult: Sendable, Codable, Equatable {
    public let added: Int
    public let changed: Int
    public let unchanged: Int

    public init(added: Int, changed: Int, unchanged: Int) {
        self.added = added
        self.changed = changed
        self.unchanged = unchanged
    }
}

/// The customers a batch's payer is known as, and how to make it known when it is not.
public struct PayerCustomers: Sendable, Equatable {
    public let customers: [String]
    /// What to run when the payer id equals a customer id but the rule to use it is off.
    public let hint: String?
}

public enum AliasError: NightjarError {
    case empty
    /// Several payer ids go by this name: an alias by name would map them all.
    case nameShared(alias: String, payerIDs: [String], client: ClientID, location: SourceLocation?)

    public var code: String {
        switch self {
        case .empty: "customer.alias_empty"
        case .nameShared: "customer.alias_name_shared"
        }
    }

    public var message: String {
        switch self {
        case .empty: "the alias is empty"
        case .nameShared(let alias, let ids, let client, _):
            "several payers are named \(alias) (ids \(ids.joined(separator: ", "))): map each payer id instead "
                + "(nightjar customers alias add \(ids[0]) CUSTOMER --client \(client)), or pass --force to map the name anyway"
        }
    }

    public var location: SourceLocation? {
        if case .nameShared(_, _, _, let location) = self { return location }
        return nil
    }

    public var exitStatus: ExitStatus {
        if case .empty = self { return .usage }
        return .dataError
    }
}

/// What storing one alias did.
enum AliasChange { case added, changed, unchanged }

extension Ledger {
    static func aliasKey(_ alias: String) -> String { alias.trimmingWhitespace().uppercased() }

    /// The payer ids seen in the client's batches under this payer name (several: the name is ambiguous).
    public func payerIDs(named name: String, client: ClientID) throws -> [String] {
        try database.query(
            """
            SELECT DISTINCT payer_id FROM remittance_batch WHERE client_id = ? AND upper(trim(payer_name)) = ? AND coalesce(payer_id, '') <> ''
            ORDER BY payer_id
            """, [client, Ledger.aliasKey(name)]
        ).map { try $0.string("payer_id") }
    }

    func checkAlias(_ alias: String, client: ClientID, force: Bool, location: SourceLocation?) throws {
        guard !force else { return }
        let ids = try payerIDs(named: alias, client: client)
        if ids.count > 1 && !ids.map(Ledger.aliasKey).contains(Ledger.aliasKey(alias)) {
            throw AliasError.nameShared(alias: alias, payerIDs: ids, client: client, location: location)
        }
    }

    func storeAlias(_ key: String, customerID: String, client: ClientID) throws -> AliasChange {
        let existing = try database.scalar(
            String.self, "SELECT customer_id FROM customer_alias WHERE client_id = ? AND alias = ?", [client, key])
        if existing == customerID { return .unchanged }
        try database.execute(
            "INSERT OR IGNORE INTO customer (client_id, customer_id) VALUES (?, ?)", [client, customerID])
        try database.execute(
            """
            INSERT INTO customer_alias (client_id, alias, customer_id) VALUES (?, ?, ?)
            ON CONFLICT (client_id, alias) DO UPDATE SET customer_id = excluded.customer_id
            """, [client, key, customerID])
        return existing == nil ? .added : .changed
    }

    /// Records that `alias` (as a payer writes it in an N1 or a CSV) means `customerID`, for this
    /// client only. A name several payer ids share is refused unless `force`.
    public func addCustomerAlias(client: ClientID, alias: String, customerID: String, force: Bool = false) throws {
        let key = Ledger.aliasKey(alias)
        guard !key.isEmpty else { throw AliasError.empty }
        try database.transaction {
            try ensureClient(client)
            try checkAlias(alias, client: client, force: force, location: nil)
            _ = try storeAlias(key, customerID: customerID, client: client)
        }
    }

    /// Loads many aliases in one transaction: all of them, or none when one is refused.
    public func importCustomerAliases(
        _ entries: [CustomerAliasEntry], client: ClientID, file: String, force: Bool = false
    ) throws -> AliasImportResult {
        try database.transaction {
            try ensureClient(client)
            var added = 0
            var changed = 0
            var unchanged = 0
            for entry in entries {
                try checkAlias(
                    entry.alias, client: client, force: force, location: SourceLocation(file: file, line: entry.line))
                switch try storeAlias(Ledger.aliasKey(entry.alias), customerID: entry.customerID, client: client) {
                case .added: added += 1
                case .changed: changed += 1
                case .unchanged: unchanged += 1
                }
            }
            return AliasImportResult(added: added, changed: changed, unchanged: unchanged)
        }
    }

    /// Removes an alias; false when there was none.
    @discardableResult
    public func removeCustomerAlias(client: ClientID, alias: String) throws -> Bool {
        try database.execute(
            "DELETE FROM customer_alias WHERE client_id = ? AND alias = ?", [client, Ledger.aliasKey(alias)])
        return database.changes > 0
    }

    public func customerAliases(client: ClientID) throws -> [CustomerAlias] {
        try database.query("SELECT alias, customer_id FROM customer_alias WHERE client_id = ? ORDER BY alias", [client])
            .map {
                CustomerAlias(alias: try $0.string("alias"), customerID: try $0.string("customer_id"))
            }
    }

    /// The customers of `client` a payer is known as: its id and its name looked up among that
    /// client's aliases (never another client's), and, when the client's rules say
    /// `payer_id_is_customer_id`, its id as a customer id. Matching only ever considers these
    /// customers' invoices.
    public func customers(client: ClientID, payerID: String?, name: String?, rules: MatchingRules = .standard) throws
        -> PayerCustomers
    {
        var result: [String] = []
        let keys = [payerID, name].compactMap { $0.map(Ledger.aliasKey) }.filter { !$0.isEmpty }
        for key in keys {
            for row in try database.query(
                "SELECT customer_id FROM customer_alias WHERE client_id = ? AND alias = ?", [client, key])
            {
                let id = try row.string("customer_id")
                if !result.contains(id) { result.append(id) }
            }
        }
        var hint: String?
        if let payerID = payerID?.trimmingWhitespace(), !payerID.isEmpty,
            let known = try database.scalar(
                String.self,
                """
                SELECT customer_id FROM customer WHERE client_id = ? AND customer_id = ?
                UNION SELECT customer_id FROM open_invoice WHERE client_id = ? AND customer_id = ? LIMIT 1
                """, [client, payerID, client, payerID])
        {
            if rules.payerIDIsCustomerID {
                if !result.contains(known) { result.append(known) }
            } else if !result.contains(known) {
                hint =
                    "payer id \(payerID) is also a customer id of \(client): nightjar customers alias add \(payerID) \(known) --client \(client)"
                    + " (or payer_id_is_customer_id = yes in rules/\(client).rules)"
            }
        }
        return PayerCustomers(customers: result, hint: hint)
    }

    /// The client's customers with their open invoice counts.
    public func customers(client: ClientID) throws -> [(customerID: String, openInvoices: Int)] {
        try database.query(
            """
            SELECT c.customer_id, (SELECT count(*) FROM open_invoice i WHERE i.client_id = c.client_id AND i.customer_id = c.customer_id
                AND i.open_amount_minor <> 0) AS open_count
            FROM customer c WHERE c.client_id = ? ORDER BY c.customer_id
            """, [client]
        ).map { (try $0.string("customer_id"), Int(try $0.int64("open_count"))) }
    }
}
