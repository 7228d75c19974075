import Foundation
import NightjarCore
import Testing

@testable import NightjarCLI

@Suite("Command table")
struct CommandTableTests {
    let table = NightjarCommands.table

    @Test func parsesCommandOptionsAndArguments() throws {
        guard case .run(let invocation) = try table.parse(["--home", "/w", "init", "dir", "--time-zone=UTC", "--json"])
        else {
            Issue.record("expected a run")
            return
        }
        #expect(invocation.command.name == "init")
        #expect(invocation.argument("DIR") == "dir")
        #expect(invocation.value("time-zone") == "UTC")
        #expect(invocation.value("home") == "/w")
        #expect(invocation.json)
    }

    @Test func everyCommandHasHelp() throws {
        for command in table.commands {
            guard case .help(let spec?, _) = try table.parse(command.path + ["--help"]) else {
                Issue.record("no help for \(command.name)")
                continue
            }
            let text = table.help(for: spec)
            #expect(text.contains("Usage: nightjar \(command.name)"))
            #expect(!command.summary.isEmpty)
            for option in command.options { #expect(text.contains("--\(option.name)")) }
        }
    }

    static let usageErrors: [([String], String)] = [
        (["initt"], "did you mean `init`"), (["init", "--tim-zone", "UTC"], "did you mean `--time-zone`"),
        (["init", "a", "b"], "unexpected argument"), (["init", "--time-zone"], "needs a value"),
        (["status", "--json=yes"], "takes no value"),
        (["status", "--log-level", "loud"], "--log-level must be one of"),
        (["init", "--name", "a", "--name", "b"], "given twice"),
    ]

    @Test("usage errors explain themselves", arguments: usageErrors)
    func usageErrorsExplainThemselves(arguments: [String], expected: String) {
        #expect {
            _ = try table.parse(arguments)
        } throws: { error in
            (error as? UsageError)?.message.contains(expected) == true
        }
    }

    @Test func configErrorsNameTheLine() throws {
        #expect {
            _ = try WorkspaceConfig.parse(
                "[workspace]\nname = \"x\"\ntime_zone = \"Mars/Base\"\n", file: "nightjar.conf")
        } throws: { error in
            (error as? WorkspaceError)?.description
                == "nightjar.conf:3:1: unknown time zone \"Mars/Base\" (use an IANA name such as America/New_York)"
        }
        #expect {
            _ = try WorkspaceConfig.parse("[workspace]\ncolour = \"blue\"\n", file: "nightjar.conf")
        } throws: { error in
            (error as? WorkspaceError)?.location?.line == 2
        }
        let config = WorkspaceConfig(name: "Acme AR", timeZone: "America/New_York", defaultCurrency: .cad)
        #expect(try WorkspaceConfig.parse(config.rendered(), file: "x") == config)
        #expect {
            _ = try WorkspaceConfig.parse("[workspace]\nnight_ends = \"25:99\"\n", file: "nightjar.conf")
        } throws: { error in
            (error as? WorkspaceError)?.location?.line == 2
        }
    }

    /// The shipped units bound a night run and watch the daemon, which notifies systemd itself.
    @Test func theSystemdUnitsBoundTheNightAndWatchTheDaemon() throws {
        let folder = ScraperCommandTests.repository + "/docs/systemd/"
        let run = try String(contentsOfFile: folder + "nightjar-run.service", encoding: .utf8).split(separator: "\n")
            .map(String.init)
        let daemon = try String(contentsOfFile: folder + "nightjar-daemon.service", encoding: .utf8).split(
            separator: "\n"
        ).map(String.init)
        #expect(run.contains("Type=oneshot") && run.contains { $0.hasPrefix("TimeoutStartSec=") })
        #expect(
            daemon.contains("Type=notify") && daemon.contains { $0.hasPrefix("WatchdogSec=") }
                && daemon.contains("NotifyAccess=main"))
    }

    /// `night_ends` is the next such time after the night starts, in the workspace's zone.
    @Test func theNightsDeadlineIsTheNextEndAfterItStarts() throws {
        let config = try WorkspaceConfig.parse(
            "[workspace]\ntime_zone = \"America/New_York\"\nnight_ends = \"07:00\"\n", file: "nightjar.conf")
        let iso = ISO8601DateFormatter()
        // 02:00 in New York (07:00 UTC, winter): the night ends at 07:00 New York, 12:00 UTC.
        #expect(
            config.nightDeadline(after: iso.date(from: "2026-12-01T07:00:00Z")!)
                == iso.date(from: "2026-12-01T12:00:00Z"))
        // A run started at 08:00 in the morning has until the next morning.
        #expect(
            config.nightDeadline(after: iso.date(from: "2026-12-01T13:00:00Z")!)
                == iso.date(from: "2026-12-02T12:00:00Z"))
        #expect(try WorkspaceConfig.parse("[workspace]\n", file: "x").nightDeadline(after: Date()) == nil)
    }
}

@Suite("nightjar binary", .serialized)
struct BinaryTests {
    @Test func helpListsCommandsOptionsAndExitCodes() throws {
        let result = try BinaryRunner.run(["--help"])
        #expect(result.status == 0)
        for word in ["init", "status", "doctor", "demo", "--home", "--json", "Exit codes", "64", "77"] {
            #expect(result.stdout.contains(word))
        }
        #expect(!result.stdout.contains("redaction-drill"))
        let version = try BinaryRunner.run(["--version"])
        #expect(version.stdout == "nightjar \(NightjarVersion.current)\n")
    }

    @Test func usageErrorsExit64() throws {
        let result = try BinaryRunner.run(["initt"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("did you mean `init`"))
        let json = try BinaryRunner.run(["status", "--bogus", "--json"])
        #expect(json.status == 64)
        #expect(json.stderr.contains("\"code\" : \"usage\""))
    }

    @Test func initCreatesAPrivateWorkspaceAndRefusesToOverwrite() throws {
        let parent = BinaryRunner.temporaryFolder("init")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        let created = try BinaryRunner.run(["init", root, "--time-zone", "America/New_York", "--name", "Acme AR"])
        #expect(created.status == 0, "\(created.stderr)")
        let workspace = Workspace(root: root)
        for folder in workspace.directories { #expect(SecureFile.mode(of: folder) == 0o700, "\(folder)") }
        #expect(SecureFile.mode(of: workspace.configPath) == 0o600)
        #expect(SecureFile.mode(of: workspace.databasePath) == 0o600)
        let config = try String(contentsOfFile: workspace.configPath, encoding: .utf8)
        try FileManager.default.removeItem(atPath: workspace.scrapersDirectory)
        let again = try BinaryRunner.run(["init", root])
        #expect(again.status == 73)
        #expect(again.stderr.contains("already exists"))
        #expect(try String(contentsOfFile: workspace.configPath, encoding: .utf8) == config)
        #expect(!FileManager.default.fileExists(atPath: workspace.scrapersDirectory))

        let status = try BinaryRunner.run(["status", "--json"], environment: ["NIGHTJAR_HOME": root])
        #expect(status.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        #expect(object?["time_zone"] as? String == "America/New_York")
        #expect(object?["name"] as? String == "Acme AR")
        #expect(object?["schema_version"] as? Int ?? 0 >= 1)
    }

    @Test func missingWorkspaceExits66WithAHint() throws {
        let folder = BinaryRunner.temporaryFolder("missing")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try BinaryRunner.run(["--home", folder, "status"])
        #expect(result.status == 66)
        #expect(result.stderr.contains("nightjar init"))
    }

    /// Canary secrets with awkward characters go in, with 9,997 more (as many as a large night
    /// registers); none of their raw, URL-, JSON-, HTML- or base64-encoded forms may come out on
    /// any stream or in any file the program wrote. GNU grep (fixed strings, all forms at once)
    /// does the looking, independently of the redactor.
    @Test func canarySecretsNeverReachAnyOutput() throws {
        let parent = BinaryRunner.temporaryFolder("canary")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/ws"
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        var random = SeededRandom(seed: 10_000)
        let awkward = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&*+/=?@<>\"'é ")
        var canaries = ["p@ss+w/rd%\"<&é x", "Can ary/+%\"<&é@secret", "tötp-seed JBSWY3DP & <b>"]
        while canaries.count < 10_000 {
            canaries.append(
                "c\(canaries.count)-"
                    + String(
                        (0..<Int.random(in: 8...20, using: &random)).map { _ in awkward.randomElement(using: &random)! }
                    ))
        }
        let result = try BinaryRunner.run(
            ["--home", root, "--log-file", parent + "/extra.log", "doctor", "redaction-drill"],
            stdin: canaries.joined(separator: "\n"))
        #expect(result.status == 65)
        try result.stdout.write(toFile: parent + "/stdout", atomically: true, encoding: .utf8)
        try result.stderr.write(toFile: parent + "/stderr", atomically: true, encoding: .utf8)
        // The drill really pushed secrets through each path: each one shows the marker.
        for name in ["stdout", "stderr", "ws/logs/nightjar.log", "ws/reports/redaction-drill.html", "extra.log"] {
            let text = (try? String(contentsOfFile: parent + "/" + name, encoding: .utf8)) ?? ""
            #expect(text.components(separatedBy: "[REDACTED]").count > 10_000, "\(name) shows too few redactions")
        }
        let patterns = Set(canaries.flatMap { DrillEncodings.forms($0) }).sorted().joined(separator: "\n") + "\n"
        // Outside the folder grep reads.
        let patternFolder = BinaryRunner.temporaryFolder("canary-forms")
        defer { try? FileManager.default.removeItem(atPath: patternFolder) }
        let patternPath = patternFolder + "/forms"
        try patterns.write(toFile: patternPath, atomically: true, encoding: .utf8)
        let grep = Process()
        grep.executableURL = URL(fileURLWithPath: "/usr/bin/grep")
        grep.arguments = ["-r", "-a", "-F", "-o", "-f", patternPath, parent]
        grep.environment = ["LC_ALL": "C"]
        let output = Pipe()
        grep.standardOutput = output
        try grep.run()
        let found = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        grep.waitUntilExit()
        // grep exits 1 when nothing matched.
        #expect(grep.terminationStatus == 1, "grep found forms of canaries:\n\(found.prefix(2000))")
    }
}

/// Encoded forms, made independently of the program.
enum DrillEncodings {
    static func forms(_ secret: String) -> [String] {
        var forms = [secret]
        forms.append(secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        forms.append(secret.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed)!)
        forms.append(
            secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!.replacingOccurrences(
                of: "%20", with: "+"))
        let json = String(decoding: try! JSONEncoder().encode([secret]), as: UTF8.self)
        forms.append(String(json.dropFirst(2).dropLast(2)))
        forms.append(String(decoding: try! JSONEncoder().encode([json]), as: UTF8.self))
        forms.append(
            secret.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: "\"", with: "&quot;"))
        let base64 = Data(secret.utf8).base64EncodedString()
        forms.append(String(base64.prefix(base64.count - 4)))
        forms.append(String(Data("operator:\(secret)".utf8).base64EncodedString().dropFirst(12).dropLast(4)))
        return forms.filter { $0.count >= 6 }
    }
}

@Suite("nightjar demo", .serialized)
struct DemoTests {
    @Test func aFailedDemoRemovesItsHalfBuiltWorkspace() throws {
        let parent = BinaryRunner.temporaryFolder("demo-fail")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        // Without the sandbox beside it the demo cannot go past its third step.
        let bin = try BinaryRunner.installedCopy(in: parent, programs: ["nightjar"])
        let root = parent + "/demo"
        let failed = try BinaryRunner.run(["demo", "--keep", root], directory: parent, installedIn: bin)
        #expect(failed.status == 66)
        #expect(failed.stderr.contains("nightjar-sandbox is not next to nightjar"))
        #expect(failed.stderr.contains("removed the half-built workspace"))
        #expect(!FileManager.default.fileExists(atPath: root), "the half-built workspace blocks the next try")
        // A folder that held a workspace already is never touched.
        _ = try BinaryRunner.run(["init", root])
        let refused = try BinaryRunner.run(["demo", "--keep", root], directory: parent, installedIn: bin)
        #expect(refused.status != 0)
        #expect(FileManager.default.fileExists(atPath: root + "/nightjar.conf"))
    }

    @Test func theDemoRunsTheNightThatExistsAndLeavesNothingRunning() throws {
        let parent = BinaryRunner.temporaryFolder("demo")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let root = parent + "/demo"
        // Installed alone, run from a folder that is not the checkout: what the demo needs is in the binary.
        let bin = try BinaryRunner.installedCopy(in: parent)
        let result = try BinaryRunner.run(["demo", "--keep", root], directory: parent, installedIn: bin)
        #expect(result.status == 0, "\(result.stderr)")
        // The throw-away admin passphrase is printed, and opens the demo vault as its admin.
        let passphrase = result.stdout.components(separatedBy: "throw-away passphrase ").dropFirst().first?.split(
            separator: ","
        ).first.map(String.init)
        #expect(passphrase?.hasPrefix("demo-admin-") == true, "\(result.stdout)")
        let listed = try BinaryRunner.run(
            ["--home", root, "vault", "list", "--as", "demo-admin", "--passphrase-stdin"],
            stdin: (passphrase ?? "") + "\n")
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.contains("acme/sandbox-html-portal"))
        #expect(result.stdout.contains("Nightjar run 1"))
        #expect(result.stdout.components(separatedBy: " ok ").count - 1 >= 9)
        #expect(result.stdout.contains("paid_in_full"))
        #expect(result.stdout.contains("Summary written to \(root)/reports/demo-summary.txt"))
        let batches = try BinaryRunner.run(["--home", root, "batches", "--json"])
        #expect(batches.stdout.components(separatedBy: "\"id\"").count > 40)
        // The sandbox's passwords (all contain "-Pw!") never reach a file of the workspace in clear.
        let enumerator = FileManager.default.enumerator(atPath: root)!
        while let relative = enumerator.nextObject() as? String {
            guard let data = FileManager.default.contents(atPath: root + "/" + relative) else { continue }
            #expect(!String(decoding: data, as: UTF8.self).contains("-Pw!"), "\(relative)")
        }
        let running = Process()
        running.executableURL = URL(fileURLWithPath: "/usr/bin/pgrep")
        running.arguments = ["-f", "nightjar-sandbox .*--write-open-invoices \(root)"]
        running.standardOutput = FileHandle.nullDevice
        try running.run()
        running.waitUntilExit()
        #expect(running.terminationStatus == 1, "the sandbox is still running")
    }
}
