import Foundation
import NightjarCore
import NightjarCrypto

/// One signed record of the authority chain: the operations one principal made in one change
/// of the vault, linked to the record before it. Stored as its exact JSON bytes beside an
/// Ed25519 signature by `signer` (see docs/vault-format.md).
struct AuthorityRecord: Codable, Sendable, Equatable {
    var seq: Int
    /// Hex SHA-256 of the previous record's payload; the first record links to the vault id.
    var prev: String
    var at: String
    /// The principal id whose key signed this record.
    var signer: String
    var operations: [AuthorityOperation]

    /// What the signature covers: a label, then the payload.
    static let signatureLabel = Array("nightjar-vault/2 authority record\n".utf8)

    static func genesisLink(vaultID: Data) -> String {
        SHA256.hash(Array("nightjar-vault/2 authority".utf8) + Array(vaultID)).hexString
    }
}

/// What a record can say. One type with optional fields keeps the JSON flat and readable;
/// `AuthorityState.apply` says which fields each kind needs.
struct AuthorityOperation: Codable, Sendable, Equatable {
    enum Kind: String, Codable, Sendable {
        case genesis
        case principalAdd = "principal-add"
        case roleGrant = "role-grant"
        case roleRevoke = "role-revoke"
        case clientAdd = "client-add"
        case clientRemove = "client-remove"
        case clientGrant = "client-grant"
        case clientRevoke = "client-revoke"
        case reviewGrant = "review-grant"
        case reviewRevoke = "review-revoke"
        case approve
        case approvalWithdraw = "approval-withdraw"
        case recipientAdd = "recipient-add"
        case recipientRemove = "recipient-remove"
        /// A principal whose sealed keys an upgrade left without the root now carries it.
        case envelopeSealed = "envelope-sealed"
    }

    var op: Kind
    var principal: String?
    var name: String?
    var kind: PrincipalKind?
    var exchangeKey: Data?
    var signingKey: Data?
    var roles: [Role]?
    var role: Role?
    var client: String?
    var allClients: Bool?
    var subject: ApprovalSubject?
    var sha256: String?
    var address: String?
    /// genesis: the vault this chain belongs to, its recovery principal, and for an upgrade the
    /// format it came from and the principals whose sealed keys do not carry the root yet.
    var vaultID: Data?
    var recovery: String?
    var upgradedFrom: Int?
    var pending: [String]?

    init(
        _ op: Kind, principal: String? = nil, name: String? = nil, kind: PrincipalKind? = nil, exchangeKey: Data? = nil,
        signingKey: Data? = nil, roles: [Role]? = nil, role: Role? = nil, client: String? = nil,
        allClients: Bool? = nil,
        subject: ApprovalSubject? = nil, sha256: String? = nil, address: String? = nil, vaultID: Data? = nil,
        recovery: String? = nil, upgradedFrom: Int? = nil, pending: [String]? = nil
    ) {
        self.op = op
        self.principal = principal
        self.name = name
        self.kind = kind
        self.exchangeKey = exchangeKey
        self.signingKey = signingKey
        self.roles = roles
        self.role = role
        self.client = client
        self.allClients = allClients
        self.subject = subject
        self.sha256 = sha256
        self.address = address
        self.vaultID = vaultID
        self.recovery = recovery
        self.upgradedFrom = upgradedFrom
        self.pending = pending
    }

    /// One line for people (`vault authority`, the upgrade's list); `name` turns ids into names.
    func summary(_ name: (String) -> String = { $0 }) -> String {
        let who = principal.map(name) ?? "?"
        switch op {
        case .genesis:
            return (upgradedFrom.map { "vault upgraded from format \($0)" } ?? "vault created") + ", root admin \(who)"
        case .principalAdd:
            let scope = kind == .automation ? (allClients == true ? ", all clients" : "") : ""
            return
                "add \(kind?.rawValue ?? "?") \(self.name ?? "?") (\((roles ?? []).map(\.rawValue).joined(separator: ", "))\(scope))"
        case .roleGrant: return "grant role \(role?.rawValue ?? "?") to \(who)"
        case .roleRevoke: return "revoke role \(role?.rawValue ?? "?") from \(who)"
        case .clientAdd: return "add client \(client ?? "?")"
        case .clientRemove: return "remove client \(client ?? "?")"
        case .clientGrant: return "grant \(who) the credentials of \(client ?? "?")"
        case .clientRevoke: return "revoke \(who)'s access to \(client ?? "?")"
        case .reviewGrant: return "let \(who) review \(allClients == true ? "all clients" : client ?? "?")"
        case .reviewRevoke: return "stop \(who) reviewing \(allClients == true ? "all clients" : client ?? "?")"
        case .approve: return "approve \(subject?.rawValue ?? "?") \(self.name ?? "?") sha256 \(sha256 ?? "?")"
        case .approvalWithdraw:
            return "withdraw the approval of \(subject?.rawValue ?? "?") \(self.name ?? "?") sha256 \(sha256 ?? "?")"
        case .recipientAdd: return "approve \(address ?? "?") for \(client ?? "?")'s reports"
        case .recipientRemove: return "remove \(address ?? "?") from \(client ?? "?")'s reports"
        case .envelopeSealed: return "seal the vault's root into \(who)'s keys"
        }
    }
}

/// A principal as the chain defines it.
struct PrincipalInfo: Sendable, Equatable {
    let id: String
    let name: String
    let kind: PrincipalKind
    let exchangeKey: Data
    let signingKey: Data
    var roles: Set<Role>
    /// Automation keys for every client, now and later (and the recovery principal).
    let allClients: Bool
    let addedAt: String
    let addedBy: String

    var sortedRoles: [Role] { roles.sorted() }
    var isAdmin: Bool { roles.contains(.admin) }
    /// Holds only roles that never receive client keys.
    var holdsNoKeys: Bool { !roles.isEmpty && roles.allSatisfy(\.holdsNoKeys) }
}

/// A client whose credentials the vault holds, as the chain defines it: who may hold its key.
struct ClientAuthority: Sendable, Equatable {
    let id: String
    var holders: Set<String>
    let createdAt: String
}

/// A grant or revoke of a client's credentials, for `vault access --at`.
struct AccessEvent: Sendable, Equatable {
    var at: String
    var client: String
    var principal: String
    var granted: Bool
    var by: String
}

/// The authority the chain establishes, folded record by record. The same `apply` checks
/// every operation when it is made and when any later open verifies it.
struct AuthorityState: Sendable {
    let vaultID: Data
    private(set) var principals: [String: PrincipalInfo] = [:]
    private(set) var principalOrder: [String] = []
    private(set) var clients: [String: ClientAuthority] = [:]
    private(set) var clientOrder: [String] = []
    /// Reviewers and viewers whose review grant covers every client, now and later.
    private(set) var reviewsAllClients: Set<String> = []
    /// Per client (of the ledger, whether or not the vault holds its credentials): who reviews it.
    private(set) var reviewers: [String: Set<String>] = [:]
    /// Per client: the approved report recipients, in the order they were added.
    private(set) var recipients: [String: [ReportRecipient]] = [:]
    private(set) var approvals: [Approval] = []
    private(set) var pendingEnvelopes: Set<String> = []
    private(set) var rootFingerprint: [UInt8] = []
    private(set) var recoveryFingerprint: [UInt8] = []
    private(set) var recoveryID: String?
    private(set) var upgradedFrom: Int?
    private(set) var accessEvents: [AccessEvent] = []
    /// Hex SHA-256 of each record's payload, in order.
    private(set) var hashes: [String] = []
    /// Each record, decoded, in order.
    private(set) var records: [AuthorityRecord] = []

    init(vaultID: Data) { self.vaultID = vaultID }

    var count: Int { hashes.count }
    var head: String { hashes.last ?? AuthorityRecord.genesisLink(vaultID: vaultID) }

    func principal(named name: String) -> PrincipalInfo? {
        principalOrder.lazy.compactMap { principals[$0] }.first { $0.name == name }
    }

    func name(of id: String) -> String { principals[id]?.name ?? id }

    /// Whether `principal` may hold `client`'s key.
    func holds(_ principal: String, client: String) -> Bool { clients[client]?.holders.contains(principal) == true }

    // MARK: Verifying a stored chain

    /// Verifies every record: its link, its signature by the principal it names, and that each
    /// operation was within its signer's authority at that point.
    static func verify(_ chain: [ChainEntry], vaultID: Data) throws(VaultError) -> AuthorityState {
        var state = AuthorityState(vaultID: vaultID)
        guard !chain.isEmpty else { throw .authority("the chain is empty: it has no genesis record") }
        let decoder = JSONDecoder()
        for (index, entry) in chain.enumerated() {
            let record: AuthorityRecord
            do {
                record = try decoder.decode(AuthorityRecord.self, from: Data(entry.payload))
            } catch {
                throw .authority("record \(index + 1) does not parse")
            }
            try state.append(record, payload: entry.payload, signature: entry.signature)
        }
        return state
    }

    /// Checks one record against the chain so far and applies it.
    mutating func append(_ record: AuthorityRecord, payload: [UInt8], signature: [UInt8]) throws(VaultError) {
        let number = count + 1
        guard record.seq == number else {
            throw .authority(
                "record \(number) carries sequence number \(record.seq): records were removed or reordered")
        }
        guard record.prev == head else {
            throw .authority(
                "record \(number) does not link to the record before it: a record was changed, removed or reordered")
        }
        // The first record's signer is introduced by that record itself.
        let signingKey: Data?
        if number == 1 {
            signingKey = record.operations.first { $0.op == .principalAdd && $0.principal == record.signer }?.signingKey
        } else {
            signingKey = principals[record.signer]?.signingKey
        }
        guard let signingKey, let key = try? Ed25519.VerifyingKey(rawRepresentation: Array(signingKey)),
            key.isValidSignature(signature, for: AuthorityRecord.signatureLabel + payload)
        else {
            let claimed = principals[record.signer]?.name ?? record.signer
            throw .authority(
                "record \(number) claims to be signed by \(claimed), but the signature is not \(claimed)'s: it was forged or altered"
            )
        }
        var next = self
        for operation in record.operations {
            try next.apply(operation, signer: record.signer, at: record.at, record: number)
        }
        if number == 1 {
            guard next.recoveryID.flatMap({ next.principals[$0] }) != nil, !next.rootFingerprint.isEmpty else {
                throw .authority("record 1 does not introduce the vault's root admin and recovery key")
            }
        }
        next.hashes.append(SHA256.hash(payload).hexString)
        next.records.append(record)
        self = next
    }

    // MARK: Operations

    private func refuse(_ record: Int, _ signer: String, _ what: String) -> VaultError {
        .authority("record \(record) (signed by \(name(of: signer))) \(what)")
    }

    private func requireAdmin(_ signer: String, record: Int, doing what: String) throws(VaultError) {
        guard let principal = principals[signer], principal.isAdmin else {
            throw refuse(record, signer, "would \(what), but \(name(of: signer)) is not an admin")
        }
    }

    private func requireClient(_ operation: AuthorityOperation, record: Int, signer: String) throws(VaultError)
        -> String
    {
        guard let client = operation.client, clients[client] != nil else {
            throw refuse(record, signer, "names client \(operation.client ?? "(none)"), which the chain does not hold")
        }
        return client
    }

    private func requireClientName(_ operation: AuthorityOperation, record: Int, signer: String) throws(VaultError)
        -> String
    {
        guard let client = operation.client, Identifier.isValid(client) else {
            throw refuse(record, signer, "names a client whose name breaks the naming rule")
        }
        return client
    }

    private func requirePrincipal(_ operation: AuthorityOperation, record: Int, signer: String) throws(VaultError)
        -> PrincipalInfo
    {
        guard let id = operation.principal, let principal = principals[id] else {
            throw refuse(
                record, signer, "names principal \(operation.principal ?? "(none)"), whom the chain never added")
        }
        return principal
    }

    /// Applies one operation by `signer`, refusing anything beyond the signer's authority.
    mutating func apply(_ operation: AuthorityOperation, signer: String, at: String, record: Int) throws(VaultError) {
        let what = operation.summary { self.name(of: $0) }
        if operation.op != .genesis, record == 1, principals.isEmpty, operation.op != .principalAdd {
            throw refuse(record, signer, "would \(what) before introducing its signer")
        }
        switch operation.op {
        case .genesis:
            guard record == 1, principals.isEmpty, recoveryID == nil else {
                throw refuse(record, signer, "holds a second genesis")
            }
            guard operation.vaultID == vaultID else { throw .authority("record 1 belongs to another vault") }
            guard operation.principal == signer, let recovery = operation.recovery else {
                throw .authority("record 1 does not name its signer as the vault's root admin")
            }
            recoveryID = recovery
            upgradedFrom = operation.upgradedFrom
            pendingEnvelopes = Set(operation.pending ?? [])

        case .principalAdd:
            guard let id = operation.principal, let name = operation.name, let kind = operation.kind,
                let exchangeKey = operation.exchangeKey, exchangeKey.count == 32,
                let signingKey = operation.signingKey, signingKey.count == 32
            else {
                throw refuse(record, signer, "adds a principal without a name, kind or keys")
            }
            let bootstrapRoot = record == 1 && principals.isEmpty && id == signer
            let bootstrapRecovery = record == 1 && kind == .recovery && id == recoveryID && principals[signer] != nil
            if bootstrapRoot && recoveryID == nil {
                throw .authority("record 1 introduces its signer before its genesis")
            }
            if !bootstrapRoot && !bootstrapRecovery { try requireAdmin(signer, record: record, doing: what) }
            guard principals[id] == nil else { throw refuse(record, signer, "adds principal id \(id) a second time") }
            guard Identifier.isValid(id), Identifier.isValid(name) else {
                throw refuse(record, signer, "adds a principal whose id or name breaks the naming rule")
            }
            guard principal(named: name) == nil else {
                throw refuse(record, signer, "adds a second principal named \(name)")
            }
            let roles = Set(operation.roles ?? [])
            switch kind {
            case .operator:
                guard !roles.isEmpty else { throw refuse(record, signer, "adds operator \(name) with no role") }
                if bootstrapRoot && !roles.contains(.admin) { throw .authority("record 1's signer is not an admin") }
            case .automation:
                guard roles == [.runIntegrations] else {
                    throw refuse(record, signer, "gives automation key \(name) roles beyond run-integrations")
                }
                if operation.allClients == true {
                    for client in clientOrder where !holds(signer, client: client) {
                        throw refuse(
                            record, signer,
                            "gives automation key \(name) every client, but does not hold \(client) itself")
                    }
                }
            case .recovery:
                guard bootstrapRecovery, roles == [.admin] else {
                    throw refuse(record, signer, "adds a recovery principal outside the genesis")
                }
            }
            principals[id] = PrincipalInfo(
                id: id, name: name, kind: kind, exchangeKey: exchangeKey, signingKey: signingKey, roles: roles,
                allClients: kind == .recovery || (kind == .automation && operation.allClients == true),
                addedAt: at, addedBy: principals[signer]?.name ?? name)
            principalOrder.append(id)
            if bootstrapRoot { rootFingerprint = SHA256.hash(Array(signingKey)) }
            if bootstrapRecovery { recoveryFingerprint = SHA256.hash(Array(signingKey)) }
            if kind == .automation && operation.allClients == true {
                for client in clientOrder { grantAccess(id, client: client, at: at, by: signer) }
            }

        case .roleGrant, .roleRevoke:
            try requireAdmin(signer, record: record, doing: what)
            let principal = try requirePrincipal(operation, record: record, signer: signer)
            guard let role = operation.role else { throw refuse(record, signer, "grants or revokes no role") }
            guard principal.kind == .operator else {
                throw refuse(record, signer, "changes the roles of \(principal.kind.rawValue) \(principal.name)")
            }
            if operation.op == .roleGrant {
                guard !principal.roles.contains(role) else {
                    throw refuse(record, signer, "grants \(principal.name) the \(role.rawValue) role a second time")
                }
                principals[principal.id]!.roles.insert(role)
            } else {
                guard principal.roles.contains(role) else {
                    throw refuse(record, signer, "revokes a role \(principal.name) does not hold")
                }
                guard principal.roles.count > 1 else {
                    throw refuse(record, signer, "takes \(principal.name)'s last role")
                }
                principals[principal.id]!.roles.remove(role)
            }

        case .clientAdd:
            try requireAdmin(signer, record: record, doing: what)
            let client = try requireClientName(operation, record: record, signer: signer)
            guard clients[client] == nil else { throw refuse(record, signer, "adds client \(client) a second time") }
            clients[client] = ClientAuthority(id: client, holders: [], createdAt: at)
            clientOrder.append(client)
            var holders = [signer]
            if let recoveryID { holders.append(recoveryID) }
            holders += principalOrder.filter {
                principals[$0]?.kind == .automation && principals[$0]?.allClients == true
            }
            for holder in holders where !holds(holder, client: client) {
                grantAccess(holder, client: client, at: at, by: signer)
            }

        case .clientRemove:
            try requireAdmin(signer, record: record, doing: what)
            let client = try requireClient(operation, record: record, signer: signer)
            for holder in clients[client]!.holders.sorted() {
                accessEvents.append(
                    AccessEvent(
                        at: at, client: client, principal: name(of: holder), granted: false, by: name(of: signer)))
            }
            clients[client] = nil
            clientOrder.removeAll { $0 == client }

        case .clientGrant, .clientRevoke:
            try requireAdmin(signer, record: record, doing: what)
            let client = try requireClient(operation, record: record, signer: signer)
            let principal = try requirePrincipal(operation, record: record, signer: signer)
            guard holds(signer, client: client) else {
                throw refuse(record, signer, "would \(what), but \(name(of: signer)) does not hold \(client) itself")
            }
            if operation.op == .clientGrant {
                guard !principal.holdsNoKeys else {
                    throw refuse(
                        record, signer, "gives \(client)'s key to \(principal.name), whose roles never hold keys")
                }
                guard principal.kind != .recovery else {
                    throw refuse(record, signer, "grants the recovery key a client by hand")
                }
                guard !holds(principal.id, client: client) else {
                    throw refuse(record, signer, "grants \(principal.name) \(client) a second time")
                }
                grantAccess(principal.id, client: client, at: at, by: signer)
            } else {
                guard holds(principal.id, client: client) else {
                    throw refuse(record, signer, "revokes access \(principal.name) does not have")
                }
                clients[client]!.holders.remove(principal.id)
                accessEvents.append(
                    AccessEvent(at: at, client: client, principal: principal.name, granted: false, by: name(of: signer))
                )
            }

        case .reviewGrant, .reviewRevoke:
            try requireAdmin(signer, record: record, doing: what)
            let principal = try requirePrincipal(operation, record: record, signer: signer)
            guard principal.kind == .operator else {
                throw refuse(record, signer, "lets \(principal.kind.rawValue) \(principal.name) review")
            }
            if operation.allClients == true {
                if operation.op == .reviewGrant {
                    guard reviewsAllClients.insert(principal.id).inserted else {
                        throw refuse(record, signer, "repeats a review grant")
                    }
                } else {
                    guard reviewsAllClients.remove(principal.id) != nil else {
                        throw refuse(record, signer, "revokes a review grant that does not exist")
                    }
                }
            } else {
                let client = try requireClientName(operation, record: record, signer: signer)
                if operation.op == .reviewGrant {
                    guard reviewers[client, default: []].insert(principal.id).inserted else {
                        throw refuse(record, signer, "repeats a review grant")
                    }
                } else {
                    guard reviewers[client]?.remove(principal.id) != nil else {
                        throw refuse(record, signer, "revokes a review grant that does not exist")
                    }
                }
            }

        case .approve, .approvalWithdraw:
            try requireAdmin(signer, record: record, doing: what)
            guard let subject = operation.subject, let name = operation.name, Identifier.isValid(name),
                let sha256 = operation.sha256, Approvals.isDigest(sha256)
            else {
                throw refuse(record, signer, "approves something without a kind, a valid name or a SHA-256")
            }
            let index = approvals.firstIndex { $0.subject == subject && $0.name == name && $0.sha256 == sha256 }
            if operation.op == .approve {
                guard index == nil else {
                    throw refuse(record, signer, "approves \(subject.rawValue) \(name) a second time")
                }
                approvals.append(
                    Approval(
                        subject: subject, name: name, sha256: sha256, approvedBy: self.name(of: signer), approvedAt: at)
                )
            } else {
                guard let index else { throw refuse(record, signer, "withdraws an approval that does not exist") }
                approvals.remove(at: index)
            }

        case .recipientAdd, .recipientRemove:
            try requireAdmin(signer, record: record, doing: what)
            let client = try requireClientName(operation, record: record, signer: signer)
            guard let address = operation.address, ReportRecipients.problem(address) == nil else {
                throw refuse(record, signer, "names a report recipient that is not an e-mail address")
            }
            let index = recipients[client]?.firstIndex { $0.address == address }
            if operation.op == .recipientAdd {
                guard index == nil else {
                    throw refuse(record, signer, "adds \(address) to \(client)'s recipients a second time")
                }
                recipients[client, default: []].append(
                    ReportRecipient(client: client, address: address, approvedBy: name(of: signer), approvedAt: at))
            } else {
                guard let index else { throw refuse(record, signer, "removes a recipient \(client) does not have") }
                recipients[client]!.remove(at: index)
            }

        case .envelopeSealed:
            // A principal seals its own keys; an admin seals an automation key's file.
            guard let id = operation.principal, let principal = principals[id],
                id == signer || (principal.kind == .automation && principals[signer]?.isAdmin == true)
            else {
                throw refuse(record, signer, "seals the root into another principal's keys")
            }
            guard pendingEnvelopes.remove(id) != nil else {
                throw refuse(record, signer, "seals keys that were not waiting for it")
            }
        }
    }

    private mutating func grantAccess(_ principal: String, client: String, at: String, by signer: String) {
        clients[client]!.holders.insert(principal)
        accessEvents.append(
            AccessEvent(at: at, client: client, principal: name(of: principal), granted: true, by: name(of: signer)))
    }
}

/// Checks on the digests approvals carry.
enum Approvals {
    static func isDigest(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

/// The addresses reports may be sent to.
public enum ReportRecipients {
    /// What is wrong with `address` as a report recipient, or nil.
    public static func problem(_ address: String) -> String? {
        let bytes = Array(address.utf8)
        if bytes.isEmpty { return "it is empty" }
        if bytes.count > 254 { return "it is longer than 254 bytes" }
        if bytes.contains(where: { $0 <= 0x20 || $0 >= 0x7F }) {
            return "it contains a space, a control character, a NUL byte or a non-ASCII character"
        }
        if bytes.contains(where: { "<>()[],;:\\\"".utf8.contains($0) }) {
            return "it contains a character addresses do not use here"
        }
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64 else { return "it is not local@domain" }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2,
            labels.allSatisfy({ label in
                !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                    && label.utf8.allSatisfy {
                        (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45
                    }
            })
        else { return "its domain is not a host name like example.com" }
        return nil
    }

    /// The address as stored: the domain in lower case.
    static func normalised(_ address: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return address }
        return String(address[..<at]) + "@" + address[address.index(after: at)...].lowercased()
    }
}
