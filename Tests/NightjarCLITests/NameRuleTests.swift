import Foundation
import NightjarCore
import NightjarStore
import Testing

@testable import NightjarCLI

/// The identifier rule at the command line: every argument and option of the command table that
/// names a client, portal, label, operator, profile or rules file refuses what the rule refuses,
/// before the command runs, with exit 64 and the field named.
@Suite("Names at the command line")
struct NameRuleTests {
    static let table = NightjarCommands.table

    /// Names the rule refuses, each for a reason of its own.
    static let refusedNames = [
        "a/b", "../..", "acme/../..", "acme%2F..", ".", "..", ".hidden", "", "a b", "café", "x@y",
        String(repeating: "a", count: 65),
    ]
    static let refusedCredentialNames = [
        "acme/..", "../sandbox-html-portal", "acme%2F../sandbox-html-portal", "./sandbox-html-portal",
        "acme/north/wind/x", "acme/sandbox-html-portal/..",
    ]

    /// A value every argument or option accepts: a valid name, or a valid credential name.
    static func acceptable(_ rule: NameRule?) -> String {
        rule == .credentialName ? "acme/sandbox-html-portal" : "acme"
    }

    /// A command line for `command` with every required argument filled with an acceptable value.
    static func commandLine(_ command: CommandSpec, replacing index: Int? = nil, with value: String = "") -> [String] {
        var words = command.path
        for (position, argument) in command.arguments.enumerated() where !argument.optional || position == index {
            words.append(position == index ? value : acceptable(argument.names))
        }
        return words
    }

    /// Where a value may go: every named argument and option of every command.
    struct Slot: CustomStringConvertible {
        let command: CommandSpec
        let argument: Int?
        let option: OptionSpec?
        var rule: NameRule { option?.names ?? command.arguments[argument!].names! }
        var given: String { option.map { "--\($0.name)" } ?? command.arguments[argument!].name }
        var description: String { "nightjar \(command.name) \(given)" }

        func words(_ value: String) -> [String] {
            if let option { return NameRuleTests.commandLine(command) + ["--\(option.name)", value] }
            return NameRuleTests.commandLine(command, replacing: argument, with: value)
        }
    }

    static var slots: [Slot] {
        table.commands.flatMap { command in
            command.arguments.indices.filter { command.arguments[$0].names != nil }.map {
                Slot(command: command, argument: $0, option: nil)
            }
                + command.options.filter { $0.names != nil }.map { Slot(command: command, argument: nil, option: $0) }
        }
    }

    @Test func everyNamedArgumentAndOptionRefusesWhatTheRuleRefuses() throws {
        let slots = Self.slots
        // The table names clients, portals, labels, operators, profiles and rules files in many places.
        #expect(slots.count >= 60, "\(slots.count) named slots")
        for field in ["client name", "portal name", "credential label", "operator name", "profile name", "rules name"] {
            #expect(
                slots.contains { slot in
                    switch slot.rule {
                    case .identifier(let name), .identifierOrPath(let name, _): name == field
                    case .credentialName:
                        field == "client name" || field == "portal name" || field == "credential label"
                    }
                }, "no command takes a \(field)")
        }
        for slot in slots {
            // An acceptable value parses, so a refusal below is the name's doing.
            #expect(throws: Never.self, "\(slot)") { _ = try Self.table.parse(slot.words(Self.acceptable(slot.rule))) }
            let refused = slot.rule == .credentialName ? Self.refusedCredentialNames : Self.refusedNames
            for name in refused {
                #expect(throws: UsageError.self, "\(slot) accepted \"\(name)\"") {
                    _ = try Self.table.parse(slot.words(name))
                }
                do {
                    _ = try Self.table.parse(slot.words(name))
                } catch {
                    #expect(error.code == "input.invalid_name", "\(slot) \"\(name)\": \(error.message)")
                    #expect(error.exitStatus == .usage)
                    #expect(error.message.hasPrefix("\(slot.given): the "), "\(slot): \(error.message)")
                    #expect(error.message.contains(" is not allowed: "), "\(slot): \(error.message)")
                }
            }
        }
    }

    @Test func pathsAreTakenWhereANameOrAPathIs() throws {
        for slot in Self.slots {
            guard case .identifierOrPath(_, let suffix) = slot.rule else { continue }
            #expect(throws: Never.self, "\(slot)") {
                _ = try Self.table.parse(slot.words("../elsewhere/some file" + suffix))
            }
            #expect(throws: UsageError.self, "\(slot)") {
                _ = try Self.table.parse(slot.words("../elsewhere/some-file"))
            }
        }
    }

    /// Which slots look like they name something: a new command with `--client`, a `PORTAL`
    /// argument or a `NAME` placeholder must say which rule governs it, or be listed here with why not.
    static let unnamedOnPurpose: [String: String] = [
        "nightjar init --name": "the workspace's name for people, free text",
        "nightjar vault upgrade --as":
            "the admin may carry a name from before the rule, which this very command renames",
        "nightjar client rename OLD": "the name from before the rule, which this command renames",
        "nightjar vault add --username": "a portal's user name, a secret or free text (NUL refused like every value)",
        "nightjar vault edit --username": "a portal's user name, a secret or free text",
        "nightjar po receive --by": "who received it, free text for people",
        "nightjar po correct --by": "who corrected it, free text",
        "nightjar po delete --by": "who deleted it, free text",
        "nightjar account credit --by": "who recorded it, free text",
        "nightjar po correct --unit-cost": "an amount (C for cost)",
        "nightjar vault upgrade --rename":
            "KIND:OLD=NEW: OLD is a name from before the rule, NEW is checked by the vault",
        "nightjar scraper try --origin":
            "NAME=URL: an origin's name inside the definition, checked against its declarations",
        "nightjar scraper record --origin": "NAME=URL: an origin's name inside the definition",
        "nightjar vault add --field-file": "NAME=FILE: NAME is checked by the identifier rule when the pair is split",
        "nightjar vault edit --field-file": "NAME=FILE: NAME is checked by the identifier rule when the pair is split",
    ]

    @Test func everySlotThatLooksLikeANameFollowsTheRuleOrSaysWhyNot() {
        let nameWords: Set<String> = [
            "client", "portal", "label", "as", "admin", "profile", "field", "remove-field", "operator", "rules", "name",
        ]
        let placeholderWords: Set<String> = ["C", "P", "NAME", "LABEL", "CLIENT", "PORTAL", "OPERATOR", "OLD", "NEW"]
        var unruled: [String] = []
        for command in Self.table.commands {
            for argument in command.arguments where argument.names == nil {
                let words = Set(argument.name.split { !$0.isLetter }.map(String.init))
                if !words.isDisjoint(with: placeholderWords) {
                    unruled.append("nightjar \(command.name) \(argument.name)")
                }
            }
            for option in command.options where option.names == nil {
                let placeholder = Set((option.valueName ?? "").split { !$0.isLetter }.map(String.init))
                if nameWords.contains(option.name) || !placeholder.isDisjoint(with: placeholderWords) {
                    unruled.append("nightjar \(command.name) --\(option.name)")
                }
            }
        }
        let unexplained = unruled.filter { Self.unnamedOnPurpose[$0] == nil }
        #expect(unexplained.isEmpty, "these look like names but no rule checks them: \(unexplained)")
        // The list above stays true: each entry still exists.
        for entry in Self.unnamedOnPurpose.keys {
            #expect(unruled.contains(entry), "\(entry) is listed but not in the table")
        }
    }

    @Test func aNulByteInAnyValueIsRefusedNamingTheOption() throws {
        let command = try #require(Self.table.commands.first { $0.path == ["report"] })
        #expect {
            _ = try Self.table.parse(Self.commandLine(command) + ["--html", "out\u{0}.html"])
        } throws: { error in
            let error = error as? UsageError
            return error?.code == "input.nul_byte"
                && error?.message == "the value of --html contains a NUL byte, which is never allowed"
        }
        #expect(throws: UsageError.self) { _ = try Self.table.parse(["trace", "INV\u{0}1"]) }
    }

    // MARK: Through the binary

    static func workspace(_ label: String) throws -> (parent: String, root: String) {
        let parent = BinaryRunner.temporaryFolder(label)
        let root = parent + "/ws"
        let result = try BinaryRunner.run(["init", root])
        #expect(result.status == 0, "\(result.stderr)")
        return (parent, root)
    }

    static func clients(_ root: String) throws -> [String] {
        let database = try Database(path: root + "/data/nightjar.sqlite")
        return try database.query("SELECT id FROM client ORDER BY id").map { try $0.string("id") }
    }

    /// The cases of the security review: each once answered normally or created a client.
    @Test(arguments: [
        (["import", "--client", "a/b", "FILE"], "client name \"a/b\""),
        (["import", "--client", "../..", "FILE"], "client name \"../..\""),
        (["import", "--client", "acme/../..", "FILE"], "client name \"acme/../..\""),
        (["import", "--client", "acme%2F..", "FILE"], "client name \"acme%2F..\""),
        (["import", "--client", ".", "FILE"], "client name \".\""),
        (["import", "--client", "..", "FILE"], "client name \"..\""),
        (["customers", "list", "--client", "a/b"], "client name \"a/b\""),
        (["rules", "show", "--client", "../../etc"], "client name \"../../etc\""),
        (["invoices", "import", "FILE", "--client", "."], "client name \".\""),
        (["catalog", "import", "FILE", "--client", ".."], "client name \"..\""),
        (
            ["scraper", "try", "../../etc/passwd", "--client", "acme", "--from", "2026-01-01", "--to", "2026-01-02"],
            "portal name \"../../etc/passwd\""
        ),
        (["import", "--client", "acme", "--profile", "../secret", "FILE"], "profile name \"../secret\""),
    ])
    func theReviewsCasesAreRefusedWithExit64AndNothingIsCreated(words: [String], field: String) throws {
        let (parent, root) = try Self.workspace("names")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let file = parent + "/remit.x12"
        try FileManager.default.copyItem(
            atPath: ImportCommandTests.samples + "/bots_820-004010-01_safeway_rmr_discounts.x12", toPath: file)
        let arguments = ["--home", root] + words.map { $0 == "FILE" ? file : $0 }
        let result = try BinaryRunner.run(arguments)
        #expect(result.status == 64, "\(words): \(result.stdout) \(result.stderr)")
        #expect(result.stderr.contains("the \(field) is not allowed"), "\(result.stderr)")
        #expect(try Self.clients(root).isEmpty)
        let json = try BinaryRunner.run(arguments + ["--json"])
        #expect(json.status == 64)
        #expect(json.stderr.contains("\"code\" : \"input.invalid_name\""), "\(json.stderr)")
    }

    @Test func aNulByteInASecretFromStandardInputIsRefusedNamingIt() throws {
        let (parent, root) = try Self.workspace("nul-secret")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let result = try BinaryRunner.run(
            ["--home", root, "vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: "pass\u{0}word\n")
        #expect(result.status == 65, "\(result.stderr)")
        #expect(result.stderr.contains("the new passphrase for alice contains a NUL byte"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root + "/vault/nightjar.vault"))
    }

    /// An endless standard input (/dev/zero) is read only up to the largest thing a command
    /// takes from it, then refused; before, the program read until memory ran out. The run is
    /// stopped after 120 s so a reader without a bound fails here instead of hanging.
    @Test func anEndlessStandardInputIsReadUpToItsBoundAndRefused() throws {
        let (parent, root) = try Self.workspace("endless-stdin")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let process = Process()
        process.executableURL = BinaryRunner.executable("nightjar")
        process.arguments = [
            "--home", root, "--log-level", "debug", "vault", "init", "--admin", "alice", "--passphrase-stdin",
        ]
        process.standardInput = try #require(FileHandle(forReadingAtPath: "/dev/zero"))
        let error = Pipe()
        process.standardError = error
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stopper = Thread {
            for _ in 0..<1200 where process.isRunning { usleep(100_000) }
            if process.isRunning { process.terminate() }
        }
        stopper.start()
        let stderr = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(
            process.terminationReason == .exit && process.terminationStatus == 65,
            "\(process.terminationStatus) \(stderr.prefix(300))")
        #expect(stderr.contains("contains a NUL byte"), "\(stderr.prefix(300))")
        let peak = try Self.peakKiB(BinaryRunner.Result(status: process.terminationStatus, stdout: "", stderr: stderr))
        #expect(peak < 400 * 1024, "\(peak) KiB")
        #expect(!FileManager.default.fileExists(atPath: root + "/vault/nightjar.vault"))
    }

    // MARK: Names the workspace already holds

    @Test func aLedgerClientNamedBeforeTheRuleIsReportedAtOpenAndRenamedInOneCommand() throws {
        let (parent, root) = try Self.workspace("rename")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        func run(_ words: [String]) throws -> BinaryRunner.Result { try BinaryRunner.run(["--home", root] + words) }
        let x12 = ImportCommandTests.samples + "/bots_820-004010-01_safeway_rmr_discounts.x12"
        #expect(try run(["import", x12, "--client", "acme"]).status == 0)
        #expect(try run(["customers", "alias", "add", "SAFEWAY", "C-1", "--client", "acme"]).status == 0)
        // As an older version stored it: a name the rule now refuses, in every table that holds it.
        let database = try Database(path: root + "/data/nightjar.sqlite")
        try database.execute("PRAGMA foreign_keys = OFF")
        for table in try database.query("SELECT name FROM sqlite_master WHERE type = 'table'").map({
            try $0.string("name")
        }) {
            for column in try database.query("SELECT name FROM pragma_table_info(?)", [table]).map({
                try $0.string("name")
            })
            where column == "client_id" || column == "client" || (table == "client" && column == "id") {
                try database.execute("UPDATE \(table) SET \(column) = 'acme corp/..' WHERE \(column) = 'acme'")
            }
        }
        try database.execute(
            "INSERT INTO login_attempt (credential, started_at) VALUES ('acme corp/../sandbox-html-portal', '2026-01-01T00:00:00Z')"
        )

        var result = try run(["batches"])
        #expect(result.status == 0)
        #expect(
            result.stderr.contains("the ledger holds a client whose name breaks the naming rule"), "\(result.stderr)")
        #expect(result.stderr.contains("nightjar client rename 'acme corp/..' acme-corp-.."), "\(result.stderr)")

        // Clients are never merged, and the new name follows the rule.
        #expect(
            try run(["import", ImportCommandTests.samples + "/bots_testx12013_820_tilde_crlf.x12", "--client", "beta"])
                .status == 0)
        result = try run(["client", "rename", "acme corp/..", "beta"])
        #expect(result.status == 73, "\(result.stderr)")
        result = try run(["client", "rename", "acme corp/..", "acme/x"])
        #expect(result.status == 64)
        result = try run(["client", "rename", "nobody", "acme"])
        #expect(result.status == 66)
        #expect(try Self.clients(root) == ["acme corp/..", "beta"], "a refused rename changes nothing")

        result = try run(["client", "rename", "acme corp/..", "acme-corp"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.clients(root) == ["acme-corp", "beta"])
        result = try run(["batches", "--client", "acme-corp", "--json"])
        #expect(!result.stderr.contains("naming rule"), "\(result.stderr)")
        let batches = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(batches.count == 1)
        let after = try Database(path: root + "/data/nightjar.sqlite")
        #expect(try after.scalar(String.self, "SELECT client_id FROM customer_alias") == "acme-corp")
        #expect(
            try after.scalar(String.self, "SELECT credential FROM login_attempt") == "acme-corp/sandbox-html-portal")
        #expect(try after.scalar(Int64.self, "SELECT count(*) FROM source_file WHERE client_id = 'acme corp/..'") == 0)
    }

    @Test func workspaceFilesWithRefusedNamesAreReportedAtOpenAndNeverRead() throws {
        let (parent, root) = try Self.workspace("file-names")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try "this is not a profile".write(
            toFile: root + "/profiles/two words.profile", atomically: true, encoding: .utf8)
        try "nor a definition".write(toFile: root + "/scrapers/.hidden.scraper", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        try "write_off_amount = 1.00".write(toFile: root + "/rules/acme corp.rules", atomically: true, encoding: .utf8)
        let result = try BinaryRunner.run(["--home", root, "schedule"])
        #expect(
            result.stderr.contains(
                "profiles/two words.profile is not read: the profile name \"two words\" is not allowed"),
            "\(result.stderr)")
        #expect(
            result.stderr.contains("mv '\(root)/profiles/two words.profile' \(root)/profiles/two-words.profile"),
            "\(result.stderr)")
        #expect(result.stderr.contains("scrapers/.hidden.scraper is not read"), "\(result.stderr)")
        #expect(result.stderr.contains("rules/acme corp.rules is not read"), "\(result.stderr)")
        // The broken profile is never parsed: an import reads the workspace's other profiles only.
        let x12 = ImportCommandTests.samples + "/bots_820-004010-01_safeway_rmr_discounts.x12"
        let imported = try BinaryRunner.run(["--home", root, "import", x12, "--client", "acme"])
        #expect(imported.status == 0, "\(imported.stderr)")
    }

    // MARK: nightjar.conf

    static func config(_ root: String, appending text: String) throws {
        let path = root + "/nightjar.conf"
        let current = try String(contentsOfFile: path, encoding: .utf8)
        try (current + text).write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test(arguments: [
        ("\n[origins]\n../../etc = \"https://a.example\"\n", "portal name \"../../etc\""),
        ("\n[origins]\nacme%2F../sandbox-html-portal.main = \"https://a.example\"\n", "client name \"acme%2F..\""),
        ("\n[origins]\n./sandbox-html-portal = \"https://a.example\"\n", "client name \".\""),
        ("\n[schedule]\nnorth wind = \"02:00\"\n", "portal name \"north wind\""),
    ])
    func configKeysThatNamePortalsFollowTheRule(text: String, field: String) throws {
        let (parent, root) = try Self.workspace("conf-names")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        try Self.config(root, appending: text)
        let result = try BinaryRunner.run(["--home", root, "status"])
        #expect(result.status == 78, "\(result.stderr)")
        #expect(result.stderr.contains("nightjar.conf:"), "\(result.stderr)")
        #expect(result.stderr.contains("the \(field) is not allowed"), "\(result.stderr)")
    }

    @Test func configNulBytesAndSizeAreRefusedWithTheLine() throws {
        let (parent, root) = try Self.workspace("conf-nul")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let path = root + "/nightjar.conf"
        let original = try String(contentsOfFile: path, encoding: .utf8)
        try original.replacingOccurrences(of: "name = \"Nightjar\"", with: "name = \"Night\u{0}jar\"").write(
            toFile: path, atomically: true, encoding: .utf8)
        let lineNumber = original.components(separatedBy: "\n").firstIndex { $0.hasPrefix("name = ") }! + 1
        var result = try BinaryRunner.run(["--home", root, "status"])
        #expect(result.status == 78)
        #expect(
            result.stderr.contains("nightjar.conf:\(lineNumber):14: the value of `name` contains a NUL byte"),
            "\(result.stderr)")
        try (original + String(repeating: "# padding to over a mebibyte\n", count: 40_000)).write(
            toFile: path, atomically: true, encoding: .utf8)
        result = try BinaryRunner.run(["--home", root, "status"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("more than the 1 MiB a workspace config may be"), "\(result.stderr)")
    }

    // MARK: Caps and memory

    /// The peak memory a command reports at `--log-level debug` (its own VmHWM), in KiB.
    static func peakKiB(_ result: BinaryRunner.Result) throws -> Int {
        let line = try #require(result.stderr.split(separator: "\n").first { $0.contains("peak memory ") })
        let number = line.split(separator: " ").drop { $0 != "memory" }.dropFirst().first ?? ""
        return try #require(Int(number))
    }

    @Test func aTenMebibyteDefinitionProfileAndRulesFileAreRefusedWithinTwoHundredMebibytes() throws {
        let (parent, root) = try Self.workspace("caps")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let line = "  log \"" + String(repeating: "x", count: 90) + "\"\n"
        let definition = BoundedText.make(
            header: "portal sandbox-html-portal \"N\"\norigin main \"https://n.example\"\nlogin {\n", line: line,
            footer: "}\nremittances {\n  download get \"/f\" kind remittance\n}\n", bytes: 10 * 1024 * 1024)
        try definition.write(toFile: parent + "/big.scraper", atomically: false, encoding: .utf8)
        var result = try BinaryRunner.run(["--log-level", "debug", "scraper", "check", parent + "/big.scraper"])
        #expect(result.status == 65)
        #expect(
            result.stderr.contains("more than the 1 MiB a scraper definition may be"), "\(result.stderr.prefix(500))")
        #expect(try Self.peakKiB(result) < 200 * 1024)

        let profile = BoundedText.make(
            header: "name = big\nformat = csv\n[columns]\n", line: "# " + String(repeating: "p", count: 90) + "\n",
            footer: "reference = \"Invoice\"\namount_paid = \"Paid\"\n", bytes: 10 * 1024 * 1024)
        try profile.write(toFile: parent + "/big.profile", atomically: false, encoding: .utf8)
        result = try BinaryRunner.run(["--log-level", "debug", "profile", "check", parent + "/big.profile"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("more than the 1 MiB a profile may be"), "\(result.stderr.prefix(500))")
        #expect(try Self.peakKiB(result) < 200 * 1024)

        try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
        let rules = BoundedText.make(
            header: "", line: "# " + String(repeating: "r", count: 90) + "\n", footer: "write_off_amount = 1.00\n",
            bytes: 10 * 1024 * 1024)
        try rules.write(toFile: root + "/rules/acme.rules", atomically: false, encoding: .utf8)
        result = try BinaryRunner.run(["--home", root, "--log-level", "debug", "rules", "show", "--client", "acme"])
        #expect(result.status == 65)
        #expect(result.stderr.contains("more than the 1 MiB a rules file may be"), "\(result.stderr.prefix(500))")
        #expect(try Self.peakKiB(result) < 200 * 1024)
    }

    /// The worst input under each cap: a mebibyte of the smallest pieces each language has. Each
    /// parser's memory grows with its input alone, and stays under 200 MiB at the cap.
    @Test(arguments: [
        ("scraper", "list"), ("scraper", "steps"), ("scraper", "interpolations"), ("profile", "tokens"),
        ("rules", "lines"), ("config", "lines"),
    ])
    func eachLanguagesWorstInputUnderItsCapStaysUnderTwoHundredMebibytes(language: String, shape: String) throws {
        let (parent, root) = try Self.workspace("worst-\(language)-\(shape)")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let cap = 1024 * 1024
        let result: BinaryRunner.Result
        switch (language, shape) {
        case ("scraper", _):
            let header =
                "portal sandbox-html-portal \"N\"\norigin main \"https://n.example\"\nremittances {\n  download get \"/f\" kind remittance\n}\nlogin {\n"
            let text: String
            switch shape {
            case "list": text = BoundedText.make(header: header + "log [", line: "1,", footer: "1]\n}\n", bytes: cap)
            case "steps": text = BoundedText.make(header: header, line: "log x\n", footer: "}\n", bytes: cap)
            default: text = BoundedText.make(header: header + "log \"", line: "${a}", footer: "\"\n}\n", bytes: cap)
            }
            try text.write(toFile: parent + "/worst.scraper", atomically: false, encoding: .utf8)
            result = try BinaryRunner.run(["--log-level", "debug", "scraper", "check", parent + "/worst.scraper"])
        case ("profile", _):
            let text = BoundedText.make(
                header: "name = worst\nformat = csv\n[columns]\nreference = \"Invoice\"\namount_paid = ",
                line: "\"P\" ", footer: "\n", bytes: cap)
            try text.write(toFile: parent + "/worst.profile", atomically: false, encoding: .utf8)
            result = try BinaryRunner.run(["--log-level", "debug", "profile", "check", parent + "/worst.profile"])
        case ("rules", _):
            try FileManager.default.createDirectory(atPath: root + "/rules", withIntermediateDirectories: true)
            let text = BoundedText.make(header: "", line: "reason.A = promotion\n", footer: "", bytes: cap)
            try text.write(toFile: root + "/rules/acme.rules", atomically: false, encoding: .utf8)
            result = try BinaryRunner.run(["--home", root, "--log-level", "debug", "rules", "show", "--client", "acme"])
        default:
            let original = try String(contentsOfFile: root + "/nightjar.conf", encoding: .utf8)
            let text = BoundedText.make(
                header: original + "\n[origins]\n", line: "n = \"https://n.example\"\n", footer: "", bytes: cap)
            try text.write(toFile: root + "/nightjar.conf", atomically: false, encoding: .utf8)
            result = try BinaryRunner.run(["--home", root, "--log-level", "debug", "status"])
        }
        #expect(
            [0, 65, 78].contains(result.status), "\(language) \(shape): \(result.status) \(result.stderr.prefix(300))")
        #expect(!result.stderr.contains("more than the 1 MiB"), "the input is under the cap")
        let peak = try Self.peakKiB(result)
        #expect(peak < 200 * 1024, "\(language) \(shape): \(peak) KiB")
    }
}

/// Text of exactly `bytes` bytes (or just under): a header, a line repeated, a footer.
enum BoundedText {
    static func make(header: String, line: String, footer: String, bytes: Int) -> String {
        let room = bytes - header.utf8.count - footer.utf8.count
        return header + String(repeating: line, count: max(0, room / line.utf8.count)) + footer
    }
}
