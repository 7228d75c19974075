import Foundation
import NightjarCore
import NightjarStore
import Testing

/// The morning's decisions and the GL export, checked by the real `hledger` and `bean-check`.
@Suite("nightjar batch approve/export", .serialized)
struct ReviewCommandTests {
    static let alice = "alice-review-passphrase", carol = "carol-review-passphrase", bob = "bob-review-passphrase"

    @Test func aReviewerApprovesAndTheJournalBalancesInHledgerAndBeancount() throws {
        let parent = BinaryRunner.temporaryFolder("review")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
        }
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        #expect(
            try run(
                ["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: "\(ReviewCommandTests.alice)\n"
            ).status == 0)
        #expect(
            try run(
                ["vault", "operator", "add", "carol", "--role", "reviewer", "--as", "alice", "--passphrase-stdin"],
                stdin: "\(ReviewCommandTests.alice)\n\(ReviewCommandTests.carol)\n"
            ).status == 0)
        #expect(
            try run(
                ["vault", "review", "grant", "carol", "acme", "--as", "alice", "--passphrase-stdin"],
                stdin: "\(ReviewCommandTests.alice)\n"
            ).status == 0)
        #expect(
            try run(
                ["vault", "operator", "add", "bob", "--role", "operator", "--as", "alice", "--passphrase-stdin"],
                stdin: "\(ReviewCommandTests.alice)\n\(ReviewCommandTests.bob)\n"
            ).status == 0)
        try FileManager.default.copyItem(
            atPath: ScraperCommandTests.repository + "/docs/examples/one-row-per-invoice.profile",
            toPath: root + "/profiles/one-row-per-invoice.profile")
        try """
        customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms
        ACME-C1,INV-1001,2026-11-15,2026-12-15,1000.00,1000.00,USD,PO1,2/10 NET 30
        ACME-C1,INV-1002,2026-11-15,2026-12-15,500.00,500.00,USD,PO2,2/10 NET 30
        ACME-C1,INV-1003,2026-11-15,2026-12-15,800.00,800.00,USD,PO3,2/10 NET 30
        ACME-C1,INV-2001,2026-11-01,2026-12-01,300.00,300.00,USD,PO4,NET 30

        """.write(toFile: parent + "/open.csv", atomically: true, encoding: .utf8)
        try """
        Check Number,Payment Date,Vendor Name,Invoice Number,Invoice Amount,Paid Amount,Discount,Deduction,Reason
        5551,11/20/2026,Retail One,INV-1001,1000.00,980.00,20.00,,
        5551,11/20/2026,Retail One,INV-1002,500.00,450.00,0.00,50.00,06
        5551,11/20/2026,Retail One,INV-1003,800.00,770.00,0.00,30.00,04
        5551,11/20/2026,Retail One,INV-9999,120.00,120.00,0.00,,

        """.write(toFile: parent + "/remit.csv", atomically: true, encoding: .utf8)
        #expect(try run(["invoices", "import", parent + "/open.csv", "--client", "acme"]).status == 0)
        #expect(try run(["customers", "alias", "add", "Retail One", "ACME-C1", "--client", "acme"]).status == 0)
        var result = try run(["import", parent + "/remit.csv", "--client", "acme"])
        #expect(result.status == 0, "\(result.stderr)")
        // A client's own rules: ADX/CSV reason 04 is a promotion at this retailer.
        try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        try "reason.04 = promotion\n".write(toFile: root + "/rules/acme.rules", atomically: true, encoding: .utf8)
        #expect(try run(["rules", "show", "--client", "acme"]).stdout.contains("reason.04 = promotion"))
        #expect(try run(["match"]).status == 0)
        result = try run(["batch", "show", "1"])
        #expect(
            result.stdout.contains("paid_with_discount") && result.stdout.contains("short_paid")
                && result.stdout.contains("unknown_reference"),
            "\(result.stdout)")

        // Not before approval; not by an operator without the reviewer role.
        result = try run(["batch", "export", "1", "--format", "hledger"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("not approved"))
        result = try run(
            ["batch", "approve", "1", "--as", "bob", "--passphrase-stdin"], stdin: ReviewCommandTests.bob + "\n")
        #expect(result.status == 77)
        func openAmounts() throws -> [Int64] {
            try Database(path: root + "/data/nightjar.sqlite").query(
                "SELECT open_amount_minor FROM open_invoice ORDER BY invoice_number"
            ).map { try $0.int64("open_amount_minor") }
        }
        // Two short payments and an unknown reference: not without accepting them, with a reason.
        result = try run(
            ["batch", "approve", "1", "--as", "carol", "--passphrase-stdin"], stdin: ReviewCommandTests.carol + "\n")
        #expect(result.status == 65)
        #expect(
            result.stderr.contains("batch 1 has 3 unresolved exception(s)")
                && result.stderr.contains("--accept-exceptions --reason"), "\(result.stderr)")
        #expect(try openAmounts() == [100_000, 50_000, 80_000, 30_000])
        result = try run(
            ["batch", "approve", "1", "--accept-exceptions", "--as", "carol", "--passphrase-stdin"],
            stdin: ReviewCommandTests.carol + "\n")
        #expect(result.status == 64 && result.stderr.contains("--reason"))
        result = try run(
            [
                "batch", "approve", "1", "--accept-exceptions", "--reason",
                "shortages go to deductions; INV-9999 is unapplied cash",
                "--as", "carol", "--passphrase-stdin",
            ], stdin: ReviewCommandTests.carol + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("approved by carol"))
        let approval = try Database(path: root + "/data/nightjar.sqlite").query(
            "SELECT detail, actor FROM review_decision WHERE action = 'approve'")
        #expect(
            try approval.map { try $0.string("detail") } == [
                "payment 2320.00 USD; exceptions accepted (3): shortages go to deductions; INV-9999 is unapplied cash"
            ])
        result = try run(
            ["batch", "approve", "1", "--as", "carol", "--passphrase-stdin"], stdin: ReviewCommandTests.carol + "\n")
        #expect(result.status == 65)
        #expect(result.stderr.contains("frozen"))
        // Matching never touches an approved batch: refused by id, left alone when its client is decided again.
        let decided = try run(["batch", "show", "1", "--json"]).stdout
        result = try run(["match", "--batch", "1"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("batch 1 is approved and frozen"), "\(result.stderr)")
        #expect(try run(["match", "--client", "acme"]).stdout.contains("No batches waiting for acme"))
        #expect(try run(["batch", "show", "1", "--json"]).stdout == decided)

        #expect(try openAmounts() == [0, 0, 0, 300_00])

        // hledger, strictly, and the clearing account holds the payment.
        let journal = parent + "/batch-1.journal"
        result = try run(["batch", "export", "1", "--format", "hledger", "--out", journal])
        #expect(result.status == 0, "\(result.stderr)")
        var (status, output) = try BinaryRunner.tool("/usr/bin/hledger", ["-f", journal, "check", "--strict"])
        let journalText = try String(contentsOfFile: journal, encoding: .utf8)
        #expect(status == 0, "\(output)\n\(journalText)")
        (status, output) = try BinaryRunner.tool(
            "/usr/bin/hledger", ["-f", journal, "balance", "Assets:Clearing:Remittances", "-N", "--flat"])
        #expect(output.contains("2320.00 USD"), "\(output)")
        (status, output) = try BinaryRunner.tool(
            "/usr/bin/hledger", ["-f", journal, "balance", "Expenses:Deductions", "-N", "--flat"])
        #expect(
            output.contains("Expenses:Deductions:Shortage") && output.contains("Expenses:Deductions:Promotion"),
            "\(output)")
        // beancount.
        let ledgerFile = parent + "/batch-1.beancount"
        #expect(try run(["batch", "export", "1", "--format", "beancount", "--out", ledgerFile]).status == 0)
        (status, output) = try BinaryRunner.tool("/usr/bin/bean-check", [ledgerFile])
        let beancountText = try String(contentsOfFile: ledgerFile, encoding: .utf8)
        #expect(status == 0, "\(output)\n\(beancountText)")
        // Recorded once per format unless --again; a preview on standard output is never recorded.
        result = try run(["batch", "export", "1", "--format", "hledger", "--out", journal])
        #expect(result.status == 65)
        #expect(result.stderr.contains("--again"))
        result = try run(["batch", "export", "1", "--format", "hledger"])
        #expect(result.status == 0 && result.stdout.contains("Assets:Clearing:Remittances"))
        #expect(result.stderr.contains("a preview, not recorded as exported"), "\(result.stderr)")
        let recorded = {
            try Database(path: root + "/data/nightjar.sqlite").scalar(Int64.self, "SELECT count(*) FROM gl_export")
                ?? -1
        }
        #expect(try recorded() == 2)
        #expect(
            try run(["batch", "export", "1", "--format", "csv", "--out", parent + "/dry.csv", "--dry-run"]).stderr
                .contains("not recorded"))
        #expect(try recorded() == 2)
        #expect(try run(["batch", "export", "1", "--format", "hledger", "--again", "--out", journal]).status == 0)
        #expect(try recorded() == 3)
        result = try run(["batch", "export", "1", "--format", "csv"])
        #expect(result.stdout.hasPrefix("date,entry,payee,account,debit,credit,currency,memo"))
        #expect(result.stdout.contains("Liabilities:Unapplied-Cash,,120.00,USD"))
        #expect(try run(["batch", "export", "1", "--format", "json"]).stdout.contains("\"entries\""))

        // A second payment with a transposed reference: a suggestion, never an automatic match.
        try """
        Check Number,Payment Date,Vendor Name,Invoice Number,Invoice Amount,Paid Amount,Discount,Deduction,Reason
        5552,11/25/2026,Retail One,INV-2010,300.00,275.00,0.00,,

        """.write(toFile: parent + "/remit2.csv", atomically: true, encoding: .utf8)
        #expect(try run(["import", parent + "/remit2.csv", "--client", "acme"]).status == 0)
        #expect(try run(["match"]).status == 0)
        result = try run(["batch", "show", "2"])
        #expect(result.stdout.contains("unknown_reference"), "\(result.stdout)")
        #expect(
            result.stdout.contains("suggestion 1: INV-2001 open 300.00, transposed, amount short"), "\(result.stdout)")
        // The invoice the clerk saw must still be suggestion 1.
        // Bob, an operator who holds no acme key, does not work acme's lines; carol, granted acme, does.
        result = try run(
            [
                "batch", "accept-suggestion", "2", "1", "1", "--invoice", "INV-2001", "--as", "bob",
                "--passphrase-stdin",
            ], stdin: ReviewCommandTests.bob + "\n")
        #expect(result.status == 77 && result.stderr.contains("bob may not work acme's batches"), "\(result.stderr)")
        result = try run(
            [
                "batch", "accept-suggestion", "2", "1", "1", "--invoice", "INV-2010", "--as", "carol",
                "--passphrase-stdin",
            ], stdin: ReviewCommandTests.carol + "\n")
        #expect(
            result.status == 65
                && result.stderr.contains("suggestion 1 of batch 2 line 1 is now INV-2001, not INV-2010"),
            "\(result.stderr)")
        result = try run(
            [
                "batch", "accept-suggestion", "2", "1", "1", "--invoice", "INV-2001", "--as", "carol",
                "--passphrase-stdin",
            ], stdin: ReviewCommandTests.carol + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.stdout.contains("batch 2 line 1 (INV-2010): unknown reference -> INV-2001, short paid (by carol)"),
            "\(result.stdout)")
        result = try run(
            ["batch", "reassign", "1", "3", "INV-2001", "--as", "carol", "--passphrase-stdin"],
            stdin: ReviewCommandTests.carol + "\n")
        #expect(result.status == 65)
        #expect(result.stderr.contains("frozen"))
        #expect(
            try run(
                [
                    "batch", "approve", "2", "--accept-exceptions", "--reason", "short by 25.00, a return follows",
                    "--as", "carol", "--passphrase-stdin",
                ],
                stdin: ReviewCommandTests.carol + "\n"
            ).status == 0)
        result = try run([
            "account", "credit", "ACME-C1", "--client", "acme", "--type", "return", "--reference", "RMA-7781",
            "--amount", "25.00",
            "--invoice", "INV-2001", "--by", "bob",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        result = try run(["invoices", "show", "INV-2001", "--client", "acme", "--json"])
        #expect(
            result.stdout.contains("\"kind\" : \"payment\"") && result.stdout.contains("\"kind\" : \"credit:return\"")
                && result.stdout.contains("RMA-7781"),
            "\(result.stdout)")
        #expect(result.stdout.contains("\"reference\" : \"payment 5552 line INV-2010\""))
        result = try run(["account", "show", "ACME-C1", "--client", "acme"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Account ACME-C1 of acme: balance 0.00 USD"), "\(result.stdout)")
        #expect(
            result.stdout.contains("shortage 50.00 USD") && result.stdout.contains("promotion 30.00 USD")
                && result.stdout.contains("credit:return 25.00 USD"))
        result = try run(["batch", "show", "2"])
        let decisions = try Database(path: root + "/data/nightjar.sqlite").query(
            "SELECT action, actor FROM review_decision ORDER BY id"
        ).map {
            "\(try $0.string("action")) \(try $0.string("actor"))"
        }
        #expect(decisions == ["approve carol", "accept-suggestion carol", "approve carol"])

        // Open amounts moved on approval; an admin reverses and they come back.
        result = try run(
            ["batch", "reverse", "1", "--as", "carol", "--passphrase-stdin"], stdin: ReviewCommandTests.carol + "\n")
        #expect(result.status == 77)
        result = try run(
            ["batch", "reverse", "1", "--reason", "wrong client", "--as", "alice", "--passphrase-stdin"],
            stdin: ReviewCommandTests.alice + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try openAmounts() == [100_000, 50_000, 80_000, 0])
        result = try run(["batch", "export", "1", "--format", "hledger", "--again", "--out", journal])
        (status, output) = try BinaryRunner.tool("/usr/bin/hledger", ["-f", journal, "check", "--strict"])
        #expect(status == 0, "\(output)")
        let reversed = try String(contentsOfFile: journal, encoding: .utf8)
        // Dated the day of the reversal (here, where the workspace is), not the payment's day.
        let today = CalendarDate.today(in: TimeZone(identifier: "UTC")!).description
        #expect(reversed.contains("\n\(today) Retail One | Reversal of"), "\(reversed)")
        #expect(reversed.contains("\n2026-11-20 Retail One | Remittance"))
        (status, output) = try BinaryRunner.tool(
            "/usr/bin/hledger", ["-f", journal, "balance", "Assets:Clearing:Remittances", "-N", "--flat"])
        #expect(!output.contains("2320.00"), "\(output)")
    }
}
