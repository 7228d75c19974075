import Foundation
import NightjarStore
import Testing

/// A workspace database written before a migration, opened by this version: every answer the
/// ledger gives (batches, trace, matching, review, the GL export) is the one it gave before.
@Suite("Migration of a stored workspace")
struct MigrationFixtureTests {
    static let fixture =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
        + "/Support/Fixtures/ledger-before-line-own-facts"

    /// The commands `record.sh` ran with the version before, in its order, and the answer file of each.
    static let readings: [(arguments: [String], answer: String)] =
        [(["batches", "--json"], "batches.json")]
        + (1...6).flatMap { batch in
            [
                (["batch", "show", "\(batch)", "--json"], "batch-\(batch).json"),
                (["batch", "show", "\(batch)"], "batch-\(batch).txt"),
            ]
        }
        + ["PO-1", "PO-4", "PO-2", "INV-2A", "INV-3B", "CM-77", "RA-44", "INV-1", "INV-9999", "DAMAGED", "3111", "07"]
        .map { (["trace", $0, "--json"], "trace-\($0).json") }
        + [
            (["invoices", "show", "INV-1", "--client", "acme", "--json"], "invoice-INV-1.json"),
            (["invoices", "show", "INV-7", "--client", "acme", "--json"], "invoice-INV-7.json"),
            (["account", "show", "C1", "--client", "acme", "--json"], "account-C1.json"),
        ]
        + ["csv", "json", "hledger", "beancount"].map { (["batch", "export", "2", "--format", $0], "export-2.\($0)") }

    static func answer(_ name: String) throws -> String {
        try String(contentsOfFile: fixture + "/answers/" + name, encoding: .utf8)
    }

    @Test func aStoreFromBeforeLineOwnFactsGivesTheSameAnswersAfterItsMigration() throws {
        let parent = BinaryRunner.temporaryFolder("migration-fixture")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        let store = root + "/data/nightjar.sqlite"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: store + suffix) }
        try FileManager.default.copyItem(atPath: MigrationFixtureTests.fixture + "/workspace.db", toPath: store)
        func count(_ table: String) throws -> Int64? {
            try Database(path: store).scalar(Int64.self, "SELECT count(*) FROM \(table)")
        }
        let references = try count("document_reference")
        let adjustments = try count("remittance_adjustment")
        func run(_ arguments: [String]) throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments)
        }

        for (arguments, answer) in MigrationFixtureTests.readings {
            let result = try run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout == (try MigrationFixtureTests.answer(answer)), "\(arguments.joined(separator: " "))")
        }
        // The migration moved the rows a line held twice (its PO as a reference, its one plain adjustment).
        let migrated = try Database(path: store)
        #expect(try migrated.scalar(Int64.self, "SELECT count(*) FROM remittance_line WHERE po_reference = 1") == 6)
        #expect(try count("document_reference") == references.map { $0 - 6 })
        #expect(
            try migrated.scalar(Int64.self, "SELECT count(*) FROM remittance_line WHERE adjustment_minor IS NOT NULL")
                == 4)
        #expect(try count("remittance_adjustment") == adjustments.map { $0 - 4 })

        // The morning report (the review's data), but for the time it was made.
        func report(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("Generated 20") }
                .joined(separator: "\n")
        }
        let page = parent + "/report.html"
        #expect(try run(["report", "--html", page]).status == 0)
        #expect(
            report(try String(contentsOfFile: page, encoding: .utf8))
                == report(try MigrationFixtureTests.answer("report.html")))

        // Matching every waiting batch again decides as before.
        let again = try run(["match", "--client", "acme"])
        #expect(again.stdout == (try MigrationFixtureTests.answer("match-again.txt")))
        #expect(again.stderr == (try MigrationFixtureTests.answer("match-again.stderr")))
        for batch in 1...3 {
            let shown = try run(["batch", "show", "\(batch)", "--json"]).stdout
                .split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("\"matched_at\"") }
                .joined(separator: "\n")
            #expect(shown == (try MigrationFixtureTests.answer("rematched-batch-\(batch).json")), "batch \(batch)")
        }
    }

    /// The same files imported, matched, approved and exported by this version give the answers
    /// the version before gave (but for when each thing happened): the new rows say what the old did.
    @Test func theSameFilesStoredByThisVersionGiveTheSameAnswers() throws {
        let parent = BinaryRunner.temporaryFolder("migration-fresh")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        let fixture = MigrationFixtureTests.fixture
        let samples = ImportCommandTests.samples
        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            let result = try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return result
        }
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        let alice = "alice-fixture-passphrase\n"
        let carol = "carol-fixture-passphrase\n"
        _ = try run(["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: alice)
        _ = try run(
            ["vault", "operator", "add", "carol", "--role", "reviewer", "--as", "alice", "--passphrase-stdin"],
            stdin: alice + carol)
        _ = try run(["vault", "review", "grant", "carol", "acme", "--as", "alice", "--passphrase-stdin"], stdin: alice)
        _ = try run(["invoices", "import", fixture + "/open.csv", "--client", "acme"])
        _ = try run(["customers", "alias", "add", "RETAILER CO", "C1", "--client", "acme"])
        _ = try run(["customers", "alias", "add", "0091372090000", "C1", "--client", "acme"])
        for file in [
            fixture + "/crafted.x12", samples + "/bots_820-004010-01_safeway_rmr_discounts.x12",
            samples + "/bots_820-004030-03_multi_ST_CAD_NAK_crlf_term.x12",
            samples + "/stupidedi_003010_RA820_short_isa_bps_rmt.edi",
        ] {
            _ = try run(["import", file, "--client", "acme"])
        }
        _ = try run(["match"])
        _ = try run(
            [
                "batch", "approve", "2", "--accept-exceptions", "--reason", "fixture approval", "--as", "carol",
                "--passphrase-stdin",
            ], stdin: carol)
        _ = try run(["batch", "export", "2", "--format", "csv", "--out", parent + "/export-2.csv"])

        func timeless(_ text: String) -> String {
            text.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.contains("\"matched_at\"") && !$0.contains("\"imported_at\"") }
                .joined(separator: "\n")
        }
        for (arguments, answer) in MigrationFixtureTests.readings where !answer.hasSuffix(".txt") {
            #expect(
                timeless(try run(arguments).stdout) == timeless(try MigrationFixtureTests.answer(answer)),
                "\(arguments.joined(separator: " "))")
        }
        let database = try Database(path: root + "/data/nightjar.sqlite")
        #expect(try database.scalar(Int64.self, "SELECT count(*) FROM remittance_line WHERE po_reference = 1") == 6)
    }
}
