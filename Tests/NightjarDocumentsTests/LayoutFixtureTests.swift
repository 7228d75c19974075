import Foundation
import NightjarCore
import Testing

@testable import NightjarDocuments

/// The layout fixtures: files in the shapes senders use, each with its profile and the exact
/// payments, lines, deductions, totals and findings it must give (or the refusal it must get).
enum LayoutFixtures {
    static var folder: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("layouts")
    }

    struct Fixture: CustomTestStringConvertible, Sendable {
        let name: String
        let file: String
        let profile: String?
        let expected: String
        var testDescription: String { file }
    }

    static var all: [Fixture] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".expected") }.sorted().map { expected in
            let stem = String(expected.dropLast(".expected".count))
            let file = names.first {
                $0.hasPrefix(stem + ".") && !$0.hasSuffix(".expected") && !$0.hasSuffix(".profile")
            }!
            let profile = names.contains(stem + ".profile") ? stem + ".profile" : nil
            return Fixture(
                name: stem, file: file, profile: profile,
                expected: try! String(contentsOf: folder.appendingPathComponent(expected), encoding: .utf8))
        }
    }

    static func bytes(_ name: String) -> [UInt8] { Array(try! Data(contentsOf: folder.appendingPathComponent(name))) }

    static func profile(_ name: String) throws -> LayoutProfile {
        try LayoutProfileParser.parse(
            try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8), file: name)
    }

    /// Reads a fixture as the importer would: X12 without a profile, anything else by its profile.
    static func read(_ fixture: Fixture, bytes: [UInt8]? = nil) throws -> [RemittanceAdvice] {
        let data = bytes ?? self.bytes(fixture.file)
        guard let profile = fixture.profile else {
            return try RemittanceAdviceReader.read(data, defaultCurrency: .usd, file: fixture.file)
        }
        return try RemittanceLayoutReader.read(
            data, profile: try self.profile(profile), defaultCurrency: .usd, file: fixture.file)
    }
}

@Suite("Layout fixtures")
struct LayoutFixtureTests {
    @Test func thereAreTwoFilesOfEveryClass() {
        let files = LayoutFixtures.all.map(\.file)
        #expect(files.count >= 20)
        for prefix in [
            "deduction-rows", "preamble", "typed-records", "payments-export", "european", "lockbox", "mainframe",
            "workbook", "advice-", "api-", "export.jsonl",
            "cells-", "unicode-text", "x12",
        ] {
            #expect(files.contains { $0.hasPrefix(prefix) }, "no fixture for \(prefix)")
        }
    }

    @Test("each fixture reads exactly as stated", arguments: LayoutFixtures.all)
    func eachFixtureReadsExactly(_ fixture: LayoutFixtures.Fixture) throws {
        if fixture.expected.hasPrefix("refused ") {
            let parts = fixture.expected.split(separator: " ")
            do {
                let advices = try LayoutFixtures.read(fixture)
                Issue.record("read instead of refused:\n\(RemittanceAdviceText.render(advices))")
            } catch let error as any NightjarError {
                #expect(error.code == String(parts[1]), "\(error)")
                #expect(
                    error.location?.line == Int(parts[3].trimmingCharacters(in: .whitespacesAndNewlines)), "\(error)")
                #expect(error.location?.file == fixture.file)
            }
            return
        }
        let advices = try LayoutFixtures.read(fixture)
        #expect(RemittanceAdviceText.render(advices) == fixture.expected)
    }
}

@Suite("Choosing a profile")
struct ProfileSelectionTests {
    @Test func eachFixtureIsFitByItsOwnProfileAlone() throws {
        let fixtures = LayoutFixtures.all.filter { $0.profile != nil && !$0.expected.hasPrefix("refused") }
        let profiles = try fixtures.map { try LayoutFixtures.profile($0.profile!) }
        for fixture in fixtures {
            let fitting = ProfileSelection.fitting(
                profiles, kind: .remittance, bytes: LayoutFixtures.bytes(fixture.file), fileName: fixture.file)
            #expect(fitting.map(\.file) == [fixture.profile!], "\(fixture.file): \(fitting.map(\.name))")
        }
    }

    @Test func twoFittingProfilesAreARefusalNamingBoth() throws {
        let fixture = LayoutFixtures.all.first { $0.name == "payments-export" }!
        let own = try LayoutFixtures.profile(fixture.profile!)
        let copy = try LayoutProfileParser.parse(
            "name = copy-of-payments\n[columns]\nreference = \"Invoice\"\namount_paid = \"Paid\"", file: "copy.profile")
        let bytes = LayoutFixtures.bytes(fixture.file)
        guard
            case .failure(let refusal) = ProfileSelection.choose(
                [own, copy], kind: .remittance, bytes: bytes, fileName: fixture.file)
        else {
            Issue.record("a profile was chosen")
            return
        }
        #expect(refusal.fitting == ["payments-export", "copy-of-payments"])
        // [match] narrows a profile to its sender's files.
        let narrowed = try LayoutProfileParser.parse(
            "name = copy-of-payments\n[match]\nfile_name = \"pacific-*\"\n[columns]\nreference = \"Invoice\"\namount_paid = \"Paid\"",
            file: "copy.profile")
        guard
            case .success(let chosen) = ProfileSelection.choose(
                [own, narrowed], kind: .remittance, bytes: bytes, fileName: fixture.file)
        else {
            Issue.record("no profile chosen")
            return
        }
        #expect(chosen.name == "payments-export")
    }
}

@Test func aTotalWithNothingAboveItIsAFindingNotSilence() throws {
    let profile = try LayoutProfileParser.parse(
        """
        separator = "|"
        header_row = none
        currency = USD
        [rows]
        kind = column 1
        trailer = "T"
        line = "D"
        [trailer]
        total_amount = column 2
        [line]
        payment_reference = column 2
        reference = column 3
        amount_paid = column 4
        """, file: "p.profile")
    let advices = try RemittanceLayoutReader.read(
        Array("T|999.00\nD|P1|INV-1|100.00\n".utf8), profile: profile, defaultCurrency: .usd, file: "t.txt")
    #expect(advices.count == 1)
    #expect(advices[0].findings.map(\.code) == ["layout.total_unchecked"])
    #expect(!advices[0].isBalanced)
}
