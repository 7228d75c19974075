import Foundation
import NightjarCore
import NightjarCrypto
import Testing

@_spi(Testing) @testable import NightjarVault

/// The upgrade from format 1, tested on a vault written by the format-1 code (committed in
/// Fixtures/vault-v1 with its passphrases): an admin reviews the list and signs it, and everyone
/// keeps exactly the access they had.
@Suite("Vault: upgrade from format 1")
struct UpgradeTests {
    struct Fixture {
        let vault: TestVault
        let keyPath: String
        let description: [String: Any]

        init(_ label: String) throws {
            vault = TestVault(label)
            let source = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(
                "vault-v1"
            ).path
            for (name, target) in [
                ("nightjar.vault", vault.paths.vault), ("audit.log", vault.paths.audit),
                ("vault-state", vault.paths.state),
                ("night.key", vault.folder + "/night.key"),
            ] {
                try FileManager.default.copyItem(atPath: source + "/" + name, toPath: target)
                chmod(target, 0o600)
            }
            chmod(vault.folder, 0o700)
            keyPath = vault.folder + "/night.key"
            description =
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source + "/fixture.json")))
                as! [String: Any]
        }

        func passphrase(_ name: String) -> UnlockMethod {
            .passphrase(name: name, SecretBytes(utf8: (description["passphrases"] as! [String: String])[name]!))
        }

        var secrets: [String: String] { description["secrets"] as! [String: String] }
        var approved: [String: String] { description["approved"] as! [String: String] }
        var recovery: UnlockMethod {
            get throws {
                .recovery(try RecoveryKeyText.parse(SecretBytes(utf8: description["recovery_key"] as! String)))
            }
        }
    }

    @Test func aFormatOneVaultIsRefusedUntilAnAdminUpgradesItAfterReviewingTheList() throws {
        let fixture = try Fixture("upgrade")
        defer { fixture.vault.remove() }
        let paths = fixture.vault.paths
        let before = fixture.vault.bytes()
        // Format 1 is not opened: its authority is not signed.
        #expect(throws: VaultError.formatOutdated(version: 1)) {
            try Vault.open(paths: paths, as: fixture.passphrase("alice"))
        }
        #expect(throws: VaultError.formatOutdated(version: 1)) {
            try Vault.open(paths: paths, as: .automationKey(try AutomationKey.load(path: fixture.keyPath)))
        }
        // Only an admin upgrades.
        #expect(throws: VaultError.roleRequired(principal: "bob", role: .admin)) {
            try Vault.upgrade(paths: paths, as: fixture.passphrase("bob")) { _ in true }
        }
        // Declining writes nothing.
        var shown: VaultUpgradePlan?
        let declined = try Vault.upgrade(paths: paths, as: fixture.passphrase("alice")) { plan in
            shown = plan
            return false
        }
        #expect(declined == nil)
        #expect(fixture.vault.bytes() == before)
        let text = shown!.lines.joined(separator: "\n")
        for expected in [
            "alice", "admin, operator, run-integrations", "bob", "operator, run-integrations", "carol", "reviewer",
            "reviews all clients", "night", "all clients, now and later", "northwind", fixture.approved["northwind"]!,
            "globex/tailspin", "Not yet bound to the root",
        ] {
            #expect(text.contains(expected), "the list lacks \(expected):\n\(text)")
        }
        #expect(shown!.warnings.isEmpty, "\(shown!.warnings)")

        // Signed, with the night's key file rewritten to carry the root.
        let result = try #require(
            try Vault.upgrade(paths: paths, as: fixture.passphrase("alice"), automationKeyFiles: [fixture.keyPath]) {
                _ in true
            })
        #expect(result.sealedKeyFiles == [fixture.keyPath])
        #expect(Set(result.awaitingRoot) == ["bob", "carol", "recovery"])
        #expect(try AutomationKey.load(path: fixture.keyPath).carriesRoot)

        let alice = try Vault.open(paths: paths, as: fixture.passphrase("alice"))
        let principals = Dictionary(uniqueKeysWithValues: alice.principals().map { ($0.name, $0) })
        #expect(principals["alice"]?.roles == [.admin, .operator, .runIntegrations])
        #expect(principals["bob"]?.roles == [.operator, .runIntegrations])
        #expect(principals["bob"]?.clients == ["acme"])
        #expect(principals["carol"]?.roles == [.reviewer] && principals["carol"]?.clients == [])
        #expect(principals["night"]?.clients == ["acme", "globex"])
        #expect(principals["bob"]?.awaitingRoot == true && principals["night"]?.awaitingRoot == false)
        for (name, secret) in fixture.secrets {
            let credential = try alice.credential(try CredentialName(parsing: name), purpose: .inspect)
            #expect(credential.password?.unsafeUTF8String() == secret)
        }
        #expect(try alice.credential(client: "acme", portal: "northwind", purpose: .inspect).totp != nil)
        #expect(
            try alice.credential(client: "acme", portal: "northwind", purpose: .inspect).extra["customer_number"]?
                .unsafeUTF8String() == "C-99812")
        #expect(alice.isApproved(portal: "northwind", sha256: fixture.approved["northwind"]!))
        #expect(Set(alice.rotationMarks.map(\.entry)) == ["globex/tailspin", "globex/northwind"])
        #expect(try alice.access(client: "acme") == ["alice", "bob", "night", "recovery"])
        #expect(alice.authorityRecords().first?.operations.first?.contains("upgraded from format 1") == true)
        // The format-1 audit log goes on, with the upgrade in it, and still verifies.
        let (count, _) = try alice.verifyAudit()
        #expect(count > 14)
        #expect(try alice.auditRecords().contains { $0.action == "upgrade" && $0.principal == "alice" })

        // Each principal's next unlock seals the root into its keys.
        let bob = try Vault.open(paths: paths, as: fixture.passphrase("bob"))
        #expect(bob.accessibleClients == ["acme"])
        #expect(throws: VaultError.notGranted(principal: "bob", client: "globex")) {
            try bob.credential(client: "globex", portal: "tailspin", purpose: .inspect)
        }
        let carol = try Vault.open(paths: paths, as: fixture.passphrase("carol"))
        #expect(carol.reviewScope.approvesAllClients && !carol.reviewScope.mayReverse)
        #expect(try Vault.open(paths: paths, as: try fixture.recovery).accessibleClients == ["acme", "globex"])
        let after = Dictionary(
            uniqueKeysWithValues: try Vault.open(paths: paths, as: fixture.passphrase("alice")).principals().map {
                ($0.name, $0)
            })
        #expect(after.values.allSatisfy { !$0.awaitingRoot }, "\(after.values.filter(\.awaitingRoot).map(\.name))")
        let night = try Vault.open(paths: paths, as: .automationKey(try AutomationKey.load(path: fixture.keyPath)))
        #expect(night.warnings.isEmpty)
        #expect(try night.credentials(try night.list().map(\.name), purpose: .use(run: "test")).count == 3)
        #expect(throws: Never.self) { try night.verifyAuthority() }
    }

    @Test func afterTheUpgradeAChainReplacedUnderAnotherKeyIsRefusedByThoseWhoSealedTheRoot() throws {
        let fixture = try Fixture("upgrade-replace")
        defer { fixture.vault.remove() }
        let paths = fixture.vault.paths
        _ = try Vault.upgrade(paths: paths, as: fixture.passphrase("alice"), automationKeyFiles: [fixture.keyPath]) {
            _ in true
        }
        _ = try Vault.open(paths: paths, as: fixture.passphrase("bob"))
        // carol replaces the chain with one she roots, keeping alice's and bob's keys.
        let carol = try Vault.open(paths: paths, as: fixture.passphrase("carol"), auditUnlock: false)
        let real = carol.committed
        var operations = [
            AuthorityOperation(
                .genesis, principal: carol.actorID, vaultID: carol.body.header.vaultID, recovery: real.recoveryID!)
        ]
        for id in [carol.actorID, real.recoveryID!]
            + real.principalOrder.filter({ $0 != carol.actorID && $0 != real.recoveryID })
        {
            let principal = real.principals[id]!
            operations.append(
                AuthorityOperation(
                    .principalAdd, principal: id, name: principal.name, kind: principal.kind,
                    exchangeKey: principal.exchangeKey, signingKey: principal.signingKey,
                    roles: id == carol.actorID ? [.admin] : principal.sortedRoles,
                    allClients: principal.kind == .automation ? true : nil))
        }
        var forged = AuthorityState(vaultID: carol.body.header.vaultID)
        let entry = try InsiderTests.record(
            after: forged, signer: carol.actorID, signingKey: carol.keys.signing, operations)
        try forged.append(
            try JSONDecoder().decode(AuthorityRecord.self, from: Data(entry.payload)), payload: entry.payload,
            signature: entry.signature)
        var body = carol.body
        body.chain = [entry]
        body.clients = []
        fixture.vault.write(try VaultFile.serialize(body, vaultKey: carol.vaultKey))
        try VaultState.advance(
            paths: paths,
            observation: VaultState.Observation(
                vaultID: body.header.vaultID, generation: body.header.generation, chainCount: 1, chainHead: forged.head,
                audit: nil),
            signer: (carol.actorID, carol.keys.signing), vaultKey: carol.vaultKey, authority: forged, replacing: true)
        for (method, name) in [
            (fixture.passphrase("alice"), "alice"), (fixture.passphrase("bob"), "bob"),
            (UnlockMethod.automationKey(try AutomationKey.load(path: fixture.keyPath)), "night"),
        ] {
            #expect {
                try Vault.open(paths: paths, as: method)
            } throws: { error in
                (error as? VaultError)?.code == "vault.root_replaced"
            }
            #expect(try AuditLog.readAll(paths.audit).last?.principal == name)
        }
    }

    @Test func namesTheRuleRefusesAreListedWithTheRenameThatFixesThem() throws {
        let fixture = try Fixture("upgrade-rename")
        defer { fixture.vault.remove() }
        let paths = fixture.vault.paths
        // Rename a client by hand in the format-1 file, as format 1 allowed ("acme co" then "..").
        let alice = fixture.passphrase("alice")
        #expect {
            _ = try Vault.upgrade(paths: paths, as: alice, renames: ["client:acme": ".."]) { _ in true }
        } throws: { error in
            let message = (error as? VaultError)?.message ?? ""
            return message.contains("client \"..\" breaks the naming rule")
                && message.contains("--rename client:acme=NEW")
        }
        let result = try Vault.upgrade(
            paths: paths, as: alice, renames: ["client:acme": "acme-corp", "operator:bob": "robert"]
        ) { _ in true }
        #expect(result != nil)
        let vault = try Vault.open(paths: paths, as: alice)
        #expect(vault.accessibleClients == ["acme-corp", "globex"])
        #expect(
            try vault.credential(client: "acme-corp", portal: "northwind", purpose: .inspect).password?
                .unsafeUTF8String() == fixture.secrets["acme/northwind"])
        #expect(vault.principals().contains { $0.name == "robert" && $0.clients == ["acme-corp"] })
        #expect(
            try Vault.open(paths: paths, as: .passphrase(name: "robert", SecretBytes(utf8: "bob-fixture-passphrase")))
                .accessibleClients == ["acme-corp"])
    }
}
