import Foundation
import NightjarCore
import Testing

@testable import NightjarDocuments

@Suite("Excel workbooks")
struct WorkbookTests {
    static var workbook: [UInt8] {
        Array(
            try! Data(
                contentsOf: Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(
                    "remittance.xlsx")))
    }

    static let profile = try! LayoutProfileParser.parse(
        """
        kind = remittance
        date_format = "MM/dd/yyyy"
        skip_rows_starting_with = "Total"
        [columns]
        payment_reference = "Check Number"
        payment_date = "Payment Date"
        payer = "Vendor Name"
        reference = "Invoice Number"
        amount_paid = "Paid Amount"
        """, file: "x.profile")

    @Test func theFirstSheetReadsByTheSameProfilesAsCSV() throws {
        let bytes = WorkbookTests.workbook
        #expect(DocumentFormat.detect(bytes) == .xlsx)
        let advices = try RemittanceLayoutReader.read(
            bytes, profile: WorkbookTests.profile, defaultCurrency: .usd, file: "r.xlsx")
        #expect(advices.count == 1)
        let advice = advices[0]
        #expect(advice.payer?.name == "Example Traders")
        #expect(advice.effectiveDate?.description == "2026-11-20")
        #expect(advice.lines.map(\.reference) == ["INV-1001", "INV-1002"])
        // 1175.9999999999998 is how the spreadsheet stored 1176.00.
        #expect(advice.lines.map(\.amountPaid.decimalString) == ["1176.00", "450.50"])
        #expect(advice.lines.map(\.segment) == [2, 3])
        #expect(advice.total.decimalString == "1626.50")
    }

    @Test func damagedWorkbooksAreRefusedNotCrashed() {
        let original = WorkbookTests.workbook
        var generator = SeededRandom(seed: 7)
        var refused = 0
        for round in 0..<600 {
            var bytes = original
            if round < 200 {
                bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator)))
            } else {
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    bytes[Int.random(in: 0..<bytes.count, using: &generator)] ^= UInt8.random(
                        in: 1...255, using: &generator)
                }
            }
            do {
                _ = try RemittanceLayoutReader.read(
                    bytes, profile: WorkbookTests.profile, defaultCurrency: .usd, file: "r.xlsx")
            } catch {
                refused += 1
            }
        }
        #expect(refused > 300)
    }

    @Test func aPartThatInflatesBeyondItsDeclaredSizeIsRefused() throws {
        // Lie about the sheet's uncompressed size in the central directory: a zip bomb's trick.
        var bytes = WorkbookTests.workbook
        let name = Array("xl/worksheets/sheet1.xml".utf8)
        var position = bytes.count - 22
        while position > 0
            && !(bytes[position] == 0x50 && bytes[position + 1] == 0x4B && bytes[position + 2] == 5
                && bytes[position + 3] == 6)
        { position -= 1 }
        var cursor = Int(bytes[position + 16]) | Int(bytes[position + 17]) << 8 | Int(bytes[position + 18]) << 16
        while cursor < position {
            let nameLength = Int(bytes[cursor + 28]) | Int(bytes[cursor + 29]) << 8
            let extra = Int(bytes[cursor + 30]) | Int(bytes[cursor + 31]) << 8
            let comment = Int(bytes[cursor + 32]) | Int(bytes[cursor + 33]) << 8
            if Array(bytes[(cursor + 46)..<(cursor + 46 + nameLength)]) == name {
                bytes[cursor + 24] = 10
                bytes[cursor + 25] = 0
                bytes[cursor + 26] = 0
                bytes[cursor + 27] = 0
            }
            cursor += 46 + nameLength + extra + comment
        }
        #expect {
            try RemittanceLayoutReader.read(
                bytes, profile: WorkbookTests.profile, defaultCurrency: .usd, file: "bomb.xlsx")
        } throws: { error in
            (error as? LayoutError)?.message.contains("beyond its declared size") == true
        }
    }
}
