import Foundation
import NightjarCore
import NightjarSandbox
import Testing

@testable import NightjarDocuments

/// Seeded mutations of each layout family's fixtures: every mutated file is read or refused with
/// a located error; none crashes, hangs or grows without bound.
@Suite("Layout fuzzing")
struct LayoutFuzzTests {
    static let rounds = 10_000

    /// Byte-level mutations that matter to text layouts: flips, cuts, duplicated runs, long runs,
    /// separators and quotes swapped, invalid UTF-8, NUL bytes.
    static func mutateText(_ bytes: inout [UInt8], using generator: inout SeededRandom) {
        guard !bytes.isEmpty else { return }
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
            guard !bytes.isEmpty else { return }
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: bytes[min(position, bytes.count - 1)] ^= UInt8.random(in: 1...255, using: &generator)
            case 1: bytes = Array(bytes.prefix(position))
            case 2:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...40, using: &generator)))
            case 3:
                let slice = Array(
                    bytes[position..<min(bytes.count, position + Int.random(in: 1...120, using: &generator))])
                bytes.insert(
                    contentsOf: slice, at: min(bytes.count, position + Int.random(in: 0...200, using: &generator)))
            case 4:
                bytes.insert(
                    contentsOf: [UInt8](
                        repeating: UInt8(ascii: ["9", ",", "\"", "{", "["].randomElement(using: &generator)!),
                        count: Int.random(in: 10...4_000, using: &generator)), at: position)
            case 5:
                let from = UInt8(
                    ascii: [",", ";", "\t", "|", "\"", ".", "\n", "{", "}", ":", "<", ">"].randomElement(
                        using: &generator)!)
                let to = UInt8(
                    ascii: [",", ";", "\t", "|", "\"", "-", "\n", "(", "]", " ", "/"].randomElement(using: &generator)!)
                for index in bytes.indices where bytes[index] == from && Bool.random(using: &generator) {
                    bytes[index] = to
                }
            case 6: bytes.insert(contentsOf: [0x93, 0xE9, 0x80, 0xA0, 0xFF], at: position)
            case 7: bytes.insert(0, at: position)
            case 8: bytes.insert(contentsOf: Array("-(1.234,56E+06)".utf8), at: position)
            default:
                // Swap two lines.
                let lines = bytes.split(separator: 10, omittingEmptySubsequences: false)
                guard lines.count > 2 else { continue }
                var reordered = lines.map(Array.init)
                reordered.swapAt(
                    Int.random(in: 0..<lines.count, using: &generator),
                    Int.random(in: 0..<lines.count, using: &generator))
                bytes = Array(reordered.joined(separator: [10]))
            }
        }
    }

    /// Reads `rounds` mutations of a fixture and checks every outcome.
    static func fuzz(_ name: String, seed: UInt64, mutate: (inout [UInt8], inout SeededRandom) -> Void = mutateText)
        throws -> (read: Int, refused: Int)
    {
        let fixture = LayoutFixtures.all.first { $0.name == name }!
        let original = LayoutFixtures.bytes(fixture.file)
        let profile = try LayoutFixtures.profile(fixture.profile!)
        var generator = SeededRandom(seed: seed)
        var read = 0
        var refused = 0
        for _ in 0..<rounds {
            var bytes = original
            mutate(&bytes, &generator)
            do {
                let advices = try RemittanceLayoutReader.read(
                    bytes, profile: profile, defaultCurrency: .usd, file: fixture.file)
                // What is read must hold together: every line belongs to a payment in its currency.
                for advice in advices { #expect(advice.lines.allSatisfy { $0.amountPaid.currency == advice.currency }) }
                read += 1
            } catch {
                #expect(error.location?.file == fixture.file, "\(error)")
                #expect(!error.message.isEmpty)
                refused += 1
            }
        }
        return (read, refused)
    }

    /// One fixture per family: delimited (with a preamble), typed records, fixed width, HTML, JSON, JSON lines.
    @Test(arguments: [
        ("preamble-advice", UInt64(1)), ("typed-records", 5), ("lockbox-fixed", 6), ("advice-page", 7),
        ("api-payments", 8), ("export", 9),
    ])
    func tenThousandMutationsOfATextLayout(name: String, seed: UInt64) throws {
        let (read, refused) = try LayoutFuzzTests.fuzz(name, seed: seed)
        #expect(read + refused == LayoutFuzzTests.rounds)
        // Both outcomes happen: the mutations are neither all harmless nor all fatal.
        #expect(read > 100 && refused > 100, "read \(read), refused \(refused)")
    }

    /// Workbooks: the sheet and shared-string XML mutated inside a well-formed zip (so the XML
    /// and cell readers are what is tested), and the zip itself damaged.
    @Test func tenThousandMutatedWorkbooks() throws {
        let fixture = LayoutFixtures.all.first { $0.name == "workbook-preamble" }!
        let archive = try ZipArchive(LayoutFixtures.bytes(fixture.file), file: nil)
        var parts: [(String, [UInt8])] = []
        for name in archive.entries.keys.sorted() { parts.append((name, try archive.part(name)!)) }
        let (read, refused) = try LayoutFuzzTests.fuzz("workbook-preamble", seed: 10) { bytes, generator in
            if Int.random(in: 0..<10, using: &generator) == 0 {
                LayoutFuzzTests.mutateText(&bytes, using: &generator)
                return
            }
            var mutated = parts
            for index in mutated.indices
            where mutated[index].0.hasPrefix("xl/worksheets") || mutated[index].0 == "xl/sharedStrings.xml"
                || (mutated[index].0 == "xl/styles.xml" && Bool.random(using: &generator))
            {
                if Bool.random(using: &generator) { LayoutFuzzTests.mutateText(&mutated[index].1, using: &generator) }
            }
            bytes = SandboxZip.stored(mutated)
        }
        #expect(read + refused == LayoutFuzzTests.rounds)
        #expect(read > 100 && refused > 100, "read \(read), refused \(refused)")
    }

    @Test func aDamagedPartIsRefusedByItsChecksum() throws {
        let fixture = LayoutFixtures.all.first { $0.name == "workbook-preamble" }!
        let archive = try ZipArchive(LayoutFixtures.bytes(fixture.file), file: nil)
        var parts: [(String, [UInt8])] = []
        for name in archive.entries.keys.sorted() { parts.append((name, try archive.part(name)!)) }
        var bytes = SandboxZip.stored(parts)
        #expect(throws: Never.self) {
            try RemittanceLayoutReader.read(
                bytes, profile: try LayoutFixtures.profile(fixture.profile!), defaultCurrency: .usd)
        }
        // Change one digit of an amount inside the stored sheet: the checksum no longer matches.
        let sheet = Array("<v>1500</v>".utf8)
        let at = bytes.firstRange(of: sheet)!.lowerBound + 3
        bytes[at] = UInt8(ascii: "7")
        #expect {
            try RemittanceLayoutReader.read(
                bytes, profile: try LayoutFixtures.profile(fixture.profile!), defaultCurrency: .usd, file: "w.xlsx")
        } throws: { error in
            (error as? LayoutError)?.message.contains("checksum") == true
        }
    }
}
