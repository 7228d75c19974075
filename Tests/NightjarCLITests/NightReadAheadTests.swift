import Foundation
import NightjarAgent
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarSandbox
import NightjarScript
import NightjarStore
import Testing

@testable import NightjarCLI

/// A night reads its small files ahead of their imports, each in its credential's task and many
/// at once; the night's book then only writes them. What must not change: each file's outcome
/// (imported, unread and why, where), the rows it leaves, one file's trouble staying its own,
/// and a file imported once per content hash.
@Suite("night read-ahead", .serialized)
struct NightReadAheadTests {
    static let repository = ScraperCommandTests.repository

    static func profile(_ name: String) throws -> LayoutProfile {
        try LayoutProfileParser.parse(
            try String(contentsOfFile: repository + "/docs/examples/\(name).profile", encoding: .utf8),
            file: "\(name).profile")
    }

    static func scratch(_ name: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-\(name)-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Every row a file's import leaves, ids included (both ledgers are written in the same order),
    /// without the instants of the writes.
    static func rows(_ database: Database) throws -> [String] {
        var lines: [String] = []
        for table in [
            "source_file", "remittance_batch", "remittance_line", "remittance_adjustment", "document_reference",
        ] {
            for row in try database.query("SELECT * FROM \(table) ORDER BY id") {
                lines.append(
                    table + ": "
                        + zip(row.columns, row.values).filter { !$0.0.hasSuffix("_at") }.map { "\($0.0)=\($0.1)" }
                        .joined(separator: " "))
            }
        }
        return lines
    }

    /// What became of a file, as the night records it.
    static func outcome(_ import: () throws -> FileImport) -> String {
        do {
            switch try `import`() {
            case .imported(let result):
                return "imported \(result.batches) batches \(result.lines) lines"
                    + (result.alreadyImported ? " (seen before)" : "") + " \(result.outOfBalance) out of balance"
            case .skipped(let code, let message): return "skipped \(code): \(message)"
            }
        } catch let error as any NightjarError {
            return "failed \(error.code): \(error.message) at \(error.location?.description ?? "-")"
        } catch {
            return "failed: \(error)"
        }
    }

    /// Real files of a night: the sandbox portal's advices, one whose 60th row has an amount no
    /// one can read (past the rows choosing the profile tries), one whose total row disagrees,
    /// one with no rows, an 820, the same 820 cut short, an 810, a PDF, and a file sent twice.
    static func nightsFiles() throws -> [(name: String, bytes: [UInt8])] {
        let data = SandboxData()
        let payments = data.payments(
            portal: "sandbox-html-portal", client: "acme", from: "2026-01-01", to: "2026-12-31")
        #expect(payments.count >= 6)
        var files = payments.prefix(6).enumerated().map {
            (name: "advice-\($0.offset).csv", bytes: Array(data.htmlPortalCSV($0.element).utf8))
        }
        let good = data.htmlPortalCSV(payments[0])
        let header = "Line Type,Invoice Number,Invoice Amount,Discount,Amount,Reason Code,Reason,Reference\n"
        let parts = good.components(separatedBy: header)
        var long = parts[0] + header
        for row in 0..<70 {
            long += "INVOICE,INV-\(90_000 + row),100.00,0.00,\(row == 59 ? "1O0.00" : "100.00"),,,\n"
        }
        long += "Total,,,,7000.00,,,\n"
        files.append((name: "long-bad-row.csv", bytes: Array(long.utf8)))
        var off = parts[0] + header
        for row in 0..<3 { off += "INVOICE,INV-\(80_000 + row),100.00,0.00,100.00,,,\n" }
        off += "Total,,,,999.00,,,\n"
        files.append((name: "total-off.csv", bytes: Array(off.utf8)))
        files.append((name: "no-rows.csv", bytes: Array((parts[0] + header).utf8)))
        let samples = repository + "/Tests/NightjarDocumentsTests/Samples/"
        let x12 = Array(
            try Data(contentsOf: URL(fileURLWithPath: samples + "bots_820-004010-01_safeway_rmr_discounts.x12")))
        files.append((name: "safeway.x12", bytes: x12))
        files.append((name: "safeway-cut.x12", bytes: Array(x12.prefix(x12.count * 2 / 3))))
        files.append(
            (
                name: "invoice.x12",
                bytes: Array(
                    try Data(
                        contentsOf: URL(fileURLWithPath: samples + "bots_810-004010-01_two_ST_TDS_implied_dec.x12")))
            ))
        files.append((name: "statement.pdf", bytes: Array("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n".utf8)))
        files.append((name: "advice-0-again.csv", bytes: files[0].bytes))
        return files
    }

    @Test func filesReadAheadAtOnceImportAsFilesReadInTheirImportOneAtATime() async throws {
        let folder = try NightReadAheadTests.scratch("read-ahead")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let files = try NightReadAheadTests.nightsFiles()
        for file in files { try Data(file.bytes).write(to: URL(fileURLWithPath: folder + "/" + file.name)) }
        let importer = RemittanceFileImporter(
            defaultCurrency: .usd, profiles: [try NightReadAheadTests.profile("sandbox-html-portal-remittance")])

        // One at a time, each read inside its import (as files over the read-ahead size are).
        try WorkspaceDatabase.create(at: folder + "/serial.sqlite")
        let serial = try WorkspaceDatabase.open(at: folder + "/serial.sqlite")
        let serialOutcomes = files.map { file in
            NightReadAheadTests.outcome {
                try importer.importFile(
                    try InputFile(path: folder + "/" + file.name), name: file.name, client: "acme",
                    portal: "sandbox-html-portal", into: Ledger(database: serial))
            }
        }

        // Every file read at once, each in its own task; then imported in the same order.
        func readAll() async -> [ReadAheadRemittances] {
            await withTaskGroup(of: (Int, ReadAheadRemittances).self) { group in
                for (index, file) in files.enumerated() {
                    group.addTask { (index, importer.readAhead(file.bytes, name: file.name, client: "acme")) }
                }
                var read: [ReadAheadRemittances?] = Array(repeating: nil, count: files.count)
                for await (index, file) in group { read[index] = file }
                return read.map { $0! }
            }
        }
        try WorkspaceDatabase.create(at: folder + "/ahead.sqlite")
        let ahead = try WorkspaceDatabase.open(at: folder + "/ahead.sqlite")
        func importAll(_ read: [ReadAheadRemittances]) -> [String] {
            zip(files, read).map { file, read in
                NightReadAheadTests.outcome {
                    try importer.importReadAhead(
                        read, sha256: try Ledger.sha256(of: MemorySource(file.bytes)), name: file.name, client: "acme",
                        portal: "sandbox-html-portal", into: Ledger(database: ahead))
                }
            }
        }
        let aheadOutcomes = importAll(await readAll())
        #expect(aheadOutcomes == serialOutcomes)
        #expect(try NightReadAheadTests.rows(ahead) == NightReadAheadTests.rows(serial))

        // The files say what they should: the bad row is named where it is, and it and the other
        // unread files leave the rest imported.
        let byName = Dictionary(uniqueKeysWithValues: zip(files.map(\.name), aheadOutcomes))
        for index in 0..<6 { #expect(byName["advice-\(index).csv"]?.hasPrefix("imported 1 batches") == true) }
        #expect(byName["long-bad-row.csv"]?.hasPrefix("failed ") == true, "\(byName)")
        #expect(byName["long-bad-row.csv"]?.contains("long-bad-row.csv:") == true, "\(byName)")
        #expect(byName["total-off.csv"]?.hasSuffix("1 out of balance") == true, "\(byName)")
        #expect(byName["no-rows.csv"]?.hasPrefix("skipped no_profile") == true, "\(byName)")
        #expect(byName["safeway.x12"]?.hasPrefix("imported") == true, "\(byName)")
        #expect(byName["safeway-cut.x12"]?.hasPrefix("failed ") == true, "\(byName)")
        #expect(byName["invoice.x12"]?.hasPrefix("skipped wrong_kind") == true, "\(byName)")
        #expect(byName["statement.pdf"]?.hasPrefix("skipped unsupported_document") == true, "\(byName)")
        #expect(byName["advice-0-again.csv"]?.hasSuffix("(seen before) 0 out of balance") == true, "\(byName)")

        // Read and imported again: every file is seen before, nothing is written twice.
        let before = try NightReadAheadTests.rows(ahead)
        let again = importAll(await readAll())
        #expect(try NightReadAheadTests.rows(ahead) == before)
        for (name, outcome) in zip(files.map(\.name), again) where byName[name]?.hasPrefix("imported") == true {
            #expect(outcome.contains("(seen before)"), "\(name): \(outcome)")
        }
    }

    /// A night of six credentials at once on two portals (one gives CSV advices, one JSON and 820s): the
    /// files read at once land the same rows as the same files imported one after another; with
    /// no profile for the CSV advices, those stay unread, each with its reason, and the 820s
    /// are imported all the same; a second night that fetches everything again imports nothing twice.
    @Test(arguments: [true, false])
    func aNightsFilesReadAtOnceLandTheRowsOfFilesImportedOneAfterAnother(csvProfile: Bool) async throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let folder = try NightReadAheadTests.scratch("read-ahead-night")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let databasePath = folder + "/nightjar.sqlite"
        try WorkspaceDatabase.create(at: databasePath)
        let portalNames = ["sandbox-html-portal", "sandbox-json-api"]
        var jobs: [NightJob] = []
        for portal in portalNames {
            // The shipped definition, its rate limit lifted so that its six credentials run at once.
            let text = try String(
                contentsOfFile: NightReadAheadTests.repository + "/scrapers/\(portal).scraper", encoding: .utf8)
            let definition = try ScraperChecker.load(
                text.replacingOccurrences(of: "concurrency 2", with: "concurrency 6").replacingOccurrences(
                    of: "rate 4 per second", with: "rate 1000 per second"
                ).replacingOccurrences(of: "rate 5 per second", with: "rate 1000 per second"),
                file: "\(portal).scraper")
            for client in SandboxData.clients {
                let account = try #require(portals.data.account(client: client, portal: portal))
                let origin = try #require(portals.origins[portal])
                jobs.append(
                    NightJob(
                        credential: ScriptCredential(
                            client: client, portal: portal,
                            fields: ["username": account.username, "password": account.password],
                            allowedOrigins: [origin]),
                        definition: definition,
                        range: try DateRange(
                            from: try CalendarDate(iso: "2026-08-01"), to: try CalendarDate(iso: "2026-09-20")),
                        originOverrides: [definition.origins[0].name: origin]))
            }
        }
        let importer = RemittanceFileImporter(
            defaultCurrency: .usd,
            profiles: try
                (csvProfile
                ? ["sandbox-json-api-remittance", "sandbox-html-portal-remittance"]
                : [
                    "sandbox-json-api-remittance"
                ]).map(NightReadAheadTests.profile))
        let book = try NightBook(
            open: { try WorkspaceDatabase.open(at: databasePath) }, importer: importer,
            inbox: Inbox(root: folder + "/inbox"))
        var runner = NightRunner(
            jobs: jobs, book: book, stagingDirectory: folder + "/staging", reportsDirectory: folder + "/reports",
            maximumConcurrent: jobs.count, loginGuard: nil, totp: TOTPCodeSource())
        let first = try await runner.run(scope: "read-ahead")
        for item in first.run.items {
            #expect(
                item.status == (item.portal == "sandbox-html-portal" && !csvProfile ? "import_failed" : "ok"),
                "\(item.client)/\(item.portal): \(item.status) \(item.message ?? "")")
            #expect(item.filesNew > 0)
        }

        // The same files, in the order they landed, each read inside its import into a fresh ledger.
        let database = try WorkspaceDatabase.open(at: databasePath)
        let landed = try database.query(
            "SELECT client, portal, original_name, path, import_status, import_code, import_message FROM inbox_file ORDER BY id"
        )
        #expect(landed.count == first.run.items.map(\.filesNew).reduce(0, +))
        try WorkspaceDatabase.create(at: folder + "/serial.sqlite")
        let serial = try WorkspaceDatabase.open(at: folder + "/serial.sqlite")
        for file in landed {
            let client = try file.string("client")
            let portal = try file.string("portal")
            let name = try file.string("original_name")
            let status = try file.string("import_status")
            let code = try file.optionalString("import_code")
            let message = try file.optionalString("import_message") ?? ""
            let outcome = NightReadAheadTests.outcome {
                try importer.importFile(
                    try InputFile(path: try file.string("path"), name: name), name: name, client: ClientID(client),
                    portal: portal, into: Ledger(database: serial))
            }
            if portal == "sandbox-json-api" || csvProfile {
                #expect(status == "imported" && outcome.hasPrefix("imported"), "\(name): \(status) \(outcome)")
            } else {
                // Unread, with the reason the import itself gives.
                #expect(status == "failed" && code == "no_profile", "\(name)")
                #expect(outcome == "skipped no_profile: \(message)", "\(name): \(outcome)")
            }
        }
        let rows = try NightReadAheadTests.rows(database)
        #expect(rows == (try NightReadAheadTests.rows(serial)))

        // Everything fetched again: every file seen, nothing new.
        runner.refetch = true
        let second = try await runner.run(scope: "read-ahead")
        for item in second.run.items {
            #expect(item.filesNew == 0 && item.filesSeen > 0, "\(item.client)/\(item.portal)")
            #expect(item.batches == 0 && item.lines == 0)
        }
        #expect(try NightReadAheadTests.rows(database) == rows)
    }
}
