public import Foundation
public import NightjarCore
@_spi(Testing) import NightjarCrypto

/// How a principal proves who it is.
public enum UnlockMethod: Sendable {
    /// An operator's name and passphrase.
    case passphrase(name: String, SecretBytes)
    /// An automation key (from a key file or a systemd credential).
    case automationKey(AutomationKey)
    /// The recovery key printed at `vault init`.
    case recovery(SecretBytes)
}

/// An automation principal's private keys, as kept in its key file.
public struct AutomationKey: Sendable {
    public let principalID: String
    let keys: SecretBytes

    static let header = "nightjar-automation-key/1"

    /// The key file's text (written 0600 by the caller).
    public func fileContents() -> SecretBytes {
        let encoded = keys.withUnsafeBytes { Data($0).base64EncodedString() }
        return SecretBytes(utf8: "\(AutomationKey.header)\n\(principalID)\n\(encoded)\n")
    }

    /// Parses a key file's text.
    public init(fileContents: SecretBytes) throws(VaultError) {
        guard let text = fileContents.unsafeUTF8String() else { throw .wrongKey("the key file is not text") }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count == 3, lines[0] == AutomationKey.header, let raw = Data(base64Encoded: lines[2]), raw.count == 64 else {
            throw .wrongKey("not a Nightjar automation key file")
        }
        principalID = lines[1]
        keys = SecretBytes(raw)
    }

    init(principalID: String, keys: SecretBytes) {
        self.principalID = principalID
        self.keys = keys
    }
}

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

/// An unlocked vault, acting as one principal. Reads need no lock; changes go through
/// `Vault.update`, which holds the vault's lock from reading to writing.
public final class Vault {
    public let paths: VaultPaths
    var body: VaultBody
    let actor: PrincipalRecord
    let keys: PrincipalKeys
    let vaultKey: SecretBytes
    var clientKeys: [String: SecretBytes] = [:]
    private var changed = false

    /// The acting principal's name.
    public var principalName: String { actor.name }
    /// The acting principal's roles.
    public var roles: [Role] { actor.roles }
    /// The vault's generation (incremented by every write).
    public var generation: Int { body.generation }
    /// Clients the acting principal holds keys for.
    public var accessibleClients: [String] { clientKeys.keys.sorted() }

    init(paths: VaultPaths, body: VaultBody, actor: PrincipalRecord, keys: PrincipalKeys, vaultKey: SecretBytes) {
        self.paths = paths
        self.body = body
        self.actor = actor
        self.keys = keys
        self.vaultKey = vaultKey
    }

    static func now() -> String { Logger.timestamp() }

    static func randomID(_ prefix: String) -> String {
        prefix + "-" + SecureRandom.bytes(8).map { String($0, radix: 16).leftPadded(2) }.joined()
    }

    // MARK: Creating and opening

    /// Creates a new vault with its first admin and a recovery principal. Returns the vault and
    /// the recovery key, to be printed once and kept offline.
    public static func create(paths: VaultPaths, adminName: String, passphrase: SecretBytes) throws -> (Vault, recoveryKey: SecretBytes) {
        let lock = try VaultLock(path: paths.lock)
        defer { withExtendedLifetime(lock) {} }
        guard !FileManager.default.fileExists(atPath: paths.vault) else { throw VaultError.alreadyExists(paths.vault) }
        try validateName(adminName)
        let vaultID = Data(SecureRandom.bytes(16))
        let vaultKey = SecureRandom.secretBytes(32)
        let adminKeys = PrincipalKeys.generate()
        let admin = try makeOperatorRecord(name: adminName, roles: [.admin, .operator, .runIntegrations], keys: adminKeys,
                                           passphrase: passphrase, vaultID: vaultID)
        let recoveryKey = SecureRandom.secretBytes(32)
        let recoveryKeys = PrincipalKeys.generate()
        let recoveryID = randomID("r")
        let recovery = PrincipalRecord(
            id: recoveryID, name: "recovery", kind: .recovery, roles: [.admin],
            exchangePublicKey: Data(recoveryKeys.exchange.publicKey.rawRepresentation),
            signingPublicKey: Data(recoveryKeys.signing.verifyingKey.rawRepresentation),
            sealed: try VaultCrypto.sealPrivateKeys(recoveryKeys, sealKey: try VaultCrypto.recoverySealKey(recoveryKey), kdf: nil,
                                                    vaultID: vaultID, principal: recoveryID),
            createdAt: now(), disabledAt: nil, allClients: true)
        var body = VaultBody(vaultID: vaultID, generation: 0, principals: [admin, recovery], vaultKeyWraps: [], clients: [],
                             accessHistory: [], rotationMarks: [], approvals: [], writtenAt: now(), writtenBy: admin.id)
        for principal in body.principals {
            body.vaultKeyWraps.append(try VaultCrypto.wrap(vaultKey, to: principal.exchangePublicKey, principal: principal.id,
                                                           purpose: "vault", vaultID: vaultID))
        }
        let vault = Vault(paths: paths, body: body, actor: admin, keys: adminKeys, vaultKey: vaultKey)
        try? FileManager.default.removeItem(atPath: paths.state)
        try? FileManager.default.removeItem(atPath: paths.audit)
        vault.changed = true
        try vault.save()
        try vault.audit(AuditEvent("init", detail: "vault created with admin \(adminName)"))
        return (vault, recoveryKey)
    }

    /// Opens the vault as a principal. Checks, in order: structure, the principal's keys, the
    /// whole-file MAC, rollback; then unwraps the client keys this principal holds.
    public static func open(paths: VaultPaths, as method: UnlockMethod, acceptRollback: Bool = false,
                            auditUnlock: Bool = true) throws -> Vault {
        let (body, bodyBytes, mac) = try VaultFile.parse(try VaultFile.read(paths.vault))
        let actor: PrincipalRecord
        let keys: PrincipalKeys
        switch method {
        case .passphrase(let name, let passphrase):
            guard let record = body.principals.first(where: { $0.name == name && $0.kind == .operator }) else {
                throw VaultError.unknownPrincipal(name)
            }
            guard let sealed = record.sealed, let kdf = sealed.kdf else { throw VaultError.damaged("principal \(name) has no sealed keys") }
            let sealKey = try VaultCrypto.passphraseKey(passphrase, kdf: kdf)
            do {
                keys = try VaultCrypto.openPrivateKeys(sealed, sealKey: sealKey, vaultID: body.vaultID, principal: record.id)
            } catch {
                throw VaultError.wrongPassphrase(principal: name)
            }
            actor = record
        case .automationKey(let key):
            guard let record = body.principals.first(where: { $0.id == key.principalID && $0.kind == .automation }) else {
                throw VaultError.wrongKey("the key file names a principal this vault does not have")
            }
            keys = try PrincipalKeys(serialized: key.keys)
            guard Data(keys.exchange.publicKey.rawRepresentation) == record.exchangePublicKey else {
                throw VaultError.wrongKey("the key file's key does not match principal \(record.name)")
            }
            actor = record
        case .recovery(let recoveryKey):
            guard let record = body.principals.first(where: { $0.kind == .recovery }), let sealed = record.sealed else {
                throw VaultError.damaged("the vault has no recovery principal")
            }
            do {
                keys = try VaultCrypto.openPrivateKeys(sealed, sealKey: try VaultCrypto.recoverySealKey(recoveryKey),
                                                       vaultID: body.vaultID, principal: record.id)
            } catch {
                throw VaultError.wrongKey("the recovery key does not open this vault")
            }
            actor = record
        }
        if actor.disabledAt != nil { throw VaultError.wrongKey("principal \(actor.name) was removed") }
        guard let wrap = body.vaultKeyWraps.first(where: { $0.principal == actor.id }),
              let vaultKey = try? VaultCrypto.unwrap(wrap, with: keys.exchange, purpose: "vault", vaultID: body.vaultID)
        else { throw VaultError.damaged("the vault key wrap for \(actor.name) does not open") }
        guard ConstantTime.equals(VaultFile.mac(bodyBytes, vaultKey: vaultKey), mac) else {
            throw VaultError.damaged("the whole-file MAC does not match: the file was altered or corrupted")
        }
        if let state = try VaultState.load(paths.state, vaultKey: vaultKey), state.vaultID == body.vaultID,
           body.generation < state.generation, !acceptRollback {
            throw VaultError.rollback(found: body.generation, expected: state.generation)
        }
        let vault = Vault(paths: paths, body: body, actor: actor, keys: keys, vaultKey: vaultKey)
        for client in body.clients {
            guard let wrap = client.wraps.first(where: { $0.principal == actor.id }) else { continue }
            do {
                vault.clientKeys[client.id] = try VaultCrypto.unwrap(wrap, with: keys.exchange,
                                                                     purpose: "client:\(client.id):\(client.keyVersion)",
                                                                     vaultID: body.vaultID)
            } catch {
                throw VaultError.damaged("the key wrap of client \(client.id) for \(actor.name) does not open")
            }
        }
        try vault.recordGenerationSeen(acceptRollback: acceptRollback)
        if auditUnlock { try vault.audit(AuditEvent("unlock", detail: acceptRollback ? "older generation accepted" : nil)) }
        return vault
    }

    /// Opens the vault under its lock, lets `change` modify it, and saves it if anything changed.
    public static func update<T>(paths: VaultPaths, as method: UnlockMethod, acceptRollback: Bool = false,
                                 _ change: (Vault) throws -> T) throws -> T {
        let lock = try VaultLock(path: paths.lock)
        defer { withExtendedLifetime(lock) {} }
        let vault = try open(paths: paths, as: method, acceptRollback: acceptRollback, auditUnlock: false)
        let result = try change(vault)
        if vault.changed { try vault.save() }
        return result
    }

    private func recordGenerationSeen(acceptRollback: Bool) throws {
        var state = try VaultState.load(paths.state, vaultKey: vaultKey)
            ?? VaultState(vaultID: body.vaultID, generation: 0, auditCount: 0, auditHead: AuditLog.genesis(vaultID: body.vaultID))
        if state.vaultID != body.vaultID {
            state = VaultState(vaultID: body.vaultID, generation: 0, auditCount: 0, auditHead: AuditLog.genesis(vaultID: body.vaultID))
        }
        if body.generation > state.generation || acceptRollback {
            state.generation = body.generation
            try state.save(paths.state, vaultKey: vaultKey)
        }
    }

    /// Writes the vault: next generation, MAC, temporary file, fsync, rename, fsync of the folder.
    func save() throws {
        body.generation += 1
        body.writtenAt = Vault.now()
        body.writtenBy = actor.id
        let bytes = try VaultFile.serialize(body, vaultKey: vaultKey)
        try SecureFile.writeAtomically(bytes, to: paths.vault, mode: 0o600)
        try recordGenerationSeen(acceptRollback: false)
        changed = false
    }

    /// Appends an audit record signed by the acting principal; throws (and the caller stops) if it cannot.
    @discardableResult
    public func audit(_ event: AuditEvent) throws -> AuditRecord {
        try AuditLog.append(event, paths: paths, principal: actor, signer: keys.signing, vaultID: body.vaultID, vaultKey: vaultKey)
    }

    // MARK: Principals

    /// Throws unless the acting principal has `role`.
    public func require(_ role: Role) throws {
        guard actor.roles.contains(role) else { throw VaultError.roleRequired(principal: actor.name, role: role) }
    }

    static func validateName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 64,
              name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "-_.@".unicodeScalars.contains($0) })
        else { throw VaultError.invalidInput("\"\(name)\" is not a valid name (letters, digits, - _ . @)", location: nil) }
    }

    static func makeOperatorRecord(name: String, roles: [Role], keys: PrincipalKeys, passphrase: SecretBytes,
                                   vaultID: Data) throws -> PrincipalRecord {
        guard passphrase.count >= 8 else { throw VaultError.invalidInput("a passphrase needs at least 8 characters", location: nil) }
        let parameters = VaultKDFPolicy.forNewPassphrases
        let kdf = KDFRecord(memoryKiB: parameters.memoryKiB, iterations: parameters.iterations, parallelism: parameters.parallelism,
                            salt: Data(SecureRandom.bytes(16)))
        let id = randomID("p")
        let sealKey = try VaultCrypto.passphraseKey(passphrase, kdf: kdf)
        return PrincipalRecord(id: id, name: name, kind: .operator, roles: roles.sorted(),
                               exchangePublicKey: Data(keys.exchange.publicKey.rawRepresentation),
                               signingPublicKey: Data(keys.signing.verifyingKey.rawRepresentation),
                               sealed: try VaultCrypto.sealPrivateKeys(keys, sealKey: sealKey, kdf: kdf, vaultID: vaultID, principal: id),
                               createdAt: now(), disabledAt: nil, allClients: nil)
    }

    /// Adds an operator (a person). Admin only. Reviewers never receive client keys.
    public func addOperator(name: String, roles: [Role], passphrase: SecretBytes) throws {
        try require(.admin)
        try Vault.validateName(name)
        guard !body.principals.contains(where: { $0.name == name && $0.disabledAt == nil }) else { throw VaultError.duplicatePrincipal(name) }
        guard !roles.isEmpty else { throw VaultError.invalidInput("give the operator at least one role", location: nil) }
        let record = try Vault.makeOperatorRecord(name: name, roles: roles, keys: .generate(), passphrase: passphrase, vaultID: body.vaultID)
        try audit(AuditEvent("operator-add", detail: "\(name) roles \(roles.map(\.rawValue).joined(separator: ","))"))
        body.principals.append(record)
        body.vaultKeyWraps.append(try VaultCrypto.wrap(vaultKey, to: record.exchangePublicKey, principal: record.id, purpose: "vault",
                                                       vaultID: body.vaultID))
        changed = true
    }

    /// Changes the acting operator's own passphrase.
    public func changePassphrase(_ passphrase: SecretBytes) throws {
        guard actor.kind == .operator, let index = body.principals.firstIndex(where: { $0.id == actor.id }) else {
            throw VaultError.invalidInput("only operators have passphrases", location: nil)
        }
        guard passphrase.count >= 8 else { throw VaultError.invalidInput("a passphrase needs at least 8 characters", location: nil) }
        let parameters = VaultKDFPolicy.forNewPassphrases
        let kdf = KDFRecord(memoryKiB: parameters.memoryKiB, iterations: parameters.iterations, parallelism: parameters.parallelism,
                            salt: Data(SecureRandom.bytes(16)))
        try audit(AuditEvent("passphrase-change"))
        body.principals[index].sealed = try VaultCrypto.sealPrivateKeys(keys, sealKey: try VaultCrypto.passphraseKey(passphrase, kdf: kdf),
                                                                        kdf: kdf, vaultID: body.vaultID, principal: actor.id)
        changed = true
    }

    /// Creates an automation principal for the night run and returns its key (for a 0600 key file).
    public func createAutomationKey(name: String, clients: [String]?) throws -> AutomationKey {
        try require(.admin)
        try Vault.validateName(name)
        guard !body.principals.contains(where: { $0.name == name && $0.disabledAt == nil }) else { throw VaultError.duplicatePrincipal(name) }
        let keys = PrincipalKeys.generate()
        let record = PrincipalRecord(id: Vault.randomID("a"), name: name, kind: .automation, roles: [.runIntegrations],
                                     exchangePublicKey: Data(keys.exchange.publicKey.rawRepresentation),
                                     signingPublicKey: Data(keys.signing.verifyingKey.rawRepresentation),
                                     sealed: nil, createdAt: Vault.now(), disabledAt: nil, allClients: clients == nil ? true : nil)
        let scope = clients ?? body.clients.map(\.id)
        for client in scope where clientKeys[client] == nil {
            throw VaultError.notGranted(principal: actor.name, client: client)
        }
        try audit(AuditEvent("automation-key-create", detail: "\(name) for \(clients == nil ? "all clients" : scope.joined(separator: ","))"))
        body.principals.append(record)
        body.vaultKeyWraps.append(try VaultCrypto.wrap(vaultKey, to: record.exchangePublicKey, principal: record.id, purpose: "vault",
                                                       vaultID: body.vaultID))
        for client in scope { try addWrap(client: client, principal: record) }
        changed = true
        return AutomationKey(principalID: record.id, keys: keys.serialized())
    }

    /// Principals as `vault operator list` shows them.
    public func principals() -> [(name: String, kind: PrincipalKind, roles: [Role], clients: [String])] {
        body.principals.filter { $0.disabledAt == nil }.map { principal in
            (principal.name, principal.kind, principal.roles,
             body.clients.filter { client in client.wraps.contains { $0.principal == principal.id } }.map(\.id))
        }
    }

    func principal(named name: String) throws -> PrincipalRecord {
        guard let record = body.principals.first(where: { $0.name == name && $0.disabledAt == nil }) else {
            throw VaultError.unknownPrincipal(name)
        }
        return record
    }

    // MARK: Clients and access

    func clientIndex(_ id: String) throws -> Int {
        guard let index = body.clients.firstIndex(where: { $0.id == id }) else { throw VaultError.unknownClient(id) }
        return index
    }

    func clientKey(_ id: String) throws -> SecretBytes {
        _ = try clientIndex(id)
        guard let key = clientKeys[id] else { throw VaultError.notGranted(principal: actor.name, client: id) }
        return key
    }

    private func addWrap(client: String, principal: PrincipalRecord) throws {
        let index = try clientIndex(client)
        guard !body.clients[index].wraps.contains(where: { $0.principal == principal.id }) else { return }
        let key = try clientKey(client)
        body.clients[index].wraps.append(try VaultCrypto.wrap(key, to: principal.exchangePublicKey, principal: principal.id,
                                                              purpose: "client:\(client):\(body.clients[index].keyVersion)",
                                                              vaultID: body.vaultID))
        body.accessHistory.append(AccessEvent(at: Vault.now(), client: client, principal: principal.name, granted: true, by: actor.name))
    }

    /// Creates a client with a fresh data key, wrapped to the acting admin, the recovery
    /// principal and automation keys that serve all clients.
    public func addClient(_ id: String) throws {
        try require(.admin)
        try Vault.validateName(id)
        guard !body.clients.contains(where: { $0.id == id }) else { return }
        try audit(AuditEvent("client-add", client: id))
        let key = SecureRandom.secretBytes(32)
        body.clients.append(ClientRecord(id: id, keyVersion: 1, wraps: [], entries: [], createdAt: Vault.now()))
        clientKeys[id] = key
        for principal in body.principals where principal.disabledAt == nil
            && (principal.id == actor.id || principal.kind == .recovery || principal.allClients == true) {
            try addWrap(client: id, principal: principal)
        }
        changed = true
    }

    /// Gives `name` a wrapped copy of the client's key. Admin only; reviewers are refused.
    public func grant(_ name: String, client: String) throws {
        try require(.admin)
        let principal = try principal(named: name)
        guard principal.roles != [.reviewer], principal.roles.contains(where: { $0 != .reviewer }) else {
            throw VaultError.invalidInput("\(name) is a reviewer; reviewers never hold credential keys", location: nil)
        }
        try audit(AuditEvent("grant", client: client, detail: name))
        try addWrap(client: client, principal: principal)
        changed = true
    }

    /// Removes `name`'s access to a client: rotates the client's data key, re-encrypts every
    /// entry, re-wraps the new key for the remaining principals, and marks every password the
    /// revoked principal could read for rotation at the portal. Returns those entries.
    @discardableResult
    public func revoke(_ name: String, client: String) throws -> [String] {
        try require(.admin)
        let principal = try principal(named: name)
        let index = try clientIndex(client)
        guard body.clients[index].wraps.contains(where: { $0.principal == principal.id }) else {
            throw VaultError.notGranted(principal: name, client: client)
        }
        try audit(AuditEvent("revoke", client: client, detail: name))
        let exposed = try rotateClientKey(index: index, removing: principal.id)
        body.accessHistory.append(AccessEvent(at: Vault.now(), client: client, principal: name, granted: false, by: actor.name))
        for portal in exposed where !body.rotationMarks.contains(where: { $0.client == client && $0.portal == portal }) {
            body.rotationMarks.append(RotationMark(client: client, portal: portal, reason: "\(name) lost access", markedAt: Vault.now()))
        }
        changed = true
        return exposed.map { "\(client)/\($0)" }
    }

    /// New data key for a client, every entry re-sealed under it; wraps for all but `removing`.
    private func rotateClientKey(index: Int, removing: String?) throws -> [String] {
        let client = body.clients[index].id
        let oldKey = try clientKey(client)
        let newKey = SecureRandom.secretBytes(32)
        let newVersion = body.clients[index].keyVersion + 1
        let nextGeneration = body.generation + 1
        var exposed: [String] = []
        for entryIndex in body.clients[index].entries.indices {
            let entry = body.clients[index].entries[entryIndex]
            var fields: [String: SealedField] = [:]
            for (field, sealed) in entry.fields {
                let value = try VaultCrypto.openField(sealed, key: oldKey, aad: VaultCrypto.fieldAAD(
                    vaultID: body.vaultID, client: client, portal: entry.portal, field: field, generation: entry.generation))
                fields[field] = try VaultCrypto.sealField(value, key: newKey, aad: VaultCrypto.fieldAAD(
                    vaultID: body.vaultID, client: client, portal: entry.portal, field: field, generation: nextGeneration))
            }
            body.clients[index].entries[entryIndex].fields = fields
            body.clients[index].entries[entryIndex].generation = nextGeneration
            if entry.fields["password"] != nil || entry.fields.keys.contains(where: { $0.hasPrefix("extra.") }) { exposed.append(entry.portal) }
        }
        let remaining = body.clients[index].wraps.map(\.principal).filter { $0 != removing }
        body.clients[index].keyVersion = newVersion
        body.clients[index].wraps = []
        for principalID in remaining {
            guard let principal = body.principals.first(where: { $0.id == principalID }) else { continue }
            body.clients[index].wraps.append(try VaultCrypto.wrap(newKey, to: principal.exchangePublicKey, principal: principal.id,
                                                                  purpose: "client:\(client):\(newVersion)", vaultID: body.vaultID))
        }
        clientKeys[client] = newKey
        return exposed
    }

    /// Destroys a client's key and entries (crypto-shredding). Admin only.
    public func removeClient(_ id: String) throws {
        try require(.admin)
        let index = try clientIndex(id)
        try audit(AuditEvent("client-remove", client: id, detail: "\(body.clients[index].entries.count) entries destroyed"))
        for wrap in body.clients[index].wraps {
            if let name = body.principals.first(where: { $0.id == wrap.principal })?.name {
                body.accessHistory.append(AccessEvent(at: Vault.now(), client: id, principal: name, granted: false, by: actor.name))
            }
        }
        body.clients.remove(at: index)
        body.rotationMarks.removeAll { $0.client == id }
        clientKeys[id] = nil
        changed = true
    }

    /// Who could read a client's credentials at `instant` (from the grant and revoke history).
    public func access(client: String, at instant: String? = nil) throws -> [String] {
        let limit = instant ?? "9999"
        var holders: Set<String> = []
        for event in body.accessHistory where event.client == client && event.at <= limit {
            if event.granted { holders.insert(event.principal) } else { holders.remove(event.principal) }
        }
        if instant == nil, !body.clients.contains(where: { $0.id == client }), holders.isEmpty,
           !body.accessHistory.contains(where: { $0.client == client }) {
            throw VaultError.unknownClient(client)
        }
        return holders.sorted()
    }

    // MARK: Entries

    func entryIndex(client: String, portal: String) throws -> (Int, Int) {
        let clientIndex = try clientIndex(client)
        guard let entryIndex = body.clients[clientIndex].entries.firstIndex(where: { $0.portal == portal }) else {
            throw VaultError.unknownEntry("\(client)/\(portal)")
        }
        return (clientIndex, entryIndex)
    }

    func requireEditor(client: String) throws {
        guard actor.roles.contains(.operator) || actor.roles.contains(.admin) else {
            throw VaultError.roleRequired(principal: actor.name, role: .operator)
        }
        _ = try clientKey(client)
    }

    /// Adds `CLIENT/PORTAL`. The client is created first if the actor is an admin.
    public func addEntry(client: String, portal: String, _ input: CredentialInput) throws {
        if !body.clients.contains(where: { $0.id == client }) {
            guard actor.roles.contains(.admin) else { throw VaultError.unknownClient(client) }
            try addClient(client)
        }
        try requireEditor(client: client)
        try Vault.validateName(portal)
        let index = try clientIndex(client)
        guard !body.clients[index].entries.contains(where: { $0.portal == portal }) else { throw VaultError.entryExists("\(client)/\(portal)") }
        try audit(AuditEvent("add", client: client, entry: portal))
        body.clients[index].entries.append(EntryRecord(portal: portal, generation: 0, updatedAt: Vault.now(), expires: nil, fields: [:]))
        try write(client: client, portal: portal, input, replacing: true)
        changed = true
    }

    /// Changes fields of an entry; nil fields stay as they are.
    public func editEntry(client: String, portal: String, _ input: CredentialInput, action: String = "edit") throws {
        try requireEditor(client: client)
        _ = try entryIndex(client: client, portal: portal)
        try audit(AuditEvent(action, client: client, entry: portal))
        try write(client: client, portal: portal, input, replacing: false)
        if input.password != nil { body.rotationMarks.removeAll { $0.client == client && $0.portal == portal } }
        changed = true
    }

    /// Removes an entry.
    public func removeEntry(client: String, portal: String) throws {
        try requireEditor(client: client)
        let (clientIndex, entryIndex) = try entryIndex(client: client, portal: portal)
        try audit(AuditEvent("remove", client: client, entry: portal))
        body.clients[clientIndex].entries.remove(at: entryIndex)
        body.rotationMarks.removeAll { $0.client == client && $0.portal == portal }
        changed = true
    }

    /// Re-seals an entry's fields, merged with `input`, at the next generation.
    private func write(client: String, portal: String, _ input: CredentialInput, replacing: Bool) throws {
        let key = try clientKey(client)
        let (clientIndex, entryIndex) = try entryIndex(client: client, portal: portal)
        let entry = body.clients[clientIndex].entries[entryIndex]
        var values: [String: SecretBytes] = [:]
        if !replacing {
            for (field, sealed) in entry.fields {
                values[field] = try VaultCrypto.openField(sealed, key: key, aad: VaultCrypto.fieldAAD(
                    vaultID: body.vaultID, client: client, portal: portal, field: field, generation: entry.generation))
            }
        }
        if let username = input.username { values["username"] = username }
        if let password = input.password { values["password"] = password }
        if let totp = input.totp { values["totp"] = totp.uri() }
        for (name, value) in input.extra {
            try Vault.validateName(name)
            values["extra.\(name)"] = value
        }
        for name in input.removeExtra { values["extra.\(name)"] = nil }
        if let origins = input.allowedOrigins { values["origins"] = SecretBytes(utf8: origins.map(\.description).joined(separator: "\n")) }
        if let notes = input.notes { values["notes"] = SecretBytes(utf8: notes) }
        let generation = body.generation + 1
        var sealed: [String: SealedField] = [:]
        for (field, value) in values {
            sealed[field] = try VaultCrypto.sealField(value, key: key, aad: VaultCrypto.fieldAAD(
                vaultID: body.vaultID, client: client, portal: portal, field: field, generation: generation))
        }
        body.clients[clientIndex].entries[entryIndex].fields = sealed
        body.clients[clientIndex].entries[entryIndex].generation = generation
        body.clients[clientIndex].entries[entryIndex].updatedAt = Vault.now()
        if let expires = input.expires { body.clients[clientIndex].entries[entryIndex].expires = expires.description }
    }

    /// Decrypts a credential for `purpose`, audits it first (fail closed), and registers its secret values with the redactor (not the username, an identifier unless marked secret).
    public func credential(client: String, portal: String, purpose: CredentialPurpose) throws -> Credential {
        try credentials([(client, portal)], purpose: purpose)[0]
    }

    /// Decrypts several credentials after one durable audit record naming every one of them
    /// (how a run loads the credentials it will use).
    public func credentials(_ names: [(client: String, portal: String)], purpose: CredentialPurpose) throws -> [Credential] {
        var run: String?
        if case .use(let id) = purpose { run = id }
        for (client, portal) in names {
            _ = try clientKey(client)
            _ = try entryIndex(client: client, portal: portal)
        }
        let clients = Set(names.map(\.client))
        let event = names.count == 1
            ? AuditEvent(purpose.action, client: names[0].client, entry: names[0].portal, run: run)
            : AuditEvent(purpose.action, client: clients.count == 1 ? clients.first : nil,
                         entries: names.map { "\($0.client)/\($0.portal)" }, run: run, detail: "\(names.count) credentials")
        try audit(event)
        return try names.map { try decrypt(client: $0.client, portal: $0.portal) }
    }

    private func decrypt(client: String, portal: String) throws -> Credential {
        let key = try clientKey(client)
        let (clientIndex, entryIndex) = try entryIndex(client: client, portal: portal)
        let entry = body.clients[clientIndex].entries[entryIndex]
        var values: [String: SecretBytes] = [:]
        for (field, sealed) in entry.fields {
            do {
                values[field] = try VaultCrypto.openField(sealed, key: key, aad: VaultCrypto.fieldAAD(
                    vaultID: body.vaultID, client: client, portal: portal, field: field, generation: entry.generation))
            } catch {
                throw VaultError.damaged("field \(field) of \(client)/\(portal) does not authenticate (moved, swapped or altered)")
            }
        }
        // The username is an identifier, not a secret: whoever runs the credential registers it
        // when the credential marks it secret (ScriptCredential.usernameIsSecret).
        for (field, value) in values where field != "origins" && field != "notes" && field != "username" { Redactor.shared.register(value) }
        var extra: [String: SecretBytes] = [:]
        for (field, value) in values where field.hasPrefix("extra.") { extra[String(field.dropFirst(6))] = value }
        let origins = try (values["origins"]?.unsafeUTF8String() ?? "").split(separator: "\n").map { try Origin(String($0)) }
        return Credential(client: client, portal: portal, username: values["username"], password: values["password"],
                          totp: try values["totp"].map { try TOTPSettings.parse($0) }, extra: extra, allowedOrigins: origins,
                          notes: values["notes"]?.unsafeUTF8String(),
                          expires: entry.expires.flatMap { try? CalendarDate(iso: $0) })
    }

    /// Entries of the clients the actor can read (or of one client). Never a secret.
    public func list(client: String? = nil) throws -> [EntrySummary] {
        if let client { _ = try clientKey(client) }
        var result: [EntrySummary] = []
        for record in body.clients where (client == nil || record.id == client) && clientKeys[record.id] != nil {
            for entry in record.entries.sorted(by: { $0.portal < $1.portal }) {
                result.append(EntrySummary(client: record.id, portal: entry.portal, fields: entry.fields.keys.sorted(), expires: entry.expires,
                                           updatedAt: entry.updatedAt,
                                           markedForRotation: body.rotationMarks.contains { $0.client == record.id && $0.portal == entry.portal }))
            }
        }
        return result
    }

    /// Passwords marked for rotation at their portals.
    public var rotationMarks: [RotationMark] { body.rotationMarks }

    // MARK: Scraper approvals

    /// Records an admin's approval of a scraper definition's exact bytes.
    public func approveScraper(portal: String, sha256: String) throws {
        try require(.admin)
        guard !isApproved(portal: portal, sha256: sha256) else { return }
        try audit(AuditEvent("scraper-approve", entry: portal, detail: sha256))
        body.approvals.append(ScraperApproval(portal: portal, sha256: sha256, approvedBy: actor.name, approvedAt: Vault.now()))
        changed = true
    }

    /// Whether this exact definition (by SHA-256) is approved.
    public func isApproved(portal: String, sha256: String) -> Bool {
        body.approvals.contains { $0.portal == portal && $0.sha256 == sha256 }
    }

    // MARK: Audit

    /// Verifies the audit log: chain, signatures, and that it was not cut off.
    public func verifyAudit() throws -> (count: Int, head: String) {
        try AuditLog.verify(paths: paths, principals: body.principals, vaultID: body.vaultID,
                            state: try VaultState.load(paths.state, vaultKey: vaultKey))
    }

    /// Audit records, optionally of one client and since an instant (ISO 8601 prefix compare).
    public func auditRecords(client: String? = nil, since: String? = nil) throws -> [AuditRecord] {
        try AuditLog.readAll(paths.audit).filter { record in
            let concerns = client == nil || record.client == client
                || (record.entries ?? []).contains { $0.hasPrefix("\(client!)/") }
            return concerns && (since == nil || record.at >= since!)
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

extension AutomationKey {
    /// Reads a key file, refusing it unless the opened file is a regular file owned by this user
    /// with no permission for group or others (0600 or stricter).
    public static func load(path: String) throws -> AutomationKey {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { throw VaultError.keyFilePermissions("cannot open \(path)") }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw VaultError.keyFilePermissions("\(path) is not a regular file")
        }
        guard info.st_uid == geteuid() else { throw VaultError.keyFilePermissions("\(path) is not owned by this user") }
        guard info.st_mode & 0o077 == 0 else {
            throw VaultError.keyFilePermissions("\(path) is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        var bytes = [UInt8](repeating: 0, count: 4096)
        defer { SecretBytes.wipe(&bytes) }
        let count = read(descriptor, &bytes, bytes.count)
        guard count > 0 else { throw VaultError.keyFilePermissions("\(path) is empty") }
        return try AutomationKey(fileContents: SecretBytes(bytes[0..<count]))
    }

    /// Where the night run finds its key, in order: an explicit path (option or config), the
    /// `NIGHTJAR_VAULT_KEY_FILE` variable, or the systemd credential `nightjar-vault-key`.
    public static func locate(explicit: String?, environment: [String: String]) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        if let path = environment["NIGHTJAR_VAULT_KEY_FILE"], !path.isEmpty { return path }
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let path = directory + "/nightjar-vault-key"
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return nil
    }

    /// Writes a key file, mode 0600, refusing to overwrite.
    public func write(to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw VaultError.alreadyExists(path) }
        let contents = fileContents()
        try contents.withUnsafeBytes { try SecureFile.writeAtomically(Array($0), to: path, mode: 0o600) }
    }
}

/// The recovery key as people handle it: base32 in groups of four.
public enum RecoveryKeyText {
    public static func format(_ key: SecretBytes) -> String {
        let text = Base32.encode(key)
        return stride(from: 0, to: text.count, by: 4).map { offset -> String in
            let start = text.index(text.startIndex, offsetBy: offset)
            return String(text[start..<text.index(start, offsetBy: min(4, text.count - offset))])
        }.joined(separator: "-")
    }

    public static func parse(_ text: SecretBytes) throws -> SecretBytes {
        guard let string = text.unsafeUTF8String() else { throw VaultError.wrongKey("the recovery key is not text") }
        let cleaned = string.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: " ", with: "")
        guard let key = try? Base32.decode(cleaned), key.count == 32 else { throw VaultError.wrongKey("not a recovery key") }
        return key
    }
}
