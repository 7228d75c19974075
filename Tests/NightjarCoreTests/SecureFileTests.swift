import Foundation
import NightjarCore
import Testing

@Suite("Secure files")
struct SecureFileTests {
    @Test func writesAtomicallyOwnerOnlyAndLeavesNoTemporaryFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-securefile-\(UUID().uuidString)")
            .path
        try SecureFile.createPrivateDirectory(folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #expect(SecureFile.mode(of: folder) == 0o700)
        let path = folder + "/state"
        try SecureFile.writeAtomically(Array("first".utf8), to: path)
        try SecureFile.writeAtomically(Array("second".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second")
        #expect(SecureFile.mode(of: path) == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["state"])
    }

    @Test func failsClearlyWhenTheFolderIsMissing() {
        #expect(throws: GeneralError.self) { try SecureFile.writeAtomically([1], to: "/nonexistent-nightjar/x") }
    }

    /// A new file: its bytes, owner-only, and never over one already there (that one is kept as it was).
    @Test func aNewFileIsWrittenOwnerOnlyAndNeverOverAnother() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-securefile-\(UUID().uuidString)")
            .path
        try SecureFile.createPrivateDirectory(folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/download.csv"
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let umask = Foundation.umask(0)
        defer { Foundation.umask(umask) }
        try SecureFile.writeNew(bytes, to: path)
        #expect(FileManager.default.contents(atPath: path).map { Array($0) } == bytes)
        #expect(SecureFile.mode(of: path) == 0o600)
        #expect { try SecureFile.writeNew(Array("other".utf8), to: path) } throws: {
            ($0 as? GeneralError)?.code == "file.write_failed" && "\($0)".contains("download.csv")
        }
        #expect(FileManager.default.contents(atPath: path).map { Array($0) } == bytes)
        #expect(throws: GeneralError.self) { try SecureFile.writeNew([1], to: "/nonexistent-nightjar/x") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["download.csv"])
    }
}
