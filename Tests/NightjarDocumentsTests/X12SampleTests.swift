import Foundation
import NightjarCore
import Testing

@testable import NightjarDocuments

/// Every public sample either reads, with the figures checked by hand, or is refused with a
/// located error that names its real defect.
@Suite("X12 samples")
struct X12SampleTests {
    struct Expected820: Sendable {
        let file: String
        let payments: Int
        let firstTotal: String
        let currency: String
        let lines: Int
        let balanced: [Bool]
        let trace: String?
        let separators: (element: Character, segment: UInt8)
    }

    static let remittances: [Expected820] = [
        .init(
            file: "bots_820-004010-01_safeway_rmr_discounts.x12", payments: 1, firstTotal: "416093.15", currency: "USD",
            lines: 6,
            balanced: [false], trace: "4311000190", separators: ("*", UInt8(ascii: "~"))),
        .init(
            file: "bots_820-004010VICS-03_newline_term_it1_detail.x12", payments: 1, firstTotal: "47828.63",
            currency: "USD", lines: 7,
            balanced: [false], trace: nil, separators: ("*", 10)),
        .init(
            file: "bots_820-004030-03_multi_ST_CAD_NAK_crlf_term.x12", payments: 2, firstTotal: "561.72",
            currency: "CAD", lines: 1,
            balanced: [false, false], trace: nil, separators: ("*", 0x15)),
        .init(
            file: "bots_820-004030-04_it1_sac_under_rmr_NAK_crlf_term.x12", payments: 1, firstTotal: "5851.19",
            currency: "CAD", lines: 1,
            balanced: [false], trace: nil, separators: ("*", 0x15)),
        .init(
            file: "bots_testx12013_820_tilde_crlf.x12", payments: 1, firstTotal: "3000.00", currency: "USD", lines: 2,
            balanced: [true], trace: "999999999", separators: ("*", UInt8(ascii: "~"))),
        .init(
            file: "moov_x12_stp820_backslash_terminator.txt", payments: 1, firstTotal: "7989.73", currency: "USD",
            lines: 2,
            balanced: [true], trace: "12053011440000192", separators: ("*", UInt8(ascii: "\\"))),
        .init(
            file: "stupidedi_003010_RA820_short_isa_bps_rmt.edi", payments: 1, firstTotal: "18806.08", currency: "USD",
            lines: 2,
            balanced: [true], trace: nil, separators: ("*", 10)),
        .init(
            file: "stupidedi_005010X218_summary-bill-payment_one_line.edi", payments: 1, firstTotal: "19000.00",
            currency: "USD", lines: 2,
            balanced: [false], trace: "12345", separators: ("*", UInt8(ascii: "~"))),
        .init(
            file: "stupidedi_005010X306_negative_amounts_zero_bpr.edi", payments: 1, firstTotal: "0.00",
            currency: "USD", lines: 3,
            balanced: [true], trace: "123456789123567", separators: ("*", UInt8(ascii: "~"))),
    ]

    @Test("820 samples read with their totals, lines and balance", arguments: remittances)
    func remittanceSamples(_ expected: Expected820) throws {
        let bytes = Samples.bytes(expected.file)
        #expect(DocumentFormat.detect(bytes) == .x12(functionalID: "RA"))
        let interchanges = try X12Reader.read(bytes, file: expected.file)
        #expect(
            interchanges[0].separators.element == UInt8(ascii: Unicode.Scalar(String(expected.separators.element))!))
        #expect(interchanges[0].separators.segment == expected.separators.segment)
        let advices = try RemittanceAdviceReader.read(interchanges, defaultCurrency: .usd, file: expected.file)
        #expect(advices.count == expected.payments)
        #expect(advices[0].total.decimalString == expected.firstTotal)
        #expect(advices[0].currency.code == expected.currency)
        #expect(advices[0].lines.count == expected.lines)
        #expect(advices.map(\.isBalanced) == expected.balanced)
        #expect(advices[0].traceNumber == expected.trace)
        for advice in advices where !advice.isBalanced {
            // Out of balance is stored with its difference, never silently balanced.
            #expect(advice.difference.minorUnits == advice.total.minorUnits - advice.remittedTotal.minorUnits)
            #expect(!advice.difference.isZero)
        }
        for line in advices.flatMap(\.lines) { #expect(line.segment > 3) }
    }

    @Test func safewayLinesKeepInvoiceAmountsDiscountsAndProvenance() throws {
        let advice = try RemittanceAdviceReader.read(
            Samples.bytes("bots_820-004010-01_safeway_rmr_discounts.x12"), defaultCurrency: .usd)[0]
        let first = advice.lines[0]
        #expect(first.referenceQualifier == "IV")
        #expect(first.reference == "6092392")
        #expect(first.amountPaid.decimalString == "20430.34")
        #expect(first.invoiceAmount?.decimalString == "20851.11")
        #expect(first.discount?.decimalString == "420.77")
        #expect(first.segment == 14)
        #expect(advice.payer?.id == "0091372090000")
        #expect(advice.paymentMethod == "ACH")
        #expect(advice.effectiveDate?.description == "2005-10-20")
        #expect(advice.receivingAccount == "XXXXXXXXXX")
        #expect(advice.entities.count >= 2)
        #expect(advice.difference.decimalString == "-32769.61")
    }

    @Test func aMailbagOfEightInterchangesWithMixedTerminators() throws {
        let bytes = Samples.bytes("bots_mailbag01_multiple_ISA_mixed_terminators.x12")
        let interchanges = try X12Reader.read(bytes, file: "mailbag")
        #expect(interchanges.count == 8)
        #expect(Set(interchanges.map(\.separators.segment)).count >= 2)
        let advices = try RemittanceAdviceReader.read(interchanges, defaultCurrency: .usd)
        #expect(advices.count == 2)
        // ENT-level ADX adjustments count towards the balance and are kept with their reason codes.
        // This sender nets them the other way from the standard (BPR02 = RMR04 − ADX01), so under
        // the standard rule both payments are out by twice their adjustments, and are flagged.
        let adjustments = advices.flatMap(\.entities).flatMap(\.adjustments)
        #expect(adjustments.count == 10)
        #expect(advices.map(\.difference.decimalString) == ["41.04", "17.26"])
        #expect(advices.allSatisfy { !$0.isBalanced })
        #expect(adjustments.allSatisfy { !$0.reasonCode.isEmpty })
    }

    @Test func severalGroupsAndSetsInOneInterchange() throws {
        let interchanges = try X12Reader.read(Samples.bytes("bots_testx12021_multiple_GS_ST.x12"))
        #expect(interchanges[0].groups.map(\.transactionSets.count) == [3, 1, 1])
    }

    @Test func acknowledgementsAreRecognisedButAreNotRemittances() throws {
        for name in [
            "bots_997-004010VICS-01_NAK_0x15_terminator.x12", "stupidedi_004010_FA997_backtick_component.edi",
            "imsweb_x12_999_rejected.txt", "bots_testx12001_997_rejected_AK3_AK4.x12",
        ] {
            let bytes = Samples.bytes(name)
            #expect(DocumentFormat.detect(bytes) == .x12(functionalID: "FA"), "\(name)")
            #expect(try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd).isEmpty)
        }
    }

    @Test func aWrongSegmentCountIsRefusedWithItsLocation() {
        #expect {
            try X12Reader.read(Samples.bytes("imsweb_837_tilde_element_underscore_segment.txt"), file: "x.txt")
        } throws: { error in
            guard let error = error as? X12Error else { return false }
            return error.kind == .countMismatch && error.location?.segment == 36
                && error.message == "SE01 says 25 segments, the transaction set has 34"
        }
    }

    static let invoices: [(String, [String], [String], Int)] = [
        ("bots_810-004010-01_two_ST_TDS_implied_dec.x12", ["465266", "465267"], ["8432.02", "1129.92"], 0),
        ("moov_x12_4010_810_multi_ST.txt", ["654983115", "658089516"], ["1395.50", "827.75"], 1),
        ("stupidedi_004010X348_810_mixed_crlf.edi", ["39876980601170600"], ["170.60"], 0),
        ("stupidedi_004010_IN810_pipe_separator.edi", ["00237058"], ["285.66"], 0),
    ]

    @Test("810 samples read with TDS implied decimals", arguments: invoices)
    func invoiceSamples(file: String, numbers: [String], totals: [String], findings: Int) throws {
        let invoices = try SupplierInvoiceReader.read(Samples.bytes(file), defaultCurrency: .usd, file: file)
        #expect(invoices.map(\.invoiceNumber) == numbers)
        #expect(invoices.map { $0.total?.decimalString ?? "" } == totals)
        #expect(invoices.flatMap(\.findings).count == findings)
        #expect(invoices.allSatisfy { !$0.lines.isEmpty })
    }

    @Test func invoiceLinesKeepTheirProductIDPairs() throws {
        let invoice = try SupplierInvoiceReader.read(
            Samples.bytes("moov_x12_4010_810_multi_ST.txt"), defaultCurrency: .usd)[0]
        #expect(invoice.lines[0].productIDs.map(\.qualifier) == ["IN", "VN", "KF", "OT"])
        #expect(invoice.lines[0].productIDs[1].value == "852")
        // A totals mismatch is a finding with its segment number, not a refusal.
        let finding = try #require(invoice.findings.first)
        #expect(finding.code == "invoice.totals_mismatch")
        #expect(finding.message.contains("1395.50") && finding.message.contains("807.50"))
        #expect((finding.segment ?? 0) > invoice.lines[0].segment)
        let pipe = try SupplierInvoiceReader.read(
            Samples.bytes("stupidedi_004010_IN810_pipe_separator.edi"), defaultCurrency: .usd)[0]
        #expect(pipe.lines[0].productIDs.map(\.qualifier) == ["EN", "GC"])
        #expect(pipe.purchaseOrderNumber == "0691-0014403")
        #expect(pipe.parties.first?.role == "ST")
    }
}
