import Foundation
import Testing

@testable import NightjarCLI

/// The checkout this test file is in.
let checkoutRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Three consecutive free loopback ports (the sandbox's port base and the two after it).
func freePortBase() -> UInt16 {
    for _ in 0..<200 {
        let base = UInt16.random(in: 20_000...59_000)
        let sockets = (0..<3).map { offset -> Int32 in
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = (base + UInt16(offset)).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            if bound != 0 {
                close(descriptor)
                return -1
            }
            return descriptor
        }
        for descriptor in sockets where descriptor >= 0 { close(descriptor) }
        if sockets.allSatisfy({ $0 >= 0 }) { return base }
    }
    return 0
}

/// The first line of a plain HTTP/1.0 answer from 127.0.0.1:`port`, or nil when nothing listens.
func statusLine(port: UInt16, path: String = "/") -> String? {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard connected == 0 else { return nil }
    let request = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    _ = request.withCString { send(descriptor, $0, strlen($0), 0) }
    var answer: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = recv(descriptor, &buffer, buffer.count, 0)
        if count <= 0 { break }
        answer += buffer[0..<count]
        if answer.contains(10) { break }
    }
    return String(decoding: answer, as: UTF8.self).split(separator: "\r\n").first.map(String.init)
}

@Suite("The first hour", .serialized)
struct FirstHourTests {
    /// Finding 1: the sandbox serves in the foreground with its standard input closed, on the ports
    /// `--port-base` fixes, until it is interrupted.
    @Test func sandboxServesInTheForegroundOnFixedPortsWithoutStandardInput() throws {
        let folder = BinaryRunner.temporaryFolder("sandbox-fg")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = freePortBase()
        let process = Process()
        process.executableURL = BinaryRunner.executable("nightjar-sandbox")
        process.arguments = ["--port-base", String(base), "--write-open-invoices", folder]
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var banner = Data()
        while !String(decoding: banner, as: UTF8.self).contains("Serving until") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            banner += chunk
        }
        let text = String(decoding: banner, as: UTF8.self)
        #expect(text.contains("sandbox-html-portal http://127.0.0.1:\(base)"), "\(text)")
        #expect(text.contains("sandbox-json-api    http://127.0.0.1:\(base + 1)"))
        #expect(text.contains("sandbox-totp-portal http://127.0.0.1:\(base + 2)"))
        usleep(300_000)
        #expect(process.isRunning, "the sandbox stopped when its standard input closed")
        #expect(statusLine(port: base, path: "/login")?.hasPrefix("HTTP/1.") == true)
        #expect(statusLine(port: base + 2) != nil)
        #expect(FileManager.default.fileExists(atPath: folder + "/acme-open-invoices.csv"))
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(statusLine(port: base) == nil)
    }

    /// Finding 1: `--detach` returns once the portals listen; `--stop` ends them.
    @Test func sandboxDetachesAndStops() throws {
        let folder = BinaryRunner.temporaryFolder("sandbox-bg")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let base = freePortBase()
        let pidFile = folder + "/sandbox.pid"
        let started = try BinaryRunner.run(
            ["--port-base", String(base), "--detach", "--pid-file", pidFile], program: "nightjar-sandbox")
        #expect(started.status == 0, "\(started.stderr)")
        #expect(started.stdout.contains("http://127.0.0.1:\(base + 1)"))
        #expect(started.stdout.contains("nightjar-sandbox --stop"))
        #expect(statusLine(port: base + 1, path: "/") != nil)
        let again = try BinaryRunner.run(
            ["--port-base", String(base), "--detach", "--pid-file", pidFile], program: "nightjar-sandbox")
        #expect(again.status != 0)
        #expect(again.stderr.contains("already running"))
        let stopped = try BinaryRunner.run(["--stop", "--pid-file", pidFile], program: "nightjar-sandbox")
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stdout.contains("stopped the sandbox"))
        #expect(statusLine(port: base + 1) == nil)
        #expect(!FileManager.default.fileExists(atPath: pidFile))
        let usage = try BinaryRunner.run(["--port-base", "0"], program: "nightjar-sandbox")
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("--port-base needs a port"))
    }

    /// Finding 2: the README's tour is docs/tour.sh, and it runs as written in an empty folder
    /// outside the checkout, with an empty HOME and only the installed programs on PATH.
    @Test func theReadmeTourRunsAsWrittenOutsideTheCheckout() throws {
        let script = try String(contentsOfFile: checkoutRoot + "/docs/tour.sh", encoding: .utf8)
        let readme = try String(contentsOfFile: checkoutRoot + "/README.md", encoding: .utf8)
        let body = String(script[script.range(of: "set -eu\n")!.upperBound...]).trimmingCharacters(in: .newlines)
        #expect(readme.contains(body), "README.md's tour differs from docs/tour.sh")
        let folder = BinaryRunner.temporaryFolder("tour")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let bin = try BinaryRunner.installedCopy(in: folder)
        let home = folder + "/home"
        let work = folder + "/work"
        for path in [home, work] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        try script.write(toFile: folder + "/tour.sh", atomically: true, encoding: .utf8)
        let base = freePortBase()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [folder + "/tour.sh"]
        process.currentDirectoryURL = URL(fileURLWithPath: work)
        process.environment = [
            "HOME": home, "PATH": "\(bin):/usr/bin:/bin", "TMPDIR": folder, "SANDBOX_PORT_BASE": String(base),
        ]
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let complaints = LockedData()
        Thread { complaints.set(errors.fileHandleForReading.readDataToEndOfFile()) }.start()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        while !complaints.done { usleep(1000) }
        let stderr = String(decoding: complaints.value, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stderr)\n\(printed.suffix(3000))")
        #expect(printed.contains("The tour is done"))
        #expect(printed.contains("Recovery key"))
        #expect(printed.contains("already imported"))
        #expect(printed.contains("batch 1 approved by carol"))
        #expect(printed.contains("downloads replayed"))
        #expect(!stderr.contains("error:"), "\(stderr)")
        for made in [
            "erp-export/acme-open-invoices.csv", "morning.html", "batch-1.journal", "nw.har", "ar-night/site.key",
        ] {
            #expect(FileManager.default.fileExists(atPath: work + "/" + made), "\(made)")
        }
        #expect(statusLine(port: base) == nil, "the tour left the sandbox running")
        // One JSON style: the listing of what the tour imported has snake_case keys only.
        let batches = try BinaryRunner.run(["--home", work + "/ar-night", "batches", "--json"])
        #expect(batches.stdout.contains("\"payment_date\""), "\(batches.stdout.prefix(500))")
        #expect(
            batches.stdout.range(of: #""[a-z]+[A-Z][A-Za-z]*" :"#, options: .regularExpression) == nil,
            "\(batches.stdout.prefix(500))")
        // Nothing was written outside the tour's folder and its HOME.
        #expect(!FileManager.default.fileExists(atPath: checkoutRoot + "/ar-night"))
    }

    /// What `nightjar demo` and `nightjar examples` ship is the tree's scrapers/ and docs/examples/.
    @Test func theExamplesInsideTheBinaryAreTheFilesOfTheTree() throws {
        let expected = try ["scrapers", "docs/examples"].flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: checkoutRoot + "/" + folder)
                .filter { name in [".scraper", ".cassette", ".profile"].contains { name.hasSuffix($0) } }.map {
                    folder + "/" + $0
                }
        }.filter { path in
            // A mailbox's or drop's recording is a folder beside its cassette: those stay in the tree.
            let stem = checkoutRoot + "/" + (path as NSString).deletingPathExtension
            return !FileManager.default.fileExists(atPath: stem + ".maildir")
                && !FileManager.default.fileExists(atPath: stem + ".drop")
        }.sorted()
        #expect(ShippedExamples.files.map(\.path).sorted() == expected, "run .ci/embed-examples")
        for file in ShippedExamples.files {
            let text = try String(contentsOfFile: checkoutRoot + "/" + file.path, encoding: .utf8)
            #expect(file.text == text, "\(file.path) differs from the copy in the binary: run .ci/embed-examples")
        }
    }

    /// Finding 4: every example the tree and the binary ship is named for what it is (a sandbox
    /// portal, a mailbox, a layout), never for a company a real portal could belong to, and each
    /// definition and profile opens with the kind of real portal or file it resembles.
    @Test func theExamplesAreNamedForWhatTheyAre() throws {
        let companyNames = ["northwind", "tailspin", "contoso", "fabrikam", "adventure works", "wide world"]
        for file in ShippedExamples.files {
            let lowered = (file.path + "\n" + file.text).lowercased()
            for name in companyNames { #expect(!lowered.contains(name), "\(file.path) names \(name)") }
            guard !file.path.hasSuffix(".cassette") else { continue }
            let opening = file.text.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? ""
            #expect(opening.hasPrefix("# ") && opening.count > 40, "\(file.path) does not open with what it is")
            if file.path.hasSuffix(".scraper") {
                #expect(opening.contains(", like "), "\(file.path) does not say what real portal it resembles")
            }
        }
        let definitions = ShippedExamples.files.map(\.path).filter { $0.hasSuffix(".scraper") }
        #expect(definitions.count >= 3)
        for path in definitions {
            let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            #expect(name.hasPrefix("sandbox-"), "\(path) is not named for the sandbox portal it drives")
        }
    }

    /// Finding 7: sysexits for a missing file, the usual short options, JSON alone under --json,
    /// header rows, one help note per repeatable option.
    @Test func theCommandLineKeepsItsConventions() throws {
        let folder = BinaryRunner.temporaryFolder("conventions")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let root = folder + "/ws"
        #expect(try BinaryRunner.run(["init", root, "--time-zone", "America/New_York"]).status == 0)
        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin, directory: folder)
        }
        func isJSON(_ text: String) -> Bool { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) != nil }

        let missing = try run(["import", "nosuch.csv", "--client", "acme"])
        #expect(missing.status == 66, "\(missing.stderr)")
        #expect(missing.stderr.hasPrefix("nightjar: error: "), "\(missing.stderr)")
        for flag in ["-V", "--version"] { #expect(try run([flag]).stdout.hasPrefix("nightjar ")) }
        let verbose = try run(["-v"])
        #expect(verbose.status == 0 && verbose.stdout.contains("Commands:"), "\(verbose.stderr)")
        #expect(try run(["-v", "status"]).status == 0)
        let bogus = try run(["--bogus"])
        #expect(bogus.status == 64 && bogus.stderr.contains("unknown option --bogus"), "\(bogus.stderr)")
        #expect(try run(["status", "-q"]).status == 0)

        let usage = try run(["status", "--bogus", "--json"])
        #expect(usage.status == 64)
        #expect(isJSON(usage.stderr), "standard error is not JSON alone: \(usage.stderr)")
        #expect(usage.stdout.isEmpty)

        let check = try run(["check", "--json"])
        #expect(check.status == 1)
        #expect(isJSON(check.stdout) && check.stdout.contains("\"status\" : \"no_run\""), "\(check.stdout)")
        let report = try run(["report", "--html", folder + "/morning.html", "--json"])
        #expect(report.status == 0)
        #expect(isJSON(report.stdout) && report.stdout.contains("\"exceptions\" : 0"), "\(report.stdout)")

        #expect(try run(["examples", "install"]).status == 0)
        let schedule = try run(["schedule"])
        #expect(schedule.stdout.hasPrefix("PORTAL"), "\(schedule.stdout)")
        let scheduleJSON = try run(["schedule", "--json"])
        #expect(
            scheduleJSON.stdout.range(of: #""utc" : "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ""#, options: .regularExpression)
                != nil, "\(scheduleJSON.stdout)")

        let passphrase = "conventions passphrase\n"
        #expect(try run(["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: passphrase).status == 0)
        let added = try run(
            [
                "vault", "add", "acme/sandbox-html-portal", "--username", "acme-ar", "--password-stdin", "--origin",
                "http://127.0.0.1:9",
                "--as", "alice", "--passphrase-stdin",
            ], stdin: passphrase + "pw\n")
        #expect(added.status == 0, "\(added.stderr)")
        let list = try run(["vault", "list", "--as", "alice", "--passphrase-stdin"], stdin: passphrase)
        #expect(list.stdout.hasPrefix("NAME"), "\(list.stdout)")
        let audit = try run(["vault", "audit", "--json", "--as", "alice", "--passphrase-stdin"], stdin: passphrase)
        #expect(audit.stdout.contains("\"principal_id\""), "\(audit.stdout.prefix(400))")
        #expect(
            audit.stdout.range(of: #""[a-z]+[A-Z][A-Za-z]*" :"#, options: .regularExpression) == nil,
            "\(audit.stdout.prefix(400))")
        #expect(
            try run(
                [
                    "vault", "automation-key", "create", folder + "/night.key", "--all-clients", "--as", "alice",
                    "--passphrase-stdin",
                ], stdin: passphrase
            ).status == 0)
        _ = try run(["run", "--key-file", folder + "/night.key"])
        let runs = try run(["runs"])
        #expect(runs.stdout.hasPrefix("ID"), "\(runs.stdout)")

        let tried = try run(
            [
                "scraper", "try", "sandbox-html-portal", "--client", "acme", "--from", "2026-11-01", "--to",
                "2026-11-30", "--dry-run",
                "--json", "--har", folder + "/nw.har", "--as", "alice", "--passphrase-stdin",
            ], stdin: passphrase)
        #expect(isJSON(tried.stdout), "standard output is not JSON alone: \(tried.stdout)")
        #expect(tried.stderr.contains("HAR: "))
    }

    @Test func helpNamesARepeatableOptionOnce() throws {
        let table = NightjarCommands.table
        for command in table.commands {
            #expect(!table.help(for: command).contains("(repeatable) (repeatable)"), "\(command.name)")
        }
        #expect(
            table.help(for: table.commands.first { $0.name == "vault operator add" }!).contains(
                "a role to give (repeatable)"))
    }

    /// Runs `script` with `shell`, returning what it printed.
    static func shell(_ shell: String, _ script: String) throws -> String {
        try BinaryRunner.tool(
            "/usr/bin/env", [shell, "-c", script], directory: BinaryRunner.temporaryFolder("completion-cwd")
        ).output
    }

    /// Finding 7 (completions): bash, zsh and fish complete the table's words and options.
    @Test func completionsComeFromTheOneCommandTable() throws {
        let folder = BinaryRunner.temporaryFolder("completions")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let table = NightjarCommands.table
        for shell in ["bash", "zsh", "fish"] {
            let result = try BinaryRunner.run(["completions", shell])
            #expect(result.status == 0, "\(result.stderr)")
            try result.stdout.write(toFile: folder + "/nightjar.\(shell)", atomically: true, encoding: .utf8)
            for command in table.commands where !command.hidden {
                #expect(result.stdout.contains(command.path.last!), "\(shell): \(command.name)")
                for option in command.options {
                    #expect(result.stdout.contains(option.name), "\(shell): \(command.name) --\(option.name)")
                }
            }
        }
        #expect(try BinaryRunner.run(["completions", "tcsh"]).status == 64)
        let bash = try Self.shell(
            "bash",
            """
            source \(folder)/nightjar.bash
            t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _nightjar; echo "[${COMPREPLY[*]}]"; }
            t nightjar vault a; t nightjar --home /x vault add --us; t nightjar vault operator ''; t nightjar -
            """
        ).split(separator: "\n").map(String.init)
        #expect(bash.count == 4, "\(bash)")
        #expect(
            bash.first?.contains("add") == true && bash.first?.contains("automation-key") == true
                && bash.first?.contains("list") == false, "\(bash)")
        #expect(bash.dropFirst().first == "[--username --username-secret --username-not-secret]", "\(bash)")
        #expect(bash.dropFirst(2).first == "[add list]", "\(bash)")
        #expect(bash.last?.contains("--verbose") == true, "\(bash)")
        let zsh = try Self.shell(
            "zsh",
            """
            compdef() {}; _files() { echo FILES }; _describe() { print -l -- ${(P)4} }
            source \(folder)/nightjar.zsh
            words=(nightjar --home /x vault operator ''); CURRENT=6; _nightjar
            """)
        #expect(zsh.contains("add:add an operator with roles") && zsh.contains("list:"), "\(zsh)")
        let fish = try Self.shell(
            "fish",
            """
            source \(folder)/nightjar.fish; complete -C 'nightjar vault a'; echo ---; complete -C 'nightjar --home /x vault add --us'
            """)
        #expect(fish.contains("automation-key\t") && fish.contains("--username\tthe portal user name"), "\(fish)")
    }

    /// Finding 7 (man pages): one page per command from the same table, clean for groff.
    @Test func manPagesComeFromTheOneCommandTable() throws {
        let folder = BinaryRunner.temporaryFolder("man")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try BinaryRunner.run(["man", "--out", folder])
        #expect(result.status == 0, "\(result.stderr)")
        let visible = NightjarCommands.table.commands.filter { !$0.hidden }
        let pages = try FileManager.default.contentsOfDirectory(atPath: folder)
        #expect(pages.count == visible.count + 1)
        for command in visible {
            let name = (["nightjar"] + command.path).joined(separator: "-") + ".1"
            let page = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            for option in command.options {
                #expect(
                    page.contains(option.name.replacingOccurrences(of: "-", with: "\\-")), "\(name) --\(option.name)")
            }
        }
        let lint = try Self.shell("sh", "for page in \(folder)/*.1; do groff -man -Tutf8 -ww -z \"$page\"; done 2>&1")
        #expect(lint.isEmpty, "\(lint.prefix(2000))")
        let overview = try String(contentsOfFile: folder + "/nightjar.1", encoding: .utf8)
        #expect(overview.contains("NIGHTJAR_PASSPHRASE_COMMAND") && overview.contains("EXIT STATUS"))
    }

    /// Finding 7 (scripted admin work): NIGHTJAR_PASSPHRASE_COMMAND gives the --as operator's passphrase.
    @Test func aPassphraseCommandUnlocksForScripts() throws {
        let folder = BinaryRunner.temporaryFolder("passphrase-command")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let root = folder + "/ws"
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        try "alice's secret words\n".write(toFile: folder + "/alice.pass", atomically: true, encoding: .utf8)
        let command = "cat \"\(folder)/$NIGHTJAR_OPERATOR.pass\""
        // The new admin's passphrase comes from the command too, and from nowhere else (standard input is empty).
        let created = try BinaryRunner.run(
            ["--home", root, "vault", "init", "--admin", "alice"], environment: ["NIGHTJAR_PASSPHRASE_COMMAND": command]
        )
        #expect(created.status == 0, "\(created.stderr)")
        let listed = try BinaryRunner.run(
            ["--home", root, "vault", "list", "--as", "alice"], environment: ["NIGHTJAR_PASSPHRASE_COMMAND": command])
        #expect(listed.status == 0, "\(listed.stderr)")
        let failing = try BinaryRunner.run(
            ["--home", root, "vault", "list", "--as", "alice"], environment: ["NIGHTJAR_PASSPHRASE_COMMAND": "exit 3"])
        #expect(failing.status == 77)
        #expect(failing.stderr.contains("NIGHTJAR_PASSPHRASE_COMMAND failed (exit 3) for alice"), "\(failing.stderr)")
        let wrong = try BinaryRunner.run(
            ["--home", root, "vault", "list", "--as", "alice"],
            environment: ["NIGHTJAR_PASSPHRASE_COMMAND": "echo nope"])
        #expect(wrong.status == 77, "\(wrong.stderr)")
    }

    /// Finding 8: a credential says `allow-http` explicitly, kept in the vault and shown.
    @Test func aCredentialKeepsItsAllowHTTP() throws {
        let folder = BinaryRunner.temporaryFolder("allow-http")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let root = folder + "/ws"
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        let passphrase = "allow http words\n"
        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(
                ["--home", root] + arguments + ["--as", "alice", "--passphrase-stdin"], stdin: passphrase + stdin)
        }
        #expect(
            try BinaryRunner.run(
                ["--home", root, "vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: passphrase
            ).status == 0)
        let added = try run(
            [
                "vault", "add", "acme/legacy", "--username", "u", "--password-stdin", "--origin",
                "http://legacy.example", "--allow-http",
            ], stdin: "pw\n")
        #expect(added.status == 0, "\(added.stderr)")
        #expect(try run(["vault", "show", "acme/legacy"]).stdout.contains("allow_http"))
        #expect(try run(["vault", "edit", "acme/legacy", "--no-allow-http"]).status == 0)
        #expect(!(try run(["vault", "show", "acme/legacy"]).stdout.contains("allow_http")))
        #expect(try run(["vault", "edit", "acme/legacy", "--allow-http", "--no-allow-http"]).status == 64)
    }
}
