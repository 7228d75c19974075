import Foundation
import NightjarCore
import Testing

/// The signed authority from the command line: upgrading a format-1 vault, the rollback state,
/// review grants, roles, recipients, logins per client, and names at the door.
@Suite("nightjar vault: authority", .serialized)
struct VaultAuthorityCommandTests {
    static let fixture = ScraperCommandTests.repository + "/Tests/NightjarVaultTests/Fixtures/vault-v1"
    static let alice = "alice-fixture-passphrase"

    struct Workspace {
        let parent = BinaryRunner.temporaryFolder("vaultauth")
        var root: String { parent + "/ws" }
        var keyFile: String { parent + "/night.key" }

        func run(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
            try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
        }

        func asAlice(_ arguments: [String], _ more: String = "") throws -> BinaryRunner.Result {
            try run(
                arguments + ["--as", "alice", "--passphrase-stdin"],
                stdin: VaultAuthorityCommandTests.alice + "\n" + more)
        }

        /// A workspace holding the format-1 fixture.
        static func withFormatOneVault() throws -> Workspace {
            let workspace = Workspace()
            #expect(try BinaryRunner.run(["init", workspace.root]).status == 0)
            for (name, target) in [
                ("nightjar.vault", workspace.root + "/vault/nightjar.vault"),
                ("audit.log", workspace.root + "/vault/audit.log"),
                ("vault-state", workspace.root + "/data/vault-state"), ("night.key", workspace.keyFile),
            ] {
                try FileManager.default.copyItem(
                    atPath: VaultAuthorityCommandTests.fixture + "/" + name, toPath: target)
                chmod(target, 0o600)
            }
            return workspace
        }

        func remove() { try? FileManager.default.removeItem(atPath: parent) }
    }

    @Test func anAdminUpgradesAFormatOneVaultAfterReadingWhatSheSigns() throws {
        let workspace = try Workspace.withFormatOneVault()
        defer { workspace.remove() }
        var result = try workspace.run(["vault", "list", "--key-file", workspace.keyFile])
        #expect(result.status == 78)
        #expect(
            result.stderr.contains("format 1") && result.stderr.contains("nightjar vault upgrade --as ADMIN"),
            "\(result.stderr)")
        let before = FileManager.default.contents(atPath: workspace.root + "/vault/nightjar.vault")
        result = try workspace.asAlice(["vault", "upgrade", "--plan"])
        #expect(result.status == 0, "\(result.stderr)")
        for line in ["carol", "reviews all clients", "night", "northwind", "Who can read each client's credentials"] {
            #expect(result.stdout.contains(line), "\(line)")
        }
        #expect(FileManager.default.contents(atPath: workspace.root + "/vault/nightjar.vault") == before)
        // Anything but "sign" leaves it alone.
        result = try workspace.asAlice(["vault", "upgrade"], "no\n")
        #expect(result.stdout.contains("Not signed"))
        #expect(FileManager.default.contents(atPath: workspace.root + "/vault/nightjar.vault") == before)
        result = try workspace.asAlice(["vault", "upgrade", "--key-file", workspace.keyFile], "sign\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Upgraded") && result.stdout.contains("bob"))
        result = try workspace.run(["vault", "list", "--key-file", workspace.keyFile])
        #expect(result.status == 0 && result.stdout.contains("globex/tailspin"), "\(result.stderr)")
        result = try workspace.asAlice(["vault", "authority"])
        #expect(
            result.stdout.contains("vault upgraded from format 1")
                && result.stdout.contains("approve scraper northwind"))
        result = try workspace.asAlice(["vault", "audit", "--verify"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func aMissingRollbackStateStopsTheNightUntilAnAdminAcceptsTheVault() throws {
        let workspace = Workspace()
        defer { workspace.remove() }
        #expect(try BinaryRunner.run(["init", workspace.root]).status == 0)
        let alice = VaultAuthorityCommandTests.alice
        #expect(
            try workspace.run(["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: alice + "\n").status
                == 0)
        #expect(
            try workspace.asAlice(
                [
                    "vault", "add", "acme/sandbox-html-portal", "--password-stdin", "--origin",
                    "https://suppliers.sandbox-html-portal.example",
                ], "pw-acme-1\n"
            ).status == 0)
        #expect(
            try workspace.asAlice(["vault", "automation-key", "create", workspace.keyFile, "--all-clients"]).status == 0
        )
        try FileManager.default.removeItem(atPath: workspace.root + "/data/vault-state")
        for arguments in [
            ["vault", "list", "--key-file", workspace.keyFile], ["run", "--key-file", workspace.keyFile],
        ] {
            let result = try workspace.run(arguments)
            #expect(result.status == 77, "\(arguments): \(result.stderr)")
            #expect(
                result.stderr.contains("rollback state") && result.stderr.contains("is missing")
                    && result.stderr.contains("accept-rollback"))
        }
        #expect(!FileManager.default.fileExists(atPath: workspace.root + "/data/vault-state"))
        var result = try workspace.asAlice(["vault", "accept-rollback"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("missing"))
        result = try workspace.run(["vault", "list", "--key-file", workspace.keyFile])
        #expect(result.status == 0 && result.stdout.contains("acme/sandbox-html-portal"))
        result = try workspace.asAlice(["vault", "audit"])
        #expect(result.stdout.contains("refused") && result.stdout.contains("accept-rollback"))
    }

    @Test func reviewGrantsRolesRecipientsAndLoginsPerClientFromTheCommandLine() throws {
        let workspace = Workspace()
        defer { workspace.remove() }
        #expect(try BinaryRunner.run(["init", workspace.root]).status == 0)
        let alice = VaultAuthorityCommandTests.alice
        #expect(
            try workspace.run(["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: alice + "\n").status
                == 0)
        // One file, three clients, two logins of acme at sandbox-html-portal.
        let csv = """
            client,portal,label,username,password,origins,username_is_secret
            acme,sandbox-html-portal,,ap@acme.example,pw-acme-nw-1,https://suppliers.sandbox-html-portal.example,no
            acme,sandbox-html-portal,vendor-2,ap2@acme.example,pw-acme-nw-2,https://suppliers.sandbox-html-portal.example,yes
            globex,sandbox-json-api,,ar@globex.example,pw-globex-1,https://portal.sandbox-json-api.example,
            initech,sandbox-json-api,,ar@initech.example,pw-initech-1,https://portal.sandbox-json-api.example,
            """
        var result = try workspace.asAlice(["vault", "import", "-"], csv + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Imported 4 credential(s) for 3 clients"))
        result = try workspace.asAlice(["vault", "list", "--json"])
        #expect(
            result.stdout.contains("\"label\" : \"vendor-2\"")
                && result.stdout.contains("\"username_is_secret\" : true"))
        result = try workspace.asAlice(["vault", "show", "acme/sandbox-html-portal/vendor-2"])
        #expect(result.stdout.contains("******** (secret)") && !result.stdout.contains("ap2@acme.example"))
        // A reviewer of acme only, a viewer of every client.
        #expect(
            try workspace.run(
                ["vault", "operator", "add", "carol", "--role", "reviewer", "--as", "alice", "--passphrase-stdin"],
                stdin: "\(alice)\ncarol-passphrase-1\n"
            ).status == 0)
        #expect(
            try workspace.run(
                ["vault", "operator", "add", "dana", "--role", "operator", "--as", "alice", "--passphrase-stdin"],
                stdin: "\(alice)\ndana-passphrase-1\n"
            ).status == 0)
        #expect(try workspace.asAlice(["vault", "review", "grant", "carol", "acme"]).status == 0)
        result = try workspace.asAlice(["vault", "review", "grant", "dana", "--all-clients"])
        #expect(result.status == 65 && result.stderr.contains("neither the reviewer nor the viewer role"))
        #expect(try workspace.asAlice(["vault", "role", "grant", "dana", "viewer"]).status == 0)
        #expect(try workspace.asAlice(["vault", "review", "grant", "dana", "--all-clients"]).status == 0)
        result = try workspace.run(
            ["vault", "review", "scope", "--json", "--as", "carol", "--passphrase-stdin"], stdin: "carol-passphrase-1\n"
        )
        #expect(
            result.stdout.contains("\"approvable_clients\" : [\n    \"acme\"\n  ]")
                && result.stdout.contains("\"may_reverse\" : false"), "\(result.stdout)")
        result = try workspace.asAlice(["vault", "review", "scope", "dana", "--json"])
        #expect(
            result.stdout.contains("\"reads_all_clients\" : true")
                && result.stdout.contains("\"approves_all_clients\" : false"))
        result = try workspace.run(
            ["vault", "review", "grant", "carol", "globex", "--as", "carol", "--passphrase-stdin"],
            stdin: "carol-passphrase-1\n")
        #expect(result.status == 77)
        // Report recipients, per client, approved by an admin.
        #expect(try workspace.asAlice(["vault", "recipient", "add", "acme", "ar@acme.example"]).status == 0)
        result = try workspace.asAlice(["vault", "recipient", "add", "acme", "not-an-address"])
        #expect(result.status == 65)
        result = try workspace.asAlice(["vault", "recipient", "list", "--json"])
        #expect(
            result.stdout.contains("\"address\" : \"ar@acme.example\"")
                && result.stdout.contains("\"approved_by\" : \"alice\""))
        // A passphrase file checked like a key file.
        let passphraseFile = workspace.parent + "/alice.pass"
        _ = FileManager.default.createFile(
            atPath: passphraseFile, contents: Data((alice + "\n").utf8), attributes: [.posixPermissions: 0o644])
        result = try workspace.run(["vault", "list", "--as", "alice", "--passphrase-file", passphraseFile])
        #expect(result.status == 77 && result.stderr.contains("chmod 600"))
        chmod(passphraseFile, 0o600)
        result = try workspace.run(["vault", "list", "--as", "alice", "--passphrase-file", passphraseFile])
        #expect(result.status == 0 && result.stdout.contains("acme/sandbox-html-portal/vendor-2"), "\(result.stderr)")
        result = try workspace.asAlice(["vault", "authority"])
        for operation in [
            "add client initech", "let carol review acme", "grant role viewer to dana",
            "approve ar@acme.example for acme's reports",
        ] {
            #expect(result.stdout.contains(operation), "\(operation)\n\(result.stdout)")
        }
    }

    /// Every vault command that takes a name refuses one the identifier rule refuses, naming the field.
    @Test(arguments: ["..", "a/b", "acme%2F.."])
    func everyVaultCommandThatTakesANameRefusesABadOne(name: String) throws {
        let workspace = Workspace()
        defer { workspace.remove() }
        #expect(try BinaryRunner.run(["init", workspace.root]).status == 0)
        let alice = VaultAuthorityCommandTests.alice
        #expect(
            try workspace.run(["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: alice + "\n").status
                == 0)
        // (A name with a slash in CLIENT/PORTAL only splits into other parts; those are checked in turn.)
        let positional: [([String], String)] =
            name.contains("/")
            ? []
            : [
                (["vault", "add", "\(name)/sandbox-html-portal", "--password-stdin"], "pw-1234567\n"),
                (["vault", "add", "acme/\(name)", "--password-stdin"], "pw-1234567\n"),
            ]
        let commands: [([String], String)] =
            positional + [
                (["vault", "add", "acme/sandbox-html-portal/\(name)", "--password-stdin"], "pw-1234567\n"),
                (["vault", "import", "-", "--client", name], "portal,password\nsandbox-html-portal,pw-1234567\n"),
                (["vault", "import", "-"], "client,portal,password\n\(name),sandbox-html-portal,pw-1234567\n"),
                (
                    ["vault", "import", "-", "--client", "acme"],
                    "portal,password\n\(name.replacingOccurrences(of: " ", with: "/")),pw-1234567\n"
                ),
                (["vault", "operator", "add", name, "--role", "viewer"], "new-passphrase-1\n"),
                (
                    [
                        "vault", "automation-key", "create", workspace.parent + "/k.key", "--all-clients", "--name",
                        name,
                    ], ""
                ),
                (["vault", "review", "grant", "alice", name], ""),
                (["vault", "recipient", "add", name, "ar@acme.example"], ""),
                (["profile", "approve", name], ""),
                (["rules", "approve", name], ""),
            ]
        for (arguments, more) in commands {
            let result = try workspace.asAlice(arguments, more)
            #expect(result.status == 65 || result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
            #expect(
                result.stderr.contains("is not allowed") || result.stderr.contains("not a credential name")
                    || result.stderr.contains("CLIENT/PORTAL")
                    || result.stderr.contains("is not a ."),
                "\(arguments): \(result.stderr)")
        }
        let list = try workspace.asAlice(["vault", "list"])
        #expect(list.stdout.contains("No credentials"))
    }
}
