import Foundation
import NightjarAgent
import NightjarCore
import Testing

@Suite("Rules files by client")
struct RulesFilesTests {
    @Test func aClientNameIsNeverMadeIntoAPathOutsideTheRulesFolder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nj-rules-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        try "write_off_amount = 9.00\n".write(toFile: root + "/outside.rules", atomically: true, encoding: .utf8)
        try "write_off_amount = 1.00\n".write(toFile: root + "/rules/default.rules", atomically: true, encoding: .utf8)
        try "write_off_amount = 2.00\n".write(toFile: root + "/rules/acme.rules", atomically: true, encoding: .utf8)
        let files = MatchingRulesFiles(directory: root + "/rules")
        #expect(try files.rules(for: "acme").1 == root + "/rules/acme.rules")
        #expect(try files.rules(for: "acme").0.writeOffAmount == 200)
        for name in ["../outside", "acme/../../outside", "..", "."] {
            let (rules, file) = try files.rules(for: name)
            #expect(file == root + "/rules/default.rules", "\(name)")
            #expect(rules.writeOffAmount == 100, "\(name)")
        }
    }

    @Test func aRulesFileOverTheCapIsRefused() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nj-rules-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        #expect(
            FileManager.default.createFile(
                atPath: root + "/acme.rules", contents: Data(repeating: 0x23, count: BoundedFile.textFileLimit + 1)))
        #expect { try MatchingRulesFiles(directory: root).rules(for: "acme") } throws: {
            ($0 as? BoundedFileError)?.code == "input.too_large"
        }
    }
}
