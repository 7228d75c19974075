import Foundation
import NightjarCore
import NightjarLedger
import Testing

@testable import NightjarReview

@Suite struct MorningReportTests {
    static func batch(
        client: String, payer: String, reference: String, status: String, deductions: [ReviewBatch.Deduction] = []
    ) -> ReviewBatch {
        ReviewBatch(
            id: 7, client: client, payer: payer, traceNumber: "T1", paymentDate: "2026-11-20",
            total: Money(minorUnits: 123_456_78, currency: .usd),
            balanced: true, difference: Money(minorUnits: 0, currency: .usd), status: "new", file: "remit.csv",
            portal: "sandbox-html-portal",
            importedAt: "2026-11-21T03:00:00Z",
            lines: [
                ReviewBatch.Line(
                    position: 1, reference: reference, amountPaid: Money(minorUnits: 100_00, currency: .usd),
                    status: status,
                    rule: "reference.exact", invoice: "INV-1", deductions: deductions)
            ])
    }

    @Test func exceptionsComeFirstAndAmountsAreGrouped() {
        let report = MorningReport(
            title: "Morning", generatedAt: "now",
            batches: [
                MorningReportTests.batch(
                    client: "acme", payer: "sandbox-html-portal", reference: "INV-1", status: "short_paid",
                    deductions: [
                        .init(type: "shortage", reasonCode: "06", amount: Money(minorUnits: 5_00, currency: .usd))
                    ])
            ],
            attention: [
                RunLog.Attention(
                    outcome: "auth_failed", client: "acme", item: "sandbox-json-api", file: nil,
                    message: "the portal refused the login",
                    whatToDo: "check the credential", run: 3)
            ], warnings: ["acme/sandbox-totp-portal expires 2026-12-01"])
        let html = report.html()
        #expect(html.contains("123,456.78 USD"))
        #expect(html.contains("short paid"))
        #expect(html.contains("shortage (06) quantity contested 5.00 USD"))
        #expect(html.contains("auth failed"))
        // What needs attention comes before everything else.
        #expect(html.range(of: "Needs attention (1)")!.lowerBound < html.range(of: "Client acme")!.lowerBound)
        #expect(html.contains("check the credential"))
        #expect(html.contains("acme/sandbox-totp-portal expires 2026-12-01"))
        let review = html.range(of: "Needs review")!.lowerBound
        let batches = html.range(of: "<h3>Batches</h3>")!.lowerBound
        #expect(review < batches)
        #expect(MorningReport.amount(Money(minorUnits: -1_000_000_00, currency: .usd)) == "-1,000,000.00 USD")
        #expect(MorningReport.amount(Money(minorUnits: 5, currency: .usd)) == "0.05 USD")
    }

    @Test func markupIsEscapedAndSecretsAreRedacted() {
        _ = Redactor.shared.register(text: "Sup3r-Secret-Value")
        let report = MorningReport(
            title: "<script>alert(1)</script>", generatedAt: "now",
            batches: [
                MorningReportTests.batch(
                    client: "acme", payer: "Evil <img src=x onerror=alert(1)> Sup3r-Secret-Value",
                    reference: "\"><script>", status: "unknown_reference")
            ])
        let html = report.html()
        #expect(!html.contains("<script>"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;"))
        #expect(!html.contains("Sup3r-Secret-Value"))
        #expect(html.contains("Content-Security-Policy"))
    }

    @Test func unmappedReasonCodesAreListedWithThePayersWords() {
        let deductions = [
            ReviewBatch.Deduction(
                type: "manual", reasonCode: "Q7", amount: Money(minorUnits: 12_00, currency: .usd),
                text: "scan-down June",
                unmapped: true),
            ReviewBatch.Deduction(type: "shortage", reasonCode: "06", amount: Money(minorUnits: 5_00, currency: .usd)),
        ]
        let html = MorningReport(
            title: "M", generatedAt: "now",
            batches: [
                MorningReportTests.batch(
                    client: "acme", payer: "P", reference: "INV-1", status: "short_paid", deductions: deductions)
            ]
        ).html()
        let section = try! #require(html.range(of: "<h3>Unmapped reason codes</h3>"))
        let rest = html[section.upperBound...]
        #expect(rest.contains("<td>Q7</td><td>scan-down June</td>") && rest.contains("rules/acme.rules"))
        #expect(!rest.prefix(upTo: rest.range(of: "</table>")!.lowerBound).contains("<td>06</td>"))
    }

    @Test func anUnknownPayersLinesSayHowToMapIt() {
        var batch = MorningReportTests.batch(
            client: "acme", payer: "NEW STORES", reference: "INV-1", status: "unknown_payer")
        batch = ReviewBatch(
            id: batch.id, client: batch.client, payer: batch.payer, traceNumber: batch.traceNumber,
            paymentDate: batch.paymentDate,
            total: batch.total, balanced: true, difference: batch.difference, status: batch.status, file: batch.file,
            portal: batch.portal,
            importedAt: batch.importedAt,
            lines: [
                ReviewBatch.Line(
                    position: 1, reference: "INV-1", amountPaid: Money(minorUnits: 1_00, currency: .usd),
                    status: "unknown_payer",
                    rule: "payer.unknown", invoice: nil, deductions: [],
                    note:
                        "payer NEW STORES is not known as a customer of acme: nightjar customers alias add V9 ACME-C1 --client acme"
                )
            ])
        let html = MorningReport(title: "M", generatedAt: "now", batches: [batch]).html()
        #expect(
            html.contains("unknown payer") && html.contains("nightjar customers alias add V9 ACME-C1 --client acme"))
    }

    @Test func anEmptyMorningSaysSo() {
        #expect(MorningReport(title: "M", generatedAt: "now", batches: []).html().contains("No batches await review."))
    }
}

@Suite struct GLExportTests {
    @Test func aDebitMemoAndALineOnSeveralInvoicesBalance() {
        func usd(_ cents: Int64) -> Money { Money(minorUnits: cents, currency: .usd) }
        let promotion = ReviewBatch.Deduction(
            type: "promotion", reasonCode: "56", amount: usd(10_00), reference: "DM-77", invoiceID: 1)
        let settlement = BatchSettlement(
            batch: 1, client: "acme", payer: "R", traceNumber: "T1", paymentDate: "2026-11-20", total: usd(140_00),
            status: "approved",
            lines: [
                LineSettlement(
                    position: 0, reference: "INV-1 & INV-2", invoice: "INV-1", customer: "C1", applied: usd(100_00),
                    discount: usd(0), writeOff: usd(0),
                    unapplied: usd(0), deductions: []),
                LineSettlement(
                    position: 0, reference: "INV-1 & INV-2", invoice: "INV-2", customer: "C1", applied: usd(50_00),
                    discount: usd(0), writeOff: usd(0),
                    unapplied: usd(0), deductions: []),
                LineSettlement(
                    position: 1, reference: "DM-77", invoice: "INV-1", customer: "C1", applied: usd(0),
                    discount: usd(0), writeOff: usd(0),
                    unapplied: usd(0), deductions: [promotion]),
            ])
        let entries = GLExport.entries(for: settlement, accounts: AccountMapping())
        #expect(entries.count == 1)
        #expect(entries[0].postings.map(\.amount.minorUnits).reduce(0, +) == 0, "\(entries[0].postings)")
        #expect(!entries[0].postings.contains { $0.account.contains("Unapplied") })
        #expect(
            entries[0].postings.contains {
                $0.account == "Expenses:Deductions:Promotion" && $0.amount.minorUnits == 10_00
            })
    }

    @Test func spreadsheetFormulasAreNeutralised() {
        #expect(GLExport.cell("=HYPERLINK(\"http://x\")") == "\"'=HYPERLINK(\"\"http://x\"\")\"")
        #expect(GLExport.cell("+1") == "\"'+1\"")
        #expect(GLExport.cell("-2") == "\"'-2\"")
        #expect(GLExport.cell("@SUM(A1)") == "\"'@SUM(A1)\"")
        #expect(GLExport.cell("plain") == "plain")
        #expect(GLExport.cell("a,b") == "\"a,b\"")
    }

    @Test func accountNamesAndTheirMappingFile() throws {
        #expect(AccountMapping.component("acme c1") == "Acme-c1")
        #expect(AccountMapping.component("9lives") == "X9lives")
        let mapping = try AccountMapping.parse(
            "clearing = Assets:Bank:Transit\ndeduction.shortage = Expenses:Shortages # comment\n", file: "gl")
        #expect(mapping.clearing == "Assets:Bank:Transit")
        #expect(mapping.deduction("shortage") == "Expenses:Shortages")
        #expect(mapping.deduction("damage") == "Expenses:Deductions:Damage")
        #expect(throws: GeneralError.self) { try AccountMapping.parse("clearing = assets bank\n", file: "gl") }
        #expect(throws: GeneralError.self) { try AccountMapping.parse("bank = Assets:Bank\n", file: "gl") }
    }

    @Test func theMappingFileIsReadUnderItsCapAndWithoutNULBytes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nj-gl-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        #expect(try JournalExport.accounts(workspaceRoot: root).clearing == AccountMapping().clearing)
        try "clearing = Assets:Bank:Transit\n".write(
            toFile: root + "/gl-accounts.conf", atomically: true, encoding: .utf8)
        #expect(try JournalExport.accounts(workspaceRoot: root).clearing == "Assets:Bank:Transit")
        try "# accounts\nclearing = Assets:Bank:Transit\ndeduction.x\u{0} = Expenses:X\n".write(
            toFile: root + "/gl-accounts.conf", atomically: true, encoding: .utf8)
        #expect { try JournalExport.accounts(workspaceRoot: root) } throws: { error in
            (error as? GeneralError)?.code == "input.nul_byte" && (error as? GeneralError)?.location?.line == 3
        }
        let comment = "# " + String(repeating: "x", count: 97) + "\n"
        try
            (String(repeating: comment, count: BoundedFile.textFileLimit / comment.utf8.count + 1)
            + "clearing = Assets:Bank:Transit\n")
            .write(toFile: root + "/gl-accounts.conf", atomically: true, encoding: .utf8)
        #expect { try JournalExport.accounts(workspaceRoot: root) } throws: {
            ($0 as? BoundedFileError)?.code == "input.too_large"
        }
        #expect(
            FileManager.default.createFile(
                atPath: root + "/gl-accounts.conf", contents: Data([0x63, 0x6C, 0xFF, 0x0A])))
        #expect { try JournalExport.accounts(workspaceRoot: root) } throws: {
            ($0 as? BoundedFileError)?.code == "input.not_utf8"
        }
    }

    @Test func everyEntryBalancesWhateverTheLinesCarry() {
        let usd = { (minor: Int64) in Money(minorUnits: minor, currency: .usd) }
        let settlement = BatchSettlement(
            batch: 1, client: "acme", payer: "P", traceNumber: "T", paymentDate: "2026-11-20", total: usd(2320_00),
            status: "reversed",
            lines: [
                LineSettlement(
                    position: 0, reference: "A", invoice: "A", customer: "C1", applied: usd(1000_00),
                    discount: usd(20_00),
                    writeOff: usd(0), unapplied: usd(0), deductions: []),
                LineSettlement(
                    position: 1, reference: "B", invoice: "B", customer: "C1", applied: usd(500_00), discount: usd(0),
                    writeOff: usd(1_00), unapplied: usd(0),
                    deductions: [.init(type: "shortage", reasonCode: "06", amount: usd(49_00))]),
                LineSettlement(
                    position: 2, reference: "Z", invoice: nil, customer: nil, applied: usd(0), discount: usd(0),
                    writeOff: usd(0), unapplied: usd(890_00), deductions: []),
            ])
        let entries = GLExport.entries(for: settlement, accounts: AccountMapping())
        #expect(entries.count == 2)
        #expect(entries.allSatisfy { $0.isBalanced })
        #expect(entries[1].description.hasPrefix("Reversal of"))
        let unapplied = entries[0].postings.first { $0.account == AccountMapping().unapplied }
        #expect(unapplied?.amount.minorUnits == -(2320_00 - 980_00 - 450_00))
    }
}
