import Foundation
import NightjarCore
import NightjarFileDrop
import NightjarHTTP
import NightjarSandbox
import NightjarScript
import Testing

/// What the reader remembers between nights, in memory (the night keeps it in the database).
actor Remembered: SourceMemory {
    var items: [String: SourceItemRecord] = [:]
    func wasRead(client: String, source: String, key: String) -> SourceItemRecord? {
        items["\(client)/\(source)/\(key)"]
    }
    func wasRead(client: String, source: String, identity: String) -> SourceItemRecord? { nil }
    func record(client: String, source: String, key: String, identity: String?, status: String, message: String?) {
        items["\(client)/\(source)/\(key)"] = SourceItemRecord(
            key: key, identity: identity, status: status, readAt: Logger.timestamp())
    }
}

/// An SFTP drop against a real OpenSSH sshd on loopback (key authentication, a temp folder).
@Suite("SFTP drop (OpenSSH)", .serialized)
struct FileDropServerTests {
    final class Fixture: @unchecked Sendable {
        let folder: String
        let server: SandboxSFTPServer

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-drop-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            server = try SandboxSFTPServer(folder: folder + "/server")
            try FileManager.default.createDirectory(
                atPath: server.local("/outbound/archive"), withIntermediateDirectories: true)
        }

        func put(_ name: String, _ text: String, modified: String? = nil) throws {
            let path = server.local("/outbound/" + name)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            if let modified, let date = ISO8601DateFormatter().date(from: modified) {
                try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: path)
            }
        }

        func credential(knownHosts: String? = nil, key: String? = nil) throws -> ScriptCredential {
            ScriptCredential(
                client: "acme", portal: "bigbank",
                fields: [
                    "username": server.user, "private_key": key ?? server.clientKey,
                    "passphrase": SandboxSFTPServer.keyPassphrase,
                    "known_hosts": try knownHosts ?? server.knownHostsLine(),
                ],
                allowedOrigins: [server.origin])
        }

        func definition(_ dating: String = "dated by name \"yyyyMMdd\"", archive: Bool = false) throws
            -> ScraperDefinition
        {
            try ScraperChecker.load(
                """
                sftp bigbank "Big Bank lockbox drop"
                origin "sftp://sftp.bigbank.example"
                sign in key
                \(archive ? "after import move \"\(server.remote("/outbound/archive"))\"" : "")
                remittances {
                  files in "\(server.remote("/outbound"))" name "REMIT_*.csv" \(dating) expect type csv
                }
                """, file: "bigbank.scraper")
        }

        func options(_ name: String) -> SourceRunOptions {
            SourceRunOptions(
                range: try! DateRange(from: CalendarDate(iso: "2026-11-01"), to: CalendarDate(iso: "2026-11-30")),
                originOverride: server.origin, downloadDirectory: folder + "/staging/" + name)
        }

        deinit {
            server.stop()
            try? FileManager.default.removeItem(atPath: folder)
        }
    }

    static let advice = "Line Type,Invoice Number,Amount\nINVOICE,INV-1,10.00\n"

    @Test func filesInTheRangeAreReadOnceAndArchivedAndNothingIsReadTwice() async throws {
        let fixture = try Fixture()
        try fixture.put("REMIT_20261103.csv", FileDropServerTests.advice + "INVOICE,INV-2,1.00\n")
        try fixture.put("REMIT_20261104_b.csv", FileDropServerTests.advice + "INVOICE,INV-3,2.00\n")
        try fixture.put("REMIT_20261020.csv", FileDropServerTests.advice)  // before the range
        try fixture.put("REMIT_20261201.csv", FileDropServerTests.advice)  // after it
        try fixture.put("README.txt", "not advice")
        let memory = Remembered()
        let reader = FileDropReader(
            definition: try fixture.definition(archive: true), credential: try fixture.credential(),
            options: fixture.options("one"),
            memory: memory)
        let outcome = await reader.run()
        #expect(
            outcome.failure == nil,
            "\(outcome.failure?.message ?? "")\n\(reader.conversation.suffix(20).joined(separator: "\n"))")
        #expect(outcome.downloads.map(\.fileName).sorted() == ["REMIT_20261103.csv", "REMIT_20261104_b.csv"])
        #expect(outcome.downloads.first { $0.fileName == "REMIT_20261103.csv" }?.metadata["date"] == "2026-11-03")
        // Archived on the server: gone from the drop, in the archive folder.
        let archived = try FileManager.default.contentsOfDirectory(atPath: fixture.server.local("/outbound/archive"))
            .sorted()
        #expect(archived == ["REMIT_20261103.csv", "REMIT_20261104_b.csv"])
        #expect(!FileManager.default.fileExists(atPath: fixture.server.local("/outbound/REMIT_20261103.csv")))
        // A second night reads nothing (the rest is out of range), and one that finds a file put
        // back under the same name with the same bytes and time does not read it either.
        let second = await FileDropReader(
            definition: try fixture.definition(), credential: try fixture.credential(), options: fixture.options("two"),
            memory: memory
        ).run()
        #expect(second.failure == nil)
        #expect(second.downloads.isEmpty)
        #expect(!reader.conversation.joined().contains(SandboxSFTPServer.keyPassphrase))
    }

    @Test func aChangedHostKeyIsRefusedAsHostKeyChangedAndNothingIsSent() async throws {
        let fixture = try Fixture()
        try fixture.put("REMIT_20261103.csv", FileDropServerTests.advice)
        let pinned = try fixture.server.knownHostsLine()
        try fixture.server.changeHostKey()
        let reader = FileDropReader(
            definition: try fixture.definition(), credential: try fixture.credential(knownHosts: pinned),
            options: fixture.options("x"))
        let outcome = await reader.run()
        #expect(outcome.failure?.failureClass == .hostKeyChanged, "\(outcome.failure?.message ?? "no failure")")
        #expect(outcome.failure?.message.contains("SHA256:") == true)
        #expect(outcome.downloads.isEmpty)
        // The server saw no authentication attempt.
        let log = try String(contentsOfFile: fixture.folder + "/server/sshd.log", encoding: .utf8)
        #expect(!log.contains("Accepted publickey") && !log.contains("Failed publickey"), "\(log)")
        // With the new key pinned, it signs in.
        let fixed = await FileDropReader(
            definition: try fixture.definition(),
            credential: try fixture.credential(knownHosts: try fixture.server.knownHostsLine(key: "host_other")),
            options: fixture.options("y")
        ).run()
        #expect(fixed.failure == nil, "\(fixed.failure?.message ?? "")")
        #expect(fixed.downloads.count == 1)
    }

    /// The real drop, with a writer that appends to a file on the server's disk right after the
    /// reader has listed it: the race a night meets when a bank is still uploading, made certain.
    final class WriterAfterListing: FileDropTransport, @unchecked Sendable {
        let inner: any FileDropTransport
        let local: String
        private let lock = NSLock()
        private var appended = 0

        init(_ inner: any FileDropTransport, appendingTo local: String) {
            self.inner = inner
            self.local = local
        }

        var trace: [String] { inner.trace }
        func signIn() async throws { try await inner.signIn() }
        func list(_ folder: String) async throws -> [String] { try await inner.list(folder) }

        func stat(_ path: String) async throws -> RemoteFile? {
            let file = try await inner.stat(path)
            let first = lock.withLock { () -> Bool in
                appended += 1
                return appended == 1
            }
            if first, let handle = FileHandle(forWritingAtPath: local) {
                handle.seekToEndOfFile()
                handle.write(Data("INVOICE,INV-LATE,1.00\n".utf8))
                try? handle.close()
            }
            return file
        }

        func download(_ path: String, maximumBytes: Int) async throws -> [UInt8] {
            try await inner.download(path, maximumBytes: maximumBytes)
        }
        func rename(_ path: String, to target: String) async throws { try await inner.rename(path, to: target) }
    }

    @Test func aFileStillBeingWrittenIsLeftForTheNextNight() async throws {
        let fixture = try Fixture()
        try fixture.put("REMIT_20261105.csv", FileDropServerTests.advice)
        let path = fixture.server.local("/outbound/REMIT_20261105.csv")
        let memory = Remembered()
        let probe = FileDropReader(
            definition: try fixture.definition(), credential: try fixture.credential(), options: fixture.options("a"))
        let writing = WriterAfterListing(try probe.liveTransport(), appendingTo: path)
        let growing = await FileDropReader(
            definition: try fixture.definition(), credential: try fixture.credential(), options: fixture.options("a"),
            transport: writing, memory: memory
        ).run()
        #expect(growing.failure == nil, "\(growing.failure?.message ?? "")")
        #expect(growing.downloads.isEmpty)
        #expect(growing.notes.contains { $0.contains("still being written") }, "\(growing.notes)")
        let next = await FileDropReader(
            definition: try fixture.definition(), credential: try fixture.credential(), options: fixture.options("b"),
            memory: memory
        ).run()
        #expect(next.downloads.count == 1)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
        #expect(next.downloads.first?.size == size)
        #expect(size > FileDropServerTests.advice.utf8.count)
    }

    @Test func filesAreDatedByTheirModificationTimeWhenTheDefinitionSaysSo() async throws {
        let fixture = try Fixture()
        try fixture.put("REMIT_a.csv", FileDropServerTests.advice, modified: "2026-11-10T12:00:00Z")
        try fixture.put(
            "REMIT_b.csv", FileDropServerTests.advice + "INVOICE,INV-9,9.00\n", modified: "2026-10-10T12:00:00Z")
        let outcome = await FileDropReader(
            definition: try fixture.definition("dated by modified"), credential: try fixture.credential(),
            options: fixture.options("m")
        ).run()
        #expect(outcome.failure == nil, "\(outcome.failure?.message ?? "")")
        #expect(outcome.downloads.map(\.fileName) == ["REMIT_a.csv"])
    }

    @Test func aWrongKeyIsAuthFailed() async throws {
        let fixture = try Fixture()
        let stranger = fixture.folder + "/stranger"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
        process.arguments = ["-q", "-t", "ed25519", "-f", stranger, "-N", SandboxSFTPServer.keyPassphrase]
        try process.run()
        process.waitUntilExit()
        let outcome = await FileDropReader(
            definition: try fixture.definition(),
            credential: try fixture.credential(key: try String(contentsOfFile: stranger, encoding: .utf8)),
            options: fixture.options("w")
        ).run()
        #expect(outcome.failure?.failureClass == .authFailed, "\(outcome.failure?.message ?? "no failure")")
    }
}
