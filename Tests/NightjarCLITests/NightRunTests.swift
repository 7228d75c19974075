import Foundation
import NightjarCore
import NightjarSandbox
import NightjarStore
import Testing

/// `nightjar run` against the sandbox: exact files, seen-not-reimported, failures isolated, and
/// the kill test — runs killed at 50 seeded points, restarted, and compared with an
/// uninterrupted run.
@Suite("nightjar run", .serialized)
struct NightRunTests {
    static let passphrase = "night-admin-passphrase"

    /// A prepared workspace: fast copies of the sandbox-html-portal and sandbox-json-api definitions (approved),
    /// two clients' credentials, their open invoices and payer aliases, an automation key.
    final class Fixture: @unchecked Sendable {
        let parent = BinaryRunner.temporaryFolder("night")
        var base: String { parent + "/base" }
        let portals: SandboxPortals
        let clients = ["acme", "globex"]
        let portalNames = ["sandbox-html-portal", "sandbox-json-api"]

        init() throws {
            portals = try SandboxPortals()
            _ = try BinaryRunner.run(["init", base, "--time-zone", "America/New_York"])
            var config = try String(contentsOfFile: base + "/nightjar.conf", encoding: .utf8)
            config +=
                "\n[origins]\n" + portalNames.map { "\($0) = \"\(portals.origins[$0]!)\"" }.joined(separator: "\n")
                + "\n"
            try config.write(toFile: base + "/nightjar.conf", atomically: true, encoding: .utf8)
            for portal in portalNames {
                let text = try String(
                    contentsOfFile: ScraperCommandTests.repository + "/scrapers/\(portal).scraper", encoding: .utf8
                )
                .replacingOccurrences(of: "rate 4 per second", with: "rate 100 per second")
                .replacingOccurrences(of: "rate 5 per second", with: "rate 100 per second")
                try text.write(toFile: base + "/scrapers/\(portal).scraper", atomically: true, encoding: .utf8)
            }
            for profile in SandboxData.remittanceProfiles {
                try FileManager.default.copyItem(
                    atPath: ScraperCommandTests.repository + "/docs/examples/\(profile).profile",
                    toPath: base + "/profiles/\(profile).profile")
            }
            #expect(
                try run(
                    base, ["vault", "init", "--admin", "alice", "--passphrase-stdin"],
                    stdin: NightRunTests.passphrase + "\n"
                ).status == 0)
            for client in clients {
                for portal in portalNames {
                    let account = portals.data.account(client: client, portal: portal)!
                    let added = try run(
                        base,
                        [
                            "vault", "add", "\(client)/\(portal)", "--username", account.username, "--password-stdin",
                            "--origin", portals.origins[portal]!, "--as", "alice", "--passphrase-stdin",
                        ],
                        stdin: "\(NightRunTests.passphrase)\n\(account.password)\n")
                    #expect(added.status == 0, "\(added.stderr)")
                    let alias = try run(
                        base,
                        [
                            "customers", "alias", "add", SandboxData.payerID(portal: portal, client: client),
                            SandboxData.customer(client: client, portal: portal), "--client", client,
                        ])
                    #expect(alias.status == 0, "\(alias.stderr)")
                    _ = try run(
                        base,
                        [
                            "customers", "alias", "add", SandboxData.payerName(portal: portal),
                            SandboxData.customer(client: client, portal: portal), "--client", client,
                        ])
                }
                let invoices = parent + "/\(client)-open.csv"
                try portals.data.openInvoicesCSV(client: client).write(
                    toFile: invoices, atomically: true, encoding: .utf8)
                #expect(try run(base, ["invoices", "import", invoices, "--client", client]).status == 0)
            }
            for portal in portalNames {
                #expect(
                    try run(
                        base,
                        [
                            "scraper", "approve", base + "/scrapers/\(portal).scraper", "--as", "alice",
                            "--passphrase-stdin",
                        ],
                        stdin: NightRunTests.passphrase + "\n"
                    ).status == 0)
            }
            #expect(
                try run(
                    base,
                    ["profile", "approve", "sandbox-html-portal-remittance", "--as", "alice", "--passphrase-stdin"],
                    stdin: NightRunTests.passphrase + "\n"
                ).status == 0)
            #expect(
                try run(
                    base,
                    [
                        "vault", "automation-key", "create", parent + "/night.key", "--all-clients", "--as", "alice",
                        "--passphrase-stdin",
                    ],
                    stdin: NightRunTests.passphrase + "\n"
                ).status == 0)
        }

        func run(_ root: String, _ arguments: [String], stdin: String = "", environment: [String: String] = [:]) throws
            -> BinaryRunner.Result
        {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin, environment: environment)
        }

        /// A fresh copy of the prepared workspace.
        func copy(_ name: String) throws -> String {
            let target = parent + "/" + name
            try FileManager.default.copyItem(atPath: base, toPath: target)
            return target
        }

        func night(_ root: String, to: String = "2026-09-20", extra: [String] = [], environment: [String: String] = [:])
            throws -> BinaryRunner.Result
        {
            try run(
                root,
                ["run", "--key-file", parent + "/night.key", "--from", "2026-08-01", "--to", to, "--concurrency", "1"]
                    + extra,
                environment: environment)
        }

        func stop() {
            portals.stop()
            try? FileManager.default.removeItem(atPath: parent)
        }
    }

    /// The end state without ids, timestamps or run bookkeeping: what must not differ.
    static func canonicalDump(_ root: String) throws -> [String] {
        let database = try Database(path: root + "/data/nightjar.sqlite")
        var lines: [String] = []
        let keep: (String) -> Bool = { column in
            if ["id", "path", "first_run_id", "times_seen"].contains(column) || column.hasSuffix("_at") {
                return false
            }
            if column.hasSuffix("_id") { return ["client_id", "customer_id", "payer_id"].contains(column) }
            return true
        }
        for table in ["source_file", "remittance_batch", "remittance_line", "line_match", "inbox_file", "open_invoice"]
        {
            for row in try database.query("SELECT * FROM \(table)") {
                lines.append(
                    table + ": "
                        + zip(row.columns, row.values).filter { keep($0.0) }.map { "\($0.0)=\($0.1)" }.joined(
                            separator: " "))
            }
        }
        let inbox = root + "/data/inbox"
        let files = (FileManager.default.enumerator(atPath: inbox)?.allObjects as? [String] ?? [])
            .filter {
                !(((try? FileManager.default.attributesOfItem(atPath: inbox + "/" + $0))?[.type] as? FileAttributeType)
                    == .typeDirectory)
            }
        lines += files.map { "inbox file: \($0)" }
        return lines.sorted()
    }

    @Test func theNightFetchesExactlyWhatEachRangeHoldsAndASecondNightImportsNothingTwice() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("exact")
        var result = try fixture.night(root, extra: ["--json"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        for client in fixture.clients {
            for portal in fixture.portalNames {
                let expected = fixture.portals.data.payments(
                    portal: portal, client: client, from: "2026-08-01", to: "2026-09-20")
                #expect(result.stdout.contains("\"client\" : \"\(client)\""))
                let inbox = (try? FileManager.default.contentsOfDirectory(atPath: root + "/data/inbox/\(client)")) ?? []
                #expect(!inbox.isEmpty)
                _ = expected
            }
        }
        let database = try Database(path: root + "/data/nightjar.sqlite")
        for client in fixture.clients {
            for portal in fixture.portalNames {
                let expected = fixture.portals.data.payments(
                    portal: portal, client: client, from: "2026-08-01", to: "2026-09-20"
                ).count
                #expect(
                    try database.scalar(
                        Int64.self, "SELECT count(*) FROM inbox_file WHERE client = ? AND portal = ?", [client, portal])
                        == Int64(expected))
                #expect(
                    try database.scalar(
                        Int64.self, "SELECT count(*) FROM source_file WHERE client_id = ? AND portal = ?",
                        [client, portal]) == Int64(expected))
            }
        }
        #expect(try database.scalar(Int64.self, "SELECT count(*) FROM line_match") ?? 0 > 0)
        #expect(
            try database.scalar(Int64.self, "SELECT count(*) FROM line_match WHERE status = 'paid_in_full'") ?? 0 > 0)
        // Inbox files are read-only originals.
        let anyFile = try #require(
            FileManager.default.enumerator(atPath: root + "/data/inbox/acme")?.allObjects.compactMap { $0 as? String }
                .first { $0.contains("-") })
        let mode =
            try FileManager.default.attributesOfItem(atPath: root + "/data/inbox/acme/" + anyFile)[.posixPermissions]
            as? Int
        #expect(mode == 0o400)
        let before = try NightRunTests.canonicalDump(root)

        // The second night downloads nothing the inbox holds: the listings name each document.
        for portal in fixture.portalNames { fixture.portals.setFaults(PortalFaults(), for: portal) }
        result = try fixture.night(root)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(try NightRunTests.canonicalDump(root) == before)
        for portal in fixture.portalNames { #expect(fixture.portals.downloadCount(portal: portal) == 0, "\(portal)") }
        // Unless asked: --refetch downloads them again, and they are seen, not imported twice.
        result = try fixture.night(root, extra: ["--refetch", "--portal", "sandbox-json-api", "--client", "acme"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(
            fixture.portals.downloadCount(portal: "sandbox-json-api")
                == fixture.portals.data.payments(
                    portal: "sandbox-json-api", client: "acme", from: "2026-08-01", to: "2026-09-20"
                ).count)
        #expect(try NightRunTests.canonicalDump(root) == before)
        let runs = try fixture.run(root, ["runs", "--json"])
        #expect(runs.stdout.contains("\"files_seen\""))
        let second = try fixture.run(root, ["runs", "show", "2"])
        #expect(second.stdout.contains("0 new"))
        #expect(!second.stdout.contains(" 0 seen"))
        #expect(try fixture.run(root, ["check", "--max-age", "1h"]).status == 0)
        // Since the last run: each credential starts 3 days before the end of its last good range.
        result = try fixture.run(
            root,
            [
                "run", "--key-file", fixture.parent + "/night.key", "--client", "acme", "--portal", "sandbox-json-api",
                "--json",
            ])
        #expect(result.stdout.contains("\"from\" : \"2026-09-17\""))
    }

    @Test func twoLoginsOfOneClientAtOnePortalBothRunAndAreReportedApart() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("labels")
        let account = fixture.portals.data.account(client: "acme", portal: "sandbox-json-api")!
        let added = try fixture.run(
            root,
            [
                "vault", "add", "acme/sandbox-json-api/vendor-2", "--username", account.username, "--password-stdin",
                "--origin", fixture.portals.origins["sandbox-json-api"]!, "--as", "alice", "--passphrase-stdin",
            ],
            stdin: "\(NightRunTests.passphrase)\n\(account.password)\n")
        #expect(added.status == 0, "\(added.stderr)")
        let result = try fixture.run(
            root,
            [
                "run", "--key-file", fixture.parent + "/night.key", "--client", "acme", "--portal", "sandbox-json-api",
                "--from", "2026-08-01", "--to", "2026-09-20", "--concurrency", "2",
            ])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let first = lines.first { $0.hasPrefix("acme/sandbox-json-api ") }
        let second = lines.first { $0.hasPrefix("acme/sandbox-json-api/vendor-2 ") }
        #expect(first?.contains(" ok ") == true && second?.contains(" ok ") == true, "\(result.stdout)")
        let database = try Database(path: root + "/data/nightjar.sqlite")
        #expect(
            try database.query("SELECT portal FROM night_run_item WHERE client = 'acme' ORDER BY portal").map {
                try $0.string("portal")
            }
                == ["sandbox-json-api", "sandbox-json-api/vendor-2"])
        let folder = try FileManager.default.contentsOfDirectory(atPath: root + "/reports").first {
            $0.hasPrefix("run-")
        }!
        let reports = try FileManager.default.contentsOfDirectory(atPath: root + "/reports/" + folder)
        #expect(
            reports.contains("acme-sandbox-json-api.har") && reports.contains("acme-sandbox-json-api-vendor-2.har"),
            "\(reports)")
    }

    @Test func oneCredentialsTroubleNeverStopsAnothersAndCheckSaysSo() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("trouble")
        #expect(
            try fixture.run(
                root,
                [
                    "vault", "rotate", "globex/sandbox-json-api", "--password-stdin", "--as", "alice",
                    "--passphrase-stdin",
                ],
                stdin: "\(NightRunTests.passphrase)\nwrong-password-here\n"
            ).status == 0)
        var faults = PortalFaults()
        faults.maintenance = true
        fixture.portals.setFaults(faults, for: "sandbox-html-portal")
        let result = try fixture.night(root)
        fixture.portals.setFaults(PortalFaults(), for: "sandbox-html-portal")
        #expect(result.status == 1)
        #expect(result.stdout.contains("globex/sandbox-json-api"))
        #expect(result.stdout.contains("auth_failed"))
        #expect(result.stdout.contains("portal_unavailable"))
        let database = try Database(path: root + "/data/nightjar.sqlite")
        let expected = fixture.portals.data.payments(
            portal: "sandbox-json-api", client: "acme", from: "2026-08-01", to: "2026-09-20"
        ).count
        #expect(
            try database.scalar(
                Int64.self, "SELECT count(*) FROM source_file WHERE client_id = 'acme' AND portal = 'sandbox-json-api'")
                == Int64(expected))
        let check = try fixture.run(root, ["check", "--max-age", "26h"])
        #expect(check.status == 1)
        #expect(check.stdout.hasPrefix("FAIL: 3 things need attention"), "\(check.stdout)")
        #expect(check.stdout.contains("globex/sandbox-json-api auth_failed"))
        // The next night does not try the wrong password again.
        let again = try fixture.night(root)
        #expect(again.stdout.contains("login_refused"))
        #expect(
            fixture.portals.failedLogins(
                portal: "sandbox-json-api",
                username: fixture.portals.data.account(client: "globex", portal: "sandbox-json-api")!.username) == 1)
    }

    @Test func aTruncatedDownloadIsNeverImportedAndTheNextNightFetchesIt() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("truncated")
        var faults = PortalFaults()
        faults.truncateDownloads = true
        fixture.portals.setFaults(faults, for: "sandbox-json-api")
        let broken = try fixture.night(root, to: "2026-08-31", extra: ["--portal", "sandbox-json-api"])
        fixture.portals.setFaults(PortalFaults(), for: "sandbox-json-api")
        #expect(broken.status == 1)
        #expect(broken.stdout.contains("portal_unavailable"))
        let database = try Database(path: root + "/data/nightjar.sqlite")
        #expect(
            try database.scalar(Int64.self, "SELECT count(*) FROM source_file WHERE portal = 'sandbox-json-api'") == 0)
        #expect(
            try database.scalar(Int64.self, "SELECT count(*) FROM inbox_file WHERE portal = 'sandbox-json-api'") == 0)
        let fixed = try fixture.night(root, to: "2026-08-31", extra: ["--portal", "sandbox-json-api"])
        #expect(fixed.status == 0, "\(fixed.stdout)")
        let expected = fixture.clients.map {
            fixture.portals.data.payments(portal: "sandbox-json-api", client: $0, from: "2026-08-01", to: "2026-08-31")
                .count
        }.reduce(0, +)
        #expect(
            try database.scalar(Int64.self, "SELECT count(*) FROM source_file WHERE portal = 'sandbox-json-api'")
                == Int64(expected))
    }

    /// The run summary and the morning report give the same two counts: exceptions new tonight
    /// and waiting in total; a night with nothing new still says how many wait.
    @Test func theSummaryAndTheReportAgreeOnExceptionsNewTonightAndWaitingInTotal() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("counts")
        func counts(_ run: Int) throws -> (summary: [Int], report: [Int]) {
            let summary = try String(contentsOfFile: root + "/reports/run-\(run)/summary.txt", encoding: .utf8)
            let line = try #require(summary.split(separator: "\n").first { $0.hasPrefix("Exceptions: ") }, "\(summary)")
            let words = line.split(separator: " ")
            let report = try String(contentsOfFile: root + "/reports/run-\(run)/morning-report.html", encoding: .utf8)
            func bold(_ id: String) -> Int? {
                guard let start = report.range(of: "<b id=\"\(id)\">") else { return nil }
                return Int(report[start.upperBound...].prefix { $0.isNumber })
            }
            return (
                [Int(words[1]) ?? -1, Int(words[4]) ?? -1], [bold("new-tonight") ?? -1, bold("waiting-in-total") ?? -1]
            )
        }
        #expect(try fixture.night(root, to: "2026-08-31").status == 0)
        let first = try counts(1)
        #expect(first.summary == first.report)
        #expect(
            first.summary[0] > 0 && first.summary[0] == first.summary[1],
            "the first night's exceptions are all new: \(first)")
        let database = try Database(path: root + "/data/nightjar.sqlite")
        let waiting = try database.scalar(
            Int64.self,
            """
            SELECT count(*) FROM remittance_line l JOIN remittance_batch b ON b.id = l.batch_id LEFT JOIN line_match m ON m.line_id = l.id
            WHERE b.status NOT IN ('approved', 'reversed') AND coalesce(m.status, 'not_matched') NOT IN ('paid_in_full', 'paid_with_discount')
            """)
        #expect(Int64(first.summary[1]) == waiting)
        // The same range again: nothing new, the same exceptions still waiting.
        #expect(try fixture.night(root, to: "2026-08-31").status == 0)
        let second = try counts(2)
        #expect(second.summary == second.report)
        #expect(second.summary == [0, first.summary[1]], "\(second)")
    }

    @Test func theMorningReportPrintsToPDFWithEachClientsTotals() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("report")
        let night = try fixture.night(root, to: "2026-08-31")
        #expect(night.status == 0)
        #expect(night.stdout.contains("Morning report: \(root)/reports/run-1/morning-report.html"))
        let html = fixture.parent + "/morning.html"
        let written = try fixture.run(root, ["report", "--html", html])
        #expect(written.status == 0, "\(written.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("Content-Security-Policy") && page.contains("default-src 'none'"))
        #expect(!page.lowercased().contains("<script") && !page.contains("http://") && !page.contains("https://"))
        for client in fixture.clients {
            for portal in fixture.portalNames {
                #expect(!page.contains(fixture.portals.data.account(client: client, portal: portal)!.password))
            }
        }
        // A real headless browser prints it; the PDF's text shows each client's payment total.
        let pdf = fixture.parent + "/morning.pdf"
        let chromium = Process()
        chromium.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
        chromium.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions",
            "--proxy-server=127.0.0.1:9", "--user-data-dir=\(fixture.parent)/chromium", "--no-pdf-header-footer",
            "--print-to-pdf=\(pdf)", "file://\(html)",
        ]
        chromium.standardOutput = FileHandle.nullDevice
        chromium.standardError = FileHandle.nullDevice
        try chromium.run()
        chromium.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: pdf))
        let extract = Process()
        extract.executableURL = URL(fileURLWithPath: "/usr/bin/pdftotext")
        extract.arguments = ["-layout", pdf, "-"]
        let output = Pipe()
        extract.standardOutput = output
        try extract.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        extract.waitUntilExit()
        let database = try Database(path: root + "/data/nightjar.sqlite")
        for client in fixture.clients {
            let cents = try #require(
                try database.scalar(
                    Int64.self, "SELECT sum(total_minor) FROM remittance_batch WHERE client_id = ?", [client]))
            var whole = String(cents / 100)
            var grouped = ""
            while whole.count > 3 {
                grouped = "," + whole.suffix(3) + grouped
                whole = String(whole.dropLast(3))
            }
            let total = whole + grouped + "." + String(format: "%02d", cents % 100) + " USD"
            #expect(text.contains("Client \(client)"))
            #expect(text.contains(total), "\(client): \(total)")
        }
        #expect(text.contains("Needs review"))
    }

    @Test func supplierDocumentsFromThePortalBecomePurchaseOrders() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("supplier")
        for (name, text) in fixture.portals.data.catalogCSVs(client: "acme") {
            try text.write(toFile: fixture.parent + "/" + name, atomically: true, encoding: .utf8)
            #expect(
                try fixture.run(root, ["catalog", "import", fixture.parent + "/" + name, "--client", "acme"]).status
                    == 0)
        }
        let result = try fixture.night(
            root, to: "2026-08-31",
            extra: ["--documents", "supplier", "--portal", "sandbox-json-api", "--client", "acme"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let expected = fixture.portals.data.distributorInvoices.filter {
            $0.client == "acme" && $0.date <= "2026-08-31"
        }
        #expect(!expected.isEmpty)
        let list = try fixture.run(root, ["po", "list", "--client", "acme", "--json"])
        #expect(list.stdout.components(separatedBy: "\"reference\"").count - 1 == expected.count, "\(list.stdout)")
        let first = try #require(expected.first)
        let shown = try fixture.run(
            root,
            [
                "po", "show", "\(first.number) \(first.date.replacingOccurrences(of: "-", with: ""))", "--client",
                "acme", "--json",
            ])
        #expect(
            shown.stdout.contains("\"supplier\" : \"SBD\"") && shown.stdout.contains("\"location\" : \"S1\"")
                && shown.stdout.contains("\"sku\" : \""))
        let log = try fixture.run(root, ["po", "log", "--client", "acme"])
        #expect(log.stdout.contains("created"))
        if expected.contains(where: { $0.lines.contains { $0.code == "SB-9999" } }) {
            #expect(log.stdout.contains("item not found: VN SB-9999 \"NEW SEASONAL ITEM\""))
        }
        // Again: the same documents change nothing.
        #expect(
            try fixture.night(
                root, to: "2026-08-31",
                extra: ["--documents", "supplier", "--portal", "sandbox-json-api", "--client", "acme"]
            ).status == 0)
        #expect(try fixture.run(root, ["po", "list", "--client", "acme", "--json"]).stdout == list.stdout)
    }

    @Test func traceSaysWhereAReferenceWasOrWhatWasChecked() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("trace")
        #expect(try fixture.night(root, to: "2026-08-31").status == 0)
        let payment = try #require(
            fixture.portals.data.payments(
                portal: "sandbox-html-portal", client: "acme", from: "2026-08-01", to: "2026-08-31"
            ).first)
        let line = try #require(payment.lines.first)
        var result = try fixture.run(root, ["trace", line.reference, "--client", "acme"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("acme/sandbox-html-portal: remittance_\(payment.trace).csv"))
        #expect(result.stdout.contains("payment \(payment.trace) of \(payment.date)"))
        #expect(result.stdout.contains("open invoice: "))
        result = try fixture.run(root, ["trace", "INV-NOPE-000", "--client", "acme"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("was never seen in a remittance for acme"))
        #expect(
            result.stdout.contains("acme/sandbox-html-portal") && result.stdout.contains("2026-08-01..2026-08-31  ok"))
        result = try fixture.run(root, ["trace", line.reference, "--json"])
        #expect(result.stdout.contains("\"match_status\""))
    }

    @Test func scheduleListsWindowsAndTheDaemonRunsAPortalAtItsWindow() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("daemon")
        let soon = Date().addingTimeInterval(3)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "HH:mm:ss"
        var config = try String(contentsOfFile: root + "/nightjar.conf", encoding: .utf8)
        config +=
            "\n[schedule]\nsandbox-html-portal = \"\(formatter.string(from: soon)) UTC\"\ndefault = \"11:30 15:00 America/New_York\"\n"
        try config.write(toFile: root + "/nightjar.conf", atomically: true, encoding: .utf8)
        let listed = try fixture.run(root, ["schedule", "--days", "1", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.components(separatedBy: "\"portal\" : \"sandbox-json-api\"").count - 1 == 2)
        #expect(listed.stdout.components(separatedBy: "\"portal\" : \"sandbox-html-portal\"").count - 1 == 1)
        #expect(listed.stdout.contains("America/New_York"))
        // Supplier documents are looked for three times a day by default.
        #expect(listed.stdout.components(separatedBy: "\"portal\" : \"sandbox-json-api (supplier)\"").count - 1 == 3)
        // As systemd runs it: a notify socket, and a watchdog that wants a ping every second.
        let notifications = try NotifySocket(path: fixture.parent + "/notify.sock")
        defer { notifications.close() }
        let daemon = try fixture.run(
            root, ["daemon", "--max-runs", "1", "--key-file", fixture.parent + "/night.key"],
            environment: ["NOTIFY_SOCKET": notifications.path, "WATCHDOG_USEC": "1000000"])
        #expect(daemon.status == 0, "\(daemon.stdout)\(daemon.stderr)")
        let told = notifications.received()
        #expect(told.first?.hasPrefix("READY=1") == true, "\(told)")
        #expect(told.filter { $0 == "WATCHDOG=1" }.count >= 2, "\(told)")
        #expect(told.contains { $0.hasPrefix("STATUS=running sandbox-html-portal") }, "\(told)")
        #expect(told.filter { $0 != "WATCHDOG=1" }.last == "STOPPING=1", "\(told)")
        #expect(Date() >= soon.addingTimeInterval(-1))  // the window is the whole second
        let run = try fixture.run(root, ["runs", "show", "1", "--json"])
        #expect(run.stdout.contains("\"portal\" : \"sandbox-html-portal\""))
        #expect(!run.stdout.contains("\"portal\" : \"sandbox-json-api\""))
    }

    @Test func aRunKilledAtFiftySeededPointsFinishesTheSameWhenStartedAgain() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let reference = try fixture.copy("reference")
        // A shorter range keeps each of the hundred runs quick; it still passes about a hundred points.
        let first = try fixture.night(reference, to: "2026-08-31", extra: ["--json"])
        #expect(first.status == 0, "\(first.stderr)")
        let expected = try NightRunTests.canonicalDump(reference)
        // How many points a whole run passes (a run asked to crash at a point it never reaches says).
        let counting = try fixture.copy("counting")
        let counted = try fixture.night(
            counting, to: "2026-08-31", environment: ["NIGHTJAR_TEST_CRASH_POINT": "1000000"])
        #expect(counted.status == 0, "\(counted.stderr)")
        let total = try #require(
            counted.stderr.components(separatedBy: "crash points passed: ").last.flatMap {
                Int($0.prefix { $0.isNumber })
            })
        #expect(total >= 60)
        var generator = SeededRandom(seed: 20_261_129)
        var points = Set<Int>()
        while points.count < 50 { points.insert(1 + Int(generator.next() % UInt64(total))) }
        var crashed = 0
        for point in points.sorted() {
            let root = try fixture.copy("kill-\(point)")
            defer { try? FileManager.default.removeItem(atPath: root) }
            let killed = try fixture.night(
                root, to: "2026-08-31", environment: ["NIGHTJAR_TEST_CRASH_POINT": String(point)])
            if killed.status == 86 {
                crashed += 1
            } else {
                #expect(killed.status == 0, "point \(point): \(killed.stderr)")
            }
            let resumed = try fixture.night(root, to: "2026-08-31")
            #expect(resumed.status == 0, "point \(point): \(resumed.stdout)\(resumed.stderr)")
            let state = try NightRunTests.canonicalDump(root)
            #expect(
                state == expected, "point \(point): \(Set(state).symmetricDifference(Set(expected)).sorted().prefix(4))"
            )
        }
        // Every chosen point is reached, and the run dies there.
        #expect(crashed == 50)
    }
}

@Suite("nightjar run --interactive", .serialized)
struct InteractiveRunTests {
    /// A portal that e-mails a code: at night the credential ends with mfa_required; in the
    /// morning `run --interactive` asks for the code and carries on.
    @Test func aCodeSentByMailWaitsForTheMorning() throws {
        let portals = try SandboxPortals()
        defer { portals.stop() }
        let parent = BinaryRunner.temporaryFolder("interactive")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
        }
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        var config = try String(contentsOfFile: root + "/nightjar.conf", encoding: .utf8)
        config += "\n[origins]\nsandbox-totp-portal = \"\(portals.origins["sandbox-totp-portal"]!)\"\n"
        try config.write(toFile: root + "/nightjar.conf", atomically: true, encoding: .utf8)
        let definition = try String(
            contentsOfFile: ScraperCommandTests.repository + "/scrapers/sandbox-totp-portal.scraper", encoding: .utf8
        )
        .replacingOccurrences(of: "form { code: totp }", with: "form { code: ask \"Code e-mailed to the AR mailbox\" }")
        try definition.write(toFile: root + "/scrapers/sandbox-totp-portal.scraper", atomically: true, encoding: .utf8)
        let pass = "interactive-admin-pass"
        #expect(try run(["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: pass + "\n").status == 0)
        let account = portals.data.account(client: "acme", portal: "sandbox-totp-portal")!
        #expect(
            try run(
                [
                    "vault", "add", "acme/sandbox-totp-portal", "--username", account.username, "--password-stdin",
                    "--origin", portals.origins["sandbox-totp-portal"]!,
                    "--as", "alice", "--passphrase-stdin",
                ], stdin: "\(pass)\n\(account.password)\n"
            ).status == 0)
        #expect(
            try run(
                [
                    "scraper", "approve", root + "/scrapers/sandbox-totp-portal.scraper", "--as", "alice",
                    "--passphrase-stdin",
                ], stdin: pass + "\n"
            ).status == 0)
        try FileManager.default.copyItem(
            atPath: ScraperCommandTests.repository + "/docs/examples/sandbox-totp-portal-remittance.profile",
            toPath: root + "/profiles/sandbox-totp-portal-remittance.profile")
        #expect(
            try run(
                ["profile", "approve", "sandbox-totp-portal-remittance", "--as", "alice", "--passphrase-stdin"],
                stdin: pass + "\n"
            ).status == 0)
        #expect(
            try run(
                [
                    "vault", "automation-key", "create", parent + "/night.key", "--all-clients", "--as", "alice",
                    "--passphrase-stdin",
                ],
                stdin: pass + "\n"
            ).status == 0)
        let night = try run(["run", "--key-file", parent + "/night.key", "--from", "2026-09-01", "--to", "2026-09-30"])
        #expect(night.status == 1)
        #expect(night.stdout.contains("mfa_required"))
        // The morning: a person types the code the portal sent.
        let code = SandboxPortals.totp(secret: account.totpSecret, time: UInt64(Date().timeIntervalSince1970))
        let morning = try run(
            [
                "run", "--interactive", "--passphrase-stdin", "--key-file", parent + "/night.key", "--from",
                "2026-09-01", "--to", "2026-09-30",
            ],
            stdin: code + "\n")
        #expect(morning.status == 0, "\(morning.stdout)\(morning.stderr)")
        let expected = portals.data.payments(
            portal: "sandbox-totp-portal", client: "acme", from: "2026-09-01", to: "2026-09-30"
        ).count
        #expect(morning.stdout.contains("acme/sandbox-totp-portal"))
        #expect(morning.stdout.contains(" ok "))
        #expect(expected > 0)
        #expect(!morning.stdout.contains(code))
    }
}

/// A datagram socket standing in for systemd's notify socket.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard descriptor >= 0, bound == 0 else { throw POSIXError(.EADDRINUSE) }
    }

    /// Every message sent so far, in order.
    func received() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count <= 0 { return messages }
            messages.append(String(decoding: buffer[0..<count], as: UTF8.self))
        }
    }

    func close() {
        _ = Glibc.close(descriptor)
        unlink(path)
    }
}
