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
}
