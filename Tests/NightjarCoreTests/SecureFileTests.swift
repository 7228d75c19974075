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
}
