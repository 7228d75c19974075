public import NightjarCore
import NightjarStore

/// Client names as the ledger holds them: the register (`client`), the names in it that the
/// identifier rule refuses (kept from before the rule), and renaming a client everywhere.
extension Ledger {
    /// Every table column that holds a client's name.
    static let clientColumns: [(table: String, column: String)] = [
        ("customer", "client_id"), ("customer_alias", "client_id"), ("source_file", "client_id"),
        ("open_invoice", "client_id"),
        ("remittance_batch", "client_id"), ("customer_credit", "client_id"), ("product", "client_id"),
        ("supplier", "client_id"),
        ("location", "client_id"), ("supplier_item", "client_id"), ("purchase_order", "client_id"),
        ("po_log", "client_id"),
        ("client_setting", "client_id"), ("night_run_item", "client"), ("inbox_file", "client"),
        ("source_item", "client_id"),
    ]

    /// Columns holding `CLIENT/PORTAL[/LABEL]` credential names.
    static let credentialColumns: [(table: String, column: String)] = [
        ("login_attempt", "credential"), ("totp_use", "credential"),
    ]

    /// The SQL that fills the register with every client any table names (the register began
    /// with remittance imports; purchase orders, credits and runs did not add to it).
    public static let clientRegisterBackfill: String = clientColumns.map { table, column in
        "INSERT OR IGNORE INTO client (id, created_at) SELECT DISTINCT \(column), strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM \(table);"
    }.joined(separator: "\n")

    /// The registered clients whose names the identifier rule refuses, sorted.
    public func clientsWithRefusedNames() throws -> [ClientID] {
        var refused: [ClientID] = []
        try database.forEachRow("SELECT id FROM client ORDER BY id") { row in
            let name = try row.string("id")
            if !Identifier.isValid(name) { refused.append(ClientID(name)) }
        }
        return refused
    }

    /// Renames a client in every table, in one transaction. `new` must follow the identifier
    /// rule and be unused: two clients are never merged.
    public func renameClient(_ old: ClientID, to new: ClientID) throws {
        do {
            try Identifier.validate(new.rawValue, field: "new client name")
        } catch {
            throw GeneralError(code: error.code, message: error.message, exitStatus: .usage)
        }
        try database.transaction {
            guard try uses(old) else {
                throw GeneralError(
                    code: "client.missing", message: "the ledger holds no client \"\(old)\"", exitStatus: .noInput)
            }
            guard try !uses(new) else {
                throw GeneralError(
                    code: "client.exists",
                    message:
                        "the ledger already holds a client \"\(new)\"; choose an unused name (clients are never merged)",
                    exitStatus: .cannotCreate)
            }
            try database.execute(
                "INSERT INTO client (id, created_at) SELECT ?, created_at FROM client WHERE id = ?", [new, old])
            for (table, column) in Ledger.clientColumns {
                try database.execute("UPDATE \(table) SET \(column) = ? WHERE \(column) = ?", [new, old])
            }
            let prefix = old.rawValue + "/"
            for (table, column) in Ledger.credentialColumns {
                try database.execute(
                    "UPDATE \(table) SET \(column) = ? || substr(\(column), ?) WHERE substr(\(column), 1, ?) = ?",
                    [new.rawValue, prefix.unicodeScalars.count, prefix.unicodeScalars.count, prefix])
            }
            try database.execute("DELETE FROM client WHERE id = ?", [old])
        }
    }

    /// Whether any table names `client` (credential names included).
    func uses(_ client: ClientID) throws -> Bool {
        if try database.scalar(Int64.self, "SELECT 1 FROM client WHERE id = ?", [client]) != nil { return true }
        for (table, column) in Ledger.clientColumns
        where try database.scalar(Int64.self, "SELECT 1 FROM \(table) WHERE \(column) = ? LIMIT 1", [client]) != nil {
            return true
        }
        let prefix = client.rawValue + "/"
        for (table, column) in Ledger.credentialColumns
        where try database.scalar(
            Int64.self, "SELECT 1 FROM \(table) WHERE substr(\(column), 1, ?) = ? LIMIT 1",
            [prefix.unicodeScalars.count, prefix]) != nil
        {
            return true
        }
        return false
    }
}
