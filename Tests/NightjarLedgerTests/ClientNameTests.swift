import Foundation
import NightjarCore
import NightjarDocuments
import NightjarStore
import Testing

@testable import NightjarLedger

/// Client names from before the identifier rule: found in the register, renamed everywhere in one transaction.
@Suite("Ledger: client names")
struct ClientNameTests {
    @Test func theRegisterIsBackfilledFromEveryTableThatNamesAClient() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-register-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = try Database(path: folder + "/ledger.sqlite")
        let statements = LedgerSchema.statements.enumerated().map {
            Migration(version: $0.offset + 1, name: $0.element.name, sql: $0.element.sql)
        }
        // An older ledger: purchase orders and catalogue rows never added their client to the register.
        try Migrator.migrate(database, Array(statements.prefix { $0.name != "client-register" }))
        try database.execute("INSERT INTO product (client_id, sku, name) VALUES ('store one', 'SKU-1', 'Widget')")
        try database.execute(
            "INSERT INTO client_setting (client_id, key, value) VALUES ('../x', 'po_status', 'inventory_received')")
        try Migrator.migrate(database, statements)
        #expect(try Ledger(database: database).clientsWithRefusedNames() == ["../x", "store one"])
    }

    @Test func aRenameMovesEveryRowAndARefusedOneChangesNothing() throws {
        let database = try ledgerDatabase()
        let ledger = Ledger(database: database)
        let advices = try RemittanceAdviceReader.read(LedgerTests.x12, defaultCurrency: .usd)
        _ = try ledger.importRemittances(
            advices, bytes: LedgerTests.x12, name: "a.x12", client: "acme corp", format: "x12-820")
        try ledger.addCustomerAlias(client: "acme corp", alias: "RETAILER CO", customerID: "C-1")
        try database.execute(
            "INSERT INTO totp_use (credential, counter) VALUES ('acme corp/sandbox-html-portal/vendor-2', 7)")
        try database.execute("INSERT INTO totp_use (credential, counter) VALUES ('acme corpus/sandbox-html-portal', 9)")
        _ = try ledger.importRemittances(
            try RemittanceAdviceReader.read(LedgerTests.x12, defaultCurrency: .usd), bytes: LedgerTests.x12 + [10],
            name: "b.x12", client: "beta", format: "x12-820")
        #expect(try ledger.clientsWithRefusedNames() == ["acme corp"])

        #expect(throws: GeneralError.self) { try ledger.renameClient("acme corp", to: "beta") }
        #expect(throws: GeneralError.self) { try ledger.renameClient("acme corp", to: "a/b") }
        #expect(throws: GeneralError.self) { try ledger.renameClient("nobody", to: "nobody-else") }
        #expect(
            try database.scalar(Int64.self, "SELECT count(*) FROM remittance_batch WHERE client_id = 'acme corp'") == 1)

        try ledger.renameClient("acme corp", to: "acme-corp")
        #expect(try ledger.clientsWithRefusedNames().isEmpty)
        #expect(try ledger.batches(client: "acme-corp").count == 1)
        #expect(try ledger.batches(client: "acme corp").isEmpty)
        #expect(try ledger.customerAliases(client: "acme-corp").map(\.alias) == ["RETAILER CO"])
        #expect(
            try database.scalar(String.self, "SELECT credential FROM totp_use WHERE counter = 7")
                == "acme-corp/sandbox-html-portal/vendor-2")
        #expect(
            try database.scalar(String.self, "SELECT credential FROM totp_use WHERE counter = 9")
                == "acme corpus/sandbox-html-portal", "another client's prefix")
        #expect(try database.scalar(Int64.self, "SELECT count(*) FROM client WHERE id = 'acme corp'") == 0)
        #expect(try ledger.batches(client: "beta").count == 1)
    }

    /// A table added later with a client column must join the rename (and the register's
    /// backfill), or a rename would leave its rows under the old name.
    @Test func everyColumnThatNamesAClientIsRenamed() throws {
        let database = try ledgerDatabase()
        var found: Set<String> = []
        for table in try database.query(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).map({ try $0.string("name") }) {
            for column in try database.query("SELECT name FROM pragma_table_info(?)", [table]).map({
                try $0.string("name")
            }) {
                if table != "client", ["client", "client_id"].contains(column) { found.insert("\(table).\(column)") }
                if column == "credential" { found.insert("\(table).\(column) (credential)") }
            }
        }
        let renamed = Set(
            Ledger.clientColumns.map { "\($0.table).\($0.column)" }
                + Ledger.credentialColumns.map { "\($0.table).\($0.column) (credential)" })
        #expect(
            found == renamed,
            "not renamed: \(found.subtracting(renamed).sorted()); not in the schema: \(renamed.subtracting(found).sorted())"
        )
        #expect(found.count > 10)
    }
}
