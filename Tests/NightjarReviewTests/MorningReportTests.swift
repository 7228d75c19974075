import Foundation
import NightjarCore
import NightjarLedger
import Synchronization
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

    @Test func markupIsEscapedAndSecretsAreRedacted() throws {
        _ = Redactor.shared.register(text: "Sup3r-Secret-Value")
        let report = MorningReport(
            title: "<script>alert(1)</script>", generatedAt: "now",
            batches: [
                MorningReportTests.batch(
                    client: "acme", payer: "Evil <img src=x onerror=alert(1)> Sup3r-Secret-Value",
                    reference: "\"><script>", status: "unknown_reference")
            ])
        // The page as every caller writes it: through the redactor.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nj-morning-\(UUID().uuidString).html")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try RedactedFile.write(report.html(), to: path)
        let html = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!html.contains("<script>"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;"))
        #expect(!html.contains("Sup3r-Secret-Value"))
        #expect(html.contains("Evil &lt;img src=x onerror=alert(1)&gt; [REDACTED]"))
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

    /// The clients' parts are built on every core, also from a task of Swift's pool (where
    /// Dispatch's `concurrentPerform` would run them one after another), each result in its place.
    @Test func partsAreBuiltOnEveryCoreInOrder() async {
        let threads = Mutex<Set<UInt>>([])
        let results = await Task.detached {
            MorningReport.inParallel(1_000) { index in
                threads.withLock { _ = $0.insert(UInt(pthread_self())) }
                return "part \(index)"
            }
        }.value
        #expect(results == (0..<1_000).map { "part \($0)" })
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let used = threads.withLock { $0.count }
        #expect(cores == 1 ? used == 1 : (2...cores).contains(used), "\(used) threads on \(cores) cores")
        #expect(MorningReport.inParallel(1) { $0 + 1 } == [1])
        #expect(MorningReport.inParallel(0) { $0 }.isEmpty)
    }

    /// Exceptions by currency (alphabetical), the largest first, then batch and line; clients
    /// in order of their ids, each section with its own exceptions, however many clients.
    @Test func exceptionsAreOrderedByCurrencyAmountBatchAndLine() {
        func line(_ position: Int, _ cents: Int64, _ currency: CurrencyCode, status: String = "short_paid")
            -> ReviewBatch.Line
        {
            ReviewBatch.Line(
                position: position, reference: "R\(position)-\(cents)-\(currency)",
                amountPaid: Money(minorUnits: cents, currency: currency), status: status, rule: nil, invoice: nil,
                deductions: [])
        }
        func batch(_ id: Int64, client: String, _ lines: [ReviewBatch.Line]) -> ReviewBatch {
            ReviewBatch(
                id: id, client: client, payer: "P", traceNumber: "T\(id)", paymentDate: "2026-11-20",
                total: Money(minorUnits: 1, currency: .usd), balanced: true,
                difference: Money(minorUnits: 0, currency: .usd), status: "new", file: "f\(id).csv", portal: nil,
                importedAt: "2026-11-21T03:00:00Z", lines: lines)
        }
        let eur = try! CurrencyCode("EUR")
        let cad = try! CurrencyCode("CAD")
        var batches = [
            batch(
                9, client: "acme",
                [
                    line(1, 500, .usd), line(2, 700, eur), line(3, 700, .usd),
                    line(4, 900, .usd, status: "paid_in_full"),
                ]),
            batch(3, client: "acme", [line(1, 700, .usd), line(2, 100, cad), line(3, 700, .usd)]),
        ]
        // Forty more clients, each with one exception of its own number of cents.
        for number in (0..<40).reversed() {
            batches.append(batch(Int64(100 + number), client: "c\(number)", [line(1, Int64(number + 1), .usd)]))
        }
        let page = MorningReport(title: "M", generatedAt: "now", batches: batches).html()
        func order(of texts: [String], in text: Substring) -> [String] {
            texts.compactMap { needle in text.range(of: needle).map { (needle, $0.lowerBound) } }.sorted {
                $0.1 < $1.1
            }.map(\.0)
        }
        let acme = page[page.range(of: "<h2 id=\"client-acme\"")!.lowerBound...]
        let acmeExceptions = acme[..<acme.range(of: "Totals per payer")!.lowerBound]
        let expected = ["R2-100-CAD", "R2-700-EUR", "R1-700-USD", "R3-700-USD", "R3-700-USD", "R1-500-USD"]
        // Batch 3's lines 1 and 3, then batch 9's line 3 (same amount), then the smaller one.
        let rows = acmeExceptions.components(separatedBy: "<tr class=\"exception\"").dropFirst().map { row in
            String(row[row.range(of: "<td>R")!.lowerBound...].dropFirst(4).prefix { $0 != "<" })
        }
        #expect(rows == expected)
        #expect(
            acmeExceptions.components(separatedBy: "<tr class=\"exception\"").dropFirst().map {
                String($0.prefix { $0 != ">" })
            } == [
                " data-amount=\"100\"", " data-amount=\"700\"", " data-amount=\"700\"", " data-amount=\"700\"",
                " data-amount=\"700\"", " data-amount=\"500\"",
            ])
        #expect(
            order(
                of: ["#batch-3-line-2\"", "#batch-3-line-4\"", "#batch-9-line-4\"", "#batch-9-line-2\""],
                in: acmeExceptions) == [
                    "#batch-3-line-2\"", "#batch-3-line-4\"", "#batch-9-line-4\"", "#batch-9-line-2\"",
                ])
        #expect(!acmeExceptions.contains("R4-900-USD"), "a line paid in full is not an exception")
        // Sections and contents follow the clients' ids; each section holds only its client's line.
        let clients = ["acme"] + (0..<40).map { "c\($0)" }.sorted()
        #expect(
            order(of: clients.map { "<h2 id=\"client-\($0)\"" }, in: page[...])
                == clients.map { "<h2 id=\"client-\($0)\"" })
        #expect(
            order(of: clients.map { "<li><a href=\"#client-\($0)\">" }, in: page[...])
                == clients.map { "<li><a href=\"#client-\($0)\">" })
        for number in 0..<40 {
            let section = page[page.range(of: "<h2 id=\"client-c\(number)\"")!.lowerBound...]
            let own = section[..<(section.range(of: "<h3>Batches</h3>")?.lowerBound ?? section.endIndex)]
            #expect(
                own.contains("R1-\(number + 1)-USD")
                    && own.components(separatedBy: "<tr class=\"exception\"").count == 2)
        }
        #expect(page.components(separatedBy: "class=\"first\"").count == 2, "one first heading")
        #expect(page.contains("<h2 id=\"client-acme\" class=\"first\">"))
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
