import Foundation
import NightjarCore
import NightjarMarkup
import Testing

@testable import NightjarDocuments

@Suite("Profile drafts")
struct ProfileDraftTests {
    struct Expectation: Sendable, CustomTestStringConvertible {
        let file: String, format: String, separator: String, encoding: String, decimal: String, dates: String
        var testDescription: String { file }
    }

    static var expectations: [Expectation] {
        let text = try! String(contentsOf: LayoutFixtures.folder.appendingPathComponent("drafts.txt"), encoding: .utf8)
        return text.textLines.filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { line in
            // `|` is itself a separator value: split on " | ".
            let parts = line.components(separatedBy: " | ")
            return Expectation(
                file: parts[0], format: parts[1], separator: parts[2], encoding: parts[3], decimal: parts[4],
                dates: parts[5])
        }
    }

    @Test("a draft detects the layout and passes profile check", arguments: expectations)
    func aDraftDetectsTheLayout(_ expected: Expectation) throws {
        let bytes = LayoutFixtures.bytes(expected.file)
        let draft = try ProfileDraft.make(bytes, fileName: expected.file, name: "draft")
        #expect(draft.format.rawValue == expected.format)
        #expect((draft.separator.map { $0 == "\t" ? "tab" : String($0) } ?? "-") == expected.separator)
        #expect((draft.encoding.map { $0 == .utf16LE ? "utf-16le" : $0.rawValue } ?? "-") == expected.encoding)
        #expect(String(draft.decimal) == expected.decimal)
        #expect(
            draft.dateFormats.joined(separator: ", ").isEmpty
                ? expected.dates == "-" : draft.dateFormats.first == expected.dates,
            "dates \(draft.dateFormats)")
        let profile = try LayoutProfileParser.parse(draft.text, file: "draft.profile")
        #expect(profile.name == "draft")
    }

    /// Most drafts read their sample as they stand; the others say in comments what to finish.
    @Test func mostDraftsReadTheirSampleUnchanged() throws {
        var readable: [String] = []
        for expected in ProfileDraftTests.expectations {
            let bytes = LayoutFixtures.bytes(expected.file)
            let draft = try ProfileDraft.make(bytes, fileName: expected.file, name: "draft")
            let profile = try LayoutProfileParser.parse(draft.text, file: "draft.profile")
            if let advices = try? RemittanceLayoutReader.read(
                bytes, profile: profile, defaultCurrency: .usd, file: expected.file), !advices.isEmpty
            {
                readable.append(expected.file)
            } else {
                #expect(
                    draft.text.contains("# check") || draft.text.contains("# fields found"),
                    "\(expected.file) gives no hint")
            }
        }
        #expect(readable.count >= 18, "\(readable)")
    }

    @Test func x12AndPDFAreNotDrafted() {
        #expect(throws: LayoutError.self) {
            try ProfileDraft.make(LayoutFixtures.bytes("x12-both-adx.x12"), fileName: "a.x12", name: "d")
        }
        #expect(throws: LayoutError.self) {
            try ProfileDraft.make(Array("%PDF-1.4\n".utf8), fileName: "a.pdf", name: "d")
        }
    }
}

/// The profiles in docs/file-formats.md are real: every complete example parses.
@Test func theDocumentedProfilesParse() throws {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let text = try String(contentsOf: repository.appendingPathComponent("docs/file-formats.md"), encoding: .utf8)
    var blocks: [String] = []
    var current: [String]?
    for line in text.textLines {
        if line.hasPrefix("```ini") {
            current = []
        } else if line.hasPrefix("```"), let lines = current {
            blocks.append(lines.joined(separator: "\n"))
            current = nil
        } else if current != nil {
            current!.append(String(line))
        }
    }
    let complete = blocks.filter { $0.contains("[line]") || $0.contains("[columns]") }
    #expect(complete.count >= 11)
    for (index, block) in complete.enumerated() {
        #expect(throws: Never.self, "example \(index + 1):\n\(block)") {
            try LayoutProfileParser.parse(block, file: "example.profile")
        }
    }
}
