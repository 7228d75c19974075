import Foundation
import NightjarCore

extension Vault {
    /// A client's entries, decrypted on first use.
    func entryList(_ client: String) throws -> [StoredEntry] {
        if let entries = entryLists[client] { return entries }
        let index = try clientIndex(client)
        let key = try clientKey(client)
        let block = body.clients[index]
        let entries = try EntryList.open(
            block.sealed, key: key,
            aad: EntryList.associatedData(
                vaultID: body.header.vaultID, client: client, keyVersion: block.keyVersion,
                generation: block.sealedGeneration), client: client)
        entryLists[client] = entries
        return entries
    }

    func entryIndex(_ name: CredentialName) throws -> Int {
        guard
            let index = try entryList(name.client).firstIndex(where: {
                $0.matches(portal: name.portal, label: name.label)
            })
        else {
            throw VaultError.unknownEntry(name.description)
        }
        return index
    }

    func requireEditor(client: String) throws {
        guard actor.roles.contains(.operator) || actor.roles.contains(.admin) else {
            throw VaultError.roleRequired(principal: actor.name, role: .operator)
        }
        _ = try clientKey(client)
    }

    // MARK: Adding and changing

    /// Adds `CLIENT/PORTAL[/LABEL]`. The client is created first if the actor is an admin.
    public func addEntry(client: String, portal: String, label: String? = nil, _ input: CredentialInput) throws {
        try addEntries([(CredentialName(client: client, portal: portal, label: label), input)], auditEach: true)
    }

    /// Adds many entries with one audit record (an import). Clients that do not exist yet are
    /// created when the actor is an admin. Nothing is added if any entry is refused.
    public func addEntries(_ items: [(name: CredentialName, input: CredentialInput)]) throws {
        try addEntries(items, auditEach: false)
    }

    private func addEntries(_ items: [(name: CredentialName, input: CredentialInput)], auditEach: Bool) throws {
        var seen: Set<CredentialName> = []
        var newClients: [String] = []
        for (name, input) in items {
            try VaultNames.check(name.client, field: "client name")
            try VaultNames.check(name.portal, field: "portal name")
            if let label = name.label { try VaultNames.check(label, field: "credential label") }
            try input.validate()
            guard seen.insert(name).inserted else {
                throw VaultError.invalidInput("\(name) appears twice", location: nil)
            }
            if !body.clients.contains(where: { $0.id == name.client }) {
                guard actor.roles.contains(.admin) else { throw VaultError.unknownClient(name.client) }
                if !newClients.contains(name.client) { newClients.append(name.client) }
            } else {
                try requireEditor(client: name.client)
                if try entryList(name.client).contains(where: { $0.matches(portal: name.portal, label: name.label) }) {
                    throw VaultError.entryExists(name.description)
                }
            }
        }
        guard !items.isEmpty else { return }
        if !auditEach {
            let clients = Set(items.map(\.name.client))
            try audit(
                AuditEvent(
                    "import", client: clients.count == 1 ? clients.first : nil, entries: items.map(\.name.description),
                    detail: "\(items.count) credentials"
                        + (newClients.isEmpty ? "" : ", \(newClients.count) new clients")))
        }
        if !newClients.isEmpty {
            try addClients(newClients, audit: auditEach ? AuditEvent("client-add", client: newClients[0]) : nil)
        }
        for (name, input) in items {
            if auditEach { try audit(AuditEvent("add", client: name.client, entry: name.entryField)) }
            var entry = StoredEntry(
                portal: name.portal, label: name.label, updatedAt: Vault.now(), expires: nil,
                usernameIsSecret: input.usernameIsSecret ?? false)
            merge(input, into: &entry)
            entryLists[name.client]!.append(entry)
            dirtyClients.insert(name.client)
        }
        changed = true
    }

    /// Changes fields of an entry; nil fields stay as they are.
    public func editEntry(
        client: String, portal: String, label: String? = nil, _ input: CredentialInput, action: String = "edit"
    ) throws {
        let name = CredentialName(client: client, portal: portal, label: label)
        try requireEditor(client: client)
        try input.validate()
        let index = try entryIndex(name)
        try audit(AuditEvent(action, client: client, entry: name.entryField))
        merge(input, into: &entryLists[client]![index])
        if input.password != nil { body.header.rotationMarks.removeAll { $0.entry == name.description } }
        dirtyClients.insert(client)
        changed = true
    }

    /// Removes an entry.
    public func removeEntry(client: String, portal: String, label: String? = nil) throws {
        let name = CredentialName(client: client, portal: portal, label: label)
        try requireEditor(client: client)
        let index = try entryIndex(name)
        try audit(AuditEvent("remove", client: client, entry: name.entryField))
        entryLists[client]!.remove(at: index)
        body.header.rotationMarks.removeAll { $0.entry == name.description }
        dirtyClients.insert(client)
        changed = true
    }

    private func merge(_ input: CredentialInput, into entry: inout StoredEntry) {
        if let username = input.username { entry.username = username }
        if let password = input.password { entry.password = password }
        if let totp = input.totp { entry.totp = totp.uri() }
        for (name, value) in input.extra { entry.extra[name] = value }
        for name in input.removeExtra { entry.extra[name] = nil }
        if let origins = input.allowedOrigins { entry.origins = origins.map(\.description).joined(separator: "\n") }
        if let notes = input.notes { entry.notes = notes }
        if let expires = input.expires { entry.expires = expires.description }
        if let secret = input.usernameIsSecret { entry.usernameIsSecret = secret }
        if let allowed = input.allowsPlainHTTP { entry.allowsPlainHTTP = allowed }
        entry.updatedAt = Vault.now()
    }

    // MARK: Reading

    /// Decrypts a credential for `purpose`, audits it first (fail closed), and registers its secret values with the redactor.
    public func credential(client: String, portal: String, label: String? = nil, purpose: CredentialPurpose) throws
        -> Credential
    {
        try credentials([CredentialName(client: client, portal: portal, label: label)], purpose: purpose)[0]
    }

    /// Decrypts a credential by name.
    public func credential(_ name: CredentialName, purpose: CredentialPurpose) throws -> Credential {
        try credentials([name], purpose: purpose)[0]
    }

    /// Decrypts several credentials after one durable audit record naming every one of them
    /// (how a run loads the credentials it will use).
    public func credentials(_ names: [(client: String, portal: String)], purpose: CredentialPurpose) throws
        -> [Credential]
    {
        try credentials(names.map { CredentialName(client: $0.client, portal: $0.portal) }, purpose: purpose)
    }

    /// Decrypts several credentials after one durable audit record naming every one of them.
    public func credentials(_ names: [CredentialName], purpose: CredentialPurpose) throws -> [Credential] {
        var run: String?
        if case .use(let id) = purpose { run = id }
        let clients = Set(names.map(\.client))
        try prefetchClientKeys(Array(clients))
        // Where each name's entry is: its client's list (in `lists`) and its place there.
        var lists: [[StoredEntry]] = []
        var located: [(list: Int, index: Int)] = []
        located.reserveCapacity(names.count)
        // Names usually come in the order of their client's list (as `list` gives them): each is
        // looked for at the entry after the last one found, and by a table only when it is not there.
        var slots: [String: (list: Int, next: Int)] = [:]
        var byClient: [String: [CredentialName: Int]] = [:]
        var client: String?
        var slot = 0
        var guess = 0
        for name in names {
            if name.client != client {
                if let client { slots[client]!.next = guess }
                if let known = slots[name.client] {
                    (slot, guess) = known
                } else {
                    lists.append(try entryList(name.client))
                    (slot, guess) = (lists.count - 1, 0)
                    slots[name.client] = (slot, 0)
                }
                client = name.client
            }
            let index: Int
            if guess < lists[slot].count, lists[slot][guess].matches(portal: name.portal, label: name.label) {
                index = guess
            } else {
                if byClient[name.client] == nil {
                    byClient[name.client] = Dictionary(
                        lists[slot].enumerated().map {
                            (
                                CredentialName(client: name.client, portal: $0.element.portal, label: $0.element.label),
                                $0.offset
                            )
                        },
                        uniquingKeysWith: { first, _ in first })
                }
                guard let found = byClient[name.client]![name] else {
                    throw VaultError.unknownEntry(name.description)
                }
                index = found
            }
            guess = index + 1
            located.append((slot, index))
        }
        guard !names.isEmpty else { return [] }
        let event =
            names.count == 1
            ? AuditEvent(purpose.action, client: names[0].client, entry: names[0].entryField, run: run)
            : AuditEvent(
                purpose.action, client: clients.count == 1 ? clients.first : nil,
                entries: names.map(\.description), run: run, detail: "\(names.count) credentials")
        try audit(event)
        return try zip(names, located).map { try decrypt($0, lists[$1.list][$1.index]) }
    }

    /// Registers the credential's secret values with the redactor: not the username, an
    /// identifier, unless the credential marks it secret. A TOTP credential registers its
    /// stored `otpauth://` form and the seed on its own (see `TOTPSettings.registerSeed`).
    private func decrypt(_ name: CredentialName, _ entry: StoredEntry) throws -> Credential {
        if entry.usernameIsSecret, let username = entry.username { Redactor.shared.register(username) }
        if let password = entry.password { Redactor.shared.register(password) }
        if let totp = entry.totp { Redactor.shared.register(totp) }
        for value in entry.extra.values { Redactor.shared.register(value) }
        let origins = try entry.origins.map { try Origin.storedList($0) } ?? []
        let totp = try entry.totp.map { try TOTPSettings.parse($0) }
        totp?.registerSeed()
        return Credential(
            client: name.client, portal: name.portal, label: name.label, username: entry.username,
            password: entry.password, totp: totp,
            extra: entry.extra, allowedOrigins: origins, notes: entry.notes,
            expires: entry.expires.flatMap { try? CalendarDate(iso: $0) }, usernameIsSecret: entry.usernameIsSecret,
            allowsPlainHTTP: entry.allowsPlainHTTP)
    }

    /// Entries of the clients the actor can read (or of one client). Never a secret.
    public func list(client: String? = nil) throws -> [EntrySummary] {
        if let client { _ = try clientKey(client) } else { try prefetchClientKeys(body.clients.map(\.id)) }
        var result: [EntrySummary] = []
        let marked = Set(body.header.rotationMarks.map(\.entry))
        let blocks = body.clients.sorted(by: { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }).filter { block in
            (client == nil || block.id == client) && block.wraps.contains(where: { $0.principal == actorID })
        }
        let lists = try blocks.map { try entryList($0.id) }
        result.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        for (block, stored) in zip(blocks, lists) {
            // Lists are sealed in order; only one changed in this process needs sorting.
            let ordered =
                stored.indices.dropFirst().allSatisfy { !StoredEntry.precedes(stored[$0], stored[$0 - 1]) }
                ? stored : stored.sorted(by: StoredEntry.precedes)
            for entry in ordered {
                let isMarked =
                    !marked.isEmpty
                    && marked.contains(
                        CredentialName(client: block.id, portal: entry.portal, label: entry.label).description)
                result.append(
                    EntrySummary(
                        client: block.id, portal: entry.portal, label: entry.label, fields: entry.fieldNames,
                        expires: entry.expires, updatedAt: entry.updatedAt, markedForRotation: isMarked,
                        usernameIsSecret: entry.usernameIsSecret))
            }
        }
        return result
    }
}

extension CredentialName {
    /// What the audit log's `entry` key holds: `PORTAL` or `PORTAL/LABEL`.
    var entryField: String { portal + (label.map { "/\($0)" } ?? "") }
}
