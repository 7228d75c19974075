import Foundation
import NightjarCore
import Testing

@testable import NightjarDocuments

/// Hand-made files for each structural defect, and a fuzz run over mutated files.
@Suite("X12 structure")
struct X12ErrorTests {
    static func file(
        _ body: [String], terminator: String = "~\n", isa13: String = "000000001", ge02: String = "1",
        se02: String = "0001",
        geCount: String = "1", ieaCount: String = "1", seCount: Int? = nil
    ) -> [UInt8] {
        var segments = [
            "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261124*0100*U*00401*\(isa13)*0*P*>",
            "GS*RA*SENDER*RECEIVER*20261124*0100*1*X*004010", "ST*820*0001",
        ]
        segments += body
        segments.append("SE*\(seCount ?? body.count + 2)*\(se02)")
        segments += ["GE*\(geCount)*\(ge02)", "IEA*\(ieaCount)*000000001"]
        return Array((segments.joined(separator: terminator) + terminator).utf8)
    }

    static let body = [
        "BPR*C*140.00*C*ACH*CTX*01*111000025*DA*123456789*1234567890**01*222000025*DA*987654321*20261124",
        "TRN*1*TRACE42*1234567890", "N1*PR*RETAILER CO*92*V123", "N1*PE*SUPPLIER INC", "ENT*1", "ADX*-5.00*CS",
        "RMR*IV*INV-1*PI*100.00*100.00", "RMR*IV*INV-2*PI*45.00*50.00*0*", "ADX*-5.00*01*IV*INV-2",
    ]

    @Test func aWellFormedFileReadsAndBalances() throws {
        let advice = try RemittanceAdviceReader.read(X12ErrorTests.file(X12ErrorTests.body), defaultCurrency: .usd)[0]
        #expect(advice.total.decimalString == "140.00")
        #expect(advice.lines[1].adjustments.map(\.amount.decimalString) == ["-5.00"])
        #expect(advice.entities[0].adjustments.map(\.reasonCode) == ["CS"])
        // BPR02 = Σ RMR04 + Σ ENT-level ADX01 = 100.00 + 45.00 − 5.00; the line's own ADX is already in its RMR04.
        #expect(advice.remittedTotal.decimalString == "140.00")
        #expect(advice.isBalanced)
        #expect(advice.payer?.idQualifier == "92")
    }

    static let defects: [(String, [UInt8], X12Error.Kind, Int?)] = [
        ("empty", [], .noInterchange, nil),
        ("not X12", Array("invoice,amount\n1,2\n".utf8), .noInterchange, 1),
        ("short ISA", Array("ISA*00*".utf8), .badHeader, 1),
        ("SE count", file(body, seCount: 5), .countMismatch, 13),
        ("SE control", file(body, se02: "0002"), .controlMismatch, 13),
        ("GE count", file(body, geCount: "2"), .countMismatch, 14),
        ("GE control", file(body, ge02: "9"), .controlMismatch, 14),
        ("IEA count", file(body, ieaCount: "3"), .countMismatch, 15),
        ("IEA control", file(body, isa13: "000000002"), .controlMismatch, 15),
        ("bad amount", file(["BPR*C*15O.00*C*ACH"] + body.dropFirst()), .badAmount, 4),
        ("bad date", file(["BPR*C*150.00*C*ACH*CTX*01*1*DA*1*1**01*2*DA*2*20261332"] + body.dropFirst()), .badDate, 4),
        ("no BPR", file(Array(body.dropFirst())), .missingSegment, 3),
        ("trailing junk", file(body) + Array("garbage".utf8), .trailingData, 16),
        ("truncated in ST", Array(file(body).prefix(400)), .truncated, nil),
        (
            "segment outside ST",
            Array(
                String(decoding: file(body), as: UTF8.self).replacingOccurrences(of: "ST*820*0001~\n", with: "").utf8),
            .unexpectedSegment, 3
        ),
        ("huge segment", file(["BPR*C*1*C*" + String(repeating: "X", count: 70_000)]), .tooLarge, 4),
    ]

    @Test("each structural defect is refused with its kind and segment", arguments: defects)
    func defectsAreLocated(name: String, bytes: [UInt8], kind: X12Error.Kind, segment: Int?) {
        do {
            _ = try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd, file: "case.x12")
            Issue.record("\(name) was accepted")
        } catch {
            #expect(error.kind == kind, "\(name): \(error)")
            if let segment { #expect(error.location?.segment == segment, "\(name): \(error)") }
            #expect(error.location?.file == "case.x12" || error.kind == .noInterchange)
        }
    }

    @Test func separatorsAreReadFromEachHeader() throws {
        for (element, component, terminator) in [
            ("|", ">", "~"), ("*", ":", "\n"), ("~", "^", "_"), ("^", "\\", "\u{15}"), ("*", "@", "'"),
        ] {
            var text = String(decoding: X12ErrorTests.file(X12ErrorTests.body, terminator: terminator), as: UTF8.self)
            text = text.replacingOccurrences(of: "*", with: element).replacingOccurrences(
                of: "P\(element)>", with: "P\(element)\(component)")
            let interchanges = try X12Reader.read(Array(text.utf8))
            #expect(interchanges[0].separators.element == Array(element.utf8)[0])
            #expect(interchanges[0].separators.component == Array(component.utf8)[0])
            #expect(try RemittanceAdviceReader.read(interchanges, defaultCurrency: .usd)[0].lines.count == 2)
        }
    }

    /// Thousands of mutations of real and generated files: each ends in a located error or a
    /// valid result, never a crash or a hang. The seed is printed so a failure reproduces.
    @Test func tenThousandMutated820FilesNeverCrash() {
        let seeds =
            [X12ErrorTests.file(X12ErrorTests.body)]
            + [
                "bots_820-004010-01_safeway_rmr_discounts.x12", "moov_x12_stp820_backslash_terminator.txt",
                "stupidedi_005010X218_summary-bill-payment_one_line.edi",
                "bots_820-004030-03_multi_ST_CAD_NAK_crlf_term.x12",
                "bots_mailbag01_multiple_ISA_mixed_terminators.x12",
            ].map(Samples.bytes)
        var generator = SeededRandom(seed: 20_261_124)
        var accepted = 0
        var refused = 0
        for round in 0..<10_000 {
            var bytes = seeds[round % seeds.count]
            Mutator.mutate(&bytes, using: &generator)
            do {
                let advices = try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd)
                for advice in advices { _ = advice.difference }
                accepted += 1
            } catch {
                #expect(error.location != nil || error.kind == .noInterchange, "round \(round) seed 20261124")
                refused += 1
            }
        }
        #expect(accepted + refused == 10_000)
        #expect(refused > 1000)
    }
}

/// Byte- and segment-level mutations: flips, truncation, deletion, duplication, swaps, huge
/// fields, wrong separators, Windows-1252 bytes and NULs.
enum Mutator {
    static func mutate(_ bytes: inout [UInt8], using generator: inout SeededRandom) {
        guard !bytes.isEmpty else { return }
        let count = Int.random(in: 1...3, using: &generator)
        for _ in 0..<count {
            let position = Int.random(in: 0..<max(1, bytes.count), using: &generator)
            switch Int.random(in: 0..<9, using: &generator) {
            case 0: bytes[min(position, bytes.count - 1)] ^= UInt8.random(in: 1...255, using: &generator)
            case 1: bytes = Array(bytes.prefix(position))
            case 2:
                let length = Int.random(in: 1...40, using: &generator)
                bytes.removeSubrange(position..<min(bytes.count, position + length))
            case 3:
                let length = Int.random(in: 1...80, using: &generator)
                let slice = Array(bytes[position..<min(bytes.count, position + length)])
                bytes.insert(
                    contentsOf: slice, at: min(bytes.count, position + Int.random(in: 0...200, using: &generator)))
            case 4:
                bytes.insert(
                    contentsOf: [UInt8](
                        repeating: UInt8(ascii: "9"), count: Int.random(in: 100...100_000, using: &generator)),
                    at: position)
            case 5:
                let from = UInt8(ascii: ["*", "~", ":", ">", "\n"].randomElement(using: &generator)!)
                let to = UInt8(ascii: ["|", "^", "~", "*", "\n", "\\"].randomElement(using: &generator)!)
                for index in bytes.indices where bytes[index] == from && Bool.random(using: &generator) {
                    bytes[index] = to
                }
            case 6: bytes.insert(contentsOf: [0x93, 0xE9, 0x80, 0xA0, 0xFF], at: position)
            case 7: bytes.insert(0, at: position)
            default:
                // Swap two segments.
                let text = bytes
                if let a = text[position...].firstIndex(of: UInt8(ascii: "~")),
                    let b = text[(a + 1)...].firstIndex(of: UInt8(ascii: "~")),
                    let c = text[(b + 1)...].firstIndex(of: UInt8(ascii: "~"))
                {
                    bytes = Array(text[..<(a + 1)] + text[(b + 1)...c] + text[(a + 1)...b] + text[(c + 1)...])
                }
            }
            if bytes.isEmpty { return }
        }
    }
}
