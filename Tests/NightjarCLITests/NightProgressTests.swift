import Foundation
import NightjarCore
import NightjarSandbox
import Testing

/// `nightjar run` as a person and a supervisor see it: a live progress line on a terminal (a real
/// pseudo-terminal), nothing extra when piped, JSON lines with `--progress json`; identifiers in
/// full; HAR files of the night without a one-time value.
@Suite("nightjar run: progress and what it shows", .serialized)
struct NightProgressTests {
    /// Runs `arguments` on a pseudo-terminal (python3's pty module) and returns everything it wrote.
    static func onTerminal(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let script = """
            import os, pty, subprocess, sys
            master, slave = pty.openpty()
            child = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
            os.close(slave)
            output = b""
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            sys.stdout.buffer.write(output)
            sys.exit(child.wait())
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, BinaryRunner.executable("nightjar").path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func aLiveLineOnATerminalNothingWhenPipedJSONLinesForASupervisor() throws {
        let fixture = try NightRunTests.Fixture()
        defer { fixture.stop() }
        let total = fixture.clients.count * fixture.portalNames.count
        let night = [
            "run", "--key-file", fixture.parent + "/night.key", "--from", "2026-08-01", "--to", "2026-09-20",
            "--concurrency", "1",
        ]

        // A terminal: the line is redrawn in place and ends with every credential done.
        let terminal = try NightProgressTests.onTerminal(["--home", try fixture.copy("terminal")] + night)
        #expect(terminal.status == 0, "\(terminal.output)")
        #expect(terminal.output.contains("\r\u{1B}[Kcredentials 0/\(total)"))
        #expect(terminal.output.contains("\r\u{1B}[Kcredentials \(total)/\(total) · files "))
        #expect(terminal.output.contains(" elapsed"))
        #expect(terminal.output.contains("Nightjar run 1"))

        // Piped: the same night prints its summary and nothing else.
        let piped = try fixture.run(try fixture.copy("piped"), night)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout.contains("Nightjar run 1"))
        for text in [piped.stdout, piped.stderr] {
            #expect(!text.contains("credentials 0/"))
            #expect(!text.contains("\u{1B}["))
        }

        // JSON lines on standard error, one per event, in order.
        let json = try fixture.run(try fixture.copy("json"), night + ["--progress", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let events = json.stderr.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(events.first?["event"] as? String == "run_started")
        #expect(events.last?["event"] as? String == "run_finished")
        #expect(events.filter { $0["event"] as? String == "credential_started" }.count == total)
        let finished = events.filter { $0["event"] as? String == "credential_finished" }
        #expect(finished.count == total)
        #expect(finished.map { $0["credentials_done"] as? Int ?? 0 } == Array(1...total))
        let landed = events.filter { $0["event"] as? String == "file_landed" }
        #expect(landed.count == events.last?["files"] as? Int)
        #expect(landed.count > 10)
        let instant = try #require(events.last?["at"] as? String)
        #expect(instant.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil)
        #expect(finished.allSatisfy { ($0["estimated_end"] as? String)?.hasSuffix("Z") == true })
        #expect(events.allSatisfy { $0.keys.allSatisfy { $0 == $0.lowercased() } })
        let usage = try fixture.run(try fixture.copy("usage"), night + ["--progress", "sometimes"])
        #expect(usage.status == 64)
    }

    /// A client named exactly like its portal username prints in full — in the summary, the run's
    /// output and the names of its files — and the night's HAR files show none of the portals'
    /// one-time values (anti-forgery tokens, session cookies, access tokens).
    @Test func aClientIDEqualToAUsernamePrintsInFullAndHARFilesHoldNoOneTimeValue() throws {
        let fixture = try NightRunTests.Fixture()
        defer { fixture.stop() }
        let root = try fixture.copy("same-name")
        let account = fixture.portals.data.account(client: "acme", portal: "sandbox-html-portal")!
        let client = account.username
        let added = try fixture.run(
            root,
            [
                "vault", "add", "\(client)/sandbox-html-portal", "--username", account.username, "--password-stdin",
                "--origin", fixture.portals.origins["sandbox-html-portal"]!, "--as", "alice", "--passphrase-stdin",
            ],
            stdin: "\(NightRunTests.passphrase)\n\(account.password)\n")
        #expect(added.status == 0, "\(added.stderr)")
        let key = fixture.parent + "/same-name.key"
        #expect(
            try fixture.run(
                root,
                ["vault", "automation-key", "create", key, "--all-clients", "--as", "alice", "--passphrase-stdin"],
                stdin: NightRunTests.passphrase + "\n"
            ).status == 0)
        let result = try fixture.run(
            root,
            ["run", "--key-file", key, "--from", "2026-08-01", "--to", "2026-09-20", "--portal", "sandbox-html-portal"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("\(client)/sandbox-html-portal"))
        #expect(!result.stdout.contains(Redactor.marker))
        let reports = OneTimeScan.files(under: root + "/reports", endingWith: [".har", ".txt", ".html"])
        #expect(reports.contains { $0.hasSuffix("/\(client)-sandbox-html-portal.har") })
        let summary = try String(
            contentsOfFile: try #require(reports.first { $0.hasSuffix("summary.txt") }), encoding: .utf8)
        #expect(summary.contains("\(client)/sandbox-html-portal"))
        let har = try String(
            contentsOfFile: try #require(reports.first { $0.hasSuffix("/\(client)-sandbox-html-portal.har") }),
            encoding: .utf8)
        #expect(har.contains(account.username))
        #expect(!har.contains(account.password))
        let hars = reports.filter { $0.hasSuffix(".har") }
        #expect(hars.count == 3)
        let leaks = try OneTimeScan.leaks(in: hars, values: fixture.portals.issuedValues)
        #expect(leaks.isEmpty, "\(leaks.prefix(5))")
    }
}
