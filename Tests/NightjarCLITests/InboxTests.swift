import Foundation
import NightjarAgent
import NightjarCore
import Testing

/// The inbox move: folders made when missing, the file read-only, the download gone, the same
/// bytes stored twice kept once, and a download that vanished named in the error.
@Suite struct InboxTests {
    @Test func aFileMovesIntoItsFolderReadOnlyAndTheSameBytesAreKeptOnce() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nj-inbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let staging = root + "/staging"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        let inbox = Inbox(root: root + "/inbox")
        func download(_ name: String, _ text: String) throws -> String {
            let path = staging + "/" + name
            try text.write(toFile: path, atomically: false, encoding: .utf8)
            return path
        }
        let sha = String(repeating: "ab", count: 32)
        let first = try download("one.csv", "reference,amount\nINV-1,10.00\n")
        let stored = try inbox.store(first, client: "acme", sha256: sha, name: "remit 1.csv")
        #expect(stored == inbox.path(client: "acme", sha256: sha, name: "remit 1.csv"))
        #expect(stored.hasPrefix(root + "/inbox/acme/ab/\(sha)-"))
        #expect(try String(contentsOfFile: stored, encoding: .utf8) == "reference,amount\nINV-1,10.00\n")
        #expect(!FileManager.default.fileExists(atPath: first))
        #expect(SecureFile.mode(of: stored) == 0o400)
        for folder in [root + "/inbox", root + "/inbox/acme", root + "/inbox/acme/ab"] {
            #expect(SecureFile.mode(of: folder) == 0o700, "\(folder)")
        }
        // The same bytes under the same name again: one file, the same path, the download gone.
        let again = try download("two.csv", "reference,amount\nINV-1,10.00\n")
        #expect(try inbox.store(again, client: "acme", sha256: sha, name: "remit 1.csv") == stored)
        #expect(!FileManager.default.fileExists(atPath: again))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: root + "/inbox/acme/ab") == [
                (stored as NSString).lastPathComponent
            ])
        #expect(SecureFile.mode(of: stored) == 0o400)
        // Another client's file goes to its own folders, made on the way.
        let other = try download("three.csv", "x")
        let otherSha = String(repeating: "cd", count: 32)
        let otherPath = try inbox.store(other, client: "globex", sha256: otherSha, name: "r.csv")
        #expect(otherPath.hasPrefix(root + "/inbox/globex/cd/"))
        #expect(SecureFile.mode(of: root + "/inbox/globex/cd") == 0o700)
        // A download that is not there: an error naming it, nothing stored.
        #expect {
            try inbox.store(staging + "/missing.csv", client: "acme", sha256: otherSha, name: "m.csv")
        } throws: { error in
            (error as? GeneralError)?.code == "inbox.move" && "\(error)".contains("missing.csv")
        }
        #expect(!FileManager.default.fileExists(atPath: inbox.path(client: "acme", sha256: otherSha, name: "m.csv")))
    }
}
