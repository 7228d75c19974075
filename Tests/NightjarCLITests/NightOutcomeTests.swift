import Foundation
import NightjarCore
import NightjarSandbox
import NightjarStore
import Testing

/// Every outcome a user could miss is shown in five places: the exit code, `runs show --json`,
/// `nightjar check`, the run's summary and the top of the morning report, each with what to do.
/// One night each: a file no profile reads, a page substituted for a download, a definition
/// changed since it was approved.
@Suite("night outcomes", .serialized)
struct NightOutcomeTests {
    typealias Fixture = NightRunTests.Fixture

    /// What one night said in each of the five places.
    struct Places {
        let exitStatus: Int32
        let item: [String: Any]
        let check: BinaryRunner.Result
        let summary: String
        let morning: String
        let runID: Int
    }

    /// Runs the night (JSON), then reads the five places for `client/item`.
    static func night(_ fixture: Fixture, _ root: String, item credential: String, extra: [String] = []) throws
        -> Places
    {
        let result = try fixture.night(root, extra: ["--json"] + extra)
        let body = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            "\(result.stdout)\(result.stderr)")
        let report = try #require(body["report"] as? [String: Any])
        let runID = try #require((report["run"] as? [String: Any])?["id"] as? Int)
        let shown = try fixture.run(root, ["runs", "show", String(runID), "--json"])
        let run = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        let items = try #require(run["items"] as? [[String: Any]])
        let parts = credential.split(separator: "/", maxSplits: 1).map(String.init)
        let item = try #require(
            items.first { $0["client"] as? String == parts[0] && $0["portal"] as? String == parts[1] },
            "\(shown.stdout)")
        return Places(
            exitStatus: result.status, item: item, check: try fixture.run(root, ["check", "--max-age", "1h"]),
            summary: try String(contentsOfFile: try #require(report["report_path"] as? String), encoding: .utf8),
            morning: try String(
                contentsOfFile: try #require(report["morning_report_path"] as? String), encoding: .utf8),
            runID: runID)
    }

    /// The outcome is in all five places, at the top of the summary and of the morning report.
    static func expectEverywhere(
        _ places: Places, credential: String, outcome: String, naming words: [String],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        #expect(places.exitStatus == 1, sourceLocation: sourceLocation)
        #expect(places.item["status"] as? String == outcome, "\(places.item)", sourceLocation: sourceLocation)
        #expect(places.check.status == 1, sourceLocation: sourceLocation)
        #expect(places.check.stdout.hasPrefix("FAIL: "), sourceLocation: sourceLocation)
        #expect(
            places.check.stdout.contains("\(credential) \(outcome)"), "\(places.check.stdout)",
            sourceLocation: sourceLocation)
        // The summary opens with what needs attention, before the table of credentials.
        let attention = places.summary.range(of: "NEEDS ATTENTION")
        let table = places.summary.range(of: "client/portal")
        #expect(
            attention != nil && table != nil && attention!.lowerBound < table!.lowerBound, "\(places.summary)",
            sourceLocation: sourceLocation)
        #expect(
            places.summary.contains("\(credential) \(outcome)"), "\(places.summary)", sourceLocation: sourceLocation)
        #expect(places.summary.contains("what to do: "), sourceLocation: sourceLocation)
        // The morning report's first section.
        let section = places.morning.range(of: "<h2 class=\"first\" id=\"needs-attention\">Needs attention")
        #expect(section != nil, sourceLocation: sourceLocation)
        if let section,
            let client = places.morning.range(of: "<h2>Client ") ?? places.morning.range(of: "No batches await review")
        {
            #expect(section.lowerBound < client.lowerBound, sourceLocation: sourceLocation)
        }
        #expect(
            places.morning.contains(outcome.replacingOccurrences(of: "_", with: " ")), sourceLocation: sourceLocation)
        for word in words {
            #expect(places.summary.contains(word), "summary lacks \(word)", sourceLocation: sourceLocation)
            #expect(
                places.morning.contains(MorningReportEscape.escape(word)), "morning report lacks \(word)",
                sourceLocation: sourceLocation)
            #expect(places.check.stdout.contains(word), "check lacks \(word)", sourceLocation: sourceLocation)
        }
    }

    @Test func aFileNoProfileReadsStaysUnreadUntilImportPendingReadsItOrAPersonDismissesIt() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("unread")
        let profile = root + "/profiles/sandbox-html-portal-remittance.profile"
        let saved = try String(contentsOfFile: profile, encoding: .utf8)
        try FileManager.default.removeItem(atPath: profile)
        let places = try NightOutcomeTests.night(
            fixture, root, item: "acme/sandbox-html-portal",
            extra: ["--portal", "sandbox-html-portal", "--client", "acme"])
        let unread = try #require(places.item["unread_files"] as? [[String: Any]])
        let expected = fixture.portals.data.payments(
            portal: "sandbox-html-portal", client: "acme", from: "2026-08-01", to: "2026-09-20"
        ).count
        #expect(unread.count == expected)
        let first = try #require(unread.first)
        let name = try #require(first["file"] as? String)
        #expect(first["code"] as? String == "no_profile")
        #expect((first["what_to_do"] as? String)?.contains("nightjar profile draft") == true)
        NightOutcomeTests.expectEverywhere(
            places, credential: "acme/sandbox-html-portal", outcome: "import_failed",
            naming: [name, "nightjar import --pending --client acme"])
        let database = try Database(path: root + "/data/nightjar.sqlite")
        #expect(
            try database.scalar(
                Int64.self,
                "SELECT count(*) FROM source_file WHERE client_id = 'acme' AND portal = 'sandbox-html-portal'") == 0)
        let newFirst = try database.scalar(
            Int64.self,
            "SELECT files_new FROM night_run_item WHERE run_id = ? AND client = 'acme' AND portal = 'sandbox-html-portal'",
            [places.runID])
        #expect(newFirst == Int64(expected))

        // The next night: the portal went well and the files are seen, not new (the listing names
        // them, so they are not even downloaded), yet they still wait, so the night still fails.
        let second = try NightOutcomeTests.night(
            fixture, root, item: "acme/sandbox-html-portal",
            extra: ["--portal", "sandbox-html-portal", "--client", "acme"])
        #expect(second.item["status"] as? String == "ok")
        #expect(second.item["files_new"] as? Int == 0)
        #expect(second.item["files_seen"] as? Int == expected)
        #expect(second.exitStatus == 1)
        #expect(second.summary.contains("NEEDS ATTENTION (\(expected))") && second.summary.contains(name))
        #expect(second.check.status == 1)
        let listed = try fixture.run(root, ["inbox", "list", "--client", "acme", "--json"])
        #expect((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [Any])?.count == expected)

        // A person settles one file; the audit log says who and why. The rest wait for a profile.
        let sha = try #require(first["sha256"] as? String)
        let noReason = try fixture.run(
            root,
            ["inbox", "dismiss", String(sha.prefix(12)), "--client", "acme", "--as", "alice", "--passphrase-stdin"],
            stdin: NightRunTests.passphrase + "\n")
        #expect(noReason.status == 64)
        let dismissed = try fixture.run(
            root,
            [
                "inbox", "dismiss", String(sha.prefix(12)), "--client", "acme", "--reason", "read by hand",
                "--as", "alice", "--passphrase-stdin",
            ], stdin: NightRunTests.passphrase + "\n")
        #expect(dismissed.status == 0, "\(dismissed.stderr)")
        let audit = try fixture.run(
            root, ["vault", "audit", "--as", "alice", "--passphrase-stdin"], stdin: NightRunTests.passphrase + "\n")
        #expect(audit.stdout.contains("inbox-dismiss") && audit.stdout.contains("read by hand"), "\(audit.stdout)")
        #expect(
            try database.scalar(String.self, "SELECT dismissed_by FROM inbox_file WHERE sha256 = ?", [sha]) == "alice")

        // The profile is back: import --pending reads every other file, matches it, and check passes.
        try saved.write(toFile: profile, atomically: true, encoding: .utf8)
        let pending = try fixture.run(root, ["import", "--pending", "--client", "acme"])
        #expect(pending.status == 0, "\(pending.stdout)\(pending.stderr)")
        #expect(
            try database.scalar(
                Int64.self,
                "SELECT count(*) FROM source_file WHERE client_id = 'acme' AND portal = 'sandbox-html-portal'")
                == Int64(expected - 1))
        #expect(
            try database.scalar(
                Int64.self,
                """
                SELECT count(*) FROM remittance_line l JOIN remittance_batch b ON b.id = l.batch_id JOIN source_file f ON f.id = b.source_file_id
                WHERE f.client_id = 'acme' AND f.portal = 'sandbox-html-portal' AND l.id NOT IN (SELECT line_id FROM line_match)
                """) == 0)
        #expect(try fixture.run(root, ["inbox", "list", "--client", "acme"]).stdout.contains("No unread files."))
        let check = try fixture.run(root, ["check", "--max-age", "1h"])
        #expect(check.status == 0, "\(check.stdout)")
        // Nothing is left to read, so a second --pending says so.
        #expect(try fixture.run(root, ["import", "--pending"]).stdout.contains("No unread files to import."))
    }

    @Test func aMaintenancePageInsteadOfTheDocumentIsPortalUnavailableAndTheRangeIsFetchedAgain() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("substituted")
        var faults = PortalFaults()
        faults.substitute = .maintenancePage
        faults.substituteAfter = 1
        fixture.portals.setFaults(faults, for: "sandbox-json-api")
        let places = try NightOutcomeTests.night(
            fixture, root, item: "acme/sandbox-json-api", extra: ["--portal", "sandbox-json-api", "--client", "acme"])
        fixture.portals.setFaults(PortalFaults(), for: "sandbox-json-api")
        NightOutcomeTests.expectEverywhere(
            places, credential: "acme/sandbox-json-api", outcome: "portal_unavailable", naming: ["is not a remittance"])
        let database = try Database(path: root + "/data/nightjar.sqlite")
        // No page was kept as a document, and the range is not recorded as fetched.
        #expect(
            try database.scalar(
                Int64.self,
                "SELECT count(*) FROM inbox_file WHERE portal = 'sandbox-json-api' AND original_name LIKE '%html%'")
                == 0)
        #expect(
            try database.scalar(
                String.self,
                """
                SELECT max(range_to) FROM night_run_item WHERE client = 'acme' AND portal = 'sandbox-json-api' AND status IN ('ok', 'no_documents', 'import_failed', 'unsupported_document')
                """) == nil)
        let again = try fixture.night(root, extra: ["--portal", "sandbox-json-api", "--client", "acme"])
        #expect(again.status == 0, "\(again.stdout)")
        let expected = fixture.portals.data.payments(
            portal: "sandbox-json-api", client: "acme", from: "2026-08-01", to: "2026-09-20"
        ).count
        #expect(
            try database.scalar(
                Int64.self, "SELECT count(*) FROM source_file WHERE client_id = 'acme' AND portal = 'sandbox-json-api'")
                == Int64(expected))
        #expect(try fixture.run(root, ["check", "--max-age", "1h"]).status == 0)
    }

    @Test func aDefinitionChangedSinceItsApprovalIsSkippedUnapprovedNeverAnOkNight() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("unapproved")
        let definition = root + "/scrapers/sandbox-json-api.scraper"
        try (try String(contentsOfFile: definition, encoding: .utf8) + "\n# changed after approval\n").write(
            toFile: definition, atomically: true, encoding: .utf8)
        let places = try NightOutcomeTests.night(fixture, root, item: "acme/sandbox-json-api")
        NightOutcomeTests.expectEverywhere(
            places, credential: "acme/sandbox-json-api", outcome: "skipped_unapproved",
            naming: ["nightjar scraper approve sandbox-json-api"])
        #expect(places.check.stdout.contains("globex/sandbox-json-api skipped_unapproved"))
        let runs = try fixture.run(root, ["runs"])
        #expect(runs.stdout.contains("failures"), "\(runs.stdout)")
        #expect(!runs.stdout.contains(" ok "), "\(runs.stdout)")
        // The other portal ran as usual.
        let database = try Database(path: root + "/data/nightjar.sqlite")
        #expect(
            try database.scalar(
                String.self,
                "SELECT status FROM night_run_item WHERE run_id = ? AND client = 'acme' AND portal = 'sandbox-html-portal'",
                [places.runID]) == "ok")
        #expect(
            try database.scalar(Int64.self, "SELECT count(*) FROM inbox_file WHERE portal = 'sandbox-json-api'") == 0)
        // Approved, the next night runs it and check passes.
        #expect(
            try fixture.run(
                root, ["scraper", "approve", definition, "--as", "alice", "--passphrase-stdin"],
                stdin: NightRunTests.passphrase + "\n"
            ).status == 0)
        let again = try fixture.night(root)
        #expect(again.status == 0, "\(again.stdout)")
        #expect(try fixture.run(root, ["check", "--max-age", "1h"]).status == 0)
    }
}

/// The morning report escapes text for HTML; the words a test looks for are escaped the same way.
enum MorningReportEscape {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
    }
}
