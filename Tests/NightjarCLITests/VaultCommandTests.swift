import Foundation
import NightjarCore
import Testing

/// The vault from the command line, as an operator would use it, with the real KDF parameters.
@Suite("nightjar vault", .serialized)
struct VaultCommandTests {
    let parent = BinaryRunner.temporaryFolder("vaultcli")
    var root: String { parent + "/ws" }

    func run(_ arguments: [String], stdin: String = "", env: [String: String] = [:]) throws -> BinaryRunner.Result {
        try BinaryRunner.run(["--home", root] + arguments, stdin: stdin, environment: env)
    }

    @Test func anOperatorManagesTwoClientsFromTheCommandLine() throws {
        defer { try? FileManager.default.removeItem(atPath: parent) }
        #expect(try BinaryRunner.run(["init", root]).status == 0)
        let alice = "alice-Passphrase é&<"
        let created = try run(["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: alice + "\n")
        #expect(created.status == 0, "\(created.stderr)")
        let recoveryLine = created.stdout.split(separator: "\n").first { $0.contains("-") && $0.hasPrefix("    ") }
        #expect(recoveryLine != nil)

        let asAlice = ["--as", "alice", "--passphrase-stdin"]
        var result = try run(
            [
                "vault", "add", "acme/sandbox-html-portal", "--username", "ap@acme.example", "--password-stdin",
                "--totp",
                "--field", "customer_number", "--origin", "https://suppliers.sandbox-html-portal.example", "--expires",
                "2026-12-01",
            ] + asAlice,
            stdin: "\(alice)\nCanary-Pw/+%\"<&é x\nJBSWY3DPEHPK3PXP\nC-99812\n")
        #expect(result.status == 0, "\(result.stderr)")
        result = try run(
            ["vault", "import", "-", "--client", "globex"] + asAlice,
            stdin:
                "\(alice)\nportal,username,password,origins\nsandbox-json-api,ar@globex,globex-secret-pw,https://portal.sandbox-json-api.example\n"
        )
        #expect(result.status == 0, "\(result.stderr)")

        result = try run(["vault", "list", "--json"] + asAlice, stdin: alice + "\n")
        #expect(result.status == 0)
        #expect(result.stdout.contains("acme") && result.stdout.contains("sandbox-json-api"))
        #expect(!result.stdout.contains("Canary-Pw") && !result.stdout.contains("globex-secret-pw"))
        result = try run(["vault", "list", "--expiring", "30000d"] + asAlice, stdin: alice + "\n")
        #expect(
            result.stdout.contains("acme/sandbox-html-portal") && !result.stdout.contains("globex/sandbox-json-api"))

        result = try run(["vault", "show", "acme/sandbox-html-portal"] + asAlice, stdin: alice + "\n")
        #expect(result.stdout.contains("********") && !result.stdout.contains("Canary-Pw"))
        result = try run(["vault", "show", "acme/sandbox-html-portal", "--reveal"] + asAlice, stdin: alice + "\n")
        #expect(result.stdout.contains("Canary-Pw/+%\"<&é x"))
        result = try run(["vault", "totp", "acme/sandbox-html-portal"] + asAlice, stdin: alice + "\n")
        #expect(result.status == 0)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).count == 6)

        result = try run(
            ["vault", "operator", "add", "bob", "--role", "operator"] + asAlice, stdin: "\(alice)\nbob-passphrase-1\n")
        #expect(result.status == 0, "\(result.stderr)")
        result = try run(["vault", "grant", "bob", "acme"] + asAlice, stdin: alice + "\n")
        #expect(result.status == 0)
        let asBob = ["--as", "bob", "--passphrase-stdin"]
        result = try run(["vault", "show", "globex/sandbox-json-api"] + asBob, stdin: "bob-passphrase-1\n")
        #expect(result.status == 77)
        result = try run(["vault", "revoke", "bob", "acme"] + asAlice, stdin: alice + "\n")
        #expect(result.stdout.contains("acme/sandbox-html-portal"))
        result = try run(["vault", "show", "acme/sandbox-html-portal"] + asBob, stdin: "bob-passphrase-1\n")
        #expect(result.status == 77)
        result = try run(
            ["vault", "rotate", "acme/sandbox-html-portal", "--password-stdin"] + asAlice,
            stdin: "\(alice)\nRotated-pw-2\n")
        #expect(result.status == 0, "\(result.stderr)")

        let keyFile = parent + "/night.key"
        result = try run(
            ["vault", "automation-key", "create", keyFile, "--all-clients"] + asAlice, stdin: alice + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        result = try run(["vault", "list"], env: ["NIGHTJAR_VAULT_KEY_FILE": keyFile])
        #expect(result.status == 0 && result.stdout.contains("globex/sandbox-json-api"), "\(result.stderr)")
        chmod(keyFile, 0o640)
        result = try run(["vault", "list", "--key-file", keyFile])
        #expect(result.status == 77)
        #expect(result.stderr.contains("chmod 600"))

        result = try run(["vault", "access", "--client", "acme", "--json"] + asAlice, stdin: alice + "\n")
        #expect(result.stdout.contains("alice") && !result.stdout.contains("bob"))
        result = try run(["vault", "audit", "--verify"] + asAlice, stdin: alice + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        result = try run(["vault", "audit", "--client", "acme"] + asAlice, stdin: alice + "\n")
        for action in ["reveal", "totp", "grant", "revoke", "rotate"] { #expect(result.stdout.contains(action)) }

        result = try run(
            ["vault", "show", "acme/sandbox-html-portal"] + ["--as", "alice", "--passphrase-stdin"],
            stdin: "wrong passphrase\n")
        #expect(result.status == 77)
        #expect(result.stderr.contains("wrong passphrase"))

        // No secret reached any file in the workspace but the encrypted vault.
        let enumerator = FileManager.default.enumerator(atPath: root)!
        while let relative = enumerator.nextObject() as? String {
            guard let data = FileManager.default.contents(atPath: root + "/" + relative) else { continue }
            let text = String(decoding: data, as: UTF8.self)
            for secret in ["Canary-Pw", "globex-secret-pw", "Rotated-pw-2", alice, "bob-passphrase-1", "C-99812"] {
                #expect(!text.contains(secret), "\(relative) contains \(secret)")
            }
        }
    }
}
