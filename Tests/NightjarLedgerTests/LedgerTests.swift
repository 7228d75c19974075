import Foundation
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarMatching
import NightjarSandbox
import NightjarStore
import Testing

func ledgerDatabase() throws -> Database {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-ledger-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let database = try Database(path: folder + "/ledger.sqlite")
    try Migrator.migrate(
        database,
        LedgerSchema.statements.enumerated().map {
            Migration(version: $0.offset + 1, name: $0.element.name, sql: $0.element.sql)
        })
    return database
}

@Suite("Ledger")
struct LedgerTests {
    static let x12 = Array(
        ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261124*0100*U*00401*000000001*0*P*>~"
            + "GS*RA*S*R*20261124*0100*1*X*004010~ST*820*0001~BPR*C*150.00*C*ACH*CTX*01*111000025*DA*123456789*1234567890**01*222000025*DA*987654321*20261124~"
            + "TRN*1*TRACE42*1234567890~N1*PR*RETAILER CO*92*V123~ENT*1~ADX*10.00*CS~RMR*IV*INV-1*PI*100.00*100.00~RMR*IV*INV-2*PI*45.00*50.00~ADX*-5.00*01~"
            + "SE*10*0001~GE*1*1~IEA*1*000000001~").utf8)

    @Test func importingTheSameFileTwiceChangesNothing() throws {
        let database = try ledgerDatabase()
        let ledger = Ledger(database: database)
        let advices = try RemittanceAdviceReader.read(LedgerTests.x12, defaultCurrency: .usd)
        let first = try ledger.importRemittances(
            advices, bytes: LedgerTests.x12, name: "a.x12", client: "acme", format: "x12-820")
        #expect(!first.alreadyImported && first.batches == 1 && first.lines == 2 && first.outOfBalance == 1)
        let before = try database.scalar(Int64.self, "SELECT count(*) FROM remittance_line")
        let second = try ledger.importRemittances(
            advices, bytes: LedgerTests.x12, name: "renamed.x12", client: "acme", format: "x12-820")
        #expect(second.alreadyImported)
        #expect(try database.scalar(Int64.self, "SELECT count(*) FROM remittance_line") == before)
        #expect(try database.scalar(Int64.self, "SELECT count(*) FROM source_file") == 1)
        let batch = try #require(try ledger.batch(try ledger.batches()[0].id))
        #expect(batch.summary.total == "150.00")
        // Σ RMR04 + Σ ENT-level ADX01 = 100.00 + 45.00 + 10.00; the RMR-level ADX is already in its RMR04.
        #expect(batch.remitted == "155.00")
        #expect(batch.summary.difference == "-5.00")
        #expect(!batch.summary.balanced)
        #expect(batch.receivingAccount == "****4321")
        #expect(batch.entityAdjustments == ["10.00 CS"])
        #expect(batch.lines[1].adjustments == ["-5.00 01"])
        #expect(batch.lines[0].sourceLocation == 9)
        // Bank account numbers are never stored in full.
        #expect(
            try database.scalar(
                Int64.self, "SELECT count(*) FROM remittance_batch WHERE receiving_account_masked LIKE '%987654321%'")
                == 0)
    }

    @Test func aFailingImportLeavesNothingHalfWritten() throws {
        let database = try ledgerDatabase()
        let ledger = Ledger(database: database)
        try database.execute(
            "CREATE TRIGGER fail_second BEFORE INSERT ON remittance_line WHEN NEW.position = 1 BEGIN SELECT RAISE(ABORT, 'disk trouble'); END"
        )
        let advices = try RemittanceAdviceReader.read(LedgerTests.x12, defaultCurrency: .usd)
        #expect(throws: StoreError.self) {
            try ledger.importRemittances(
                advices, bytes: LedgerTests.x12, name: "a.x12", client: "acme", format: "x12-820")
        }
        for table in ["source_file", "remittance_batch", "remittance_line", "remittance_adjustment"] {
            #expect(try database.scalar(Int64.self, "SELECT count(*) FROM \(table)") == 0, "\(table)")
        }
    }

    @Test func reimportingInvoicesUpdatesOpenAmountsInsteadOfDuplicating() throws {
        let ledger = Ledger(database: try ledgerDatabase())
        let header = "customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number\n"
        let first = Array((header + "C1,INV-1,2026-10-01,2026-10-31,100.00,100.00,USD,\nC1,INV-2,,,50,50,USD,\n").utf8)
        let second = Array((header + "C1,INV-1,2026-10-01,2026-10-31,100.00,40.00,USD,\n").utf8)
        _ = try ledger.importOpenInvoices(
            try OpenInvoiceReader.read(first, defaultCurrency: .usd), bytes: first, name: "1.csv", client: "acme")
        let result = try ledger.importOpenInvoices(
            try OpenInvoiceReader.read(second, defaultCurrency: .usd), bytes: second, name: "2.csv", client: "acme")
        #expect(result.invoicesUpdated == 1 && result.invoicesCreated == 0)
        let invoices = try ledger.openInvoices(client: "acme")
        #expect(invoices.count == 2)
        #expect(invoices.first { $0.invoiceNumber == "INV-1" }?.openAmount.decimalString == "40.00")
    }
}

/// The files the sandbox portals serve import: sandbox-html-portal and sandbox-totp-portal CSVs by the shipped
/// example profile, sandbox-json-api's X12 820s; against the open invoices the same seed produces.
@Suite("Sandbox files import")
struct SandboxFileImportTests {
    @Test func everyFileTheSandboxServesImportsAndBalances() throws {
        let data = SandboxData()
        let ledger = Ledger(database: try ledgerDatabase())
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var profiles: [String: LayoutProfile] = [:]
        for name in SandboxData.remittanceProfiles {
            let text = try String(
                contentsOf: repository.appendingPathComponent("docs/examples/\(name).profile"), encoding: .utf8)
            profiles[name] = try LayoutProfileParser.parse(text, file: "\(name).profile")
        }
        var layouts: Set<String> = []
        for client in SandboxData.clients {
            let invoices = Array(data.openInvoicesCSV(client: client).utf8)
            let loaded = try ledger.importOpenInvoices(
                try OpenInvoiceReader.read(invoices, defaultCurrency: .usd), bytes: invoices, name: "open.csv",
                client: ClientID(client))
            #expect(loaded.invoicesCreated == 240)
        }
        var batches = 0
        for payment in data.payments {
            let bytes: [UInt8]
            let advices: [RemittanceAdvice]
            switch payment.portal {
            case "sandbox-json-api" where SandboxData.jsonAPIGivesJSON(client: payment.client):
                bytes = Array(data.jsonAPIRemittanceJSON(payment).utf8)
                advices = try RemittanceLayoutReader.read(
                    bytes, profile: profiles["sandbox-json-api-remittance"]!, defaultCurrency: .usd,
                    file: "\(payment.trace).json")
            case "sandbox-json-api":
                bytes = Array(data.x12(payment).utf8)
                advices = try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd, file: "\(payment.trace).820")
            case "sandbox-totp-portal":
                bytes = data.totpPortalWorkbook(payment)
                advices = try RemittanceLayoutReader.read(
                    bytes, profile: profiles["sandbox-totp-portal-remittance"]!, defaultCurrency: .usd,
                    file: "\(payment.trace).xlsx")
            default:
                bytes = Array(data.htmlPortalCSV(payment).utf8)
                advices = try RemittanceLayoutReader.read(
                    bytes, profile: profiles["sandbox-html-portal-remittance"]!, defaultCurrency: .usd,
                    file: "\(payment.trace).csv")
            }
            layouts.insert(String(describing: DocumentFormat.detect(bytes)))
            #expect(advices.count == 1)
            #expect(advices[0].total.minorUnits == payment.totalCents)
            #expect(advices[0].isBalanced, "\(payment.id)")
            // What the portal says of each deduction arrives whole: code, words, its memo, and the promotion of the payment.
            let deductions = advices[0].lines.flatMap(\.adjustments)
            #expect(deductions.count == payment.lines.filter { $0.deductionCents > 0 }.count)
            #expect(
                deductions.allSatisfy {
                    $0.reasonCode == "06" && $0.reasonText?.lowercased() == "shortage: quantity contested"
                })
            if payment.portal != "sandbox-totp-portal" {
                #expect(deductions.allSatisfy { $0.reference?.hasPrefix("DM-") == true })
            }
            #expect(
                advices[0].paymentAdjustments.map(\.amount.minorUnits)
                    == (payment.promotionCents > 0 ? [-payment.promotionCents] : []))
            let result = try ledger.importRemittances(
                advices, bytes: bytes, name: payment.id, client: ClientID(payment.client), format: payment.portal)
            #expect(!result.alreadyImported)
            batches += result.batches
        }
        #expect(batches == data.payments.count)
        #expect(try ledger.batches().count == data.payments.count)
        // The sandbox serves four layouts: a CSV advice, a workbook, JSON and X12.
        #expect(layouts == ["text", "xlsx", "json", "x12(functionalID: Optional(\"RA\"))"])
    }
}

@Suite("Customer aliases")
struct CustomerAliasTests {
    @Test func payersAreKnownAsTheCustomersTheirAliasesName() throws {
        let ledger = Ledger(database: try ledgerDatabase())
        try ledger.addCustomerAlias(client: "acme", alias: "nwd-0042", customerID: "ACME-C1")
        try ledger.addCustomerAlias(client: "acme", alias: "HTML Portal Stores Inc", customerID: "ACME-C2")
        #expect(
            try ledger.customers(client: "acme", payerID: "NWD-0042", name: "HTML Portal Stores Inc").customers == [
                "ACME-C1", "ACME-C2",
            ])
        #expect(try ledger.customers(client: "acme", payerID: "unknown", name: nil).customers.isEmpty)
        // Another client's aliases are never this client's.
        #expect(
            try ledger.customers(client: "globex", payerID: "NWD-0042", name: "HTML Portal Stores Inc").customers
                .isEmpty)
        try ledger.addCustomerAlias(client: "acme", alias: "NWD-0042", customerID: "ACME-C3")
        #expect(try ledger.customerAliases(client: "acme").first { $0.alias == "NWD-0042" }?.customerID == "ACME-C3")
        #expect(try ledger.removeCustomerAlias(client: "acme", alias: "nwd-0042"))
        #expect(try !ledger.removeCustomerAlias(client: "acme", alias: "nwd-0042"))
        #expect(try ledger.customers(client: "acme").map(\.customerID) == ["ACME-C1", "ACME-C2", "ACME-C3"])
    }
}

@Suite("Matching stored batches")
struct LedgerMatchingTests {
    @Test func aBatchIsMatchedAgainstItsPayersCustomersOnly() throws {
        let ledger = Ledger(database: try ledgerDatabase())
        let invoices = Array(
            ("customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms\n"
                + "C1,INV-1,2026-11-01,2026-12-01,100.00,100.00,USD,,\nC1,INV-2,2026-11-01,2026-12-01,50.00,50.00,USD,,\n"
                + "C9,INV-9,2026-11-01,2026-12-01,75.00,75.00,USD,,\n").utf8)
        _ = try ledger.importOpenInvoices(
            try OpenInvoiceReader.read(invoices, defaultCurrency: .usd), bytes: invoices, name: "open.csv",
            client: "acme")
        let x12 = Array(
            ("ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261124*0100*U*00401*000000001*0*P*>~"
                + "GS*RA*S*R*20261124*0100*1*X*004010~ST*820*0001~BPR*C*240.00*C*ACH*CTX*01*1*DA*1*1**01*2*DA*2*20261120~"
                + "TRN*1*T1*1~N1*PR*RETAILER CO*92*V123~ENT*1~RMR*IV*inv-1*PI*100.00~RMR*IV*2*PI*45.00~ADX*-5.00*06~RMR*IV*INV-9*PI*75.00~RMR*IV*INV-3*PI*20.00~"
                + "SE*11*0001~GE*1*1~IEA*1*000000001~").utf8)
        _ = try ledger.importRemittances(
            try RemittanceAdviceReader.read(x12, defaultCurrency: .usd), bytes: x12, name: "p.x12", client: "acme",
            format: "x12")
        let id = try ledger.batches()[0].id
        // Unknown payer: nothing can be looked up, and the lines say so.
        let before = try ledger.match(batch: id)
        #expect(before.customers.isEmpty && before.statuses == ["unknown_payer": 4] && before.unknownPayerLines == 4)
        try ledger.addCustomerAlias(client: "acme", alias: "V123", customerID: "C1")
        let after = try ledger.match(batch: id)
        #expect(after.customers == ["C1"])
        #expect(after.statuses == ["paid_in_full": 1, "short_paid": 1, "unknown_reference": 2])
        #expect(after.appliedCash == "145.00" && after.unappliedCash == "95.00")
        let statuses = try ledger.lineStatuses(batch: id)
        #expect(statuses[0]?.rule == "reference.exact")
        #expect(statuses[2]?.status == "unknown_reference")  // INV-9 belongs to another customer
        #expect(try ledger.unmatchedBatches(client: nil).isEmpty)
    }
}
