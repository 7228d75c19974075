import Foundation
import NightjarCore
@_spi(Testing) import NightjarCrypto

/// What an upgrade from format 1 will sign, for the admin to check before signing it.
public struct VaultUpgradePlan: Sendable {
    /// The admin who signs (and becomes the root).
    public let admin: String
    /// The list to print: every principal and its roles, who can read which client, review
    /// grants, automation keys, approvals, rotation marks, and anything suspicious.
    public let lines: [String]
    /// Principals whose sealed keys will carry the root only once they next unlock.
    public let awaitingRoot: [String]
    /// Things the admin should look at before signing (an older file, a cut audit log).
    public let warnings: [String]
}

/// What an upgrade did.
public struct VaultUpgradeResult: Sendable {
    public let generation: Int
    public let awaitingRoot: [String]
    /// Automation key files rewritten to carry the root.
    public let sealedKeyFiles: [String]
}

extension Vault {
    /// Upgrades a format-1 vault: an admin who holds every client's key reviews the printed
    /// list (`confirm` sees it and returns whether to go on) and signs the roles, grants and
    /// approvals as they stand as the first record of a new authority chain. Names that break
    /// the identifier rule must be renamed (`renames`: `client:OLD`, `portal:CLIENT/OLD` or
    /// `operator:OLD` to the new name). Automation key files given are rewritten to carry the
    /// root. Returns nil when `confirm` declines; nothing is written then.
    public static func upgrade(
        paths: VaultPaths, as method: UnlockMethod, renames: [String: String] = [:],
        automationKeyFiles: [String] = [], confirm: (VaultUpgradePlan) throws -> Bool
    ) throws -> VaultUpgradeResult? {
        let lock = try VaultLock(path: paths.lock)
        defer { withExtendedLifetime(lock) {} }
        let bytes = try VaultFile.read(paths.vault)
        if bytes.starts(with: VaultFile.magic) {
            throw VaultError.invalidInput("the vault is already format 2; nothing to upgrade", location: nil)
        }
        let (old, bodyBytes, mac) = try FormatOne.parse(bytes)
        let vaultID = old.vaultID
        let active = old.principals.filter { $0.disabledAt == nil }

        // Who signs: an admin of format 1, by passphrase or the recovery key.
        let actor: FormatOne.Principal
        let keys: PrincipalKeys
        let sealKey: SecretBytes
        switch method {
        case .passphrase(let name, let passphrase):
            guard let record = active.first(where: { $0.name == name && $0.kind == .operator }),
                let sealed = record.sealed, let kdf = sealed.kdf
            else {
                throw VaultError.unknownPrincipal(name)
            }
            sealKey = try VaultCrypto.passphraseKey(passphrase, kdf: kdf)
            do {
                keys = try VaultCrypto.openPrivateKeys(sealed, sealKey: sealKey, vaultID: vaultID, principal: record.id)
                    .0
            } catch {
                throw VaultError.wrongPassphrase(principal: name)
            }
            actor = record
        case .recovery(let recoveryKey):
            guard let record = active.first(where: { $0.kind == .recovery }), let sealed = record.sealed else {
                throw VaultError.damaged("the vault has no recovery principal")
            }
            sealKey = try VaultCrypto.recoverySealKey(recoveryKey)
            do {
                keys = try VaultCrypto.openPrivateKeys(sealed, sealKey: sealKey, vaultID: vaultID, principal: record.id)
                    .0
            } catch {
                throw VaultError.wrongKey("the recovery key does not open this vault")
            }
            actor = record
        case .automationKey:
            throw VaultError.invalidInput(
                "an admin upgrades the vault (--as ADMIN), not an automation key", location: nil)
        }
        guard let wrap = old.vaultKeyWraps.first(where: { $0.principal == actor.id }),
            let oldVaultKey = try? VaultCrypto.unwrap(wrap, with: keys.exchange, purpose: "vault", vaultID: vaultID),
            FormatOne.macMatches(bodyBytes, mac: mac, vaultKey: oldVaultKey)
        else {
            throw VaultError.damaged("the whole-file MAC does not match: the file was altered or corrupted")
        }
        guard actor.roles.contains(Role.admin.rawValue) else {
            throw VaultError.roleRequired(principal: actor.name, role: .admin)
        }
        guard let recovery = active.first(where: { $0.kind == .recovery }) else {
            throw VaultError.damaged("the vault has no recovery principal")
        }

        var warnings: [String] = []
        if let stateBytes = try VaultState.readBytes(paths.state) {
            do {
                let state = try FormatOne.state(stateBytes, vaultKey: oldVaultKey)
                if state.generation > old.generation {
                    warnings.append(
                        "this file is generation \(old.generation) but this workspace has seen generation \(state.generation): an older copy was put back"
                    )
                }
                let logged = try AuditLog.readAll(paths.audit).count
                if logged < state.auditCount {
                    warnings.append(
                        "the audit log holds \(logged) records but \(state.auditCount) were written: it was cut off")
                }
            } catch {
                warnings.append(
                    "the rollback state does not verify (\(error.message)); the upgrade accepts this file as current")
            }
        } else {
            warnings.append("there is no rollback state; the upgrade accepts this file as current")
        }

        // Every client's key: the entries are re-sealed in the new format.
        var clientKeys: [String: SecretBytes] = [:]
        var unreadable: [String] = []
        for client in old.clients {
            guard let wrap = client.wraps.first(where: { $0.principal == actor.id }),
                let key = try? VaultCrypto.unwrap(
                    wrap, with: keys.exchange, purpose: "client:\(client.id):\(client.keyVersion)", vaultID: vaultID)
            else {
                unreadable.append(client.id)
                continue
            }
            clientKeys[client.id] = key
        }
        guard unreadable.isEmpty else {
            throw VaultError.notGranted(
                principal: "\(actor.name) (upgrading)",
                client: unreadable.joined(separator: ", ")
                    + "; upgrade as an admin who holds every client, or with --recovery")
        }

        // Names under the identifier rule, with the renames given.
        func renamed(_ kind: String, _ name: String) -> String { renames["\(kind):\(name)"] ?? name }
        func renamedPortal(_ client: String, _ portal: String) -> String {
            renames["portal:\(client)/\(portal)"] ?? portal
        }
        var problems: [String] = []
        func check(_ value: String, _ field: String, fix: String) {
            if Identifier.problem(value) != nil {
                problems.append("\(field) \"\(value)\" breaks the naming rule: --rename \(fix)=NEW")
            }
        }
        for principal in active where principal.kind != .recovery {
            check(renamed("operator", principal.name), "operator", fix: "operator:\(principal.name)")
        }
        for client in old.clients {
            check(renamed("client", client.id), "client", fix: "client:\(client.id)")
            for entry in client.entries {
                check(renamedPortal(client.id, entry.portal), "portal", fix: "portal:\(client.id)/\(entry.portal)")
            }
        }
        guard problems.isEmpty else {
            throw VaultError.invalidInput(
                "these names must be renamed before the upgrade (letters, digits, -, _ and . not first; at most 64 bytes):\n  "
                    + problems.joined(separator: "\n  "), location: nil)
        }

        // Automation key files to rewrite with the root.
        var keyFiles: [(path: String, key: AutomationKey)] = []
        for path in automationKeyFiles {
            let key = try AutomationKey.load(path: path)
            guard let principal = active.first(where: { $0.id == key.principalID && $0.kind == .automation }),
                (try? PrincipalKeys(serialized: key.keys)).map({
                    Data($0.exchange.publicKey.rawRepresentation) == principal.exchangePublicKey
                }) == true
            else { throw VaultError.wrongKey("\(path) is not an automation key of this vault") }
            keyFiles.append((path, key))
        }

        // The first record: genesis, principals with their roles, clients and who holds them,
        // review grants (format 1 let every reviewer approve any client), approvals.
        let operators = active.filter { $0.kind != .recovery }
        let pending = operators.filter { $0.id != actor.id }.map(\.id) + (actor.id == recovery.id ? [] : [recovery.id])
        var operations = [
            AuthorityOperation(
                .genesis, principal: actor.id, vaultID: vaultID, recovery: recovery.id, upgradedFrom: 1,
                pending: pending)
        ]
        func roles(_ principal: FormatOne.Principal) -> [Role] {
            principal.roles.compactMap(Role.init(rawValue:)).sorted()
        }
        func add(_ principal: FormatOne.Principal) {
            operations.append(
                AuthorityOperation(
                    .principalAdd, principal: principal.id,
                    name: principal.kind == .recovery ? "recovery" : renamed("operator", principal.name),
                    kind: principal.kind, exchangeKey: principal.exchangePublicKey,
                    signingKey: principal.signingPublicKey,
                    roles: principal.kind == .recovery ? [.admin] : roles(principal),
                    allClients: principal.kind == .automation && principal.allClients == true ? true : nil))
        }
        if actor.kind == .recovery {
            // Signed by the recovery key: it is both the root admin and the recovery principal.
            throw VaultError.invalidInput(
                "upgrade as an admin (--as ADMIN); the recovery key cannot be the root admin", location: nil)
        }
        add(actor)
        add(recovery)
        for principal in operators where principal.id != actor.id { add(principal) }
        for client in old.clients {
            let id = renamed("client", client.id)
            operations.append(AuthorityOperation(.clientAdd, client: id))
            let automatic = Set(
                [actor.id, recovery.id] + operators.filter { $0.kind == .automation && $0.allClients == true }.map(\.id)
            )
            for wrap in client.wraps where !automatic.contains(wrap.principal) {
                guard let holder = operators.first(where: { $0.id == wrap.principal }) else { continue }
                if roles(holder).allSatisfy(\.holdsNoKeys) {
                    warnings.append(
                        "\(holder.name) holds \(client.id)'s key but has only the \(roles(holder).map(\.rawValue).joined(separator: ", ")) role: the key is not carried over"
                    )
                    continue
                }
                operations.append(AuthorityOperation(.clientGrant, principal: holder.id, client: id))
            }
        }
        for principal in operators where principal.kind == .operator && roles(principal).contains(.reviewer) {
            operations.append(AuthorityOperation(.reviewGrant, principal: principal.id, allClients: true))
        }
        for approval in old.approvals {
            guard Approvals.isDigest(approval.sha256), Identifier.isValid(approval.portal),
                !operations.contains(where: {
                    $0.op == .approve && $0.name == approval.portal && $0.sha256 == approval.sha256
                })
            else {
                warnings.append(
                    "the approval of scraper \(approval.portal) is not carried over (its name or digest is malformed); approve the definition again after the upgrade"
                )
                continue
            }
            operations.append(
                AuthorityOperation(.approve, name: approval.portal, subject: .scraper, sha256: approval.sha256))
        }
        // Check the record as any open will, before showing it.
        var authority = AuthorityState(vaultID: vaultID)
        let at = Vault.now()
        for operation in operations { try authority.apply(operation, signer: actor.id, at: at, record: 1) }

        let pendingNames = pending.compactMap { id in active.first { $0.id == id } }
            .filter { principal in !keyFiles.contains { $0.key.principalID == principal.id } }
            .map { $0.kind == .recovery ? "recovery" : renamed("operator", $0.name) }
        let plan = VaultUpgradePlan(
            admin: actor.name,
            lines: upgradeLines(
                authority, old: old, actor: actor.name, renamedClient: { renamed("client", $0) },
                pendingNames: pendingNames, keyFiles: keyFiles.map(\.path)),
            awaitingRoot: pendingNames, warnings: warnings)
        guard try confirm(plan) else { return nil }

        // Build the format-2 vault: a new vault key, the entries re-sealed per client.
        let roots = VaultCrypto.Roots(admin: authority.rootFingerprint, recovery: authority.recoveryFingerprint)
        let vaultKey = SecureRandom.secretBytes(32)
        var envelopes: [EnvelopeRecord] = []
        for principal in active where principal.kind != .automation {
            guard let sealed = principal.sealed else { continue }
            if principal.id == actor.id {
                envelopes.append(
                    EnvelopeRecord(
                        principal: principal.id,
                        sealed: try VaultCrypto.sealPrivateKeys(
                            keys, roots: roots, sealKey: sealKey, kdf: sealed.kdf, vaultID: vaultID,
                            principal: principal.id)))
            } else {
                var kept = sealed
                kept.version = nil
                envelopes.append(EnvelopeRecord(principal: principal.id, sealed: kept))
            }
        }
        let header = VaultHeader(
            vaultID: vaultID, generation: old.generation, envelopes: envelopes, vaultKeyWraps: [],
            rotationMarks: old.rotationMarks.map {
                RotationMark(
                    client: renamed("client", $0.client), portal: renamedPortal($0.client, $0.portal),
                    label: nil, reason: $0.reason, markedAt: $0.markedAt)
            },
            writtenAt: old.writtenAt, writtenBy: actor.id)
        let vault = Vault(
            paths: paths, body: VaultBody(header: header, chain: [], clients: []),
            authority: AuthorityState(vaultID: vaultID),
            actorID: actor.id, keys: keys, vaultKey: vaultKey, roots: roots)
        vault.authority = authority
        vault.pendingOperations = operations
        for id in authority.principalOrder {
            vault.body.header.vaultKeyWraps.append(
                try VaultCrypto.wrap(
                    vaultKey, to: authority.principals[id]!.exchangeKey, principal: id,
                    purpose: "vault", vaultID: vaultID))
        }
        for client in old.clients {
            let id = renamed("client", client.id)
            let key = clientKeys[client.id]!
            var entries: [StoredEntry] = []
            for entry in client.entries {
                var stored = StoredEntry(
                    portal: renamedPortal(client.id, entry.portal), label: nil, updatedAt: entry.updatedAt,
                    expires: entry.expires, usernameIsSecret: false)
                for (field, sealed) in entry.fields {
                    let value: SecretBytes
                    do {
                        value = try AEAD.openSecret(
                            Array(sealed.ciphertext), key: key, nonce: Array(sealed.nonce),
                            associatedData: FormatOne.fieldAAD(
                                vaultID: vaultID, client: client.id, portal: entry.portal,
                                field: field, generation: entry.generation),
                            algorithm: .aes256GCM)
                    } catch {
                        throw VaultError.damaged(
                            "field \(field) of \(client.id)/\(entry.portal) does not authenticate (moved, swapped or altered)"
                        )
                    }
                    guard stored.set(field, value) else {
                        throw VaultError.damaged("\(client.id)/\(entry.portal) holds an unknown field \(field)")
                    }
                }
                entries.append(stored)
            }
            vault.body.clients.append(
                ClientBlock(id: id, keyVersion: client.keyVersion, sealedGeneration: 0, wraps: [], sealed: []))
            vault.clientKeys[id] = key
            vault.entryLists[id] = entries
            vault.dirtyClients.insert(id)
            for holder in authority.clients[id]!.holders.sorted() { try vault.addWrap(client: id, principal: holder) }
        }
        try vault.audit(
            AuditEvent(
                "upgrade",
                detail:
                    "format 1 generation \(old.generation) upgraded to format 2; \(operations.count) operations signed by \(actor.name)"
            ),
            movingState: false)
        vault.changed = true
        try vault.save(replacingState: true)
        try vault.writeState(audit: try AuditLog.lastHead(paths: paths, vaultID: vaultID))
        // Key files given now carry the root; the chain records it.
        var sealed: [String] = []
        if !keyFiles.isEmpty {
            for (path, _) in keyFiles {
                try vault.sealAutomationKey(at: path)
                sealed.append(path)
            }
            try vault.save()
        }
        return VaultUpgradeResult(generation: vault.generation, awaitingRoot: pendingNames, sealedKeyFiles: sealed)
    }

    private static func upgradeLines(
        _ authority: AuthorityState, old: FormatOne.Body, actor: String, renamedClient: (String) -> String,
        pendingNames: [String], keyFiles: [String]
    ) -> [String] {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
        }
        var lines = ["Root: \(actor) (this admin) and the recovery key. Every line below will be signed by \(actor)."]
        lines.append("")
        lines.append("Operators and their roles:")
        for principal in authority.principalOrder.compactMap({ authority.principals[$0] })
        where principal.kind == .operator {
            var line =
                "  " + pad(principal.name, 20) + pad(principal.sortedRoles.map(\.rawValue).joined(separator: ", "), 36)
            if authority.reviewsAllClients.contains(principal.id) {
                line += "reviews all clients (format 1 let every reviewer approve any client)"
            }
            lines.append(line)
        }
        let automation = authority.principalOrder.compactMap { authority.principals[$0] }.filter {
            $0.kind == .automation
        }
        if !automation.isEmpty {
            lines.append("Automation keys:")
            for key in automation {
                let clients =
                    key.allClients
                    ? "all clients, now and later"
                    : authority.clientOrder.filter { authority.holds(key.id, client: $0) }.joined(separator: ", ")
                lines.append("  " + pad(key.name, 20) + "run-integrations; \(clients.isEmpty ? "no clients" : clients)")
            }
        }
        lines.append("Who can read each client's credentials:")
        for client in authority.clientOrder {
            let holders = authority.clients[client]!.holders.map { authority.name(of: $0) }.sorted()
            lines.append("  " + pad(client, 20) + holders.joined(separator: ", "))
        }
        if authority.clientOrder.isEmpty { lines.append("  (no clients)") }
        lines.append("Approved scraper definitions:")
        for approval in authority.approvals {
            lines.append("  " + pad(approval.name, 20) + "sha256 \(approval.sha256)")
        }
        if authority.approvals.isEmpty { lines.append("  (none)") }
        if !old.rotationMarks.isEmpty {
            lines.append(
                "Passwords marked for rotation: "
                    + old.rotationMarks.map { "\(renamedClient($0.client))/\($0.portal)" }.joined(separator: ", "))
        }
        if !pendingNames.isEmpty {
            lines.append(
                "Not yet bound to the root (each unlocks once after the upgrade, or its key file is sealed): "
                    + pendingNames.joined(separator: ", "))
        }
        if !keyFiles.isEmpty {
            lines.append("Automation key files rewritten to carry the root: " + keyFiles.joined(separator: ", "))
        }
        return lines
    }
}

extension AuditLog {
    /// The log's length and head as it is now.
    static func lastHead(paths: VaultPaths, vaultID: Data) throws -> (count: Int, head: String) {
        guard let last = try lastRecord(paths.audit) else { return (0, genesis(vaultID: vaultID)) }
        return (last.seq, SHA256.hash(try last.payload()).hexString)
    }
}
