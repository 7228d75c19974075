import Foundation
import NightjarCore
import NightjarVault
import NightjarCrypto

/// `nightjar vault ...`: the credential vault from the command line.
enum VaultCommands {
    static let asOption = OptionSpec.value("as", "NAME", "act as this operator (asks for the passphrase)")
    static let passphraseStdin = OptionSpec.flag("passphrase-stdin", "read passphrases (and then secrets) from standard input, one per line")
    static let keyFile = OptionSpec.value("key-file", "FILE", "unlock with this automation key file (mode 0600)")
    static let recovery = OptionSpec.flag("recovery", "unlock with the recovery key (asked for, or the first stdin line)")
    static let unlockOptions = [asOption, passphraseStdin, keyFile, recovery]
    static let entryOptions: [OptionSpec] = [
        .value("username", "NAME", "the portal user name"),
        .flag("password", "ask for the portal password (no echo)"),
        .flag("password-stdin", "read the portal password from standard input (after any passphrase)"),
        .flag("totp", "ask for the TOTP secret: base32 or an otpauth:// URI"),
        .value("field", "NAME", repeatable: true, "ask for an extra field's value (customer number, PIN, token)"),
        .value("origin", "URL", repeatable: true, "an origin the values may be sent to, e.g. https://portal.example.com"),
        .value("notes", "TEXT", "free notes (stored encrypted)"),
        .value("expires", "DATE", "expiry date of the credential (YYYY-MM-DD)"),
    ]

    static var commands: [CommandSpec] {
        [
            CommandSpec(["vault", "init"], summary: "create the vault with its first admin; prints a recovery key once",
                        discussion: """
                        Creates vault/nightjar.vault in the workspace. The admin's passphrase protects their keys
                        through Argon2id (64 MiB, 3 passes). The recovery key printed at the end opens the vault if
                        every admin passphrase is lost: write it down and keep it offline; it is never shown again.

                        Example:
                          nightjar vault init --admin alice
                          printf 'passphrase\\n' | nightjar vault init --admin alice --passphrase-stdin
                        """,
                        options: [.value("admin", "NAME", "the first admin's name"), passphraseStdin], run: initVault),
            CommandSpec(["vault", "operator", "add"], summary: "add an operator with roles (admin only)",
                        discussion: """
                        Roles: admin, operator, run-integrations, reviewer. Reviewers approve batches and never hold
                        credential keys. With --passphrase-stdin, line 1 is the acting admin's passphrase and line 2
                        the new operator's.

                        Example:
                          nightjar vault operator add bob --role operator --role run-integrations --as alice
                        """,
                        arguments: [ArgumentSpec("NAME", "the new operator's name")],
                        options: [.value("role", "ROLE", repeatable: true, "a role to give (repeatable)")] + unlockOptions,
                        run: addOperator),
            CommandSpec(["vault", "operator", "list"], summary: "list principals with their roles and clients",
                        options: unlockOptions, run: listOperators),
            CommandSpec(["vault", "automation-key", "create"], summary: "write a new automation key file for the night run (admin)",
                        discussion: """
                        Writes FILE (mode 0600) holding a new automation principal's private key, with access to the
                        given clients or to all clients (including ones added later). The night run finds it through
                        --key-file, NIGHTJAR_VAULT_KEY_FILE, or the systemd credential nightjar-vault-key.
                        With --no-clients the key opens no client's credentials: the review site's key, which only
                        signs the site's audit records (`nightjar serve`).

                        Examples:
                          nightjar vault automation-key create /etc/nightjar/night.key --all-clients --as alice
                          nightjar vault automation-key create /etc/nightjar/site.key --no-clients --name site --as alice
                        """,
                        arguments: [ArgumentSpec("FILE", "where to write the key file")],
                        options: [.value("client", "C", repeatable: true, "a client the key may open"),
                                  .flag("all-clients", "every client, now and later"),
                                  .flag("no-clients", "no client at all (the review site's key)"),
                                  .value("name", "NAME", "principal name (default: automation-<n>)")] + unlockOptions,
                        run: createAutomationKey),
            CommandSpec(["vault", "grant"], summary: "give an operator access to a client's credentials (admin)",
                        arguments: [ArgumentSpec("NAME", "operator"), ArgumentSpec("CLIENT", "client")],
                        options: unlockOptions, run: grant),
            CommandSpec(["vault", "revoke"], summary: "take access away; rotates the client key and marks passwords for rotation",
                        discussion: "Lists every portal password the revoked operator could read: change them at the portals, then `nightjar vault rotate`.",
                        arguments: [ArgumentSpec("NAME", "operator"), ArgumentSpec("CLIENT", "client")],
                        options: unlockOptions, run: revoke),
            CommandSpec(["vault", "client", "remove"], summary: "destroy a client's key and entries (crypto-shredding; admin)",
                        arguments: [ArgumentSpec("CLIENT", "client")],
                        options: [.flag("yes", "do not ask for confirmation")] + unlockOptions, run: removeClient),
            CommandSpec(["vault", "access"], summary: "who could read a client's credentials, now or at a date",
                        options: [.value("client", "C", "the client"), .value("at", "DATE", "a date (YYYY-MM-DD) or instant")] + unlockOptions,
                        run: access),
            CommandSpec(["vault", "add"], summary: "add a credential CLIENT/PORTAL (secrets are asked for, never arguments)",
                        discussion: """
                        Example:
                          nightjar vault add acme/northwind --username ap@acme.example --password \\
                            --origin https://suppliers.northwind.example --expires 2027-01-31 --as bob
                        With --passphrase-stdin or --password-stdin, every secret comes from standard input, one per
                        line: the acting operator's passphrase, the password, the TOTP secret (with --totp), then each
                        --field value.
                        """,
                        arguments: [ArgumentSpec("CLIENT/PORTAL", "the entry")], options: entryOptions + unlockOptions, run: addEntry),
            CommandSpec(["vault", "edit"], summary: "change fields of a credential", arguments: [ArgumentSpec("CLIENT/PORTAL", "the entry")],
                        options: entryOptions + [.value("remove-field", "NAME", repeatable: true, "delete an extra field")] + unlockOptions,
                        run: editEntry),
            CommandSpec(["vault", "rotate"], summary: "set a new password for a credential (clears its rotation mark)",
                        arguments: [ArgumentSpec("CLIENT/PORTAL", "the entry")],
                        options: [.flag("password-stdin", "read the new password from standard input")] + unlockOptions, run: rotate),
            CommandSpec(["vault", "remove"], summary: "remove a credential", arguments: [ArgumentSpec("CLIENT/PORTAL", "the entry")],
                        options: unlockOptions, run: removeEntry),
            CommandSpec(["vault", "list"], summary: "list credentials (never prints a secret)",
                        options: [.value("client", "C", "only this client"), .value("expiring", "DAYS", "only those expiring within DAYS (e.g. 14d)")]
                            + unlockOptions,
                        run: list),
            CommandSpec(["vault", "show"], summary: "show a credential, masked; --reveal prints secrets (audited)",
                        arguments: [ArgumentSpec("CLIENT/PORTAL", "the entry")],
                        options: [.flag("reveal", "print the secret values (recorded in the audit log)")] + unlockOptions, run: show),
            CommandSpec(["vault", "totp"], summary: "print the current TOTP code of a credential (audited)",
                        arguments: [ArgumentSpec("CLIENT/PORTAL", "the entry")], options: unlockOptions, run: totp),
            CommandSpec(["vault", "import"], summary: "import many credentials from a CSV (or a KeePassXC CSV export); - reads stdin",
                        discussion: """
                        Columns (by header name): portal (or Title), username, password, totp (or TOTP), origins (or URL;
                        several separated by spaces), notes, expires, and extra fields as extra.NAME. A KeePassXC
                        export works as is. Reading from - keeps any clear copy off the disk; importing from a file
                        reminds you that the file is still there.

                        Example:
                          gpg -d acme.csv.gpg | nightjar vault import - --client acme --as bob --passphrase-stdin
                        (with --passphrase-stdin, the first line of standard input is the passphrase)
                        """,
                        arguments: [ArgumentSpec("FILE", "CSV file, or - for standard input")],
                        options: [.value("client", "C", "the client the credentials belong to")] + unlockOptions, run: importCSV),
            CommandSpec(["vault", "audit"], summary: "read or verify the signed, hash-chained audit log",
                        options: [.value("client", "C", "only this client"), .value("since", "DATE", "from this date (YYYY-MM-DD)"),
                                  .flag("verify", "check every record's chain link and signature, and that none was cut off")] + unlockOptions,
                        run: audit),
            CommandSpec(["vault", "accept-rollback"], summary: "accept an older vault file knowingly (admin)",
                        options: unlockOptions, run: acceptRollback),
        ]
    }

    // MARK: Plumbing

    static func paths(_ workspace: Workspace) -> VaultPaths {
        VaultPaths(vault: workspace.vaultDirectory + "/nightjar.vault", audit: workspace.vaultDirectory + "/audit.log",
                   state: workspace.dataDirectory + "/vault-state")
    }

    static func secretInput(_ invocation: Invocation) -> SecretInput {
        SecretInput(useStandardInput: invocation.flag("passphrase-stdin") || invocation.flag("password-stdin"),
                    readAll: invocation.standardInput)
    }

    /// How this invocation unlocks: `--as NAME` (passphrase), `--recovery`, or an automation key.
    static func unlockMethod(_ invocation: Invocation, _ input: SecretInput) throws -> UnlockMethod {
        if let name = invocation.value("as") {
            return .passphrase(name: name, try input.next("Passphrase for \(name)"))
        }
        if invocation.flag("recovery") {
            return .recovery(try RecoveryKeyText.parse(try input.next("Recovery key")))
        }
        guard let path = AutomationKey.locate(explicit: invocation.value("key-file"), environment: invocation.environment) else {
            throw UsageError("say who you are: --as NAME (or an automation key: --key-file, NIGHTJAR_VAULT_KEY_FILE)",
                             command: invocation.command.name)
        }
        return .automationKey(try AutomationKey.load(path: path))
    }

    static func context(_ invocation: Invocation) throws -> (VaultPaths, SecretInput, UnlockMethod) {
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        let paths = paths(workspace)
        let input = secretInput(invocation)
        return (paths, input, try unlockMethod(invocation, input))
    }

    static func entryName(_ invocation: Invocation) throws -> (String, String) {
        let text = invocation.arguments.first ?? ""
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw UsageError("name the entry as CLIENT/PORTAL, e.g. acme/northwind", command: invocation.command.name)
        }
        return (String(parts[0]), String(parts[1]))
    }

    static func credentialInput(_ invocation: Invocation, _ input: SecretInput, editing: Bool) throws -> CredentialInput {
        var result = CredentialInput()
        if let username = invocation.value("username") { result.username = SecretBytes(utf8: username) }
        if invocation.flag("password") || invocation.flag("password-stdin") { result.password = try input.next("Portal password", confirm: true) }
        if invocation.flag("totp") { result.totp = try TOTPSettings.parse(try input.next("TOTP secret (base32 or otpauth:// URI)")) }
        for field in invocation.values("field") { result.extra[field] = try input.next("Value of \(field)") }
        let origins = try invocation.values("origin").map { try Origin($0) }
        if !origins.isEmpty || !editing { result.allowedOrigins = origins }
        result.notes = invocation.value("notes")
        if let expires = invocation.value("expires") { result.expires = try CalendarDate(iso: expires) }
        result.removeExtra = invocation.values("remove-field")
        if !editing && origins.isEmpty {
            Logger(label: "vault").warning("no --origin given: this credential may not be sent anywhere until origins are added")
        }
        return result
    }

    // MARK: Commands

    static func initVault(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        guard let admin = invocation.value("admin") else { throw UsageError("give the first admin's name with --admin NAME", command: "vault init") }
        let input = secretInput(invocation)
        let passphrase = try input.next("New passphrase for \(admin)", confirm: true)
        let (_, recoveryKey) = try Vault.create(paths: paths(workspace), adminName: admin, passphrase: passphrase)
        let recoveryText = RecoveryKeyText.format(recoveryKey)
        if invocation.json {
            try Output.json(["vault": paths(workspace).vault, "admin": admin, "recovery_key": recoveryText])
        } else {
            Output.line("Created the vault \(paths(workspace).vault) with admin \(admin).")
            Output.line("")
            Output.line("Recovery key (shown once; write it down and keep it offline):")
            Output.line("")
            Output.line("    \(recoveryText)")
            Output.line("")
            Output.line("It opens the vault with `--recovery` if every admin passphrase is lost.")
        }
        return .ok
    }

    static func addOperator(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, input, method) = try context(invocation)
        let name = invocation.argument("NAME")!
        let roles = try invocation.values("role").map { text -> Role in
            guard let role = Role(rawValue: text) else {
                throw UsageError("unknown role \(text) (admin, operator, run-integrations, reviewer)", command: "vault operator add")
            }
            return role
        }
        guard !roles.isEmpty else { throw UsageError("give at least one --role", command: "vault operator add") }
        try Vault.update(paths: paths, as: method) { vault in
            try vault.require(.admin)
            try vault.addOperator(name: name, roles: roles, passphrase: try input.next("New passphrase for \(name)", confirm: true))
        }
        Output.line("Added \(name) (\(roles.map(\.rawValue).joined(separator: ", "))).")
        return .ok
    }

    static func listOperators(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let vault = try Vault.open(paths: paths, as: method)
        let principals = vault.principals()
        if invocation.json {
            struct Row: Encodable { let name: String; let kind: String; let roles: [String]; let clients: [String] }
            try Output.json(principals.map { Row(name: $0.name, kind: $0.kind.rawValue, roles: $0.roles.map(\.rawValue), clients: $0.clients) })
        } else {
            for principal in principals {
                Output.line("\(principal.name.padding(20))\(principal.kind.rawValue.padding(12))\(principal.roles.map(\.rawValue).joined(separator: ",").padding(36))\(principal.clients.joined(separator: ", "))")
            }
        }
        return .ok
    }

    static func createAutomationKey(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let file = Workspace.absolute(invocation.argument("FILE")!)
        let clients = invocation.values("client")
        guard [invocation.flag("all-clients"), !clients.isEmpty, invocation.flag("no-clients")].filter({ $0 }).count == 1 else {
            throw UsageError("give one of --client C (repeatable), --all-clients or --no-clients", command: "vault automation-key create")
        }
        guard !FileManager.default.fileExists(atPath: file) else { throw VaultError.alreadyExists(file) }
        let name = try Vault.update(paths: paths, as: method) { vault -> String in
            let name = invocation.value("name") ?? "automation-\(vault.principals().filter { $0.kind == .automation }.count + 1)"
            let key = try vault.createAutomationKey(name: name, clients: invocation.flag("all-clients") ? nil : clients)
            try key.write(to: file)
            return name
        }
        Output.line("Wrote automation key \(name) to \(file) (mode 0600). Keep it off shared disks; see docs/operating.md.")
        return .ok
    }

    static func grant(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let (name, client) = (invocation.argument("NAME")!, invocation.argument("CLIENT")!)
        try Vault.update(paths: paths, as: method) { try $0.grant(name, client: client) }
        Output.line("\(name) can now read \(client)'s credentials.")
        return .ok
    }

    static func revoke(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let (name, client) = (invocation.argument("NAME")!, invocation.argument("CLIENT")!)
        let exposed = try Vault.update(paths: paths, as: method) { try $0.revoke(name, client: client) }
        if invocation.json {
            try Output.json(["revoked": AnyEncodable(name), "client": AnyEncodable(client), "rotate_at_portal": AnyEncodable(exposed)])
        } else {
            Output.line("Revoked \(name)'s access to \(client); the client key was rotated.")
            if !exposed.isEmpty {
                Output.line("\(name) could read these credentials; change them at the portal, then `nightjar vault rotate`:")
                for entry in exposed { Output.line("  \(entry)") }
            }
        }
        return .ok
    }

    static func removeClient(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, input, method) = try context(invocation)
        let client = invocation.argument("CLIENT")!
        if !invocation.flag("yes") {
            let typed = try input.next("Type the client name (\(client)) to destroy its credentials")
            guard typed.unsafeUTF8String() == client else { throw UsageError("confirmation did not match; nothing was removed") }
        }
        try Vault.update(paths: paths, as: method) { try $0.removeClient(client) }
        Output.line("Destroyed \(client)'s key and credentials. Copies in old backups remain readable by their key holders.")
        return .ok
    }

    static func access(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        guard let client = invocation.value("client") else { throw UsageError("give --client C", command: "vault access") }
        let vault = try Vault.open(paths: paths, as: method)
        var instant: String?
        if let at = invocation.value("at") {
            instant = at.count == 10 ? (try CalendarDate(iso: at)).description + "T23:59:59Z" : at
        }
        let holders = try vault.access(client: client, at: instant)
        if invocation.json {
            try Output.json(["client": AnyEncodable(client), "at": AnyEncodable(instant ?? "now"), "principals": AnyEncodable(holders)])
        } else {
            Output.line("Could read \(client)'s credentials \(instant.map { "at \($0)" } ?? "now"): \(holders.isEmpty ? "nobody" : holders.joined(separator: ", "))")
        }
        return .ok
    }

    static func addEntry(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, input, method) = try context(invocation)
        let (client, portal) = try entryName(invocation)
        try Vault.update(paths: paths, as: method) { vault in
            try vault.addEntry(client: client, portal: portal, try credentialInput(invocation, input, editing: false))
        }
        Output.line("Added \(client)/\(portal).")
        return .ok
    }

    static func editEntry(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, input, method) = try context(invocation)
        let (client, portal) = try entryName(invocation)
        try Vault.update(paths: paths, as: method) { vault in
            try vault.editEntry(client: client, portal: portal, try credentialInput(invocation, input, editing: true))
        }
        Output.line("Updated \(client)/\(portal).")
        return .ok
    }

    static func rotate(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, input, method) = try context(invocation)
        let (client, portal) = try entryName(invocation)
        try Vault.update(paths: paths, as: method) { vault in
            let password = try input.next("New portal password", confirm: true)
            try vault.editEntry(client: client, portal: portal, CredentialInput(password: password), action: "rotate")
        }
        Output.line("Stored the new password for \(client)/\(portal).")
        return .ok
    }

    static func removeEntry(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let (client, portal) = try entryName(invocation)
        try Vault.update(paths: paths, as: method) { try $0.removeEntry(client: client, portal: portal) }
        Output.line("Removed \(client)/\(portal).")
        return .ok
    }

    static func list(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let vault = try Vault.open(paths: paths, as: method)
        var entries = try vault.list(client: invocation.value("client"))
        if let window = invocation.value("expiring") {
            guard let days = Int(window.hasSuffix("d") ? String(window.dropLast()) : window), days >= 0 else {
                throw UsageError("--expiring takes a number of days, e.g. 14d", command: "vault list")
            }
            let limit = CalendarDate.today(in: .current).adding(days: days).description
            entries = entries.filter { ($0.expires ?? "9999") <= limit }
        }
        if invocation.json {
            try Output.json(entries)
        } else if entries.isEmpty {
            Output.line("No credentials.")
        } else {
            for entry in entries {
                let flags = (entry.expires.map { " expires \($0)" } ?? "") + (entry.markedForRotation ? " ROTATE" : "")
                Output.line("\("\(entry.client)/\(entry.portal)".padding(32))\(entry.fields.joined(separator: ",").padding(40))\(flags)")
            }
        }
        return .ok
    }

    static func show(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let (client, portal) = try entryName(invocation)
        let reveal = invocation.flag("reveal")
        let vault = try Vault.open(paths: paths, as: method)
        let credential = try vault.credential(client: client, portal: portal, purpose: reveal ? .reveal : .inspect)
        func shown(_ value: SecretBytes?) -> String? {
            guard let value else { return nil }
            return reveal ? (value.unsafeUTF8String() ?? "<binary>") : "********"
        }
        var rows: [(String, String)] = [("entry", credential.name)]
        if let username = credential.username?.unsafeUTF8String() { rows.append(("username", username)) }
        if let password = shown(credential.password) { rows.append(("password", password)) }
        if let totp = credential.totp {
            rows.append(("totp", reveal ? "\(Base32.encode(totp.secret)) (\(totp.digits) digits, \(totp.period) s)" : "******** (\(totp.digits) digits, \(totp.period) s)"))
        }
        for (name, value) in credential.extra.sorted(by: { $0.key < $1.key }) { rows.append((name, shown(value) ?? "")) }
        rows.append(("origins", credential.allowedOrigins.map(\.description).joined(separator: " ")))
        if let notes = credential.notes { rows.append(("notes", notes)) }
        if let expires = credential.expires { rows.append(("expires", expires.description)) }
        if reveal {
            // Revealed values were registered with the redactor when decrypted; print them raw on purpose.
            for (key, value) in rows { RawOutput.line("\(key.padding(12))\(value)") }
        } else if invocation.json {
            try Output.json(Dictionary(rows, uniquingKeysWith: { a, _ in a }))
        } else {
            for (key, value) in rows { Output.line("\(key.padding(12))\(value)") }
        }
        return .ok
    }

    static func totp(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let (client, portal) = try entryName(invocation)
        let vault = try Vault.open(paths: paths, as: method)
        let credential = try vault.credential(client: client, portal: portal, purpose: .totp)
        guard let settings = credential.totp else { throw VaultError.invalidInput("\(client)/\(portal) has no TOTP secret", location: nil) }
        let now = UInt64(Date().timeIntervalSince1970)
        let code = settings.code(at: now)
        RawOutput.line(code)
        Console.standardError.line("valid for \(UInt64(settings.period) - now % UInt64(settings.period)) more seconds")
        return .ok
    }

    static func importCSV(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, input, method) = try context(invocation)
        guard let client = invocation.value("client") else { throw UsageError("give --client C", command: "vault import") }
        let source = invocation.argument("FILE")!
        let text: String
        if source == "-" {
            text = input.rest()
        } else {
            guard let data = FileManager.default.contents(atPath: source) else {
                throw GeneralError(code: "file.missing", message: "cannot read \(source)", exitStatus: .noInput)
            }
            text = String(decoding: data, as: UTF8.self)
        }
        let rows = try CredentialCSV.parse(text, file: source == "-" ? "<stdin>" : source)
        let added = try Vault.update(paths: paths, as: method) { vault -> Int in
            for row in rows { try vault.addEntry(client: client, portal: row.portal, row.input) }
            return rows.count
        }
        Output.line("Imported \(added) credential(s) for \(client).")
        if source != "-" {
            Console.standardError.line("warning: \(source) still holds the passwords in clear; delete it securely (e.g. shred -u \(source)), or import from - next time")
        }
        return .ok
    }

    static func audit(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let vault = try Vault.open(paths: paths, as: method, auditUnlock: false)
        if invocation.flag("verify") {
            let (count, head) = try vault.verifyAudit()
            if invocation.json {
                try Output.json(["ok": AnyEncodable(true), "records": AnyEncodable(count), "head": AnyEncodable(head)])
            } else {
                Output.line("Audit log verified: \(count) records, chain head \(head)")
            }
            return .ok
        }
        var since: String?
        if let date = invocation.value("since") { since = try CalendarDate(iso: date).description }
        let records = try vault.auditRecords(client: invocation.value("client"), since: since)
        if invocation.json {
            try Output.json(records)
        } else {
            for record in records {
                let target = [record.client, record.entry].compactMap { $0 }.joined(separator: "/")
                Output.line("\(record.seq) \(record.at) \(record.principal.padding(14))\(record.action.padding(22))\(target)\(record.run.map { " run \($0)" } ?? "")\(record.detail.map { "  \($0)" } ?? "")")
            }
        }
        return .ok
    }

    static func acceptRollback(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let vault = try Vault.open(paths: paths, as: method, acceptRollback: true, auditUnlock: false)
        try vault.require(.admin)
        try vault.audit(AuditEvent("accept-rollback", detail: "generation \(vault.generation) accepted"))
        Output.line("Accepted vault generation \(vault.generation) as current.")
        return .ok
    }
}

/// Output that deliberately bypasses the redactor: only for `vault show --reveal` and `vault totp`,
/// whose whole purpose is to print a secret to the person who asked (and was audited).
enum RawOutput {
    static func line(_ text: String) {
        let bytes = Array((text + "\n").utf8)
        bytes.withUnsafeBytes { _ = write(1, $0.baseAddress!, $0.count) }
    }
}

/// A type-erased Encodable for small JSON objects.
struct AnyEncodable: Encodable {
    private let encodeValue: (any Encoder) throws -> Void
    init<T: Encodable>(_ value: T) { encodeValue = value.encode(to:) }
    func encode(to encoder: any Encoder) throws { try encodeValue(encoder) }
}

extension AnyEncodable: ExpressibleByStringLiteral {
    init(stringLiteral value: String) { self.init(value) }
}
