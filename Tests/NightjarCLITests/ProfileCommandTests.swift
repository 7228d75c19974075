import Foundation
import NightjarCore
import Testing

/// Onboarding a sender's file layout from the command line: check, try, draft, then import.
@Suite("nightjar profile", .serialized)
struct ProfileCommandTests {
    static var layouts: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("NightjarDocumentsTests/Fixtures/layouts").path
    }

    static func workspace(_ label: String, profiles: [String]) throws -> (parent: String, root: String) {
        let parent = BinaryRunner.temporaryFolder(label)
        let root = parent + "/ws"
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        for profile in profiles {
            try FileManager.default.copyItem(atPath: layouts + "/" + profile, toPath: root + "/profiles/" + profile)
        }
        return (parent, root)
    }

    @Test func checkNamesLineAndColumnAndExits65() throws {
        let parent = BinaryRunner.temporaryFolder("profile-check")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let bad = parent + "/bad.profile"
        try "kind = remittance\n[line]\nreference = colum 3\namount_paid = \"Paid\"\n".write(
            toFile: bad, atomically: true, encoding: .utf8)
        var result = try BinaryRunner.run(["profile", "check", bad])
        #expect(result.status == 65)
        #expect(
            result.stderr.contains("bad.profile:3:13: `colum` is not a source (did you mean `column`?)"),
            "\(result.stderr)")
        result = try BinaryRunner.run([
            "profile", "check", ProfileCommandTests.layouts + "/typed-records.profile", "--json",
        ])
        #expect(result.status == 0)
        let reports = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]]
        #expect(reports?.first?["name"] as? String == "brightline-records")
        #expect(reports?.first?["ok"] as? Bool == true)
    }

    @Test func tryShowsEachRowAndItsRuleAndStoresNothing() throws {
        let (parent, root) = try ProfileCommandTests.workspace(
            "profile-try", profiles: ["deduction-rows-line-type.profile", "payments-export.profile"])
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let sample = ProfileCommandTests.layouts + "/deduction-rows-line-type.csv"
        let result = try BinaryRunner.run(["--home", root, "profile", "try", sample])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("profile harbor-line-type"))
        #expect(result.stdout.contains("(profile payments-export does not fit:"))
        #expect(result.stdout.contains("line 3    deduction  column \"Line Type\" is \"DEDUCTION\" → deduction"))
        #expect(result.stdout.contains("deduction_code = DMG"))
        #expect(result.stdout.contains("payment deduction -120.00 PROMO \"Spring promotion\" ref PROMO-77"))
        let batches = try BinaryRunner.run(["--home", root, "batches", "--json"])
        #expect(
            batches.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]" || batches.stdout.contains("[]"),
            "nothing stored: \(batches.stdout)")
    }

    @Test func aDraftWrittenToAFilePassesCheckAndImports() throws {
        let (parent, root) = try ProfileCommandTests.workspace("profile-draft", profiles: [])
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let sample = ProfileCommandTests.layouts + "/european-semicolon.csv"
        let out = root + "/profiles/muellermarkt.profile"
        var result = try BinaryRunner.run(["profile", "draft", sample, "--name", "muellermarkt", "--out", out])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("encoding windows-1252, separator ;, decimal ,, dates dd.MM.yyyy"))
        // A second draft never overwrites the first.
        #expect(try BinaryRunner.run(["profile", "draft", sample, "--out", out]).status == 73)
        #expect(try BinaryRunner.run(["profile", "check", out]).status == 0)
        result = try BinaryRunner.run(["--home", root, "import", sample, "--client", "acme"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("european-semicolon.csv: 1 batch(es), 2 line(s)"))
    }

    @Test func deductionsKeepTheirCodesWordsAndReferencesAndTraceFindsThem() throws {
        let (parent, root) = try ProfileCommandTests.workspace(
            "profile-import", profiles: ["deduction-rows-line-type.profile"])
        defer { try? FileManager.default.removeItem(atPath: parent) }
        var result = try BinaryRunner.run([
            "--home", root, "import", ProfileCommandTests.layouts + "/deduction-rows-line-type.csv",
            ProfileCommandTests.layouts + "/x12-both-adx.x12", "--client", "acme",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        result = try BinaryRunner.run(["--home", root, "batches", "--json"])
        let ids = (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? [])
            .compactMap { $0["id"] as? Int }.sorted()
        #expect(ids.count == 2)
        result = try BinaryRunner.run(["--home", root, "batch", "show", String(ids[0]), "--json"])
        let csvBatch = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let payment = try #require(csvBatch["entity_adjustments"] as? [[String: Any]])
        #expect(payment.map { $0["reason_code"] as? String } == ["PROMO", "SHORT"])
        #expect(payment[1]["invoice"] as? String == "INV-09977")
        #expect(payment[1]["reference"] as? String == "DM-5570")
        let lines = try #require(csvBatch["lines"] as? [[String: Any]])
        let first = try #require((lines[0]["adjustments"] as? [[String: Any]])?.first)
        #expect(first["text"] as? String == "Damaged in transit")
        #expect(lines[0]["amount_paid"] as? String == "1155.00")

        result = try BinaryRunner.run(["--home", root, "batch", "show", String(ids[1])])
        #expect(
            result.stdout.contains(
                "payment deduction -42.50 USD CS \"DEBIT MEMO DM-4471 PROMOTIONAL ALLOWANCE\" ref IV INV-900 on invoice INV-900"
            ), "\(result.stdout)")
        #expect(
            result.stdout.contains("as written: -50.00 USD 04 \"DAMAGED IN TRANSIT\" ref RZ RA-3301"),
            "\(result.stdout)")
        #expect(result.stdout.contains("balanced"))

        for (reference, found) in [
            ("DM-4471", "deduction text"), ("PO-5521", "PO PO-5521"), ("RA-3301", "deduction"),
            ("DM-5566", "deduction"),
        ] {
            result = try BinaryRunner.run(["--home", root, "trace", reference, "--client", "acme"])
            #expect(result.status == 0, "\(reference): \(result.stdout)")
            #expect(result.stdout.contains(found), "\(reference): \(result.stdout)")
        }
    }

    @Test func anInvoiceGivenToImportExits65AndNamesTheCommandThatReadsIt() throws {
        let (parent, root) = try ProfileCommandTests.workspace("import-810", profiles: [])
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let invoice = ImportCommandTests.samples + "/moov_x12_4010_810_multi_ST.txt"
        let result = try BinaryRunner.run(["--home", root, "import", invoice, "--client", "acme"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("an X12 810 invoice, not a remittance"))
        #expect(result.stderr.contains("nightjar po import moov_x12_4010_810_multi_ST.txt --client acme"))
    }

    @Test func twoFittingProfilesRefuseTheFileAndNameBoth() throws {
        let (parent, root) = try ProfileCommandTests.workspace("two-profiles", profiles: ["payments-export.profile"])
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try "name = second-payments\n[columns]\nreference = \"Invoice\"\namount_paid = \"Paid\"\n"
            .write(toFile: root + "/profiles/second.profile", atomically: true, encoding: .utf8)
        let sample = ProfileCommandTests.layouts + "/payments-export.csv"
        var result = try BinaryRunner.run(["--home", root, "import", sample, "--client", "acme"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("profiles payments-export and second-payments both fit it"), "\(result.stderr)")
        #expect(try BinaryRunner.run(["--home", root, "batches", "--json"]).stdout.contains("\"id\"") == false)
        result = try BinaryRunner.run([
            "--home", root, "import", sample, "--client", "acme", "--profile", "payments-export",
        ])
        #expect(result.status == 0)
        #expect(result.stdout.contains("3 batch(es), 5 line(s)"))
    }
}
