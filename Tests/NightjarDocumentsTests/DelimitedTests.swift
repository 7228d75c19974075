import Foundation
import NightjarCore
import Testing

@testable import NightjarDocuments

@Suite("Delimited files by profile")
struct DelimitedTests {
    static let profileText = """
        name = sandbox-html-portal
        kind = remittance
        separator = ";"
        encoding = windows-1252
        decimal = ","
        date_format = "dd.MM.yyyy"
        currency = EUR
        negative = debit_credit_column
        skip_rows_starting_with = "Summe"

        [columns]
        payment_reference = "Zahlung"
        payment_date = "Datum"
        payer = "Kunde"
        reference = "Rechnung"
        amount_paid = "Betrag"
        debit_credit = "S/H"
        deduction_amount = "Abzug"
        deduction_code = "Grund"
        """

    @Test func aProfileDescribesSeparatorEncodingDecimalCommaAndSignColumn() throws {
        let profile = try LayoutProfileParser.parse(DelimitedTests.profileText, file: "sandbox-html-portal.profile")
        var bytes = Array("Zahlung;Datum;Kunde;Rechnung;Betrag;S/H;Abzug;Grund\r\n".utf8)
        bytes +=
            Array("Z-1;24.11.2026;".utf8) + [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72]
            + Array(";R-10;1.234,50;H;10,00;SKONTO\r\n".utf8)
        bytes += Array(
            "Z-1;24.11.2026;Müller;R-11;99,99;S;;\r\nSumme;;;;1.134,51;;;\r\n".utf8.map { $0 == 0xC3 ? 0x3F : $0 })
        let advices = try RemittanceLayoutReader.read(bytes, profile: profile, defaultCurrency: .usd, file: "n.csv")
        #expect(advices.count == 2)  // the payer name is spelled differently in Windows-1252 and with a stand-in byte
        let first = advices[0]
        #expect(first.payer?.name == "Müller")
        #expect(first.currency == .eur)
        #expect(first.lines[0].amountPaid.decimalString == "1234.50")
        #expect(first.lines[0].adjustments.map(\.amount.decimalString) == ["-10.00"])
        #expect(first.lines[0].adjustments.first?.reasonCode == "SKONTO")
        #expect(first.lines[0].segment == 2)
        #expect(advices[1].lines[0].amountPaid.decimalString == "-99.99")
        #expect(first.effectiveDate?.description == "2026-11-24")
    }

    static let badProfiles: [(String, String, Int)] = [
        (
            "kind = payments\n[columns]\nreference = \"R\"\namount_paid = \"A\"",
            "`kind` must be one of remittance, open_invoices", 1
        ),
        ("encoding = latin9\n[columns]\nreference = \"R\"\namount_paid = \"A\"", "`encoding` must be one of", 1),
        ("colour = blue\n[columns]\nreference = \"R\"\namount_paid = \"A\"", "unknown setting `colour`", 1),
        ("[columns]\nreference = \"R\"", "`amount_paid` must be mapped", 1),
        ("[columns]\nreference = \"R\"\namount_paid = \"A\"\nrefrence = \"X\"", "unknown field `refrence`", 4),
        ("decimal = \";\"\n[columns]\nreference = \"R\"\namount_paid = \"A\"", "decimal must be", 1),
        (
            "negative = debit_credit_column\n[columns]\nreference = \"R\"\namount_paid = \"A\"",
            "needs a `debit_credit` field", 1
        ),
        ("name = \"unterminated\n[columns]", "this string is never closed", 1),
        ("[rowz]", "unknown section [rowz]", 1),
    ]

    @Test("malformed profiles say what and where", arguments: badProfiles)
    func badProfilesAreExplained(text: String, message: String, line: Int) {
        #expect {
            try LayoutProfileParser.parse(text, file: "p.profile")
        } throws: { error in
            guard let error = error as? ProfileError else { return false }
            return error.message.contains(message) && error.location?.line == line
                && error.location?.file == "p.profile"
        }
    }

    @Test func badRowsAreLocated() throws {
        let profile = try LayoutProfileParser.parse(
            "[columns]\nreference = \"Invoice\"\namount_paid = \"Paid\"\npayment_date = \"Date\"", file: "p")
        let cases: [(String, String, Int)] = [
            ("Invoice,Paid\nA,1.00\nB,12,50\n", "csv.field_count", 3),
            ("Invoice,Paid\nA,abc\n", "csv.bad_amount", 2),
            ("Invoice,Amount\nA,1\n", "csv.missing_column", 1),
            ("Invoice,Paid\n\"A,1.00\nB,2\n", "csv.malformed", 2),
            ("Invoice,Paid\n,5.00\n", "csv.missing_value", 2),
        ]
        let withDate = try LayoutProfileParser.parse(
            "[columns]\nreference = \"Invoice\"\namount_paid = \"Paid\"", file: "p")
        for (text, code, line) in cases {
            do {
                _ = try RemittanceLayoutReader.read(
                    Array(text.utf8), profile: withDate, defaultCurrency: .usd, file: "f.csv")
                Issue.record("accepted: \(text)")
            } catch {
                #expect(error.code == code, "\(text): \(error)")
                #expect(error.location?.line == line, "\(text): \(error)")
            }
        }
        #expect(throws: LayoutError.self) {
            try RemittanceLayoutReader.read(
                Array("Invoice,Paid,Date\nA,1,2026-13-01\n".utf8), profile: profile, defaultCurrency: .usd)
        }
        #expect {
            try RemittanceLayoutReader.read(
                [0x49, 0xFF, 0x0A],
                profile: try LayoutProfileParser.parse(
                    "encoding = utf-8\n[columns]\nreference = \"Invoice\"\namount_paid = \"Paid\"", file: "p"),
                defaultCurrency: .usd, file: "b.csv")
        } throws: { error in
            (error as? LayoutError)?.code == "csv.encoding"
        }
    }

    @Test func openInvoicesInTheDefaultLayout() throws {
        let text =
            "customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms\n"
            + "C1,INV-1,2026-10-01,2026-10-31,100.00,40.00,USD,PO9,2/10 NET 30\nC2,INV-1,,,5,5,CAD,,\n"
        let invoices = try OpenInvoiceReader.read(Array(text.utf8), defaultCurrency: .usd, file: "open.csv")
        #expect(invoices.count == 2)
        #expect(invoices[0].openAmount.decimalString == "40.00")
        #expect(invoices[0].terms == "2/10 NET 30")
        #expect(invoices[1].openAmount.currency == .cad)
        #expect {
            try OpenInvoiceReader.read(
                Array((text + "C1,INV-1,,,1,1,USD,,\n").utf8), defaultCurrency: .usd, file: "open.csv")
        } throws: { error in
            (error as? LayoutError)?.location?.line == 4
        }
    }

    @Test func formatDetectionLooksAtContentNotNames() {
        #expect(DocumentFormat.detect(Array("Invoice,Paid\n".utf8)) == .text)
        #expect(DocumentFormat.detect([0x50, 0x4B, 0x03, 0x04, 0, 0]) == .zip)
        #expect(DocumentFormat.detect(Array("{\"a\": 1}".utf8)) == .json)
        #expect(DocumentFormat.detect(Array("%PDF-1.7\n".utf8)) == .pdf)
        #expect(DocumentFormat.detect(Array("<!DOCTYPE html><table></table>".utf8)) == .html)
        #expect(DocumentFormat.detect([0x00, 0x01, 0x02, 0xFF]) == .unknown)
        #expect(DocumentFormat.detect([]) == .unknown)
    }

    /// Ten thousand mutated CSV files: each is refused with a located error or read, never a crash.
    @Test func tenThousandMutatedCSVFilesNeverCrash() throws {
        let profile = try LayoutProfileParser.parse(
            DelimitedTests.profileText.replacingOccurrences(of: "windows-1252", with: "utf-8"), file: "p")
        let seed = Array(
            "Zahlung;Datum;Kunde;Rechnung;Betrag;S/H;Abzug;Grund\nZ-1;24.11.2026;\"Mül;ler\";R-10;1.234,50;H;10,00;SKONTO\nZ-1;24.11.2026;M;R-11;99,99;S;;\nZ-2;25.11.2026;M;R-12;(5,00);H;;\n"
                .utf8)
        var generator = SeededRandom(seed: 42)
        var read = 0
        var refused = 0
        for _ in 0..<10_000 {
            var bytes = seed
            Mutator.mutate(&bytes, using: &generator)
            do {
                _ = try RemittanceLayoutReader.read(bytes, profile: profile, defaultCurrency: .usd, file: "f.csv")
                read += 1
            } catch {
                #expect(error.location != nil, "\(error)")
                refused += 1
            }
        }
        #expect(read + refused == 10_000)
        #expect(refused > 500 && read > 500)
    }
}
