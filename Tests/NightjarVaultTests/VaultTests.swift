import Foundation
import NightjarCore
import NightjarCrypto
import Testing

@_spi(Testing) @testable import NightjarVault

@Suite("Vault")
struct VaultTests {
    @Test func storesAndReadsCredentialsWithTheirOrigins() throws {
        let vault = TestVault("basic")
        defer { vault.remove() }
        try vault.populate()
        let opened = try Vault.open(paths: vault.paths, as: vault.admin)
        let credential = try opened.credential(client: "acme", portal: "sandbox-html-portal", purpose: .use(run: "r1"))
        #expect(credential.password?.unsafeUTF8String() == "acme-sandbox-html-portal-pw")
        #expect(credential.extra["customer_number"]?.unsafeUTF8String() == "C-99812")
        #expect(credential.allowedOrigins.map(\.description) == ["https://suppliers.sandbox-html-portal.example:443"])
        #expect(Redactor.shared.containsSecret("x acme-sandbox-html-portal-pw y"))
        // RFC 6238 over the stored secret (JBSWY3DPEHPK3PXP = "Hello!\xde\xad\xbe\xef").
        #expect(credential.totp?.code(at: 59).count == 6)
        let list = try opened.list()
        #expect(list.map { "\($0.client)/\($0.portal)" } == ["acme/sandbox-html-portal", "globex/sandbox-json-api"])
        #expect(!String(decoding: vault.bytes(), as: UTF8.self).contains("acme-sandbox-html-portal-pw"))
        #expect(SecureFile.mode(of: vault.paths.vault) == 0o600)
    }

    /// A TOTP seed is masked on its own, not only inside its `otpauth://` text: a portal's
    /// enrolment page or API that echoes the seed (base32 in either case, base64 or hex of its
    /// bytes) never reaches a HAR file or a log in the clear.
    @Test func aTOTPSeedIsRedactedInEveryFormOnceItsCredentialIsRead() throws {
        let vault = TestVault("totp-seed")
        defer { vault.remove() }
        _ = try vault.populate()
        // Random, with a zero byte among them (a seed's bytes may hold any value).
        var seedBytes = (0..<20).map { _ in UInt8.random(in: 1...255) }
        seedBytes[7] = 0
        let seed = Base32.encode(SecretBytes(seedBytes))
        try Vault.update(paths: vault.paths, as: vault.admin) { opened in
            try opened.addEntry(
                client: "initech", portal: "sandbox-html-portal",
                CredentialInput(
                    username: SecretBytes(utf8: "ap@initech.example"), password: SecretBytes(utf8: "initech-pw-0001"),
                    totp: try TOTPSettings.parse(SecretBytes(utf8: seed.lowercased())),
                    allowedOrigins: [try Origin("https://suppliers.sandbox-html-portal.example")]))
        }
        let hex = seedBytes.map { String(format: "%02x", $0) }.joined()
        let forms = [
            seed, seed.lowercased(), Data(seedBytes).base64EncodedString(), hex, hex.uppercased(),
            "otpauth://totp/nightjar?secret=\(seed)",
        ]
        let page = forms.map { "<td>\($0)</td>" }.joined(separator: "\n")
        #expect(Redactor.shared.redact(page) == page)
        let opened = try Vault.open(paths: vault.paths, as: vault.admin)
        let credential = try opened.credential(
            client: "initech", portal: "sandbox-html-portal", purpose: .use(run: "r1"))
        #expect(credential.totp?.code(at: 59).count == 6)
        let redacted = Redactor.shared.redact(page)
        for form in forms { #expect(!redacted.contains(form), "\(form) is not masked") }
        #expect(redacted.components(separatedBy: "[REDACTED]").count - 1 >= forms.count)
        #expect(redacted.contains("<td>"))
    }

    @Test func wrongPassphraseAndDamagedFileAreDifferentErrors() throws {
        let vault = TestVault("errors")
        defer { vault.remove() }
        try vault.populate()
        #expect(throws: VaultError.wrongPassphrase(principal: "alice")) {
            try Vault.open(paths: vault.paths, as: .passphrase(name: "alice", SecretBytes(utf8: "not the passphrase")))
        }
        var bytes = vault.bytes()
        let marker = Array("\"writtenAt\":\"".utf8)
        let index = bytes.indices.first { Array(bytes[$0..<min(bytes.count, $0 + marker.count)]) == marker }!
        bytes[index + marker.count] =
            bytes[index + marker.count] == UInt8(ascii: "1") ? UInt8(ascii: "2") : UInt8(ascii: "1")
        vault.write(bytes)
        #expect {
            try Vault.open(paths: vault.paths, as: vault.admin)
        } throws: { error in
            (error as? VaultError)?.code == "vault.damaged"
        }
    }

    @Test func everyFlippedByteIsRefusedWithoutACrash() throws {
        let vault = TestVault("flip")
        defer { vault.remove() }
        _ = try Vault.create(paths: vault.paths, adminName: "alice", passphrase: TestVault.adminPassphrase)
        try Vault.update(paths: vault.paths, as: vault.admin) { vault in
            try vault.addEntry(client: "c", portal: "p", CredentialInput(password: SecretBytes(utf8: "pw-123456")))
        }
        let original = vault.bytes()
        var refused = 0
        // Every byte of the file, flipped in turn (one bit), must be refused.
        for index in original.indices {
            var bytes = original
            bytes[index] ^= 0x01
            vault.write(bytes)
            do {
                let opened = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false)
                _ = try opened.credential(client: "c", portal: "p", purpose: .inspect)
                Issue.record("byte \(index) flipped and still opened")
            } catch {
                refused += 1
            }
        }
        #expect(refused == original.count)
        // Truncation at every offset.
        for length in 0..<original.count {
            vault.write(Array(original[0..<length]))
            #expect(throws: (any Error).self) {
                try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false)
            }
        }
        vault.write(original)
        #expect(throws: Never.self) { try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false) }
    }

    @Test func entriesSwappedOrMovedAcrossClientsFail() throws {
        let vault = TestVault("swap")
        defer { vault.remove() }
        try vault.populate()
        let original = vault.bytes()
        // An insider holding the vault key (every principal does) re-MACs each edit: the
        // entries' own authenticated encryption must still refuse it.
        let opened = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false)
        let acme = opened.body.clients.firstIndex { $0.id == "acme" }!
        let globex = opened.body.clients.firstIndex { $0.id == "globex" }!
        // acme's sealed entries moved into globex's place.
        var body = opened.body
        body.clients[globex].sealed = body.clients[acme].sealed
        try VaultTamper.rewrite(vault, body: body, key: opened.vaultKey)
        #expect(throws: VaultError.self) {
            try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false).credential(
                client: "globex", portal: "sandbox-json-api", purpose: .inspect)
        }
        // An older sealed list of acme put back (its generation edited to match the file's).
        vault.write(original)
        let before = opened.body.clients[acme]
        try Vault.update(paths: vault.paths, as: vault.admin) { vault in
            try vault.editEntry(
                client: "acme", portal: "sandbox-html-portal",
                CredentialInput(password: SecretBytes(utf8: "changed-password-1")))
        }
        let changed = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false)
        body = changed.body
        let index = body.clients.firstIndex { $0.id == "acme" }!
        body.clients[index].sealed = before.sealed
        try VaultTamper.rewrite(vault, body: body, key: changed.vaultKey)
        #expect(throws: VaultError.self) {
            try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false).credential(
                client: "acme", portal: "sandbox-html-portal", purpose: .inspect)
        }
        // The current list with the generation it was sealed at edited.
        body = changed.body
        body.clients[index].sealedGeneration -= 1
        try VaultTamper.rewrite(vault, body: body, key: changed.vaultKey)
        #expect(throws: VaultError.self) {
            try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false).credential(
                client: "acme", portal: "sandbox-html-portal", purpose: .inspect)
        }
        // The key version changed alone.
        body = changed.body
        body.clients[index].keyVersion += 1
        try VaultTamper.rewrite(vault, body: body, key: changed.vaultKey)
        #expect(throws: VaultError.self) {
            try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false).credential(
                client: "acme", portal: "sandbox-html-portal", purpose: .inspect)
        }
    }

    @Test func anEntryAddedOrRemovedWithoutTheKeyIsCaught() throws {
        let vault = TestVault("addremove")
        defer { vault.remove() }
        try vault.populate()
        var body = try VaultFile.parse(vault.bytes())
        body.clients.removeLast()
        // Whoever holds no vault key can only guess the MAC.
        vault.write(try VaultFile.serialize(body, vaultKey: SecureRandom.secretBytes(32)))
        #expect {
            try Vault.open(paths: vault.paths, as: vault.admin)
        } throws: { error in
            (error as? VaultError)?.code == "vault.damaged"
        }
    }

    @Test func anOlderVaultFilePutBackIsRefusedNamingBothGenerations() throws {
        let vault = TestVault("rollback")
        defer { vault.remove() }
        try vault.populate()
        let old = vault.bytes()
        let oldGeneration = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false).generation
        try Vault.update(paths: vault.paths, as: vault.admin) { vault in
            try vault.editEntry(
                client: "acme", portal: "sandbox-html-portal",
                CredentialInput(password: SecretBytes(utf8: "new-password-1")))
        }
        vault.write(old)
        #expect(throws: VaultError.rollback(found: oldGeneration, expected: oldGeneration + 1)) {
            try Vault.open(paths: vault.paths, as: vault.admin)
        }
        // An admin can accept it knowingly; the acceptance is audited.
        let accepted = try Vault.acceptRollback(paths: vault.paths, as: vault.admin)
        #expect(accepted.generation == oldGeneration)
        #expect(accepted.problem?.contains("generation \(oldGeneration)") == true)
        let reopened = try Vault.open(paths: vault.paths, as: vault.admin)
        #expect(reopened.generation == oldGeneration)
        #expect(try reopened.auditRecords().contains { $0.action == "accept-rollback" })
    }

    @Test func anOperatorReadsOnlyGrantedClientsAndLosesTheKeyOnRevoke() throws {
        let vault = TestVault("tenants")
        defer { vault.remove() }
        try vault.populate()
        let bobPassphrase = SecretBytes(utf8: "bob's passphrase")
        let bob = UnlockMethod.passphrase(name: "bob", bobPassphrase)
        try Vault.update(paths: vault.paths, as: vault.admin) { vault in
            try vault.addOperator(name: "bob", roles: [.operator], passphrase: bobPassphrase)
            try vault.grant("bob", client: "acme")
        }
        let asBob = try Vault.open(paths: vault.paths, as: bob)
        #expect(asBob.accessibleClients == ["acme"])
        #expect(throws: VaultError.notGranted(principal: "bob", client: "globex")) {
            try asBob.credential(client: "globex", portal: "sandbox-json-api", purpose: .reveal)
        }
        // At the key level: no wrap of globex's key opens with bob's private key.
        #expect(asBob.clientKeys["globex"] == nil)
        let globex = asBob.body.clients.first { $0.id == "globex" }!
        for wrap in globex.wraps {
            #expect(throws: (any Error).self) {
                try VaultCrypto.unwrap(
                    wrap, with: asBob.keys.exchange, purpose: "client:globex:\(globex.keyVersion)",
                    vaultID: asBob.body.header.vaultID)
            }
        }
        let exposed = try Vault.update(paths: vault.paths, as: vault.admin) { try $0.revoke("bob", client: "acme") }
        #expect(exposed == ["acme/sandbox-html-portal"])
        let afterRevoke = try Vault.open(paths: vault.paths, as: bob)
        #expect(afterRevoke.accessibleClients.isEmpty)
        let acme = afterRevoke.body.clients.first { $0.id == "acme" }!
        #expect(acme.keyVersion == 2)
        for wrap in acme.wraps {
            #expect(throws: (any Error).self) {
                try VaultCrypto.unwrap(
                    wrap, with: afterRevoke.keys.exchange, purpose: "client:acme:\(acme.keyVersion)",
                    vaultID: afterRevoke.body.header.vaultID)
            }
        }
        // The admin still reads the re-encrypted entry, and it is marked for rotation.
        let admin = try Vault.open(paths: vault.paths, as: vault.admin)
        #expect(
            try admin.credential(client: "acme", portal: "sandbox-html-portal", purpose: .inspect).password?
                .unsafeUTF8String() == "acme-sandbox-html-portal-pw")
        #expect(admin.rotationMarks.map(\.portal) == ["sandbox-html-portal"])
        #expect(try admin.access(client: "acme") == ["alice", "recovery"])
    }

    @Test func reviewersNeverHoldClientKeysAndRolesAreEnforced() throws {
        let vault = TestVault("roles")
        defer { vault.remove() }
        try vault.populate()
        let carol = UnlockMethod.passphrase(name: "carol", SecretBytes(utf8: "carol passphrase"))
        try Vault.update(paths: vault.paths, as: vault.admin) { vault in
            try vault.addOperator(name: "carol", roles: [.reviewer], passphrase: SecretBytes(utf8: "carol passphrase"))
            #expect(throws: VaultError.self) { try vault.grant("carol", client: "acme") }
        }
        #expect(throws: VaultError.roleRequired(principal: "carol", role: .admin)) {
            try Vault.update(paths: vault.paths, as: carol) { try $0.grant("carol", client: "acme") }
        }
        #expect(try Vault.open(paths: vault.paths, as: carol).accessibleClients.isEmpty)
    }

    @Test func recoveryKeyOpensEveryClientWhenAdminPassphrasesAreLost() throws {
        let vault = TestVault("recovery")
        defer { vault.remove() }
        let recovery = try vault.populate()
        let text = RecoveryKeyText.format(recovery)
        let opened = try Vault.open(
            paths: vault.paths, as: .recovery(try RecoveryKeyText.parse(SecretBytes(utf8: text))))
        #expect(opened.accessibleClients == ["acme", "globex"])
        #expect(throws: VaultError.self) {
            try Vault.open(paths: vault.paths, as: .recovery(SecureRandom.secretBytes(32)))
        }
    }

    @Test func automationKeyFileOpensItsClientsAndIsRefusedWhenReadableByOthers() throws {
        let vault = TestVault("automation")
        defer { vault.remove() }
        try vault.populate()
        let keyPath = vault.folder + "/night.key"
        try Vault.update(paths: vault.paths, as: vault.admin) { vault in
            try vault.createAutomationKey(name: "night", clients: ["acme"]).write(to: keyPath)
        }
        #expect(SecureFile.mode(of: keyPath) == 0o600)
        let opened = try Vault.open(paths: vault.paths, as: .automationKey(try AutomationKey.load(path: keyPath)))
        #expect(opened.accessibleClients == ["acme"])
        chmod(keyPath, 0o644)
        #expect(throws: VaultError.self) { try AutomationKey.load(path: keyPath) }
        #expect(AutomationKey.locate(explicit: nil, environment: ["NIGHTJAR_VAULT_KEY_FILE": keyPath]) == keyPath)
        #expect(AutomationKey.locate(explicit: nil, environment: ["CREDENTIALS_DIRECTORY": "/nonexistent"]) == nil)
    }

    @Test func theAuditChainDetectsEditsRemovalsAndCutOffs() throws {
        let vault = TestVault("audit")
        defer { vault.remove() }
        try vault.populate()
        let opened = try Vault.open(paths: vault.paths, as: vault.admin)
        _ = try opened.credential(client: "acme", portal: "sandbox-html-portal", purpose: .reveal)
        _ = try opened.credential(client: "acme", portal: "sandbox-html-portal", purpose: .totp)
        let (count, _) = try opened.verifyAudit()
        #expect(count >= 6)
        let actions = try opened.auditRecords().map(\.action)
        #expect(actions.contains("reveal") && actions.contains("totp") && actions.contains("unlock"))
        let log = try String(contentsOfFile: vault.paths.audit, encoding: .utf8)
        #expect(!log.contains("acme-sandbox-html-portal-pw"))
        var lines = log.split(separator: "\n").map(String.init)
        // An edited record.
        let edited = lines.enumerated().map {
            $0.offset == 2
                ? $0.element.replacingOccurrences(of: "\"reveal\"", with: "\"show\"").replacingOccurrences(
                    of: "\"add\"", with: "\"edit\"") : $0.element
        }
        try (edited.joined(separator: "\n") + "\n").write(toFile: vault.paths.audit, atomically: true, encoding: .utf8)
        #expect(throws: VaultError.self) { try opened.verifyAudit() }
        // A removed record.
        lines.remove(at: 1)
        try (lines.joined(separator: "\n") + "\n").write(toFile: vault.paths.audit, atomically: true, encoding: .utf8)
        #expect(throws: VaultError.self) { try opened.verifyAudit() }
        // A cut-off tail.
        let original = log.split(separator: "\n").map(String.init)
        try (original.dropLast(2).joined(separator: "\n") + "\n").write(
            toFile: vault.paths.audit, atomically: true, encoding: .utf8)
        #expect {
            try opened.verifyAudit()
        } throws: { error in
            (error as? VaultError)?.message.contains("cut off") == true
        }
        try log.write(toFile: vault.paths.audit, atomically: true, encoding: .utf8)
        #expect(throws: Never.self) { try opened.verifyAudit() }
    }

    @Test func anActionWhoseAuditRecordCannotBeWrittenDoesNotHappen() throws {
        let vault = TestVault("failclosed")
        defer { vault.remove() }
        try vault.populate()
        let opened = try Vault.open(paths: vault.paths, as: vault.admin)
        try FileManager.default.removeItem(atPath: vault.paths.audit)
        try FileManager.default.createDirectory(atPath: vault.paths.audit, withIntermediateDirectories: false)
        #expect(throws: VaultError.self) {
            try opened.credential(client: "acme", portal: "sandbox-html-portal", purpose: .reveal)
        }
    }

    @Test func kdfParametersAreBoundedBeforeAnyDerivation() throws {
        let vault = TestVault("kdf")
        defer { vault.remove() }
        try vault.populate()
        let opened = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false)
        for (memory, iterations) in [(UInt32(64 * 1024 * 1024), UInt32(3)), (8, 1), (65536, 1), (65536, 100_000)] {
            var body = opened.body
            let index = body.header.envelopes.firstIndex { $0.principal == opened.actorID }!
            body.header.envelopes[index].sealed.kdf!.memoryKiB = memory
            body.header.envelopes[index].sealed.kdf!.iterations = iterations
            try VaultTamper.rewrite(vault, body: body, key: opened.vaultKey)
            #expect {
                try Vault.open(paths: vault.paths, as: vault.admin)
            } throws: { error in
                (error as? VaultError)?.code == "vault.kdf_out_of_bounds"
            }
        }
    }

    @Test func twoConcurrentWritersBothLand() async throws {
        let vault = TestVault("concurrent")
        defer { vault.remove() }
        try vault.populate()
        let paths = vault.paths
        let admin = vault.admin
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for step in 0..<3 {
                        try? Vault.update(paths: paths, as: admin) { vault in
                            try vault.addEntry(
                                client: "acme", portal: "portal-\(writer)-\(step)",
                                CredentialInput(password: SecretBytes(utf8: "pw-\(writer)-\(step)-xyz")))
                        }
                    }
                }
            }
        }
        let list = try Vault.open(paths: vault.paths, as: vault.admin).list(client: "acme")
        #expect(list.count == 13)
    }

    @Test func credentialCSVImportReadsKeePassXCExports() throws {
        let csv =
            "\"Group\",\"Title\",\"Username\",\"Password\",\"URL\",\"Notes\",\"TOTP\"\n"
            + "\"Root\",\"Sandbox HTML Portal\",\"ap@acme\",\"p,w\"\"1\",\"https://suppliers.sandbox-html-portal.example\",\"line1\nline2\",\"\"\n"
        let rows = try CredentialCSV.parse(csv, file: "export.csv")
        #expect(rows.count == 1)
        #expect(rows[0].portal == "sandbox-html-portal")
        #expect(rows[0].input.password?.unsafeUTF8String() == "p,w\"1")
        #expect(rows[0].input.notes == "line1\nline2")
        #expect {
            try CredentialCSV.parse("portal,password\nsandbox-html-portal,x\nsandbox-html-portal,y\n", file: "dup.csv")
        } throws: { error in
            (error as? VaultError)?.location?.line == 3
        }
    }
}

/// Rewrites a vault body with a valid MAC: what an insider holding the vault key could do.
enum VaultTamper {
    static func rewrite(_ vault: TestVault, body: VaultBody, key: SecretBytes) throws {
        vault.write(try VaultFile.serialize(body, vaultKey: key))
    }
}

@Suite("Vault crash safety", .serialized)
struct VaultCrashTests {
    static var writer: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug"),
        ]
        return candidates.map { $0.appendingPathComponent("nightjar-vault-writer") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[0]
    }

    /// A writer killed with SIGKILL at random moments of its save loop, 200 times: the vault
    /// always opens afterwards, as the old or the new version, and its audit log verifies.
    @Test func aWriterKilledAtRandomMomentsNeverLeavesABrokenVault() throws {
        let vault = TestVault("kill")
        defer { vault.remove() }
        try vault.populate()
        var generator = SystemRandomNumberGenerator()
        var lastCount = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false).list(client: "acme")
            .count
        for round in 0..<200 {
            let process = Process()
            process.executableURL = VaultCrashTests.writer
            process.arguments = [vault.paths.vault, vault.paths.audit, vault.paths.state, "admin passphrase é&<"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            _ = pipe.fileHandleForReading.availableData
            usleep(UInt32.random(in: 0...40_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let opened = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false)
            let count = try opened.list(client: "acme").count
            #expect(count >= lastCount, "round \(round): entries went from \(lastCount) to \(count)")
            lastCount = count
            // The newest entries are the ones a torn write would damage; each must decrypt.
            for entry in try opened.list(client: "acme").suffix(2) {
                _ = try opened.credential(client: "acme", portal: entry.portal, purpose: .inspect)
            }
        }
        #expect(lastCount > 1)
        _ = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false).verifyAudit()
    }
}
