import Foundation
import Testing

@testable import NightjarCLI

/// One JSON style across every command (docs/json-api.md): snake_case keys, instants in ISO 8601
/// with `T` and `Z`, amounts as decimal strings beside a `currency` key, errors as JSON on stderr.
@Suite("JSON style", .serialized)
struct JSONStyleTests {
    /// Commands that print documents of their own, not JSON.
    static let notJSON: Set<String> = ["completions", "man", "help"]

    /// Maps keyed by what the data says (a file's preamble labels, a profile's field names, statuses,
    /// reason codes), not by the API's own key names; their keys and values are not judged.
    static let dataKeyedMaps: Set<String> = ["preamble", "fields", "statuses", "reason_codes", "matching"]

    /// Keys whose value is an amount of money.
    static func isAmountKey(_ key: String) -> Bool {
        [
            "amount", "total", "balance", "applied", "cash", "discount", "write_off", "deducted", "unapplied",
            "remitted",
            "difference", "extended", "unit_cost", "open_amount", "amount_paid", "invoice_amount",
        ].contains(key) || key.hasSuffix("_amount")
    }

    /// What breaks the style in `value`, each with its path (`.lines[].amount`).
    static func violations(_ value: Any, path: String = "") -> [String] {
        var found: [String] = []
        if let object = value as? [String: Any] {
            for (key, child) in object {
                let at = path + "." + key
                if !key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F })
                    || !(key.first?.isLetter ?? false)
                {
                    found.append("key not snake_case: \(at)")
                }
                if let text = child as? String, looksLikeInstant(text), !isISOInstant(text, local: key == "local") {
                    found.append("instant not ISO 8601 with T and Z: \(at) = \(text)")
                }
                if isAmountKey(key) {
                    if child is String {
                        if object["currency"] == nil { found.append("amount without a currency beside it: \(at)") }
                    } else if !(child is NSNull) {
                        found.append("amount not a decimal string: \(at) = \(child)")
                    }
                }
                if dataKeyedMaps.contains(key) { continue }
                found += violations(child, path: at)
            }
        } else if let array = value as? [Any] {
            for element in array { found += violations(element, path: path + "[]") }
        }
        return found
    }

    /// `2026-12-01 08:36:00`, `2026-12-01T08:36`: text that starts as a date and a time.
    static func looksLikeInstant(_ text: String) -> Bool {
        text.range(of: #"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}"#, options: .regularExpression) != nil
    }

    /// `2026-12-01T08:36:00Z` (or with fractions of a second); for a `local` time its offset instead of `Z`.
    static func isISOInstant(_ text: String, local: Bool) -> Bool {
        let zone = local ? #"(Z|[+-]\d{2}:\d{2})"# : "Z"
        return text.range(
            of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?"# + zone + "$", options: .regularExpression) != nil
    }

    /// Every JSON document in `text`: one, or one per line.
    static func documents(_ text: String) -> [Any]? {
        if let whole = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) {
            return [whole]
        }
        let lines = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let parsed = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) }
        return !lines.isEmpty && parsed.count == lines.count ? parsed : nil
    }

    @Test func theScanFindsWhatBreaksTheStyle() throws {
        let bad: [String: Any] = [
            "openAmount": ["currency": "USD", "minorUnits": 1250], "paid_at": "2026-12-01 08:36:00Z",
            "lines": [["amount": "12.50"]], "total": 12.5, "fields": ["Payer ID:": "x"],
        ]
        let found = Self.violations(bad)
        #expect(found.contains("key not snake_case: .openAmount"))
        #expect(found.contains("key not snake_case: .openAmount.minorUnits"))
        #expect(found.contains("instant not ISO 8601 with T and Z: .paid_at = 2026-12-01 08:36:00Z"))
        #expect(found.contains("amount without a currency beside it: .lines[].amount"))
        #expect(found.contains("amount not a decimal string: .total = 12.5"))
        #expect(found.count == 5, "\(found)")
        let good: [String: Any] = [
            "open_amount": "12.50", "currency": "USD", "paid_at": "2026-12-01T08:36:00Z", "date": "2026-12-01",
            "local": "2026-12-02T02:00:00-05:00", "lines": [["amount": "-1.00", "currency": "USD", "count": 3]],
        ]
        #expect(Self.violations(good).isEmpty, "\(Self.violations(good))")
    }

    @Test func everyCommandThatPrintsKeepsTheOneStyleOnADemoWorkspace() throws {
        let parent = BinaryRunner.temporaryFolder("json-style")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/demo"
        let demo = try BinaryRunner.run(["demo", "--keep", root], directory: parent)
        try #require(demo.status == 0, "\(demo.stderr)")
        let admin = try #require(
            demo.stdout.components(separatedBy: "throw-away passphrase ").dropFirst().first?
                .split(separator: ",").first.map(String.init))
        let asAdmin = ["--as", "demo-admin", "--passphrase-stdin"]

        // Real references of the workspace: a purchase order, an invoice a payment settled, a remittance file.
        let orders =
            try JSONSerialization.jsonObject(
                with: Data(try BinaryRunner.run(["--home", root, "po", "list", "--json"]).stdout.utf8))
            as? [[String: Any]]
        let order = try #require(orders?.first?["reference"] as? String)
        let batch =
            try JSONSerialization.jsonObject(
                with: Data(try BinaryRunner.run(["--home", root, "batch", "show", "1", "--json"]).stdout.utf8))
            as? [String: Any]
        let line = try #require((batch?["lines"] as? [[String: Any]])?.first)
        let application = try #require(
            ((line["decision"] as? [String: Any])?["applications"] as? [[String: Any]])?.first)
        let invoice = try #require(application["invoice"] as? String)
        let customer = try #require(application["customer"] as? String)
        let client = try #require(batch?["client"] as? String)
        let inbox = FileManager.default.enumerator(atPath: root + "/data/inbox/acme")!.compactMap { $0 as? String }
        let remittance =
            root + "/data/inbox/acme/"
            + (try #require(inbox.first { $0.contains("remittance_") && $0.hasSuffix(".csv") }))

        let invocations: [(command: String, arguments: [String], stdin: String)] = [
            ("status", ["status"], ""),
            ("doctor", ["doctor"], ""),
            ("doctor redaction-drill", ["doctor", "redaction-drill"], "drill-secret-0123456789\n"),
            ("inbox list", ["inbox", "list"], ""),
            ("scraper check", ["scraper", "check", root + "/scrapers/sandbox-html-portal.scraper"], ""),
            ("scraper test", ["scraper", "test"], ""),
            (
                "scraper try",
                [
                    "scraper", "try", "sandbox-html-portal", "--client", "acme", "--from", "2026-11-01", "--to",
                    "2026-11-30", "--dry-run",
                ] + asAdmin, admin + "\n"
            ),
            ("catalog search", ["catalog", "search", "--client", "acme", "OAT"], ""),
            ("po list", ["po", "list"], ""),
            ("po show", ["po", "show", order, "--client", "acme"], ""),
            ("po log", ["po", "log"], ""),
            ("profile check", ["profile", "check", root + "/profiles/sandbox-html-portal-remittance.profile"], ""),
            ("profile try", ["profile", "try", remittance, "--profile", "sandbox-html-portal-remittance"], ""),
            ("profile draft", ["profile", "draft", remittance], ""),
            ("examples list", ["examples", "list"], ""),
            ("invoices show", ["invoices", "show", invoice, "--client", client], ""),
            ("account show", ["account", "show", customer, "--client", client], ""),
            ("vault operator list", ["vault", "operator", "list"] + asAdmin, admin + "\n"),
            ("vault access", ["vault", "access", "--client", "acme"] + asAdmin, admin + "\n"),
            ("vault list", ["vault", "list"] + asAdmin, admin + "\n"),
            ("vault show", ["vault", "show", "acme/sandbox-html-portal"] + asAdmin, admin + "\n"),
            ("vault audit", ["vault", "audit"] + asAdmin, admin + "\n"),
            ("vault authority", ["vault", "authority"] + asAdmin, admin + "\n"),
            ("vault review scope", ["vault", "review", "scope"] + asAdmin, admin + "\n"),
            ("vault recipient list", ["vault", "recipient", "list"] + asAdmin, admin + "\n"),
            ("vault approvals", ["vault", "approvals"] + asAdmin, admin + "\n"),
            ("runs", ["runs"], ""),
            ("runs show", ["runs", "show", "1"], ""),
            ("check", ["check"], ""),
            ("report", ["report", "--html", parent + "/morning.html"], ""),
            ("schedule", ["schedule"], ""),
            ("trace", ["trace", invoice, "--client", client], ""),
            ("customers list", ["customers", "list", "--client", "acme"], ""),
            ("rules show", ["rules", "show", "--client", "acme"], ""),
            ("batches", ["batches"], ""),
            ("batch show", ["batch", "show", "1"], ""),
            // Commands that change something, where running them again on the demo changes nothing.
            ("import", ["import", remittance, "--client", "acme"], ""),
            ("match", ["match", "--batch", "1"], ""),
            ("examples install", ["examples", "install"], ""),
            ("scraper test (cassettes)", ["scraper", "test", "--dir", checkoutRoot + "/scrapers"], ""),
            ("an error", ["batch", "show", "999999"], ""),
        ]
        // Every command that only prints is here (a new one joins this list).
        let covered = Set(invocations.map(\.command))
        for command in NightjarCommands.table.commands
        where command.effect == .readsOnly && !Self.notJSON.contains(command.name) {
            #expect(covered.contains(command.name), "`\(command.name) --json` is not scanned")
        }

        for invocation in invocations {
            let result = try BinaryRunner.run(
                ["--home", root] + invocation.arguments + ["--json"], stdin: invocation.stdin, directory: parent)
            let label = invocation.command
            if result.status >= 64 {
                // An error: JSON on stderr only, with its code.
                #expect(
                    result.stdout.isEmpty || invocation.command == "doctor redaction-drill",
                    "\(label): \(result.stdout)")
                // The drill logs to standard error on purpose; its error follows the log lines.
                let errorText =
                    invocation.command == "doctor redaction-drill"
                    ? result.stderr.components(separatedBy: "\n").drop { $0 != "{" }.joined(separator: "\n")
                    : result.stderr
                let error = Self.documents(errorText)
                #expect(
                    (error?.first as? [String: Any])?["error"] != nil,
                    "\(label) exited \(result.status): \(result.stderr)")
                if invocation.command != "an error" && invocation.command != "doctor redaction-drill" {
                    Issue.record("\(label) failed (\(result.status)): \(result.stderr)")
                }
                if let error {
                    for document in error {
                        for problem in Self.violations(document) { Issue.record("\(label) (error): \(problem)") }
                    }
                }
                if invocation.command != "doctor redaction-drill" { continue }
            }
            let documents = Self.documents(result.stdout)
            #expect(documents != nil, "\(label) printed no JSON: \(result.stdout.prefix(300))")
            for document in documents ?? [] {
                for problem in Self.violations(document) { Issue.record("\(label): \(problem)") }
            }
        }
    }
}
