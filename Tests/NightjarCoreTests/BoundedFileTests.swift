import Foundation
import NightjarCore
import Testing

@Suite("Bounded files and NUL locations")
struct BoundedFileTests {
    static func file(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nj-bounded-\(UUID().uuidString)").path
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return path
    }

    @Test func aFileAtTheCapIsReadAndOneByteMoreIsRefusedBeforeReading() throws {
        let fits = try Self.file(Array(repeating: 0x61, count: 4096))
        let over = try Self.file(Array(repeating: 0x61, count: 4097))
        defer {
            unlink(fits)
            unlink(over)
        }
        #expect(try BoundedFile.read(fits, what: "profile", maximumBytes: 4096).count == 4096)
        #expect {
            try BoundedFile.read(over, what: "profile", maximumBytes: 4096)
        } throws: { error in
            let error = error as? BoundedFileError
            return error?.problem == .tooLarge(size: 4097, limit: 4096) && error?.code == "input.too_large"
                && error?.exitStatus == .dataError
                && error?.message == "the profile \(over) is 4097 bytes, more than the 4096 bytes a profile may be"
        }
    }

    @Test func anEndlessDeviceIsCutAtTheCap() {
        #expect(
            throws: BoundedFileError(what: "rules file", path: "/dev/zero", problem: .tooLarge(size: nil, limit: 1024))
        ) {
            try BoundedFile.read("/dev/zero", what: "rules file", maximumBytes: 1024)
        }
    }

    @Test func missingAndNonUTF8FilesAreSaidSo() throws {
        #expect(try BoundedFile.readTextIfPresent("/nonexistent/nj.profile", what: "profile") == nil)
        #expect(throws: BoundedFileError(what: "profile", path: "/nonexistent/nj.profile", problem: .missing)) {
            try BoundedFile.readText("/nonexistent/nj.profile", what: "profile")
        }
        let latin1 = try Self.file([0x63, 0x61, 0x66, 0xE9])
        defer { unlink(latin1) }
        #expect(throws: BoundedFileError(what: "profile", path: latin1, problem: .notUTF8)) {
            try BoundedFile.readText(latin1, what: "profile")
        }
    }

    @Test(arguments: [
        ("a\u{0}", 1, 2), ("ab\ncd\u{0}e", 2, 3), ("x\r\ny\ré\u{0}", 3, 2), ("é\u{0}", 1, 2), ("\n\n\u{0}", 3, 1),
    ])
    func theFirstNulIsLocatedByLineAndColumn(text: String, line: Int, column: Int) {
        let location = NULByte.location(in: text, file: "f")
        #expect(location == SourceLocation(file: "f", line: line, column: column))
    }

    @Test func textWithoutNulHasNoLocation() {
        #expect(NULByte.location(in: "plain\ntext") == nil)
        #expect(throws: NULByteError(field: "rules file", location: SourceLocation(file: "r", line: 2, column: 1))) {
            try NULByte.refuse(inFile: "ok\n\u{0}", file: "r", field: "rules file")
        }
    }

    @Test(arguments: [
        ("acme corp", "acme-corp"), ("../..", "-.."), ("..", "renamed"),
        ("café", "caf-"), (String(repeating: "x", count: 80), String(repeating: "x", count: 64)), ("", "renamed"),
    ])
    func suggestedNamesFollowTheRule(name: String, suggested: String) {
        #expect(Identifier.suggestedName(for: name) == suggested)
        #expect(Identifier.isValid(Identifier.suggestedName(for: name)))
    }
}
