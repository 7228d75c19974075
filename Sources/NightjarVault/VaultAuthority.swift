import Foundation
public import NightjarCore
@_spi(Testing) import NightjarCrypto

/// A principal as `vault operator list` shows it.
public struct PrincipalSummary: Sendable, Equatable {
    public let name: String
    public let kind: PrincipalKind
    public let roles: [Role]
    /// Clients whose credentials it can read.
    public let clients: [String]
    /// Clients it reviews (for reviewers and viewers); `reviewsAllClients` covers every client.
    public let reviews: [String]
    public let reviewsAllClients: Bool
    /// Whether its sealed keys (or key file) still lack the vault's root, left so by an upgrade.
    public let awaitingRoot: Bool
}

/// One record of the authority chain, for people.
public struct AuthorityRecordSummary: Sendable, Equatable {
    public let seq: Int
    public let at: String
    public let signer: String
    public let operations: [String]
    /// Hex SHA-256 of the record's payload (the next record links to it).
    public let hash: String
}

/// What the acting principal may do in the morning review, from its roles and review grants.
/// The review code and the review site both enforce it.
public struct ReviewScope: Sendable, Equatable {
    public let principal: String
    /// Reads every client's batches (admins; reviewers and viewers granted all clients).
    public let readsAllClients: Bool
    /// Clients it may read when not all.
    public let readableClients: Set<String>
    /// Approves every client's batches (admins; reviewers granted all clients).
    public let approvesAllClients: Bool
    /// Clients it may approve when not all.
    public let approvableClients: Set<String>
    /// Reverses approved batches (admins only).
    public let mayReverse: Bool

    public func mayRead(client: String) -> Bool { readsAllClients || readableClients.contains(client) }
    public func mayApprove(client: String) -> Bool { approvesAllClients || approvableClients.contains(client) }

    /// The scope of a principal from its roles and review grants.
    public static func of(name: String, roles: [Role], granted: Set<String>, allClients: Bool) -> ReviewScope {
        if roles.contains(.admin) {
            return ReviewScope(
                principal: name, readsAllClients: true, readableClients: [], approvesAllClients: true,
                approvableClients: [], mayReverse: true)
        }
        let reads = roles.contains(.reviewer) || roles.contains(.viewer)
        let approves = roles.contains(.reviewer)
        return ReviewScope(
            principal: name, readsAllClients: reads && allClients, readableClients: reads ? granted : [],
            approvesAllClients: approves && allClients, approvableClients: approves ? granted : [], mayReverse: false)
    }
}

extension ReviewScope {
    /// The scope of a principal as `vault operator list` shows it.
    public init(_ summary: PrincipalSummary) {
        self = ReviewScope.of(
            name: summary.name, roles: summary.roles, granted: Set(summary.reviews),
            allClients: summary.reviewsAllClients)
    }
}

extension Vault {
    // MARK: Principals

    /// Throws unless the acting principal has `role`.
    public func require(_ role: Role) throws {
        guard actor.roles.contains(role) else { throw VaultError.roleRequired(principal: actor.name, role: role) }
    }

    func principal(named name: String) throws -> PrincipalInfo {
        guard let principal = authority.principal(named: name) else { throw VaultError.unknownPrincipal(name) }
        return principal
    }

    /// Adds an operator (a person). Admin only. Reviewers and viewers never receive client keys.
    public func addOperator(name: String, roles: [Role], passphrase: SecretBytes) throws {
        try require(.admin)
        try VaultNames.check(name, field: "operator name")
        guard authority.principal(named: name) == nil else { throw VaultError.duplicatePrincipal(name) }
        guard !roles.isEmpty else {
            throw VaultError.invalidInput("give the operator at least one role", location: nil)
        }
        try Vault.checkPassphrase(passphrase)
        let keys = PrincipalKeys.generate()
        let id = Vault.randomID("p")
        let operation = AuthorityOperation(
            .principalAdd, principal: id, name: name, kind: .operator,
            exchangeKey: Data(keys.exchange.publicKey.rawRepresentation),
            signingKey: Data(keys.signing.verifyingKey.rawRepresentation), roles: Array(Set(roles)).sorted())
        let sealed = try Vault.sealPassphraseKeys(
            keys, passphrase: passphrase, roots: roots, vaultID: body.header.vaultID, principal: id)
        try authorize(
            [operation],
            audit: AuditEvent("operator-add", detail: "\(name) roles \(roles.map(\.rawValue).joined(separator: ","))"))
        body.header.envelopes.append(EnvelopeRecord(principal: id, sealed: sealed))
        body.header.vaultKeyWraps.append(
            try VaultCrypto.wrap(
                vaultKey, to: operation.exchangeKey!, principal: id, purpose: "vault",
                vaultID: body.header.vaultID))
    }

    /// Changes the acting operator's own passphrase.
    public func changePassphrase(_ passphrase: SecretBytes) throws {
        guard actor.kind == .operator, let index = body.header.envelopes.firstIndex(where: { $0.principal == actorID })
        else {
            throw VaultError.invalidInput("only operators have passphrases", location: nil)
        }
        try Vault.checkPassphrase(passphrase)
        let sealed = try Vault.sealPassphraseKeys(
            keys, passphrase: passphrase, roots: roots, vaultID: body.header.vaultID, principal: actorID)
        try audit(AuditEvent("passphrase-change"))
        body.header.envelopes[index].sealed = sealed
        changed = true
    }

    /// Gives an operator a role. Admin only.
    public func grantRole(_ role: Role, to name: String) throws {
        try require(.admin)
        let principal = try principal(named: name)
        try authorize(
            [AuthorityOperation(.roleGrant, principal: principal.id, role: role)],
            audit: AuditEvent("role-grant", detail: "\(name) \(role.rawValue)"))
    }

    /// Takes a role away. Admin only. Refused when it would leave no admin besides the recovery
    /// key, or leave a reviewer or viewer holding client keys.
    public func revokeRole(_ role: Role, from name: String) throws {
        try require(.admin)
        let principal = try principal(named: name)
        guard principal.roles.contains(role) else {
            throw VaultError.invalidInput("\(name) does not hold the \(role.rawValue) role", location: nil)
        }
        if role == .admin {
            let admins = authority.principalOrder.compactMap { authority.principals[$0] }.filter {
                $0.kind == .operator && $0.isAdmin
            }
            guard admins.count > 1 else {
                throw VaultError.invalidInput(
                    "\(name) is the last admin besides the recovery key; make another admin first", location: nil)
            }
        }
        let remaining = principal.roles.subtracting([role])
        let held = authority.clientOrder.filter { authority.holds(principal.id, client: $0) }
        if !remaining.isEmpty, remaining.allSatisfy(\.holdsNoKeys), !held.isEmpty {
            throw VaultError.invalidInput(
                "\(name) would keep the credential keys of \(held.joined(separator: ", ")) with only the \(remaining.map(\.rawValue).sorted().joined(separator: ", ")) role; revoke those first (nightjar vault revoke \(name) CLIENT)",
                location: nil)
        }
        try authorize(
            [AuthorityOperation(.roleRevoke, principal: principal.id, role: role)],
            audit: AuditEvent("role-revoke", detail: "\(name) \(role.rawValue)"))
    }

    /// Creates an automation principal for the night run and returns its key (for a 0600 key
    /// file), which carries the vault's root.
    public func createAutomationKey(name: String, clients: [String]?) throws -> AutomationKey {
        try require(.admin)
        try VaultNames.check(name, field: "automation key name")
        guard authority.principal(named: name) == nil else { throw VaultError.duplicatePrincipal(name) }
        let scope = clients ?? authority.clientOrder
        for client in scope {
            _ = try clientIndex(client)
            guard authority.holds(actorID, client: client) else {
                throw VaultError.notGranted(principal: actor.name, client: client)
            }
        }
        let keys = PrincipalKeys.generate()
        let id = Vault.randomID("a")
        var operations = [
            AuthorityOperation(
                .principalAdd, principal: id, name: name, kind: .automation,
                exchangeKey: Data(keys.exchange.publicKey.rawRepresentation),
                signingKey: Data(keys.signing.verifyingKey.rawRepresentation), roles: [.runIntegrations],
                allClients: clients == nil ? true : nil)
        ]
        if let clients { operations += clients.map { AuthorityOperation(.clientGrant, principal: id, client: $0) } }
        try authorize(
            operations,
            audit: AuditEvent(
                "automation-key-create",
                detail: "\(name) for \(clients == nil ? "all clients" : scope.joined(separator: ","))"))
        body.header.vaultKeyWraps.append(
            try VaultCrypto.wrap(
                vaultKey, to: operations[0].exchangeKey!, principal: id, purpose: "vault",
                vaultID: body.header.vaultID))
        for client in scope { try addWrap(client: client, principal: id) }
        return AutomationKey(principalID: id, keys: keys.serialized(), roots: roots)
    }

    /// Rewrites a format-1 automation key file (left by an upgrade) so it carries the vault's
    /// root, and records that in the chain. Admin only. Returns the key's principal name.
    @discardableResult
    public func sealAutomationKey(at path: String) throws -> String {
        try require(.admin)
        let key = try AutomationKey.load(path: path)
        guard let principal = authority.principals[key.principalID], principal.kind == .automation else {
            throw VaultError.wrongKey("\(path) is not a key of this vault")
        }
        let keys = try PrincipalKeys(serialized: key.keys)
        guard Data(keys.exchange.publicKey.rawRepresentation) == principal.exchangeKey else {
            throw VaultError.wrongKey("\(path) does not hold \(principal.name)'s key")
        }
        if key.roots == roots { return principal.name }
        guard key.roots == nil, authority.pendingEnvelopes.contains(principal.id) else {
            throw VaultError.rootReplaced("\(path) names another root than this vault's")
        }
        try authorize(
            [AuthorityOperation(.envelopeSealed, principal: principal.id)],
            audit: AuditEvent("envelope-seal", detail: "automation key \(principal.name) at \(path)"))
        try AutomationKey(principalID: key.principalID, keys: key.keys, roots: roots).replace(at: path)
        return principal.name
    }

    /// Principals as `vault operator list` shows them.
    public func principals() -> [PrincipalSummary] {
        authority.principalOrder.compactMap { authority.principals[$0] }.map { principal in
            PrincipalSummary(
                name: principal.name, kind: principal.kind, roles: principal.sortedRoles,
                clients: authority.clientOrder.filter { authority.holds(principal.id, client: $0) }.sorted(),
                reviews: authority.reviewers.filter { $0.value.contains(principal.id) }.map(\.key).sorted(),
                reviewsAllClients: authority.reviewsAllClients.contains(principal.id),
                awaitingRoot: authority.pendingEnvelopes.contains(principal.id))
        }
    }

    /// The authority chain, oldest record first.
    public func authorityRecords() -> [AuthorityRecordSummary] {
        zip(committed.records, committed.hashes).map { record, hash in
            AuthorityRecordSummary(
                seq: record.seq, at: record.at, signer: committed.name(of: record.signer),
                operations: record.operations.map { $0.summary { self.committed.name(of: $0) } }, hash: hash)
        }
    }

    // MARK: Review grants

    /// What `name` (the acting principal when nil) may read, approve and reverse in the morning review.
    public func reviewScope(of name: String? = nil) throws -> ReviewScope {
        let principal = try name.map { try self.principal(named: $0) } ?? actor
        let granted = Set(authority.reviewers.filter { $0.value.contains(principal.id) }.map(\.key))
        return ReviewScope.of(
            name: principal.name, roles: Array(principal.roles), granted: granted,
            allClients: authority.reviewsAllClients.contains(principal.id))
    }

    /// The acting principal's review scope.
    public var reviewScope: ReviewScope { (try? reviewScope(of: nil))! }

    /// Lets a reviewer (approves) or viewer (reads) review a client's batches, or every client's
    /// (`client` nil). Admin only.
    public func grantReview(to name: String, client: String?) throws {
        try require(.admin)
        if let client { try VaultNames.check(client, field: "client name") }
        let principal = try principal(named: name)
        guard principal.roles.contains(.reviewer) || principal.roles.contains(.viewer) else {
            throw VaultError.invalidInput(
                "\(name) has neither the reviewer nor the viewer role: grant one first (nightjar vault role grant \(name) reviewer)",
                location: nil)
        }
        try authorize(
            [
                AuthorityOperation(
                    .reviewGrant, principal: principal.id, client: client, allClients: client == nil ? true : nil)
            ],
            audit: AuditEvent("review-grant", client: client, detail: "\(name)\(client == nil ? " all clients" : "")"))
    }

    /// Ends a review grant. Admin only.
    public func revokeReview(from name: String, client: String?) throws {
        try require(.admin)
        let principal = try principal(named: name)
        try authorize(
            [
                AuthorityOperation(
                    .reviewRevoke, principal: principal.id, client: client, allClients: client == nil ? true : nil)
            ],
            audit: AuditEvent("review-revoke", client: client, detail: "\(name)\(client == nil ? " all clients" : "")"))
    }

    // MARK: Approvals

    /// Records an admin's approval of a file's exact bytes (by name and SHA-256).
    public func approve(_ subject: ApprovalSubject, name: String, sha256: String) throws {
        try require(.admin)
        try VaultNames.check(name, field: "\(subject.rawValue) name")
        guard Approvals.isDigest(sha256) else {
            throw VaultError.invalidInput("\"\(sha256)\" is not a lower-case hex SHA-256", location: nil)
        }
        guard !isApproved(subject, name: name, sha256: sha256) else { return }
        try authorize(
            [AuthorityOperation(.approve, name: name, subject: subject, sha256: sha256)],
            audit: AuditEvent("\(subject.rawValue)-approve", entry: name, detail: sha256))
    }

    /// Withdraws an approval. Admin only.
    public func withdrawApproval(_ subject: ApprovalSubject, name: String, sha256: String) throws {
        try require(.admin)
        guard isApproved(subject, name: name, sha256: sha256) else {
            throw VaultError.invalidInput("\(subject.rawValue) \(name) sha256 \(sha256) is not approved", location: nil)
        }
        try authorize(
            [AuthorityOperation(.approvalWithdraw, name: name, subject: subject, sha256: sha256)],
            audit: AuditEvent("\(subject.rawValue)-withdraw", entry: name, detail: sha256))
    }

    /// Whether this exact file (by SHA-256) is approved in the verified chain.
    public func isApproved(_ subject: ApprovalSubject, name: String, sha256: String) -> Bool {
        authority.approvals.contains { $0.subject == subject && $0.name == name && $0.sha256 == sha256 }
    }

    /// The approval of this exact file, with who approved it and when, or nil.
    public func approval(_ subject: ApprovalSubject, name: String, sha256: String) -> Approval? {
        authority.approvals.first { $0.subject == subject && $0.name == name && $0.sha256 == sha256 }
    }

    /// Approvals in force, optionally of one kind.
    public func approvals(_ subject: ApprovalSubject? = nil) -> [Approval] {
        authority.approvals.filter { subject == nil || $0.subject == subject }
    }

    /// Records an admin's approval of a scraper definition's exact bytes.
    public func approveScraper(portal: String, sha256: String) throws {
        try approve(.scraper, name: portal, sha256: sha256)
    }

    /// Whether this exact scraper definition (by SHA-256) is approved.
    public func isApproved(portal: String, sha256: String) -> Bool {
        isApproved(.scraper, name: portal, sha256: sha256)
    }

    // MARK: Report recipients

    /// Approves an e-mail address to receive a client's reports. Admin only.
    public func addReportRecipient(client: String, address: String) throws {
        try require(.admin)
        try VaultNames.check(client, field: "client name")
        try VaultNames.refuseNUL(address, field: "e-mail address")
        if let problem = ReportRecipients.problem(address) {
            throw VaultError.invalidInput("\"\(address)\" is not a report recipient: \(problem)", location: nil)
        }
        let address = ReportRecipients.normalised(address)
        guard !(authority.recipients[client] ?? []).contains(where: { $0.address == address }) else { return }
        try authorize(
            [AuthorityOperation(.recipientAdd, client: client, address: address)],
            audit: AuditEvent("recipient-add", client: client, detail: address))
    }

    /// Removes a report recipient. Admin only.
    public func removeReportRecipient(client: String, address: String) throws {
        try require(.admin)
        let address = ReportRecipients.normalised(address)
        guard (authority.recipients[client] ?? []).contains(where: { $0.address == address }) else {
            throw VaultError.invalidInput("\(address) is not a report recipient of \(client)", location: nil)
        }
        try authorize(
            [AuthorityOperation(.recipientRemove, client: client, address: address)],
            audit: AuditEvent("recipient-remove", client: client, detail: address))
    }

    /// The addresses approved to receive `client`'s reports, in the order they were approved.
    public func reportRecipients(client: String) -> [ReportRecipient] { authority.recipients[client] ?? [] }

    /// Every client's approved report recipients.
    public func reportRecipients() -> [ReportRecipient] {
        authority.recipients.keys.sorted().flatMap { authority.recipients[$0]! }
    }

    // MARK: Clients and access

    func clientIndex(_ id: String) throws -> Int {
        guard let index = body.clients.firstIndex(where: { $0.id == id }) else { throw VaultError.unknownClient(id) }
        return index
    }

    /// Unwraps, in one pass, the keys of those of `clients` the actor holds and has not opened yet.
    func prefetchClientKeys(_ clients: [String]) throws {
        var items: [(wrap: KeyWrap, purpose: String)] = []
        var ids: [String] = []
        for id in clients where clientKeys[id] == nil {
            guard let index = body.clients.firstIndex(where: { $0.id == id }),
                let wrap = body.clients[index].wraps.first(where: { $0.principal == actorID })
            else { continue }
            items.append((wrap, "client:\(id):\(body.clients[index].keyVersion)"))
            ids.append(id)
        }
        guard items.count > 1 else { return }
        let keys = try VaultCrypto.unwrapAll(
            items, with: self.keys.exchange, publicKey: Array(actor.exchangeKey), vaultID: body.header.vaultID)
        for (id, key) in zip(ids, keys) {
            guard let key else {
                throw VaultError.damaged("the key wrap of client \(id) for \(actor.name) does not open")
            }
            clientKeys[id] = key
        }
    }

    /// The client's data key, unwrapped on first use.
    func clientKey(_ id: String) throws -> SecretBytes {
        if let key = clientKeys[id] { return key }
        let index = try clientIndex(id)
        let client = body.clients[index]
        guard let wrap = client.wraps.first(where: { $0.principal == actorID }) else {
            throw VaultError.notGranted(principal: actor.name, client: id)
        }
        do {
            let key = try VaultCrypto.unwrap(
                wrap, with: keys.exchange, purpose: "client:\(id):\(client.keyVersion)", vaultID: body.header.vaultID)
            clientKeys[id] = key
            return key
        } catch {
            throw VaultError.damaged("the key wrap of client \(id) for \(actor.name) does not open")
        }
    }

    func addWrap(client: String, principal id: String) throws {
        let index = try clientIndex(client)
        guard !body.clients[index].wraps.contains(where: { $0.principal == id }),
            let principal = authority.principals[id]
        else { return }
        let key = try clientKey(client)
        body.clients[index].wraps.append(
            try VaultCrypto.wrap(
                key, to: principal.exchangeKey, principal: id,
                purpose: "client:\(client):\(body.clients[index].keyVersion)",
                vaultID: body.header.vaultID))
        changed = true
    }

    /// Creates a client with a fresh data key, wrapped to the acting admin, the recovery
    /// principal and automation keys that serve all clients.
    public func addClient(_ id: String) throws {
        try require(.admin)
        try VaultNames.check(id, field: "client name")
        guard !body.clients.contains(where: { $0.id == id }) else { return }
        try addClients([id], audit: AuditEvent("client-add", client: id))
    }

    /// Creates several clients in one step (an import for many clients).
    func addClients(_ ids: [String], audit event: AuditEvent?) throws {
        guard !ids.isEmpty else { return }
        let operations = ids.map { AuthorityOperation(.clientAdd, client: $0) }
        if let event {
            try authorize(operations, audit: event)
        } else {
            var next = authority
            let at = Vault.now()
            for operation in operations {
                try next.apply(operation, signer: actorID, at: at, record: committed.count + 1)
            }
            authority = next
            pendingOperations += operations
            changed = true
        }
        for id in ids {
            let key = SecureRandom.secretBytes(32)
            body.clients.append(ClientBlock(id: id, keyVersion: 1, sealedGeneration: 0, wraps: [], sealed: []))
            clientKeys[id] = key
            entryLists[id] = []
            dirtyClients.insert(id)
            for holder in authority.clients[id]!.holders.sorted() { try addWrap(client: id, principal: holder) }
        }
    }

    /// Gives `name` a wrapped copy of the client's key. Admin only; reviewers and viewers are refused.
    public func grant(_ name: String, client: String) throws {
        try require(.admin)
        let principal = try principal(named: name)
        _ = try clientIndex(client)
        guard !principal.holdsNoKeys else {
            throw VaultError.invalidInput(
                "\(name) is a \(principal.sortedRoles.map(\.rawValue).joined(separator: " and ")); they never hold credential keys (nightjar vault review grant gives review access)",
                location: nil)
        }
        _ = try clientKey(client)
        try authorize(
            [AuthorityOperation(.clientGrant, principal: principal.id, client: client)],
            audit: AuditEvent("grant", client: client, detail: name))
        try addWrap(client: client, principal: principal.id)
    }

    /// Removes `name`'s access to a client: rotates the client's data key, re-encrypts its
    /// entries, re-wraps the new key for the remaining holders, and marks every password the
    /// revoked principal could read for rotation at the portal. Returns those entries.
    @discardableResult
    public func revoke(_ name: String, client: String) throws -> [String] {
        try require(.admin)
        let principal = try principal(named: name)
        let index = try clientIndex(client)
        guard authority.holds(principal.id, client: client) else {
            throw VaultError.notGranted(principal: name, client: client)
        }
        let entries = try entryList(client)
        try authorize(
            [AuthorityOperation(.clientRevoke, principal: principal.id, client: client)],
            audit: AuditEvent("revoke", client: client, detail: name))
        // A new data key; the entries are sealed under it at save.
        let newVersion = body.clients[index].keyVersion + 1
        let newKey = SecureRandom.secretBytes(32)
        body.clients[index].keyVersion = newVersion
        body.clients[index].wraps = []
        clientKeys[client] = newKey
        for holder in authority.clients[client]!.holders.sorted() {
            guard let info = authority.principals[holder] else { continue }
            body.clients[index].wraps.append(
                try VaultCrypto.wrap(
                    newKey, to: info.exchangeKey, principal: holder,
                    purpose: "client:\(client):\(newVersion)", vaultID: body.header.vaultID))
        }
        dirtyClients.insert(client)
        var exposed: [String] = []
        for entry in entries where entry.holdsPortalSecret {
            let name = CredentialName(client: client, portal: entry.portal, label: entry.label)
            exposed.append(name.description)
            if !body.header.rotationMarks.contains(where: { $0.entry == name.description }) {
                body.header.rotationMarks.append(
                    RotationMark(
                        client: client, portal: entry.portal, label: entry.label,
                        reason: "\(principal.name) lost access", markedAt: Vault.now()))
            }
        }
        changed = true
        return exposed
    }

    /// Destroys a client's key and entries (crypto-shredding). Admin only.
    public func removeClient(_ id: String) throws {
        try require(.admin)
        let index = try clientIndex(id)
        let count = (try? entryList(id).count).map(String.init) ?? "all"
        try authorize(
            [AuthorityOperation(.clientRemove, client: id)],
            audit: AuditEvent("client-remove", client: id, detail: "\(count) entries destroyed"))
        body.clients.remove(at: index)
        body.header.rotationMarks.removeAll { $0.client == id }
        clientKeys[id] = nil
        entryLists[id] = nil
        dirtyClients.remove(id)
    }

    /// Who could read a client's credentials at `instant` (from the signed grant and revoke history).
    public func access(client: String, at instant: String? = nil) throws -> [String] {
        let limit = instant ?? "9999"
        var holders: Set<String> = []
        let events = authority.accessEvents.filter { $0.client == client }
        for event in events where event.at <= limit {
            if event.granted { holders.insert(event.principal) } else { holders.remove(event.principal) }
        }
        if instant == nil, authority.clients[client] == nil, events.isEmpty { throw VaultError.unknownClient(client) }
        return holders.sorted()
    }

    /// Passwords marked for rotation at their portals.
    public var rotationMarks: [RotationMark] { body.header.rotationMarks }
}
