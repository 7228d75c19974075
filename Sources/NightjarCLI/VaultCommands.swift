import Foundation
import NightjarCore
import NightjarCrypto
import NightjarVault

/// `nightjar vault ...`: the credential vault from the command line.
enum VaultCommands {
    static let asOption = OptionSpec.value(
        "as", "NAME", names: .identifier("operator name"), "act as this operator (asks for the passphrase)")
    /// `--as` of `vault upgrade`, which must admit an admin whose name the identifier rule now refuses (to rename it).
    static let legacyAsOption = OptionSpec.value(
        "as", "NAME", "act as this operator (asks for the passphrase; a name from before the naming rule works here)")
    static let passphraseStdin = OptionSpec.flag(
        "passphrase-stdin", "read passphrases (and then secrets) from standard input, one per line")
    static let keyFile = OptionSpec.value("key-file", "FILE", "unlock with this automation key file (mode 0600)")
    static let recovery = OptionSpec.flag(
        "recovery", "unlock with the recovery key (asked for, or the first stdin line)")
    static let passphraseFile = OptionSpec.value(
        "passphrase-file", "FILE",
        "read the passphrase of --as NAME from FILE (mode 0600, no folder above it writable by others)")
    static let unlockOptions = [asOption, passphraseStdin, passphraseFile, keyFile, recovery]
    static let entryOptions: [OptionSpec] = [
        .value("username", "NAME", "the portal user name"),
        .flag("password", "ask for the portal password (no echo)"),
        .flag("password-stdin", "read the portal password from standard input (after any passphrase)"),
        .flag("totp", "ask for the TOTP secret: base32 or an otpauth:// URI"),
        .value(
            "field", "NAME", repeatable: true, names: .identifier("extra field name"),
            "ask for an extra field's value (customer number, PIN, token)"),
        .value(
            "field-file", "NAME=FILE", repeatable: true,
            "read an extra field's value from a file (an SFTP private_key, a known_hosts line); delete the file after"),
        .value(
            "origin", "URL", repeatable: true, "an origin the values may be sent to, e.g. https://portal.example.com"),
        .value("notes", "TEXT", "free notes (stored encrypted)"),
        .value("expires", "DATE", "expiry date of the credential (YYYY-MM-DD)"),
        .flag("username-secret", "the user name is a secret too (hidden like a password in logs and reports)"),
        .flag("username-not-secret", "the user name is an identifier, not a secret (the default)"),
        .flag(
            "allow-http",
            "the values may go to the credential's plain http:// origins, unencrypted (loopback needs no permission)"),
        .flag("no-allow-http", "plain http:// origins other than loopback receive nothing (the default)"),
    ]

    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["vault", "init"], effect: .changesOther,
                summary: "create the vault with its first admin; prints a recovery key once",
                discussion: """
                    Creates vault/nightjar.vault in the workspace. The admin's passphrase protects their keys
                    through Argon2id (64 MiB, 3 passes). The recovery key printed at the end opens the vault if
                    every admin passphrase is lost: write it down and keep it offline; it is never shown again.

                    Example:
                      nightjar vault init --admin alice
                      printf 'passphrase\\n' | nightjar vault init --admin alice --passphrase-stdin
                      nightjar vault init --admin alice --passphrase-file alice.pass
                    With neither, NIGHTJAR_PASSPHRASE_COMMAND (if set) gives the passphrase, as for --as.
                    """,
                options: [
                    .value("admin", "NAME", names: .identifier("operator name"), "the first admin's name"),
                    passphraseStdin,
                    .value(
                        "passphrase-file", "FILE",
                        "read the new admin's passphrase from FILE (mode 0600, no folder above it writable by others)"),
                ],
                run: initVault),
            CommandSpec(
                ["vault", "operator", "add"], effect: .changesOther, summary: "add an operator with roles (admin only)",
                discussion: """
                    Roles: admin, operator, run-integrations, reviewer, viewer. Reviewers approve the batches of
                    the clients they are granted (nightjar vault review grant); viewers only read them; neither
                    ever holds credential keys. With --passphrase-stdin, line 1 is the acting admin's passphrase and line 2
                    the new operator's.

                    Example:
                      nightjar vault operator add bob --role operator --role run-integrations --as alice
                    """,
                arguments: [ArgumentSpec("NAME", "the new operator's name", names: .identifier("operator name"))],
                options: [.value("role", "ROLE", repeatable: true, "a role to give")] + unlockOptions,
                run: addOperator),
            CommandSpec(
                ["vault", "operator", "list"], effect: .readsOnly,
                summary: "list principals with their roles and clients",
                options: unlockOptions, run: listOperators),
            CommandSpec(
                ["vault", "automation-key", "create"], effect: .changesOther,
                summary: "write a new automation key file for the night run (admin)",
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
                options: [
                    .client(repeatable: true, "a client the key may open"),
                    .flag("all-clients", "every client, now and later"),
                    .flag("no-clients", "no client at all (the review site's key)"),
                    .value(
                        "name", "NAME", names: .identifier("operator name"), "principal name (default: automation-<n>)"),
                ] + unlockOptions,
                run: createAutomationKey),
            CommandSpec(
                ["vault", "grant"], effect: .changesOther,
                summary: "give an operator access to a client's credentials (admin)",
                arguments: [
                    ArgumentSpec("NAME", "operator", names: .identifier("operator name")),
                    ArgumentSpec("CLIENT", "client", names: .identifier("client name")),
                ],
                options: unlockOptions, run: grant),
            CommandSpec(
                ["vault", "revoke"], effect: .changesOther,
                summary: "take access away; rotates the client key and marks passwords for rotation",
                discussion:
                    "Lists every portal password the revoked operator could read: change them at the portals, then `nightjar vault rotate`.",
                arguments: [
                    ArgumentSpec("NAME", "operator", names: .identifier("operator name")),
                    ArgumentSpec("CLIENT", "client", names: .identifier("client name")),
                ],
                options: unlockOptions, run: revoke),
            CommandSpec(
                ["vault", "client", "remove"], effect: .changesOther,
                summary: "destroy a client's key and entries (crypto-shredding; admin)",
                arguments: [ArgumentSpec("CLIENT", "client", names: .identifier("client name"))],
                options: [.flag("yes", "do not ask for confirmation")] + unlockOptions, run: removeClient),
            CommandSpec(
                ["vault", "access"], effect: .readsOnly,
                summary: "who could read a client's credentials, now or at a date",
                options: [.client("the client"), .value("at", "DATE", "a date (YYYY-MM-DD) or instant")]
                    + unlockOptions,
                run: access),
            CommandSpec(
                ["vault", "add"], effect: .changesOther,
                summary: "add a credential CLIENT/PORTAL[/LABEL] (secrets are asked for, never arguments)",
                discussion: """
                    A label tells two logins of one client at one portal apart (two vendor numbers at one
                    retailer): acme/sandbox-html-portal/vendor-2. The night runs each one and reports each on its own.

                    Example:
                      nightjar vault add acme/sandbox-html-portal --username ap@acme.example --password \\
                        --origin https://suppliers.sandbox-html-portal.example --expires 2027-01-31 --as bob
                    With --passphrase-stdin or --password-stdin, every secret comes from standard input, one per
                    line: the acting operator's passphrase, the password, the TOTP secret (with --totp), then each
                    --field value.
                    """,
                arguments: [ArgumentSpec("CLIENT/PORTAL[/LABEL]", "the entry", names: .credentialName)],
                options: entryOptions + unlockOptions, run: addEntry),
            CommandSpec(
                ["vault", "edit"], effect: .changesOther, summary: "change fields of a credential",
                arguments: [ArgumentSpec("CLIENT/PORTAL[/LABEL]", "the entry", names: .credentialName)],
                options: entryOptions + [
                    .value(
                        "remove-field", "NAME", repeatable: true, names: .identifier("extra field name"),
                        "delete an extra field")
                ] + unlockOptions,
                run: editEntry),
            CommandSpec(
                ["vault", "rotate"], effect: .changesOther,
                summary: "set a new password for a credential (clears its rotation mark)",
                arguments: [ArgumentSpec("CLIENT/PORTAL[/LABEL]", "the entry", names: .credentialName)],
                options: [.flag("password-stdin", "read the new password from standard input")] + unlockOptions,
                run: rotate),
            CommandSpec(
                ["vault", "remove"], effect: .changesOther, summary: "remove a credential",
                arguments: [ArgumentSpec("CLIENT/PORTAL[/LABEL]", "the entry", names: .credentialName)],
                options: unlockOptions, run: removeEntry),
            CommandSpec(
                ["vault", "list"], effect: .readsOnly, summary: "list credentials (never prints a secret)",
                options: [
                    .client("only this client"),
                    .value("expiring", "DAYS", "only those expiring within DAYS (e.g. 14d)"),
                ]
                    + unlockOptions,
                run: list),
            CommandSpec(
                ["vault", "show"], effect: .readsOnly,
                summary: "show a credential, masked; --reveal prints secrets (audited)",
                arguments: [ArgumentSpec("CLIENT/PORTAL[/LABEL]", "the entry", names: .credentialName)],
                options: [.flag("reveal", "print the secret values (recorded in the audit log)")] + unlockOptions,
                run: show),
            CommandSpec(
                ["vault", "totp"], effect: .changesOther,
                summary: "print the current TOTP code of a credential (audited)",
                arguments: [ArgumentSpec("CLIENT/PORTAL[/LABEL]", "the entry", names: .credentialName)],
                options: unlockOptions, run: totp),
            CommandSpec(
                ["vault", "import"], effect: .changesOther,
                summary: "import many credentials from a CSV (or a KeePassXC CSV export); - reads stdin",
                discussion: """
                    Columns (by header name): client, portal (or Title), label, username, password, totp (or TOTP),
                    origins (or URL; several separated by spaces), notes, expires, username_is_secret (yes/no),
                    and extra fields as extra.NAME. With a client column one file onboards many clients at once
                    (an admin creates the clients it names); without one, --client says whose they are. A
                    KeePassXC export works as is. The whole file is one unlock, one audit record and one write:
                    nothing is imported if any row is refused. Reading from - keeps any clear copy off the disk;
                    importing from a file reminds you that the file is still there. At most 50 MB.

                    Example:
                      gpg -d acme.csv.gpg | nightjar vault import - --client acme --as bob --passphrase-stdin
                      gpg -d clients.csv.gpg | nightjar vault import - --as alice --passphrase-stdin
                    (with --passphrase-stdin, the first line of standard input is the passphrase)
                    """,
                arguments: [ArgumentSpec("FILE", "CSV file, or - for standard input")],
                options: [.client("the client of rows without a client column")] + unlockOptions, run: importCSV),
            CommandSpec(
                ["vault", "audit"], effect: .readsOnly, summary: "read or verify the signed, hash-chained audit log",
                options: [
                    .client("only this client"), .value("since", "DATE", "from this date (YYYY-MM-DD)"),
                    .flag("verify", "check every record's chain link and signature, and that none was cut off"),
                ] + unlockOptions,
                run: audit),
            CommandSpec(
                ["vault", "accept-rollback"], effect: .changesOther,
                summary:
                    "accept the vault as it is: an older file, a missing or damaged rollback state, a new machine (admin)",
                discussion: """
                    The vault refuses to open when its file is older than this workspace has seen, when its
                    authority chain is shorter than the one seen, or when the rollback state (data/vault-state)
                    is missing or does not verify. After a restore from a backup, a move to a new machine, or
                    once you know why, an admin accepts the vault as it is: the acceptance and what was wrong
                    are recorded in the audit log, and the state is signed afresh.

                    Example:
                      nightjar vault accept-rollback --as alice
                    """,
                options: unlockOptions, run: acceptRollback),
            CommandSpec(
                ["vault", "upgrade"], effect: .changesOther,
                summary: "upgrade a format-1 vault: review what will be signed, then sign it (admin)",
                discussion: """
                    Format 1 kept roles and approvals under a MAC every principal could recompute. The upgrade
                    prints every operator and role, automation key, who can read each client, the review grants
                    and the approved definitions as they stand; you check the list and type "sign" (or pass
                    --yes), and your key signs them as the first record of the vault's authority chain. You
                    become its root together with the recovery key. Everyone else's keys carry that root from
                    their next unlock; --key-file rewrites automation key files now. Names the identifier rule
                    refuses are renamed with --rename (client:OLD=NEW, portal:CLIENT/OLD=NEW, operator:OLD=NEW).
                    See docs/vault-format.md.

                    Example:
                      nightjar vault upgrade --as alice --key-file /etc/nightjar/night.key
                    """,
                options: [
                    .flag("yes", "sign without asking (after reading the list in a script's output)"),
                    .flag("plan", "print the list and stop"),
                    .value("rename", "KIND:OLD=NEW", repeatable: true, "rename a name the identifier rule refuses"),
                    .value("key-file", "FILE", repeatable: true, "an automation key file to rewrite with the root"),
                ]
                    + [legacyAsOption, passphraseStdin, passphraseFile, recovery],
                run: upgrade),
            CommandSpec(
                ["vault", "authority"], effect: .readsOnly,
                summary: "show the signed authority chain: who granted what, when (any principal)",
                options: [.flag("verify", "only check it (every open does) and print its head")] + unlockOptions,
                run: authority),
            CommandSpec(
                ["vault", "role", "grant"], effect: .changesOther,
                summary: "give an operator a role: admin, operator, run-integrations, reviewer, viewer (admin)",
                discussion: """
                    Reviewers approve the batches of the clients they have a review grant for; viewers read
                    them and approve nothing. Neither ever holds credential keys.

                    Example:
                      nightjar vault role grant dana viewer --as alice
                    """,
                arguments: [
                    ArgumentSpec("NAME", "operator", names: .identifier("operator name")),
                    ArgumentSpec("ROLE", "the role"),
                ], options: unlockOptions, run: grantRole),
            CommandSpec(
                ["vault", "role", "revoke"], effect: .changesOther, summary: "take a role away (admin)",
                arguments: [
                    ArgumentSpec("NAME", "operator", names: .identifier("operator name")),
                    ArgumentSpec("ROLE", "the role"),
                ], options: unlockOptions, run: revokeRole),
            CommandSpec(
                ["vault", "review", "grant"], effect: .changesOther,
                summary: "let a reviewer or viewer review a client's batches (admin)",
                discussion: """
                    A reviewer approves only the clients granted to them; a viewer reads only. --all-clients
                    covers every client, now and later.

                    Example:
                      nightjar vault review grant carol acme --as alice
                      nightjar vault review grant dana --all-clients --as alice
                    """,
                arguments: [
                    ArgumentSpec("NAME", "reviewer or viewer", names: .identifier("operator name")),
                    ArgumentSpec("CLIENT", "client", optional: true, variadic: true, names: .identifier("client name")),
                ],
                options: [.flag("all-clients", "every client, now and later")] + unlockOptions, run: grantReview),
            CommandSpec(
                ["vault", "review", "revoke"], effect: .changesOther, summary: "end a review grant (admin)",
                arguments: [
                    ArgumentSpec("NAME", "reviewer or viewer", names: .identifier("operator name")),
                    ArgumentSpec("CLIENT", "client", optional: true, variadic: true, names: .identifier("client name")),
                ],
                options: [.flag("all-clients", "the grant of every client")] + unlockOptions, run: revokeReview),
            CommandSpec(
                ["vault", "review", "scope"], effect: .readsOnly,
                summary: "which clients a principal may read and approve in the morning review",
                arguments: [
                    ArgumentSpec(
                        "NAME", "whom (default: yourself)", optional: true, names: .identifier("operator name"))
                ], options: unlockOptions, run: reviewScope),
            CommandSpec(
                ["vault", "recipient", "add"], effect: .changesOther,
                summary: "approve an e-mail address for a client's reports (admin)",
                arguments: [
                    ArgumentSpec("CLIENT", "client", names: .identifier("client name")),
                    ArgumentSpec("ADDRESS", "e-mail address"),
                ], options: unlockOptions, run: addRecipient),
            CommandSpec(
                ["vault", "recipient", "remove"], effect: .changesOther, summary: "remove a report recipient (admin)",
                arguments: [
                    ArgumentSpec("CLIENT", "client", names: .identifier("client name")),
                    ArgumentSpec("ADDRESS", "e-mail address"),
                ], options: unlockOptions, run: removeRecipient),
            CommandSpec(
                ["vault", "recipient", "list"], effect: .readsOnly,
                summary: "the approved report recipients of each client",
                options: [.client("only this client")] + unlockOptions, run: listRecipients),
            CommandSpec(
                ["vault", "approvals"], effect: .readsOnly,
                summary: "the approved versions of scraper definitions, profiles and rules files",
                options: [.value("kind", "KIND", "scraper, profile or rules")] + unlockOptions, run: listApprovals),
            CommandSpec(
                ["vault", "automation-key", "seal"], effect: .changesOther,
                summary:
                    "rewrite an automation key file from before the upgrade so it carries the vault's root (admin)",
                arguments: [ArgumentSpec("FILE", "the key file")], options: unlockOptions, run: sealAutomationKey),
        ]
    }

    // MARK: Plumbing

    static func paths(_ workspace: Workspace) -> VaultPaths {
        VaultPaths(
            vault: workspace.vaultDirectory + "/nightjar.vault", audit: workspace.vaultDirectory + "/audit.log",
            state: workspace.dataDirectory + "/vault-state")
    }

    static func secretInput(_ invocation: Invocation) -> SecretInput {
        SecretInput(
            useStandardInput: invocation.flag("passphrase-stdin") || invocation.flag("password-stdin"),
            readAll: invocation.standardInput)
    }

    /// How this invocation unlocks: `--as NAME` (passphrase), `--recovery`, or an automation key.
    static func unlockMethod(_ invocation: Invocation, _ input: SecretInput) throws -> UnlockMethod {
        if let name = invocation.value("as") {
            if let file = invocation.value("passphrase-file") {
                return .passphrase(name: name, try PassphraseFile.read(Workspace.absolute(file)))
            }
            if !invocation.flag("passphrase-stdin"),
                let command = invocation.environment["NIGHTJAR_PASSPHRASE_COMMAND"], !command.isEmpty
            {
                return .passphrase(
                    name: name, try PassphraseCommand.run(command, operator: name, environment: invocation.environment))
            }
            return .passphrase(name: name, try input.next("Passphrase for \(name)"))
        }
        if invocation.flag("recovery") {
            return .recovery(try RecoveryKeyText.parse(try input.next("Recovery key")))
        }
        guard
            let path = AutomationKey.locate(explicit: invocation.value("key-file"), environment: invocation.environment)
        else {
            throw UsageError(
                "say who you are: --as NAME (or an automation key: --key-file, NIGHTJAR_VAULT_KEY_FILE)",
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

    static func entryName(_ invocation: Invocation) throws -> CredentialName {
        let text = invocation.arguments.first ?? ""
        guard text.split(separator: "/", omittingEmptySubsequences: false).count >= 2 else {
            throw UsageError(
                "name the entry as CLIENT/PORTAL or CLIENT/PORTAL/LABEL, e.g. acme/sandbox-html-portal",
                command: invocation.command.name)
        }
        return try CredentialName(parsing: text)
    }

    static func role(_ text: String, command: String) throws -> Role {
        guard let role = Role(rawValue: text) else {
            throw UsageError(
                "unknown role \(text) (admin, operator, run-integrations, reviewer, viewer)", command: command)
        }
        return role
    }

    static func credentialInput(_ invocation: Invocation, _ input: SecretInput, editing: Bool) throws -> CredentialInput
    {
        var result = CredentialInput()
        if let username = invocation.value("username") { result.username = SecretBytes(utf8: username) }
        if invocation.flag("password") || invocation.flag("password-stdin") {
            result.password = try input.next("Portal password", confirm: true)
        }
        if invocation.flag("totp") {
            result.totp = try TOTPSettings.parse(try input.next("TOTP secret (base32 or otpauth:// URI)"))
        }
        for field in invocation.values("field") { result.extra[field] = try input.next("Value of \(field)") }
        for pair in invocation.values("field-file") {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw UsageError(
                    "--field-file takes NAME=FILE, e.g. --field-file private_key=./id_ed25519", command: "vault")
            }
            let name = String(pair[..<equals])
            let path = String(pair[pair.index(after: equals)...])
            do {
                try Identifier.validate(name, field: "extra field name")
            } catch {
                throw UsageError(error.message, command: invocation.command.name)
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw GeneralError(
                    code: "vault.field_file", message: "cannot read \(path) for --field-file \(name)",
                    exitStatus: .noInput)
            }
            // A private key or a known_hosts line: small; a large file is a mistake, refused before it is kept.
            guard data.count <= 1 << 20 else {
                throw GeneralError(
                    code: "input.too_large",
                    message: "\(path) is \(data.count) bytes; a field file holds at most 1 MiB", exitStatus: .dataError)
            }
            result.extra[name] = SecretBytes(Array(data))
        }
        let origins = try invocation.values("origin").map { try Origin($0) }
        if !origins.isEmpty || !editing { result.allowedOrigins = origins }
        result.notes = invocation.value("notes")
        if let expires = invocation.value("expires") { result.expires = try CalendarDate(iso: expires) }
        result.removeExtra = invocation.values("remove-field")
        if invocation.flag("allow-http") && invocation.flag("no-allow-http") {
            throw UsageError("give --allow-http or --no-allow-http, not both", command: invocation.command.name)
        }
        if invocation.flag("allow-http") { result.allowsPlainHTTP = true }
        if invocation.flag("no-allow-http") { result.allowsPlainHTTP = false }
        if invocation.flag("username-secret") { result.usernameIsSecret = true }
        if invocation.flag("username-not-secret") { result.usernameIsSecret = false }
        if invocation.flag("username-secret") && invocation.flag("username-not-secret") {
            throw UsageError(
                "give --username-secret or --username-not-secret, not both", command: invocation.command.name)
        }
        if !editing && origins.isEmpty {
            Logger(label: "vault").warning(
                "no --origin given: this credential may not be sent anywhere until origins are added")
        }
        return result
    }

    // MARK: Commands

    static func initVault(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        guard let admin = invocation.value("admin") else {
            throw UsageError("give the first admin's name with --admin NAME", command: "vault init")
        }
        let input = secretInput(invocation)
        let passphrase: SecretBytes
        if let file = invocation.value("passphrase-file") {
            passphrase = try PassphraseFile.read(Workspace.absolute(file))
        } else if !invocation.flag("passphrase-stdin"),
            let command = invocation.environment["NIGHTJAR_PASSPHRASE_COMMAND"], !command.isEmpty
        {
            passphrase = try PassphraseCommand.run(command, operator: admin, environment: invocation.environment)
        } else {
            passphrase = try input.next("New passphrase for \(admin)", confirm: true)
        }
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
        let roles = try invocation.values("role").map { try role($0, command: "vault operator add") }
        guard !roles.isEmpty else { throw UsageError("give at least one --role", command: "vault operator add") }
        try Vault.update(paths: paths, as: method) { vault in
            try vault.require(.admin)
            try vault.addOperator(
                name: name, roles: roles, passphrase: try input.next("New passphrase for \(name)", confirm: true))
        }
        Output.line("Added \(name) (\(roles.map(\.rawValue).joined(separator: ", "))).")
        return .ok
    }

    static func listOperators(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let vault = try Vault.open(paths: paths, as: method)
        let principals = vault.principals()
        if invocation.json {
            struct Row: Encodable {
                let name: String
                let kind: String
                let roles: [String]
                let clients: [String]
                let reviews: [String]
                let reviews_all_clients: Bool
                let awaiting_root: Bool
            }
            try Output.json(
                principals.map {
                    Row(
                        name: $0.name, kind: $0.kind.rawValue, roles: $0.roles.map(\.rawValue), clients: $0.clients,
                        reviews: $0.reviews, reviews_all_clients: $0.reviewsAllClients, awaiting_root: $0.awaitingRoot)
                })
        } else {
            for principal in principals {
                let reviews =
                    principal.reviewsAllClients
                    ? "  reviews all clients"
                    : principal.reviews.isEmpty ? "" : "  reviews \(principal.reviews.joined(separator: ", "))"
                Output.line(
                    "\(principal.name.padding(20))\(principal.kind.rawValue.padding(12))\(principal.roles.map(\.rawValue).joined(separator: ",").padding(36))\(principal.clients.joined(separator: ", "))\(reviews)\(principal.awaitingRoot ? "  (awaiting the root: unlock once)" : "")"
                )
            }
        }
        return .ok
    }

    static func createAutomationKey(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let file = Workspace.absolute(invocation.argument("FILE")!)
        let clients = invocation.values("client")
        guard
            [invocation.flag("all-clients"), !clients.isEmpty, invocation.flag("no-clients")].filter({ $0 }).count == 1
        else {
            throw UsageError(
                "give one of --client C (repeatable), --all-clients or --no-clients",
                command: "vault automation-key create")
        }
        guard !FileManager.default.fileExists(atPath: file) else { throw VaultError.alreadyExists(file) }
        let name = try Vault.update(paths: paths, as: method) { vault -> String in
            let name =
                invocation.value("name")
                ?? "automation-\(vault.principals().filter { $0.kind == .automation }.count + 1)"
            let key = try vault.createAutomationKey(name: name, clients: invocation.flag("all-clients") ? nil : clients)
            try key.write(to: file)
            return name
        }
        Output.line(
            "Wrote automation key \(name) to \(file) (mode 0600). Keep it off shared disks; see docs/operating.md.")
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
            try Output.json([
                "revoked": AnyEncodable(name), "client": AnyEncodable(client),
                "rotate_at_portal": AnyEncodable(exposed),
            ])
        } else {
            Output.line("Revoked \(name)'s access to \(client); the client key was rotated.")
            if !exposed.isEmpty {
                Output.line(
                    "\(name) could read these credentials; change them at the portal, then `nightjar vault rotate`:")
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
            guard typed.unsafeUTF8String() == client else {
                throw UsageError("confirmation did not match; nothing was removed")
            }
        }
        try Vault.update(paths: paths, as: method) { try $0.removeClient(client) }
        Output.line(
            "Destroyed \(client)'s key and credentials. Copies in old backups remain readable by their key holders.")
        return .ok
    }

    static func access(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        guard let client = invocation.value("client") else {
            throw UsageError("give --client C", command: "vault access")
        }
        let vault = try Vault.open(paths: paths, as: method)
        var instant: String?
        if let at = invocation.value("at") {
            instant = at.count == 10 ? (try CalendarDate(iso: at)).description + "T23:59:59Z" : at
        }
        let holders = try vault.access(client: client, at: instant)
        if invocation.json {
            try Output.json([
                "client": AnyEncodable(client), "at": AnyEncodable(instant ?? "now"),
                "principals": AnyEncodable(holders),
            ])
        } else {
            Output.line(
                "Could read \(client)'s credentials \(instant.map { "at \($0)" } ?? "now"): \(holders.isEmpty ? "nobody" : holders.joined(separator: ", "))"
            )
        }
        return .ok
    }

    /// What every command that changes one entry does: unlock, read the entry's name, make the
    /// change under the vault's lock, then say what was done (`done` of the entry's name).
    static func changeEntry(
        _ invocation: Invocation, done: (CredentialName) -> String,
        _ change: (Vault, CredentialName, SecretInput) throws -> Void
    ) throws -> ExitStatus {
        let (paths, input, method) = try context(invocation)
        let name = try entryName(invocation)
        try Vault.update(paths: paths, as: method) { vault in try change(vault, name, input) }
        Output.line(done(name))
        return .ok
    }

    static func addEntry(_ invocation: Invocation) async throws -> ExitStatus {
        try changeEntry(invocation, done: { "Added \($0)." }) { vault, name, input in
            try vault.addEntry(
                client: name.client, portal: name.portal, label: name.label,
                try credentialInput(invocation, input, editing: false))
        }
    }

    static func editEntry(_ invocation: Invocation) async throws -> ExitStatus {
        try changeEntry(invocation, done: { "Updated \($0)." }) { vault, name, input in
            try vault.editEntry(
                client: name.client, portal: name.portal, label: name.label,
                try credentialInput(invocation, input, editing: true))
        }
    }

    static func rotate(_ invocation: Invocation) async throws -> ExitStatus {
        try changeEntry(invocation, done: { "Stored the new password for \($0)." }) { vault, name, input in
            let password = try input.next("New portal password", confirm: true)
            try vault.editEntry(
                client: name.client, portal: name.portal, label: name.label, CredentialInput(password: password),
                action: "rotate")
        }
    }

    static func removeEntry(_ invocation: Invocation) async throws -> ExitStatus {
        try changeEntry(invocation, done: { "Removed \($0)." }) { vault, name, _ in
            try vault.removeEntry(client: name.client, portal: name.portal, label: name.label)
        }
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
            Output.line("NAME".padding(32) + "FIELDS".padding(40) + "NOTES")
            for entry in entries {
                let flags = (entry.expires.map { " expires \($0)" } ?? "") + (entry.markedForRotation ? " ROTATE" : "")
                Output.line(
                    "\(entry.name.description.padding(32))\(entry.fields.joined(separator: ",").padding(40))\(flags)")
            }
        }
        return .ok
    }

    static func show(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let name = try entryName(invocation)
        let reveal = invocation.flag("reveal")
        let vault = try Vault.open(paths: paths, as: method)
        let credential = try vault.credential(name, purpose: reveal ? .reveal : .inspect)
        func shown(_ value: SecretBytes?) -> String? {
            guard let value else { return nil }
            return reveal ? (value.unsafeUTF8String() ?? "<binary>") : "********"
        }
        var rows: [(String, String)] = [("entry", credential.name)]
        if let username = credential.username?.unsafeUTF8String() {
            rows.append(("username", credential.usernameIsSecret && !reveal ? "******** (secret)" : username))
        }
        if let password = shown(credential.password) { rows.append(("password", password)) }
        if let totp = credential.totp {
            rows.append(
                (
                    "totp",
                    reveal
                        ? "\(Base32.encode(totp.secret)) (\(totp.digits) digits, \(totp.period) s)"
                        : "******** (\(totp.digits) digits, \(totp.period) s)"
                ))
        }
        for (name, value) in credential.extra.sorted(by: { $0.key < $1.key }) {
            rows.append((name, shown(value) ?? ""))
        }
        rows.append(("origins", credential.allowedOrigins.map(\.description).joined(separator: " ")))
        if credential.allowsPlainHTTP {
            rows.append(("allow_http", "yes: values may go to its http:// origins unencrypted"))
        }
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
        let name = try entryName(invocation)
        let vault = try Vault.open(paths: paths, as: method)
        let credential = try vault.credential(name, purpose: .totp)
        guard let settings = credential.totp else {
            throw VaultError.invalidInput("\(name) has no TOTP secret", location: nil)
        }
        let now = UInt64(Date().timeIntervalSince1970)
        let code = settings.code(at: now)
        RawOutput.line(code)
        Console.standardError.line("valid for \(UInt64(settings.period) - now % UInt64(settings.period)) more seconds")
        return .ok
    }

    static func importCSV(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, input, method) = try context(invocation)
        let defaultClient = invocation.value("client")
        let source = invocation.argument("FILE")!
        let text: String
        if source == "-" {
            text = input.rest()
        } else {
            var info = stat()
            if stat(source, &info) == 0, Int(info.st_size) > CredentialCSV.maximumBytes {
                throw VaultError.tooLarge(
                    "\(source) is \(info.st_size) bytes; credential files are at most 50 MB", location: nil)
            }
            guard let data = FileManager.default.contents(atPath: source) else {
                throw GeneralError(code: "file.missing", message: "cannot read \(source)", exitStatus: .noInput)
            }
            text = String(decoding: data, as: UTF8.self)
        }
        let file = source == "-" ? "<stdin>" : source
        let rows = try CredentialCSV.parse(text, file: file, defaultClient: defaultClient)
        var items: [(name: CredentialName, input: CredentialInput)] = []
        for row in rows {
            guard let name = row.name(defaultClient: defaultClient) else {
                throw UsageError("the file has no client column: give --client C", command: "vault import")
            }
            items.append((name, row.input))
        }
        try Vault.update(paths: paths, as: method) { try $0.addEntries(items) }
        let clients = Set(items.map(\.name.client))
        Output.line(
            "Imported \(items.count) credential(s) for \(clients.count == 1 ? clients.first! : "\(clients.count) clients")."
        )
        if source != "-" {
            Console.standardError.line(
                "warning: \(source) still holds the passwords in clear; delete it securely (e.g. shred -u \(source)), or import from - next time"
            )
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
            // The records as signed, under the JSON style of every command (the file keeps its own keys).
            struct Row: Encodable {
                let seq: Int
                let at: String
                let principal_id: String
                let principal: String
                let action: String
                let client: String?
                let entry: String?
                let entries: [String]?
                let run: String?
                let detail: String?
                let prev: String
                let sig: String
            }
            try Output.json(
                records.map {
                    Row(
                        seq: $0.seq, at: $0.at, principal_id: $0.principalID, principal: $0.principal,
                        action: $0.action, client: $0.client,
                        entry: $0.entry, entries: $0.entries, run: $0.run, detail: $0.detail, prev: $0.prev, sig: $0.sig
                    )
                })
        } else {
            for record in records {
                let target = [record.client, record.entry].compactMap { $0 }.joined(separator: "/")
                Output.line(
                    "\(record.seq) \(record.at) \(record.principal.padding(14))\(record.action.padding(22))\(target)\(record.run.map { " run \($0)" } ?? "")\(record.detail.map { "  \($0)" } ?? "")"
                )
            }
        }
        return .ok
    }

    static func acceptRollback(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let accepted = try Vault.acceptRollback(paths: paths, as: method)
        if invocation.json {
            try Output.json([
                "generation": AnyEncodable(accepted.generation), "problem": AnyEncodable(accepted.problem),
            ])
        } else {
            Output.line(
                "Accepted vault generation \(accepted.generation) as current"
                    + (accepted.problem.map { " (\($0))" } ?? "") + "; recorded in the audit log.")
        }
        return .ok
    }

    static func upgrade(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        let paths = paths(workspace)
        let input = secretInput(invocation)
        let method = try unlockMethod(invocation, input)
        var renames: [String: String] = [:]
        for rename in invocation.values("rename") {
            let parts = rename.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["client:", "portal:", "operator:"].contains(where: { parts[0].hasPrefix($0) })
            else {
                throw UsageError(
                    "--rename takes client:OLD=NEW, portal:CLIENT/OLD=NEW or operator:OLD=NEW", command: "vault upgrade"
                )
            }
            renames[parts[0]] = parts[1]
        }
        let result = try Vault.upgrade(
            paths: paths, as: method, renames: renames,
            automationKeyFiles: invocation.values("key-file").map(Workspace.absolute)
        ) { plan in
            Output.line("Upgrading the vault to format 2. Check every line: \(plan.admin)'s key will sign them.")
            Output.line("")
            for line in plan.lines { Output.line(line) }
            for warning in plan.warnings { Output.line("WARNING: \(warning)") }
            Output.line("")
            if invocation.flag("plan") { return false }
            if invocation.flag("yes") { return true }
            let typed = try input.next("Type \"sign\" to sign these as the vault's authority")
            guard typed.unsafeUTF8String() == "sign" else {
                Output.line("Not signed; the vault was not changed.")
                return false
            }
            return true
        }
        guard let result else { return .ok }
        Output.line("Upgraded: vault generation \(result.generation), format 2.")
        if !result.sealedKeyFiles.isEmpty {
            Output.line("Key files now carrying the root: \(result.sealedKeyFiles.joined(separator: ", "))")
        }
        if !result.awaitingRoot.isEmpty {
            Output.line(
                "Still to bind to the root: \(result.awaitingRoot.joined(separator: ", ")). Each operator unlocks once (any vault command);"
            )
            Output.line("automation key files are sealed with `nightjar vault automation-key seal FILE`.")
        }
        return .ok
    }

    static func authority(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let vault = try Vault.open(paths: paths, as: method, auditUnlock: false)
        let head = vault.authorityHead
        if invocation.flag("verify") {
            if invocation.json {
                try Output.json([
                    "ok": AnyEncodable(true), "records": AnyEncodable(head.count), "head": AnyEncodable(head.head),
                ])
            } else {
                Output.line("Authority chain verified: \(head.count) records, head \(head.head)")
            }
            return .ok
        }
        let records = vault.authorityRecords()
        if invocation.json {
            struct Row: Encodable {
                let seq: Int
                let at: String
                let signer: String
                let operations: [String]
                let hash: String
            }
            try Output.json(
                records.map { Row(seq: $0.seq, at: $0.at, signer: $0.signer, operations: $0.operations, hash: $0.hash) }
            )
        } else {
            for record in records {
                Output.line("\(record.seq) \(record.at) signed by \(record.signer)")
                for operation in record.operations { Output.line("    \(operation)") }
            }
        }
        return .ok
    }

    static func grantRole(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let name = invocation.argument("NAME")!
        let role = try role(invocation.argument("ROLE")!, command: invocation.command.name)
        try Vault.update(paths: paths, as: method) { try $0.grantRole(role, to: name) }
        Output.line("\(name) now holds the \(role.rawValue) role.")
        return .ok
    }

    static func revokeRole(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let name = invocation.argument("NAME")!
        let role = try role(invocation.argument("ROLE")!, command: invocation.command.name)
        try Vault.update(paths: paths, as: method) { try $0.revokeRole(role, from: name) }
        Output.line("\(name) no longer holds the \(role.rawValue) role.")
        return .ok
    }

    /// The clients of `review grant` / `review revoke`: the arguments after NAME, or nil for --all-clients.
    static func reviewClients(_ invocation: Invocation) throws -> [String?] {
        let clients = Array(invocation.arguments.dropFirst())
        guard invocation.flag("all-clients") != !clients.isEmpty else {
            throw UsageError("give CLIENT (one or more) or --all-clients", command: invocation.command.name)
        }
        return clients.isEmpty ? [nil] : clients
    }

    /// What `vault review grant` and `revoke` share: the operator NAME and the clients (nil: all
    /// of them) changed under the vault's lock, then `NAME <done> <clients>.`
    static func changeReview(
        _ invocation: Invocation, done: String, _ change: (Vault, _ name: String, _ client: String?) throws -> Void
    ) throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let name = invocation.argument("NAME")!
        let clients = try reviewClients(invocation)
        try Vault.update(paths: paths, as: method) { vault in
            for client in clients { try change(vault, name, client) }
        }
        Output.line(
            "\(name) \(done) \(clients == [nil] ? "all clients" : clients.compactMap { $0 }.joined(separator: ", ")).")
        return .ok
    }

    static func grantReview(_ invocation: Invocation) async throws -> ExitStatus {
        try changeReview(invocation, done: "now reviews") { try $0.grantReview(to: $1, client: $2) }
    }

    static func revokeReview(_ invocation: Invocation) async throws -> ExitStatus {
        try changeReview(invocation, done: "no longer reviews") { try $0.revokeReview(from: $1, client: $2) }
    }

    static func reviewScope(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let vault = try Vault.open(paths: paths, as: method, auditUnlock: false)
        let scope = try vault.reviewScope(of: invocation.argument("NAME"))
        if invocation.json {
            struct Body: Encodable {
                let principal: String
                let reads_all_clients: Bool
                let readable_clients: [String]
                let approves_all_clients: Bool
                let approvable_clients: [String]
                let may_reverse: Bool
            }
            try Output.json(
                Body(
                    principal: scope.principal, reads_all_clients: scope.readsAllClients,
                    readable_clients: scope.readableClients.sorted(),
                    approves_all_clients: scope.approvesAllClients,
                    approvable_clients: scope.approvableClients.sorted(),
                    may_reverse: scope.mayReverse))
        } else {
            func clients(_ all: Bool, _ some: Set<String>) -> String {
                all ? "all clients" : some.isEmpty ? "no client" : some.sorted().joined(separator: ", ")
            }
            Output.line(
                "\(scope.principal) reads \(clients(scope.readsAllClients, scope.readableClients)); approves \(clients(scope.approvesAllClients, scope.approvableClients))\(scope.mayReverse ? "; may reverse approved batches" : "")."
            )
        }
        return .ok
    }

    static func addRecipient(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let (client, address) = (invocation.argument("CLIENT")!, invocation.argument("ADDRESS")!)
        try Vault.update(paths: paths, as: method) { try $0.addReportRecipient(client: client, address: address) }
        Output.line("\(address) may now receive \(client)'s reports.")
        return .ok
    }

    static func removeRecipient(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let (client, address) = (invocation.argument("CLIENT")!, invocation.argument("ADDRESS")!)
        try Vault.update(paths: paths, as: method) { try $0.removeReportRecipient(client: client, address: address) }
        Output.line("\(address) no longer receives \(client)'s reports.")
        return .ok
    }

    static func listRecipients(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let vault = try Vault.open(paths: paths, as: method, auditUnlock: false)
        let recipients =
            invocation.value("client").map { vault.reportRecipients(client: $0) } ?? vault.reportRecipients()
        if invocation.json {
            struct Row: Encodable {
                let client: String
                let address: String
                let approved_by: String
                let approved_at: String
            }
            try Output.json(
                recipients.map {
                    Row(client: $0.client, address: $0.address, approved_by: $0.approvedBy, approved_at: $0.approvedAt)
                })
        } else if recipients.isEmpty {
            Output.line("No report recipients.")
        } else {
            for recipient in recipients {
                Output.line(
                    "\(recipient.client.padding(20))\(recipient.address.padding(40))approved by \(recipient.approvedBy) \(recipient.approvedAt)"
                )
            }
        }
        return .ok
    }

    static func listApprovals(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        var subject: ApprovalSubject?
        if let kind = invocation.value("kind") {
            guard let value = ApprovalSubject(rawValue: kind) else {
                throw UsageError("--kind takes scraper, profile or rules", command: "vault approvals")
            }
            subject = value
        }
        let vault = try Vault.open(paths: paths, as: method, auditUnlock: false)
        let approvals = vault.approvals(subject)
        if invocation.json {
            struct Row: Encodable {
                let kind: String
                let name: String
                let sha256: String
                let approved_by: String
                let approved_at: String
            }
            try Output.json(
                approvals.map {
                    Row(
                        kind: $0.subject.rawValue, name: $0.name, sha256: $0.sha256, approved_by: $0.approvedBy,
                        approved_at: $0.approvedAt)
                })
        } else if approvals.isEmpty {
            Output.line("Nothing approved.")
        } else {
            for approval in approvals {
                Output.line(
                    "\(approval.subject.rawValue.padding(9))\(approval.name.padding(24))\(approval.sha256.prefix(16))...  \(approval.approvedBy) \(approval.approvedAt)"
                )
            }
        }
        return .ok
    }

    static func sealAutomationKey(_ invocation: Invocation) async throws -> ExitStatus {
        let (paths, _, method) = try context(invocation)
        let file = Workspace.absolute(invocation.argument("FILE")!)
        let name = try Vault.update(paths: paths, as: method) { try $0.sealAutomationKey(at: file) }
        Output.line("\(file) (automation key \(name)) now carries the vault's root.")
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
