import Foundation
import NightjarCore
@_spi(Testing) import NightjarCrypto
import Testing

@_spi(Testing) @testable import NightjarVault

/// What the security review did with a reviewer's passphrase alone: unwrap the key that
/// authenticates the whole file, edit authority, re-MAC, and see whether anyone notices. Each
/// attempt must be refused at the next open (and before the night), with a clear error and a
/// signed audit record of the refusal.
@Suite("Vault: an insider with a reviewer's passphrase")
struct InsiderTests {
    static let bobPassphrase = SecretBytes(utf8: "bob passphrase 1")
    static let carolPassphrase = SecretBytes(utf8: "carol passphrase 1")
    static let evil = String(repeating: "e", count: 64)

    /// alice (admin), bob (operator of acme), carol (reviewer of acme), an automation key for
    /// every client, and one approved scraper definition.
    struct Setup {
        let vault: TestVault
        let keyPath: String

        init(_ label: String) throws {
            vault = TestVault(label)
            try vault.populate()
            keyPath = vault.folder + "/night.key"
            let keyPath = keyPath
            try Vault.update(paths: vault.paths, as: vault.admin) { vault in
                try vault.addOperator(name: "bob", roles: [.operator], passphrase: InsiderTests.bobPassphrase)
                try vault.grant("bob", client: "acme")
                try vault.addOperator(name: "carol", roles: [.reviewer], passphrase: InsiderTests.carolPassphrase)
                try vault.grantReview(to: "carol", client: "acme")
                try vault.approveScraper(portal: "sandbox-html-portal", sha256: String(repeating: "a", count: 64))
                try vault.createAutomationKey(name: "night", clients: nil).write(to: keyPath)
            }
        }

        var paths: VaultPaths { vault.paths }
        var alice: UnlockMethod { vault.admin }
        var bob: UnlockMethod { .passphrase(name: "bob", InsiderTests.bobPassphrase) }
        var carol: UnlockMethod { .passphrase(name: "carol", InsiderTests.carolPassphrase) }
        func night() throws -> UnlockMethod { .automationKey(try AutomationKey.load(path: keyPath)) }

        /// The vault as carol holds it: her keys and the vault key every principal holds.
        func insider() throws -> Vault { try Vault.open(paths: paths, as: carol, auditUnlock: false) }

        func remove() { vault.remove() }
    }

    /// A record as an insider writes it: any operations, any claimed signer, signed with her key.
    static func record(
        after chain: AuthorityState, signer: String, signingKey: Ed25519.SigningKey, _ operations: [AuthorityOperation]
    ) throws -> ChainEntry {
        let record = AuthorityRecord(
            seq: chain.count + 1, prev: chain.head, at: Logger.timestamp(), signer: signer, operations: operations)
        let payload = Array(try VaultFile.encoder().encode(record))
        return ChainEntry(payload: payload, signature: signingKey.sign(AuthorityRecord.signatureLabel + payload))
    }

    /// Writes the body re-MAC'd with the vault key, as the insider can.
    static func write(_ body: VaultBody, _ insider: Vault, to setup: Setup) throws {
        setup.vault.write(try VaultFile.serialize(body, vaultKey: insider.vaultKey))
    }

    /// `open` is refused with `code`, and the refusal is the audit log's last record, signed by `name`.
    static func expectRefused(
        _ setup: Setup, as method: UnlockMethod, name: String, code: String, mentioning phrase: String,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        var caught: VaultError?
        do {
            _ = try Vault.open(paths: setup.paths, as: method)
        } catch let error as VaultError {
            caught = error
        }
        #expect(
            caught?.code == code, "expected \(code), got \(String(describing: caught))", sourceLocation: sourceLocation)
        #expect(
            caught?.message.contains(phrase) == true, "\(caught?.message ?? "no error")", sourceLocation: sourceLocation
        )
        let last = try AuditLog.readAll(setup.paths.audit).last
        #expect(
            last?.action == "refused" && last?.principal == name, "last audit record: \(String(describing: last))",
            sourceLocation: sourceLocation)
        #expect(last?.detail?.contains(phrase) == true, sourceLocation: sourceLocation)
    }

    @Test func theReviewerUnwrapsTheFileKeyButHerEditOfHerOwnRolesIsRefused() throws {
        let setup = try Setup("insider-roles")
        defer { setup.remove() }
        let insider = try setup.insider()
        // She holds the key that authenticates the whole file: a re-MAC'd copy opens.
        var body = insider.body
        try InsiderTests.write(body, insider, to: setup)
        #expect(throws: Never.self) { try Vault.open(paths: setup.paths, as: setup.alice, auditUnlock: false) }
        #expect(insider.accessibleClients.isEmpty)
        // Her own principal record, edited to make her an admin; its signature kept.
        let index = body.chain.firstIndex {
            String(decoding: $0.payload, as: UTF8.self).contains("\"name\":\"carol\"")
        }!
        let edited = String(decoding: body.chain[index].payload, as: UTF8.self).replacingOccurrences(
            of: "\"roles\":[\"reviewer\"]", with: "\"roles\":[\"admin\",\"reviewer\"]")
        #expect(edited.contains("\"admin\",\"reviewer\""))
        body.chain[index].payload = Array(edited.utf8)
        try InsiderTests.write(body, insider, to: setup)
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.authority_invalid",
            mentioning: "claims to be signed by alice")
        try InsiderTests.expectRefused(
            setup, as: try setup.night(), name: "night", code: "vault.authority_invalid",
            mentioning: "forged or altered")
    }

    @Test func rolesTheReviewerGrantsHerselfAreRefused() throws {
        let setup = try Setup("insider-grant")
        defer { setup.remove() }
        let insider = try setup.insider()
        for role in [Role.admin, .runIntegrations, .operator] {
            var body = insider.body
            body.chain.append(
                try InsiderTests.record(
                    after: insider.committed, signer: insider.actorID, signingKey: insider.keys.signing,
                    [AuthorityOperation(.roleGrant, principal: insider.actorID, role: role)]))
            try InsiderTests.write(body, insider, to: setup)
            try InsiderTests.expectRefused(
                setup, as: setup.alice, name: "alice", code: "vault.authority_invalid",
                mentioning: "carol is not an admin")
        }
    }

    @Test func anAdminAddedByTheReviewerIsRefused() throws {
        let setup = try Setup("insider-admin")
        defer { setup.remove() }
        let insider = try setup.insider()
        let mallory = PrincipalKeys.generate()
        var body = insider.body
        body.chain.append(
            try InsiderTests.record(
                after: insider.committed, signer: insider.actorID, signingKey: insider.keys.signing,
                [
                    AuthorityOperation(
                        .principalAdd, principal: "p-mallory", name: "mallory", kind: .operator,
                        exchangeKey: Data(mallory.exchange.publicKey.rawRepresentation),
                        signingKey: Data(mallory.signing.verifyingKey.rawRepresentation), roles: [.admin])
                ]))
        body.header.vaultKeyWraps.append(
            try VaultCrypto.wrap(
                insider.vaultKey, to: Data(mallory.exchange.publicKey.rawRepresentation),
                principal: "p-mallory", purpose: "vault", vaultID: body.header.vaultID))
        try InsiderTests.write(body, insider, to: setup)
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.authority_invalid", mentioning: "carol is not an admin")
        try InsiderTests.expectRefused(
            setup, as: setup.bob, name: "bob", code: "vault.authority_invalid", mentioning: "add operator mallory")
    }

    @Test func anApprovalByTheReviewerIsRefusedAtOpenAndBeforeTheNight() throws {
        let setup = try Setup("insider-approve")
        defer { setup.remove() }
        // The night has opened the vault and is about to run when the file is changed.
        let night = try Vault.open(paths: setup.paths, as: try setup.night())
        let insider = try setup.insider()
        var body = insider.body
        body.chain.append(
            try InsiderTests.record(
                after: insider.committed, signer: insider.actorID, signingKey: insider.keys.signing,
                [
                    AuthorityOperation(
                        .approve, name: "sandbox-html-portal", subject: .scraper, sha256: InsiderTests.evil)
                ]))
        try InsiderTests.write(body, insider, to: setup)
        #expect(throws: VaultError.self) { try night.verifyAuthority() }
        let last = try AuditLog.readAll(setup.paths.audit).last
        #expect(last?.action == "refused" && last?.principal == "night")
        #expect(!night.isApproved(portal: "sandbox-html-portal", sha256: InsiderTests.evil))
        try InsiderTests.expectRefused(
            setup, as: try setup.night(), name: "night", code: "vault.authority_invalid",
            mentioning: "carol is not an admin")
    }

    @Test func anApprovalForgedInAlicesNameIsRefused() throws {
        let setup = try Setup("insider-forge")
        defer { setup.remove() }
        let insider = try setup.insider()
        let alice = insider.committed.principal(named: "alice")!.id
        var body = insider.body
        // Claims alice as its signer; only carol's key (or any key but alice's) could sign it.
        body.chain.append(
            try InsiderTests.record(
                after: insider.committed, signer: alice, signingKey: insider.keys.signing,
                [
                    AuthorityOperation(
                        .approve, name: "sandbox-html-portal", subject: .scraper, sha256: InsiderTests.evil)
                ]))
        try InsiderTests.write(body, insider, to: setup)
        try InsiderTests.expectRefused(
            setup, as: try setup.night(), name: "night", code: "vault.authority_invalid",
            mentioning: "claims to be signed by alice, but the signature is not alice's")
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.authority_invalid",
            mentioning: "claims to be signed by alice")
    }

    @Test func aWholeChainReplacedUnderTheReviewersKeyIsRefused() throws {
        let setup = try Setup("insider-replace")
        defer { setup.remove() }
        let insider = try setup.insider()
        let real = insider.committed
        let vaultID = insider.body.header.vaultID
        // A new, self-consistent chain in which carol is the root admin; everyone keeps their keys
        // (so their sealed keys still open), alice is demoted, an edited definition is approved.
        var operations = [
            AuthorityOperation(.genesis, principal: insider.actorID, vaultID: vaultID, recovery: real.recoveryID!)
        ]
        func add(_ principal: PrincipalInfo, roles: [Role]) {
            operations.append(
                AuthorityOperation(
                    .principalAdd, principal: principal.id, name: principal.name, kind: principal.kind,
                    exchangeKey: principal.exchangeKey, signingKey: principal.signingKey, roles: roles,
                    allClients: principal.kind == .automation ? true : nil))
        }
        add(real.principals[insider.actorID]!, roles: [.admin, .operator, .reviewer, .runIntegrations])
        add(real.principals[real.recoveryID!]!, roles: [.admin])
        for id in real.principalOrder where id != insider.actorID && id != real.recoveryID {
            let principal = real.principals[id]!
            add(principal, roles: principal.kind == .automation ? [.runIntegrations] : [.operator])
        }
        for client in real.clientOrder {
            operations.append(AuthorityOperation(.clientAdd, client: client))
            for holder in real.clients[client]!.holders.sorted() where !(real.principals[holder]!.allClients) {
                operations.append(AuthorityOperation(.clientGrant, principal: holder, client: client))
            }
        }
        operations.append(
            AuthorityOperation(.approve, name: "sandbox-html-portal", subject: .scraper, sha256: InsiderTests.evil))
        var forged = AuthorityState(vaultID: vaultID)
        let entry = try InsiderTests.record(
            after: forged, signer: insider.actorID, signingKey: insider.keys.signing, operations)
        try forged.append(
            try JSONDecoder().decode(AuthorityRecord.self, from: Data(entry.payload)), payload: entry.payload,
            signature: entry.signature)
        var body = insider.body
        body.chain = [entry]
        try InsiderTests.write(body, insider, to: setup)
        // And a rollback state signed by carol, the root of her chain.
        try VaultState.advance(
            paths: setup.paths,
            observation: VaultState.Observation(
                vaultID: vaultID, generation: body.header.generation, chainCount: forged.count, chainHead: forged.head,
                audit: nil),
            signer: (insider.actorID, insider.keys.signing), vaultKey: insider.vaultKey, authority: forged,
            replacing: true)
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.root_replaced",
            mentioning: "signed by a key other than the root")
        try InsiderTests.expectRefused(
            setup, as: setup.bob, name: "bob", code: "vault.root_replaced", mentioning: "sealed with bob's keys")
        try InsiderTests.expectRefused(
            setup, as: try setup.night(), name: "night", code: "vault.root_replaced",
            mentioning: "sealed with night's keys")
    }

    @Test func droppingTheLastRevocationIsRefused() throws {
        let setup = try Setup("insider-drop")
        defer { setup.remove() }
        try Vault.update(paths: setup.paths, as: setup.alice) { try $0.grantRole(.admin, to: "bob") }
        try Vault.update(paths: setup.paths, as: setup.alice) { try $0.revokeRole(.admin, from: "bob") }
        let insider = try setup.insider()
        #expect(insider.committed.principal(named: "bob")?.isAdmin == false)
        // The chain without its last record is a valid chain in which bob is an admin again.
        var body = insider.body
        body.chain.removeLast()
        let shortened = try AuthorityState.verify(body.chain, vaultID: body.header.vaultID)
        #expect(shortened.principal(named: "bob")?.isAdmin == true)
        try InsiderTests.write(body, insider, to: setup)
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.chain_cut", mentioning: "records were removed")
        try InsiderTests.expectRefused(
            setup, as: setup.bob, name: "bob", code: "vault.chain_cut", mentioning: "records were removed")
        try InsiderTests.expectRefused(
            setup, as: try setup.night(), name: "night", code: "vault.chain_cut", mentioning: "records were removed")
        // Two records swapped: the links no longer hold.
        body = insider.body
        body.chain.swapAt(body.chain.count - 1, body.chain.count - 2)
        try InsiderTests.write(body, insider, to: setup)
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.authority_invalid", mentioning: "removed or reordered")
    }

    @Test func aMissingStateFileIsARefusalUntilAnAdminAcceptsIt() throws {
        let setup = try Setup("insider-nostate")
        defer { setup.remove() }
        try FileManager.default.removeItem(atPath: setup.paths.state)
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.state_missing", mentioning: "is missing")
        try InsiderTests.expectRefused(
            setup, as: try setup.night(), name: "night", code: "vault.state_missing", mentioning: "accept-rollback")
        #expect(!FileManager.default.fileExists(atPath: setup.paths.state))
        // Only an admin accepts it, and the acceptance is recorded with what was wrong.
        #expect(throws: VaultError.roleRequired(principal: "bob", role: .admin)) {
            try Vault.acceptRollback(paths: setup.paths, as: setup.bob)
        }
        let accepted = try Vault.acceptRollback(paths: setup.paths, as: setup.alice)
        #expect(accepted.problem?.contains("missing") == true)
        let record = try AuditLog.readAll(setup.paths.audit).last { $0.action == "accept-rollback" }
        #expect(record?.principal == "alice" && record?.detail?.contains("missing") == true)
        let night = try Vault.open(paths: setup.paths, as: try setup.night())
        #expect(night.accessibleClients == ["acme", "globex"])
        #expect(throws: Never.self) { try night.verifyAuthority() }
    }

    @Test func aCorruptedOrReSignedStateFileIsRefused() throws {
        let setup = try Setup("insider-state")
        defer { setup.remove() }
        let original = Array(FileManager.default.contents(atPath: setup.paths.state)!)
        // Corrupted.
        var corrupted = original
        corrupted[corrupted.count / 2] ^= 0x20
        _ = FileManager.default.createFile(atPath: setup.paths.state, contents: Data(corrupted))
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.state_invalid", mentioning: "cannot be trusted")
        // Re-signed by the reviewer, at the current generation: she holds no authority to sign it.
        _ = FileManager.default.createFile(atPath: setup.paths.state, contents: Data(original))
        let insider = try setup.insider()
        let oldFile = setup.vault.bytes()
        let oldGeneration = insider.generation
        try Vault.update(paths: setup.paths, as: setup.alice) { vault in
            try vault.editEntry(
                client: "acme", portal: "sandbox-html-portal",
                CredentialInput(password: SecretBytes(utf8: "a-newer-password")))
        }
        // She puts back the older file and a state that says it is current, signed with her key.
        setup.vault.write(oldFile)
        try VaultState.advance(
            paths: setup.paths,
            observation: VaultState.Observation(
                vaultID: insider.body.header.vaultID, generation: oldGeneration, chainCount: insider.committed.count,
                chainHead: insider.committed.head, audit: nil),
            signer: (insider.actorID, insider.keys.signing), vaultKey: insider.vaultKey, authority: insider.committed,
            replacing: true)
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.state_invalid",
            mentioning: "not signed by an admin or an automation key")
        try InsiderTests.expectRefused(
            setup, as: try setup.night(), name: "night", code: "vault.state_invalid",
            mentioning: "not signed by an admin")
    }

    @Test func aClientKeyWrappedToSomeoneTheChainNeverGrantedIsRefused() throws {
        let setup = try Setup("insider-wrap")
        defer { setup.remove() }
        // bob holds acme's key and hands it to carol in the file.
        let bob = try Vault.open(paths: setup.paths, as: setup.bob, auditUnlock: false)
        var body = bob.body
        let index = body.clients.firstIndex { $0.id == "acme" }!
        let carol = bob.committed.principal(named: "carol")!
        body.clients[index].wraps.append(
            try VaultCrypto.wrap(
                try bob.clientKey("acme"), to: carol.exchangeKey, principal: carol.id,
                purpose: "client:acme:\(body.clients[index].keyVersion)", vaultID: body.header.vaultID))
        setup.vault.write(try VaultFile.serialize(body, vaultKey: bob.vaultKey))
        try InsiderTests.expectRefused(
            setup, as: setup.alice, name: "alice", code: "vault.authority_invalid",
            mentioning: "whom the chain never granted it")
    }
}
