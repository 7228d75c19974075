import Foundation
import NightjarStore
import Testing

@testable import NightjarCLI

/// An approved, exported batch cannot be changed by any command: every command the table marks
/// `changesBooks` is run against one, and the batch, its decisions, what it settled and its
/// invoices' open amounts are compared before and after. A new command that changes the books
/// must be added here, or this test fails.
@Suite("frozen batches", .serialized)
struct FrozenBatchTests {
    /// How each command that changes the books is run against approved batch 1 (the fixture's
    /// acme payment 5551), and whether it may succeed.
    static func invocations(_ parent: String) -> [String: [(arguments: [String], stdin: String, mayChangeBatch: Bool)]]
    {
        let bob = SiteFixture.bob + "\n"
        let carol = SiteFixture.carol + "\n"
        let alice = SiteFixture.alice + "\n"
        return [
            // The same payment in other bytes: a duplicate, never a change to the first.
            "import": [
                (["import", parent + "/acme-remit-resent.csv", "--client", "acme"], "", false),
                (["import", parent + "/acme-remit.csv", "--client", "acme"], "", false),
                (["import", "--pending"], "", false),
            ],
            // The ERP's file from before it saw the payment: open amounts must not come back.
            "invoices import": [
                (["invoices", "import", parent + "/acme-open-again.csv", "--client", "acme"], "", false)
            ],
            "match": [
                (["match"], "", false), (["match", "--client", "acme"], "", false),
                (["match", "--batch", "1"], "", false),
            ],
            "batch approve": [
                (
                    [
                        "batch", "approve", "1", "--accept-exceptions", "--reason", "again", "--as", "carol",
                        "--passphrase-stdin",
                    ], carol, false
                )
            ],
            "batch reassign": [
                (["batch", "reassign", "1", "4", "INV-1003", "--as", "bob", "--passphrase-stdin"], bob, false)
            ],
            "batch accept-suggestion": [
                (
                    [
                        "batch", "accept-suggestion", "1", "3", "1", "--invoice", "INV-2001", "--as", "bob",
                        "--passphrase-stdin",
                    ], bob, false
                )
            ],
            "batch export": [
                (["batch", "export", "1", "--format", "csv", "--out", parent + "/again.csv", "--again"], "", false),
                (["batch", "export", "1", "--format", "hledger"], "", false),
            ],
            "account credit": [
                (
                    [
                        "account", "credit", "ACME-C1", "--client", "acme", "--type", "return", "--reference", "RMA-1",
                        "--amount", "5.00", "--by", "bob",
                    ], "", false
                )
            ],
            // A rename files a client's batches under its new name and changes nothing in them
            // (the ledger's tests follow acme's own rename); an existing name is refused.
            "client rename": [
                (["client", "rename", "globex", "globex-2"], "", false),
                (["client", "rename", "acme", "globex-2"], "", false),
            ],
            "customers alias add": [
                (["customers", "alias", "add", "Retail One Inc", "ACME-C1", "--client", "acme"], "", false)
            ],
            "customers alias import": [
                (["customers", "alias", "import", parent + "/aliases.csv", "--client", "acme"], "", false)
            ],
            "customers alias remove": [
                (["customers", "alias", "remove", "Retail One", "--client", "acme"], "", false)
            ],
            // The night's imports and matching are the code `import` and `match` run above; here
            // the night finds no definition for the fixture's credentials and reads nothing.
            "run": [(["run", "--as", "alice", "--passphrase-stdin"], alice, false)],
            "daemon": [(["daemon", "--max-runs", "1", "--as", "alice", "--passphrase-stdin"], alice, false)],
            // The one command that undoes an approval, by new entries: run last.
            "batch reverse": [
                (
                    ["batch", "reverse", "1", "--reason", "wrong client", "--as", "alice", "--passphrase-stdin"], alice,
                    true
                )
            ],
        ]
    }

    /// Everything of batch 1 a person or the GL relies on.
    static func snapshot(_ root: String) throws -> [String] {
        let database = try Database(path: root + "/data/nightjar.sqlite")
        func rows(_ sql: String) throws -> [String] {
            try database.query(sql).map { row in
                row.values.map { value -> String in
                    switch value {
                    case .integer(let number): String(number)
                    case .text(let text): text
                    case .null: "null"
                    default: "\(value)"
                    }
                }.joined(separator: "|")
            }
        }
        return try rows(
            "SELECT l.position, l.reference, l.amount_paid_minor, m.invoice_id, m.status, m.rule, m.applied_minor, m.discount_minor, m.write_off_minor, "
                + "m.unapplied_minor, m.deductions, m.suggestions FROM remittance_line l JOIN line_match m ON m.line_id = l.id WHERE l.batch_id = 1 ORDER BY l.position"
        )
            + rows("SELECT action, line_position, detail, actor FROM review_decision WHERE batch_id = 1 ORDER BY id")
            + rows("SELECT invoice_id, line_position, amount_minor FROM approval_entry WHERE batch_id = 1 ORDER BY id")
            + rows(
                "SELECT invoice_number, open_amount_minor FROM open_invoice WHERE client_id = 'acme' ORDER BY invoice_number"
            )
            + rows("SELECT status, total_minor, balanced FROM remittance_batch WHERE id = 1")
    }

    @Test func noCommandChangesAnApprovedExportedBatch() throws {
        let parent = try SiteFixture.copy("frozen")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
        }
        var result = try run(
            [
                "batch", "approve", "1", "--accept-exceptions", "--reason", "checked", "--as", "carol",
                "--passphrase-stdin",
            ], stdin: SiteFixture.carol + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        result = try run(["batch", "export", "1", "--format", "hledger", "--out", parent + "/batch-1.journal"])
        #expect(result.status == 0, "\(result.stderr)")
        let original = try String(contentsOfFile: parent + "/acme-remit.csv", encoding: .utf8)
        try (original + "\n").write(toFile: parent + "/acme-remit-resent.csv", atomically: true, encoding: .utf8)
        try (try String(contentsOfFile: parent + "/acme-open.csv", encoding: .utf8) + "\n").write(
            toFile: parent + "/acme-open-again.csv", atomically: true, encoding: .utf8)
        try "alias,customer_id\nRETAIL ONE LLC,ACME-C1\n".write(
            toFile: parent + "/aliases.csv", atomically: true, encoding: .utf8)

        // The table and this test agree on which commands change the books.
        let marked = Set(NightjarCommands.table.commands.filter { $0.effect == .changesBooks }.map(\.name))
        let table = FrozenBatchTests.invocations(parent)
        #expect(
            Set(table.keys) == marked,
            "commands that change the books without a check here: \(marked.subtracting(table.keys).sorted())")

        let before = try FrozenBatchTests.snapshot(root)
        #expect(before.contains { $0.hasPrefix("approved|") })
        for name in table.keys.sorted() where name != "batch reverse" {
            for step in table[name]! {
                let outcome = try run(step.arguments, stdin: step.stdin)
                #expect(outcome.status != 70 && outcome.status < 128, "\(step.arguments): crashed \(outcome.stderr)")
                #expect(
                    try FrozenBatchTests.snapshot(root) == before,
                    "\(step.arguments.joined(separator: " ")) changed approved batch 1: \(outcome.stdout) \(outcome.stderr)"
                )
            }
        }
        // Refused in words, not silently ignored.
        #expect(try run(["match", "--batch", "1"]).stderr.contains("batch 1 is approved and frozen"))
        #expect(
            try run(
                ["batch", "reassign", "1", "4", "INV-1003", "--as", "bob", "--passphrase-stdin"],
                stdin: SiteFixture.bob + "\n"
            ).stderr.contains("frozen"))
        #expect(try BinaryRunner.run(["--home", root, "batch", "show", "2"]).stdout.contains("DUPLICATE") == false)

        // The reversal changes the batch only by its status and new entries; each invoice is as it was before approval.
        let reverse = table["batch reverse"]![0]
        result = try run(reverse.arguments, stdin: reverse.stdin)
        #expect(result.status == 0, "\(result.stderr)")
        let after = try FrozenBatchTests.snapshot(root)
        let lines = before.prefix { !$0.hasPrefix("approve|") }
        #expect(Array(after.prefix(lines.count)) == Array(lines), "the reversal rewrote the lines")
        #expect(after.contains { $0.hasPrefix("reverse|") } && after.last?.hasPrefix("reversed|") == true)
        let open = try Database(path: root + "/data/nightjar.sqlite").query(
            "SELECT invoice_number, open_amount_minor FROM open_invoice WHERE client_id = 'acme' ORDER BY invoice_number"
        )
        .map { "\(try $0.string("invoice_number")) \(try $0.int64("open_amount_minor"))" }
        #expect(open == ["INV-1001 100000", "INV-1002 50000", "INV-1003 80000", "INV-2001 30000", "INV-3001 12000"])
    }

    @Test func batchesShowTheirStateAndFilterByStateExceptionsClientAndDate() throws {
        let parent = try SiteFixture.copy("states")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
        }
        func listed(_ arguments: [String]) throws -> [String] {
            let result = try run(["batches", "--json"] + arguments)
            let rows = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
            return rows.map { "\($0["id"] ?? "?") \($0["state"] ?? "?")" }
        }
        #expect(try listed([]) == ["3 matched", "2 matched", "1 matched"])
        // A reviewer approves only the clients the vault's review grants name.
        let alice = SiteFixture.alice + "\n"
        let revoked = try run(
            ["vault", "review", "revoke", "carol", "--all-clients", "--as", "alice", "--passphrase-stdin"], stdin: alice
        )
        #expect(
            revoked.status == 0 && revoked.stdout.contains("carol no longer reviews all clients."), "\(revoked.stdout)")
        let granted = try run(
            ["vault", "review", "grant", "carol", "acme", "--as", "alice", "--passphrase-stdin"], stdin: alice)
        #expect(granted.status == 0 && granted.stdout.contains("carol now reviews acme."), "\(granted.stdout)")
        var refused = try run(
            ["batch", "approve", "3", "--as", "carol", "--passphrase-stdin"], stdin: SiteFixture.carol + "\n")
        #expect(
            refused.status == 77
                && refused.stderr.contains("carol may not approve globex's batches: no review grant for globex"),
            "\(refused.stderr)")
        #expect(try listed([]) == ["3 matched", "2 matched", "1 matched"])
        #expect(
            try run(["batch", "approve", "2", "--as", "carol", "--passphrase-stdin"], stdin: SiteFixture.carol + "\n")
                .status == 0)
        // Bob, an operator holding acme's key, works acme's lines but never approves.
        refused = try run(
            ["batch", "approve", "1", "--accept-exceptions", "--reason", "x", "--as", "bob", "--passphrase-stdin"],
            stdin: SiteFixture.bob + "\n")
        #expect(
            refused.status == 77 && refused.stderr.contains("bob needs the reviewer or admin role to approve"),
            "\(refused.stderr)")
        #expect(
            try run(
                ["vault", "review", "grant", "carol", "globex", "--as", "alice", "--passphrase-stdin"], stdin: alice
            ).status == 0)
        #expect(
            try run(["batch", "approve", "3", "--as", "carol", "--passphrase-stdin"], stdin: SiteFixture.carol + "\n")
                .status == 0)
        #expect(try run(["batch", "export", "3", "--format", "csv", "--out", parent + "/3.csv"]).status == 0)
        #expect(try listed([]) == ["3 exported", "2 approved", "1 matched"])
        #expect(try listed(["--status", "approved", "--status", "exported"]) == ["3 exported", "2 approved"])
        #expect(try listed(["--exceptions"]) == ["1 matched"])
        #expect(try listed(["--client", "acme", "--status", "approved"]) == ["2 approved"])
        #expect(try listed(["--since", "2999-01-01"]) == [])
        #expect(try run(["batches"]).stdout.contains("STATE"))
        #expect(
            try run(
                ["batch", "reverse", "2", "--reason", "test", "--as", "alice", "--passphrase-stdin"],
                stdin: SiteFixture.alice + "\n"
            ).status == 0)
        #expect(try listed(["--status", "reversed"]) == ["2 reversed"])
        // Unknown clients and batches: exit 66 with a message; an unknown state is a usage error.
        var result = try run(["batches", "--client", "nosuch"])
        #expect(result.status == 66 && result.stderr.contains("no client nosuch"), "\(result.stderr)")
        result = try run(["batch", "show", "99"])
        #expect(result.status == 66 && result.stderr.contains("no batch 99"))
        result = try run(
            ["batch", "approve", "99", "--as", "carol", "--passphrase-stdin"], stdin: SiteFixture.carol + "\n")
        #expect(result.status == 66 && result.stderr.contains("no batch 99"))
        result = try run(
            ["batch", "reassign", "1", "9", "INV-1003", "--as", "bob", "--passphrase-stdin"],
            stdin: SiteFixture.bob + "\n")
        #expect(result.status == 66 && result.stderr.contains("batch 1 has no line 9"), "\(result.stderr)")
        #expect(try run(["batches", "--status", "done"]).status == 64)
    }
}
