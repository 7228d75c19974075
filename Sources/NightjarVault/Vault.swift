import Foundation
public import NightjarCore
@_spi(Testing) import NightjarCrypto

/// What a credential is decrypted for; each is audited under its own action.
public enum CredentialPurpose: Sendable {
    /// `vault show --reveal`
    case reveal
    /// Used by a run (`run` id).
    case use(run: String)
    /// `vault totp`
    case totp
    /// Checked by an operator without revealing (masked `vault show`).
    case inspect

    var action: String {
        switch self {
        case .reveal: "reveal"
        case .use: "use"
        case .totp: "totp"
        case .inspect: "show"
        }
    }
}

/// An unlocked vault, acting as one principal. Opening verifies everything (structure, the
/// principal's keys, the whole-file MAC, the signed authority chain and its root, the rollback
/// state); reads need no lock; changes go through `Vault.update`, which holds the vault's lock
/// from reading to writing and signs the change's authority operations as one record.
public final class Vault {
    public let paths: VaultPaths
    var body: VaultBody
    /// The authority of the chain as stored (verified).
    var committed: AuthorityState
    /// `committed` with this change's operations applied.
    var authority: AuthorityState
    let actorID: String
    let keys: PrincipalKeys
    let vaultKey: SecretBytes
    let roots: VaultCrypto.Roots
    var clientKeys: [String: SecretBytes] = [:]
    var entryLists: [String: [StoredEntry]] = [:]
    var dirtyClients: Set<String> = []
    var pendingOperations: [AuthorityOperation] = []
    var changed = false
    /// Set when this principal's sealed keys still lack the root (left by an upgrade).
    var resealKey: SecretBytes?
    /// The MAC of the file as opened (or last written): unchanged bytes need no second verification.
    var verifiedMAC: [UInt8] = []
    /// The audit log's length and head as this vault last saw them (the rollback state's, then its own appends).
    var knownAuditHead: (count: Int, head: String)?
    /// What an operator should know after opening (also logged as warnings).
    public private(set) var warnings: [String] = []

    func warn(_ text: String) {
        warnings.append(text)
        Logger(label: "vault").warning(text)
    }

    init(
        paths: VaultPaths, body: VaultBody, authority: AuthorityState, actorID: String, keys: PrincipalKeys,
        vaultKey: SecretBytes,
        roots: VaultCrypto.Roots
    ) {
        self.paths = paths
        self.body = body
        self.committed = authority
        self.authority = authority
        self.actorID = actorID
        self.keys = keys
        self.vaultKey = vaultKey
        self.roots = roots
    }

    var actor: PrincipalInfo { authority.principals[actorID]! }

    /// The acting principal's name.
    public var principalName: String { actor.name }
    /// The acting principal's kind.
    public var principalKind: PrincipalKind { actor.kind }
    /// The acting principal's roles, as the chain grants them.
    public var roles: [Role] { actor.sortedRoles }
    /// The vault's generation (incremented by every write).
    public var generation: Int { body.header.generation }
    /// Clients the acting principal holds keys for.
    public var accessibleClients: [String] {
        body.clients.filter { client in client.wraps.contains { $0.principal == actorID } }.map(\.id).sorted()
    }
    /// The number of records in the authority chain and the hash of the last one.
    public var authorityHead: (count: Int, head: String) { (committed.count, committed.head) }

    static func now() -> String { Logger.timestamp() }

    static func randomID(_ prefix: String) -> String {
        prefix + "-" + SecureRandom.bytes(8).map { String($0, radix: 16).leftPadded(2) }.joined()
    }

    // MARK: Creating

    /// Creates a new vault with its first admin and a recovery principal. The first chain
    /// record, signed by the admin, makes both the vault's root. Returns the vault and the
    /// recovery key, to be printed once and kept offline.
    public static func create(paths: VaultPaths, adminName: String, passphrase: SecretBytes) throws -> (
        Vault, recoveryKey: SecretBytes
    ) {
        let lock = try VaultLock(path: paths.lock)
        defer { withExtendedLifetime(lock) {} }
        guard !FileManager.default.fileExists(atPath: paths.vault) else { throw VaultError.alreadyExists(paths.vault) }
        try VaultNames.check(adminName, field: "operator name")
        try checkPassphrase(passphrase)
        let vaultID = Data(SecureRandom.bytes(16))
        let vaultKey = SecureRandom.secretBytes(32)
        let adminKeys = PrincipalKeys.generate()
        let recoveryKeys = PrincipalKeys.generate()
        let adminID = randomID("p")
        let recoveryID = randomID("r")
        let roots = VaultCrypto.Roots(
            admin: SHA256.hash(adminKeys.signing.verifyingKey.rawRepresentation),
            recovery: SHA256.hash(recoveryKeys.signing.verifyingKey.rawRepresentation))
        let recoveryKey = SecureRandom.secretBytes(32)
        let operations = [
            AuthorityOperation(.genesis, principal: adminID, vaultID: vaultID, recovery: recoveryID),
            AuthorityOperation(
                .principalAdd, principal: adminID, name: adminName, kind: .operator,
                exchangeKey: Data(adminKeys.exchange.publicKey.rawRepresentation),
                signingKey: Data(adminKeys.signing.verifyingKey.rawRepresentation),
                roles: [.admin, .operator, .runIntegrations]),
            AuthorityOperation(
                .principalAdd, principal: recoveryID, name: "recovery", kind: .recovery,
                exchangeKey: Data(recoveryKeys.exchange.publicKey.rawRepresentation),
                signingKey: Data(recoveryKeys.signing.verifyingKey.rawRepresentation), roles: [.admin]),
        ]
        let envelopes = [
            EnvelopeRecord(
                principal: adminID,
                sealed: try sealPassphraseKeys(
                    adminKeys, passphrase: passphrase, roots: roots,
                    vaultID: vaultID, principal: adminID)),
            EnvelopeRecord(
                principal: recoveryID,
                sealed: try VaultCrypto.sealPrivateKeys(
                    recoveryKeys, roots: roots,
                    sealKey: try VaultCrypto.recoverySealKey(recoveryKey),
                    kdf: nil, vaultID: vaultID, principal: recoveryID)),
        ]
        let header = VaultHeader(
            vaultID: vaultID, generation: 0, envelopes: envelopes, vaultKeyWraps: [], rotationMarks: [],
            writtenAt: now(), writtenBy: adminID)
        let empty = AuthorityState(vaultID: vaultID)
        let vault = Vault(
            paths: paths, body: VaultBody(header: header, chain: [], clients: []), authority: empty, actorID: adminID,
            keys: adminKeys, vaultKey: vaultKey, roots: roots)
        var bootstrapped = empty
        for operation in operations { try bootstrapped.apply(operation, signer: adminID, at: now(), record: 1) }
        vault.authority = bootstrapped
        vault.pendingOperations = operations
        for id in [adminID, recoveryID] {
            vault.body.header.vaultKeyWraps.append(
                try VaultCrypto.wrap(
                    vaultKey, to: bootstrapped.principals[id]!.exchangeKey, principal: id,
                    purpose: "vault", vaultID: vaultID))
        }
        try? FileManager.default.removeItem(atPath: paths.state)
        try? FileManager.default.removeItem(atPath: paths.audit)
        vault.changed = true
        try vault.save(replacingState: true)
        try vault.audit(AuditEvent("init", detail: "vault created with admin \(adminName)"))
        return (vault, recoveryKey)
    }

    static func checkPassphrase(_ passphrase: SecretBytes) throws {
        guard passphrase.count >= 8 else {
            throw VaultError.invalidInput("a passphrase needs at least 8 characters", location: nil)
        }
        try VaultNames.refuseNUL(passphrase, field: "passphrase")
    }

    static func sealPassphraseKeys(
        _ keys: PrincipalKeys, passphrase: SecretBytes, roots: VaultCrypto.Roots, vaultID: Data,
        principal: String
    ) throws -> SealedKeys {
        let parameters = VaultKDFPolicy.forNewPassphrases
        let kdf = KDFRecord(
            memoryKiB: parameters.memoryKiB, iterations: parameters.iterations, parallelism: parameters.parallelism,
            salt: Data(SecureRandom.bytes(16)))
        return try VaultCrypto.sealPrivateKeys(
            keys, roots: roots, sealKey: try VaultCrypto.passphraseKey(passphrase, kdf: kdf), kdf: kdf,
            vaultID: vaultID, principal: principal)
    }

    // MARK: Opening

    /// Opens the vault as a principal. Checks, in order: structure, the principal's keys, the
    /// whole-file MAC, every record of the authority chain and its root against the one sealed
    /// with the principal's keys, the key wraps against the chain's grants, and the rollback
    /// state. A refusal after the principal's keys opened is recorded in the audit log.
    public static func open(paths: VaultPaths, as method: UnlockMethod, auditUnlock: Bool = true) throws -> Vault {
        var vault = try load(paths: paths, as: method, lockHeld: false)
        if vault.resealKey != nil {
            // Sealed keys left by an upgrade without the root: seal it in now, under the lock.
            try update(paths: paths, as: method) { _ in }
            vault = try load(paths: paths, as: method, lockHeld: false)
            let root = vault.committed.name(of: vault.committed.records.first?.signer ?? "")
            vault.warn(
                "\(vault.principalName)'s keys now carry the vault's root (admin \(root) and the recovery key, since the upgrade of \(vault.committed.records.first?.at ?? "?")); a chain under any other root is refused from now on. If \(root) did not upgrade this vault, tell your admins now."
            )
        }
        if auditUnlock { try vault.audit(AuditEvent("unlock")) }
        return vault
    }

    /// Opens the vault under its lock, lets `change` modify it, and saves it if anything changed.
    public static func update<T>(paths: VaultPaths, as method: UnlockMethod, _ change: (Vault) throws -> T) throws -> T
    {
        let lock = try VaultLock(path: paths.lock)
        defer { withExtendedLifetime(lock) {} }
        let vault = try load(paths: paths, as: method, lockHeld: true)
        if let sealKey = vault.resealKey { try vault.sealRootIntoEnvelope(sealKey) }
        let result = try change(vault)
        if vault.changed { try vault.save() }
        return result
    }

    /// What the state check found when an admin accepts the vault as it is.
    public struct RollbackAcceptance: Sendable {
        /// What was wrong (an older file, a missing or unreadable state, a shorter chain), or nil if nothing was.
        public let problem: String?
        public let generation: Int
    }

    /// An admin accepts the vault file as it is, knowingly: an older copy restored from a
    /// backup, a missing or unreadable rollback state, a move to a new machine. Recorded in the
    /// audit log with what was accepted, then the state is signed afresh.
    public static func acceptRollback(paths: VaultPaths, as method: UnlockMethod) throws -> RollbackAcceptance {
        let lock = try VaultLock(path: paths.lock)
        defer { withExtendedLifetime(lock) {} }
        var problem: String?
        let vault = try load(paths: paths, as: method, lockHeld: true, stateProblem: { problem = $0.message })
        guard vault.actor.isAdmin else { throw VaultError.roleRequired(principal: vault.principalName, role: .admin) }
        try vault.audit(
            AuditEvent(
                "accept-rollback",
                detail: "generation \(vault.generation) accepted: " + (problem ?? "nothing was wrong")),
            movingState: false)
        try vault.writeState(replacing: true)
        return RollbackAcceptance(problem: problem, generation: vault.generation)
    }

    /// Verifies the vault again as it is on disk now, against this principal's root and the
    /// rollback state: what the night calls right before it runs anything. Throws (and records
    /// the refusal) if the file, its chain or the state no longer verify, or the chain on disk
    /// does not extend the one this vault was opened with.
    public func verifyAuthority() throws {
        do {
            let stateBytes = try VaultState.readBytes(paths.state)
            var bytes = try VaultFile.read(paths.vault)
            guard bytes.count >= VaultFile.magic.count + VaultFile.macSize else {
                throw VaultError.damaged("the file is cut short")
            }
            let (matches, mac) = VaultFile.checkMAC(&bytes, vaultKey: vaultKey)
            guard matches else {
                _ = try VaultFile.parse(bytes)  // a format or structure problem says so first
                throw VaultError.damaged("the whole-file MAC does not match: the file was altered or corrupted")
            }
            guard let stateBytes else { throw VaultError.stateMissing(paths.state) }
            if mac == verifiedMAC {
                // The very bytes verified at open: only the rollback state can have changed.
                let floorCount =
                    (try? VaultState.parse(stateBytes, path: paths.state).floor.chainCount) ?? committed.count
                let signers =
                    floorCount < committed.count
                    ? try Vault.verifyChain(
                        Array(body.chain[0..<max(1, floorCount)]), vaultID: body.header.vaultID, snapshotAt: nil
                    ).1
                    : committed.principals
                _ = try VaultState.check(
                    stateBytes, path: paths.state, authority: committed, signersAtFloor: signers, vaultKey: vaultKey,
                    generation: body.header.generation)
                return
            }
            let current = try VaultFile.parse(bytes)
            guard current.header.vaultID == body.header.vaultID else {
                throw VaultError.authority("the vault file was replaced by another vault's")
            }
            let floorCount = try? VaultState.parse(stateBytes, path: paths.state).floor.chainCount
            let (chain, signers) = try Vault.verifyChain(
                current.chain, vaultID: current.header.vaultID, snapshotAt: floorCount)
            try Vault.checkRoot(chain, roots: roots, actor: actor.name, pending: false)
            guard chain.count >= committed.count, Array(chain.hashes[0..<committed.count]) == committed.hashes else {
                throw VaultError.chainRewritten(committed.count)
            }
            try Vault.checkWraps(current, authority: chain)
            _ = try VaultState.check(
                stateBytes, path: paths.state, authority: chain, signersAtFloor: signers, vaultKey: vaultKey,
                generation: current.header.generation)
        } catch let error as VaultError {
            _ = try? audit(AuditEvent("refused", detail: error.message), movingState: false)
            throw error
        }
    }

    /// Reads and verifies the file as `method`'s principal.
    static func load(
        paths: VaultPaths, as method: UnlockMethod, lockHeld: Bool,
        stateProblem: ((VaultError) -> Void)? = nil
    ) throws -> Vault {
        removeAbandonedTemporaryFiles(paths, lockHeld: lockHeld)
        // The state first: a writer renames the vault before it moves the state, so a state
        // read first is never newer than the file read after it.
        let stateBytes: [UInt8]?
        do {
            stateBytes = try VaultState.readBytes(paths.state)
        } catch {
            guard let stateProblem else { throw error }
            stateProblem(error)
            stateBytes = nil
        }
        var bytes = try VaultFile.read(paths.vault)
        let body = try VaultFile.parse(bytes)
        let vaultID = body.header.vaultID

        // Who is acting: found through the chain as stored; the sealed keys prove it.
        let records = decodeRecords(body.chain)
        let added = records.compactMap { $0 }.flatMap(\.operations).filter { $0.op == .principalAdd }
        let actorID: String
        let keys: PrincipalKeys
        var envelopeRoots: VaultCrypto.Roots?
        var resealKey: SecretBytes?
        switch method {
        case .passphrase(let name, let passphrase):
            guard let id = added.first(where: { $0.name == name && $0.kind == .operator })?.principal,
                let envelope = body.header.envelopes.first(where: { $0.principal == id })
            else {
                throw VaultError.unknownPrincipal(name)
            }
            guard let kdf = envelope.sealed.kdf else {
                throw VaultError.damaged("principal \(name) has no key-derivation settings")
            }
            let sealKey = try VaultCrypto.passphraseKey(passphrase, kdf: kdf)
            do {
                (keys, envelopeRoots) = try VaultCrypto.openPrivateKeys(
                    envelope.sealed, sealKey: sealKey, vaultID: vaultID, principal: id)
            } catch {
                throw VaultError.wrongPassphrase(principal: name)
            }
            if envelopeRoots == nil { resealKey = sealKey }
            actorID = id
        case .automationKey(let key):
            guard added.contains(where: { $0.principal == key.principalID && $0.kind == .automation }) else {
                throw VaultError.wrongKey("the key file names a principal this vault does not have")
            }
            keys = try PrincipalKeys(serialized: key.keys)
            envelopeRoots = key.roots
            actorID = key.principalID
        case .recovery(let recoveryKey):
            guard let id = added.first(where: { $0.kind == .recovery })?.principal,
                let envelope = body.header.envelopes.first(where: { $0.principal == id })
            else {
                throw VaultError.damaged("the vault has no recovery principal")
            }
            let sealKey = try VaultCrypto.recoverySealKey(recoveryKey)
            do {
                (keys, envelopeRoots) = try VaultCrypto.openPrivateKeys(
                    envelope.sealed, sealKey: sealKey, vaultID: vaultID, principal: id)
            } catch {
                throw VaultError.wrongKey("the recovery key does not open this vault")
            }
            if envelopeRoots == nil { resealKey = sealKey }
            actorID = id
        }
        let actorName = added.first { $0.principal == actorID }?.name ?? actorID
        // From here on the principal is known by its keys: a refusal is signed and recorded.
        let refuse = { (error: VaultError) -> VaultError in
            _ = try? AuditLog.append(
                [AuditEvent("refused", detail: error.message)], paths: paths, principalID: actorID,
                principalName: actorName, signer: keys.signing, vaultID: vaultID)
            return error
        }
        guard let wrap = body.header.vaultKeyWraps.first(where: { $0.principal == actorID }),
            let vaultKey = try? VaultCrypto.unwrap(wrap, with: keys.exchange, purpose: "vault", vaultID: vaultID)
        else { throw VaultError.damaged("the vault key wrap for \(actorName) does not open") }
        // A file that fails its MAC did not come from inside: refused as damaged. Whatever
        // passes it but fails below was written by someone holding the vault key, and the
        // refusal is recorded.
        let (matches, mac) = VaultFile.checkMAC(&bytes, vaultKey: vaultKey)
        guard matches else {
            throw VaultError.damaged("the whole-file MAC does not match: the file was altered or corrupted")
        }
        let authority: AuthorityState
        let seen: VaultState?
        do {
            (authority, seen) = try verifyStanding(
                body, records: records, stateBytes: stateBytes, paths: paths, actorID: actorID, actorName: actorName,
                keys: keys,
                envelopeRoots: envelopeRoots, vaultKey: vaultKey, stateProblem: stateProblem)
        } catch {
            throw refuse(error)
        }
        let roots =
            envelopeRoots
            ?? VaultCrypto.Roots(admin: authority.rootFingerprint, recovery: authority.recoveryFingerprint)
        let vault = Vault(
            paths: paths, body: body, authority: authority, actorID: actorID, keys: keys, vaultKey: vaultKey,
            roots: roots)
        vault.resealKey = resealKey
        vault.verifiedMAC = mac
        vault.knownAuditHead = seen?.audit
        if envelopeRoots == nil, case .automationKey = method {
            vault.warn(
                "automation key \(actorName) was made before the vault's root was sealed into key files: an admin seals it with `nightjar vault automation-key seal FILE --as ADMIN`"
            )
        }
        if let seen {
            // Move the state only when this open saw more than it records.
            let behind =
                vault.signsFloor
                ? seen.floor.generation < body.header.generation || seen.floor.chainCount < authority.count
                : seen.generation < body.header.generation
            if behind { try vault.writeState() }
        }
        return vault
    }

    /// Verifies the chain, the principal's place in it, its root, the wraps and the rollback state.
    private static func verifyStanding(
        _ body: VaultBody, records: [AuthorityRecord?], stateBytes: [UInt8]?, paths: VaultPaths, actorID: String,
        actorName: String,
        keys: PrincipalKeys, envelopeRoots: VaultCrypto.Roots?, vaultKey: SecretBytes,
        stateProblem: ((VaultError) -> Void)?
    ) throws(VaultError) -> (AuthorityState, VaultState?) {
        let floorCount = stateBytes.flatMap { try? VaultState.parse($0, path: paths.state).floor.chainCount }
        let (authority, signersAtFloor) = try verifyChain(
            body.chain, records: records, vaultID: body.header.vaultID, snapshotAt: floorCount)
        guard let principal = authority.principals[actorID],
            principal.exchangeKey == Data(keys.exchange.publicKey.rawRepresentation),
            principal.signingKey == Data(keys.signing.verifyingKey.rawRepresentation)
        else {
            throw .authority("\(actorName)'s keys are not the ones the chain gives \(actorName)")
        }
        try checkRoot(
            authority, roots: envelopeRoots, actor: actorName, pending: authority.pendingEnvelopes.contains(actorID))
        try checkWraps(body, authority: authority)
        guard let stateBytes else {
            guard let stateProblem else { throw .stateMissing(paths.state) }
            stateProblem(.stateMissing(paths.state))
            return (authority, nil)
        }
        do {
            let state = try VaultState.check(
                stateBytes, path: paths.state, authority: authority, signersAtFloor: signersAtFloor,
                vaultKey: vaultKey, generation: body.header.generation)
            return (authority, state)
        } catch {
            guard let stateProblem else { throw error }
            stateProblem(error)
            return (authority, nil)
        }
    }

    /// Each record's payload decoded (nil where one does not parse).
    static func decodeRecords(_ chain: [ChainEntry]) -> [AuthorityRecord?] {
        let decoder = JSONDecoder()
        return chain.map { try? decoder.decode(AuthorityRecord.self, from: Data($0.payload)) }
    }

    /// Verifies the chain; also returns the principals as they stood after `snapshotAt` records
    /// (who could sign the rollback floor written then).
    static func verifyChain(
        _ chain: [ChainEntry], records: [AuthorityRecord?]? = nil, vaultID: Data,
        snapshotAt: Int?
    ) throws(VaultError) -> (AuthorityState, [String: PrincipalInfo]) {
        guard !chain.isEmpty else { throw .authority("the chain is empty: it has no genesis record") }
        let records = records ?? decodeRecords(chain)
        var state = AuthorityState(vaultID: vaultID)
        var signers: [String: PrincipalInfo]?
        for index in chain.indices {
            guard let record = records[index] else { throw .authority("record \(index + 1) does not parse") }
            try state.append(record, payload: chain[index].payload, signature: chain[index].signature)
            if index + 1 == snapshotAt { signers = state.principals }
        }
        return (state, signers ?? state.principals)
    }

    /// The chain must start at the root sealed with the principal's keys.
    static func checkRoot(_ authority: AuthorityState, roots: VaultCrypto.Roots?, actor: String, pending: Bool)
        throws(VaultError)
    {
        guard let roots else {
            guard pending else {
                throw .authority(
                    "\(actor)'s sealed keys carry no root, and the chain does not list \(actor) as awaiting one")
            }
            return
        }
        guard roots.admin == authority.rootFingerprint, roots.recovery == authority.recoveryFingerprint else {
            throw .rootReplaced(
                "the chain's first record is signed by a key other than the root admin and recovery key sealed with \(actor)'s keys"
            )
        }
    }

    /// Every client in the file is in the chain and the other way round, and every wrap of a
    /// client's key is for a principal the chain lets hold it.
    static func checkWraps(_ body: VaultBody, authority: AuthorityState) throws(VaultError) {
        let inFile = Set(body.clients.map(\.id))
        guard inFile.count == body.clients.count else { throw .authority("a client appears twice in the file") }
        for client in authority.clientOrder where !inFile.contains(client) {
            throw .authority("client \(client) is in the chain but its entries are missing from the file")
        }
        for client in body.clients {
            guard let granted = authority.clients[client.id] else {
                throw .authority("client \(client.id) is in the file but the chain never added it")
            }
            var seen: Set<String> = []
            for wrap in client.wraps {
                guard granted.holders.contains(wrap.principal) else {
                    throw .authority(
                        "client \(client.id)'s key is wrapped to \(authority.name(of: wrap.principal)), whom the chain never granted it"
                    )
                }
                guard seen.insert(wrap.principal).inserted else {
                    throw .authority("client \(client.id)'s key is wrapped twice to one principal")
                }
            }
        }
        for envelope in body.header.envelopes where authority.principals[envelope.principal] == nil {
            throw .authority("the file holds sealed keys for \(envelope.principal), whom the chain never added")
        }
    }

    /// Removes leftovers of killed writers, when no writer holds the vault's lock.
    static func removeAbandonedTemporaryFiles(_ paths: VaultPaths, lockHeld: Bool) {
        if lockHeld {
            SecureFile.removeAbandonedTemporaryFiles(for: paths.vault)
        } else if let lock = try? VaultLock(path: paths.lock, wait: false) {
            withExtendedLifetime(lock) { _ = SecureFile.removeAbandonedTemporaryFiles(for: paths.vault) }
        }
        if let lock = try? VaultLock(path: paths.stateLock, wait: false) {
            withExtendedLifetime(lock) { _ = SecureFile.removeAbandonedTemporaryFiles(for: paths.state) }
        }
    }

    // MARK: Writing

    /// Writes the vault: this change's operations as one signed record, dirty entry lists
    /// re-sealed, the next generation, MAC, temporary file, fsync, rename, fsync of the folder;
    /// then the rollback state.
    func save(replacingState: Bool = false) throws {
        let generation = body.header.generation + 1
        if !pendingOperations.isEmpty {
            let record = AuthorityRecord(
                seq: committed.count + 1, prev: committed.head, at: Vault.now(), signer: actorID,
                operations: pendingOperations)
            let payload = Array(try VaultFile.encoder().encode(record))
            let signature = keys.signing.sign(AuthorityRecord.signatureLabel + payload)
            // The record must verify as any later open will verify it.
            var next = committed
            try next.append(record, payload: payload, signature: signature)
            body.chain.append(ChainEntry(payload: payload, signature: signature))
            committed = next
            authority = next
            pendingOperations = []
        }
        for index in body.clients.indices where dirtyClients.contains(body.clients[index].id) {
            let id = body.clients[index].id
            let key = try clientKey(id)
            body.clients[index].sealedGeneration = generation
            entryLists[id]?.sort(by: StoredEntry.precedes)
            body.clients[index].sealed = try EntryList.seal(
                entryLists[id] ?? [], key: key,
                aad: EntryList.associatedData(
                    vaultID: body.header.vaultID, client: id, keyVersion: body.clients[index].keyVersion,
                    generation: generation))
        }
        dirtyClients = []
        body.header.generation = generation
        body.header.writtenAt = Vault.now()
        body.header.writtenBy = actorID
        let bytes = try VaultFile.serialize(body, vaultKey: vaultKey)
        try SecureFile.writeAtomically(bytes, to: paths.vault, mode: 0o600)
        verifiedMAC = VaultFile.macParts(bytes).mac
        changed = false
        try writeState(replacing: replacingState)
    }

    /// Whether this principal may sign the rollback floor.
    var signsFloor: Bool { actor.isAdmin || actor.kind == .automation }

    /// Moves the rollback state to what this vault knows now.
    func writeState(replacing: Bool = false, audit: (count: Int, head: String)? = nil) throws {
        let observation = VaultState.Observation(
            vaultID: body.header.vaultID, generation: body.header.generation,
            chainCount: committed.count, chainHead: committed.head, audit: audit)
        try VaultState.advance(
            paths: paths, observation: observation, signer: signsFloor ? (actorID, keys.signing) : nil,
            vaultKey: vaultKey, authority: committed, replacing: replacing)
    }

    /// Appends an audit record signed by the acting principal; throws (and the caller stops) if it cannot.
    @discardableResult
    public func audit(_ event: AuditEvent) throws -> AuditRecord {
        try audit(event, movingState: true)
    }

    @discardableResult
    func audit(_ event: AuditEvent, movingState: Bool) throws -> AuditRecord {
        let (records, count, head) = try AuditLog.append(
            [event], paths: paths, principalID: actorID, principalName: actor.name,
            signer: keys.signing, vaultID: body.header.vaultID, knownHead: knownAuditHead)
        knownAuditHead = (count, head)
        if movingState { try writeState(audit: (count, head)) }
        return records[0]
    }

    /// Seals the chain's root into this principal's keys (left without it by an upgrade).
    func sealRootIntoEnvelope(_ sealKey: SecretBytes) throws {
        guard let index = body.header.envelopes.firstIndex(where: { $0.principal == actorID }) else { return }
        let envelope = body.header.envelopes[index]
        try authorize(
            [AuthorityOperation(.envelopeSealed, principal: actorID)],
            audit: AuditEvent("envelope-seal", detail: "\(actor.name) now carries the vault's root"))
        body.header.envelopes[index].sealed = try VaultCrypto.sealPrivateKeys(
            keys, roots: roots, sealKey: sealKey, kdf: envelope.sealed.kdf,
            vaultID: body.header.vaultID, principal: actorID)
        resealKey = nil
    }

    /// Checks `operations` as the acting principal, records `event` (fail closed), then applies
    /// them; they are signed together when the vault is saved.
    func authorize(_ operations: [AuthorityOperation], audit event: AuditEvent) throws {
        var next = authority
        let at = Vault.now()
        for operation in operations { try next.apply(operation, signer: actorID, at: at, record: committed.count + 1) }
        try audit(event)
        authority = next
        pendingOperations += operations
        changed = true
    }

    // MARK: Audit

    /// Verifies the audit log: chain, signatures, and that it was not cut off.
    public func verifyAudit() throws -> (count: Int, head: String) {
        let keys = authority.principals.mapValues(\.signingKey)
        var seen: (count: Int, head: String)?
        if let bytes = try VaultState.readBytes(paths.state),
            let state = try? VaultState.parse(bytes, path: paths.state)
        {
            seen = state.audit
        }
        return try AuditLog.verify(paths: paths, signingKeys: keys, vaultID: body.header.vaultID, seen: seen)
    }

    /// Audit records, optionally of one client and since an instant (ISO 8601 prefix compare).
    public func auditRecords(client: String? = nil, since: String? = nil) throws -> [AuditRecord] {
        try AuditLog.readAll(paths.audit).filter { record in
            let concerns =
                client == nil || record.client == client
                || (record.entries ?? []).contains { $0.hasPrefix("\(client!)/") }
            return concerns && (since == nil || record.at >= since!)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
