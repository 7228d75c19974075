import Foundation
import NightjarAgent
import NightjarCore
import NightjarLedger
import NightjarReview
import NightjarVault

/// `nightjar inbox list`, `inbox dismiss`, `import --pending`: the files the night kept but
/// could not read, until a profile reads them or a person settles them.
enum InboxCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["inbox", "list"], effect: .readsOnly,
                summary: "list the files the night kept but could not read, with why and what to do",
                discussion: """
                    A file no profile reads (or two do), one a profile refused at a line, or a kind Nightjar cannot
                    read yet (a PDF) stays in the inbox, unread, and keeps `nightjar check` failing until
                    `nightjar import --pending` reads it or `nightjar inbox dismiss` settles it.

                    Example:
                      nightjar inbox list --client acme
                    """,
                options: [.client("only this client")], run: list),
            CommandSpec(
                ["inbox", "dismiss"], effect: .changesOther,
                summary: "settle an unread file nobody will read (recorded with who and why)",
                discussion: """
                    For a file that is not a remittance after all, or one read by hand. The file stays in the inbox;
                    the alarm ends, and the vault's audit log records who dismissed it and why. A person does it:
                    act with --as NAME (reviewer or admin).

                    Example:
                      nightjar inbox dismiss 3f2a9c1b07de --client acme --reason "a newsletter, not a remittance" --as dana
                    """,
                arguments: [
                    ArgumentSpec("FILE", "the file: the start of its sha256 (12 characters), its id or its name")
                ],
                options: [.client("the client it belongs to"), .value("reason", "TEXT", "why nobody will read it")]
                    + VaultCommands.unlockOptions,
                run: dismiss),
        ]
    }

    static func list(_ invocation: Invocation) async throws -> ExitStatus {
        _ = try invocation.workspace.requireExisting()
        let log = RunLog(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let files = try log.unreadFiles(client: invocation.value("client"))
        if invocation.json {
            try Output.json(files)
        } else if files.isEmpty {
            Output.line("No unread files.")
        } else {
            for file in files {
                Output.line(
                    "\(file.sha256.prefix(12))  \(file.client)/\(file.portal)  \(file.file)  \(file.status == "unsupported" ? "unsupported document" : "import failed")"
                        + "  (first seen \(file.firstSeenAt))")
                Output.line("    \(file.reason)")
                Output.line("    what to do: \(file.whatToDo)")
            }
        }
        return .ok
    }

    static func dismiss(_ invocation: Invocation) async throws -> ExitStatus {
        guard let file = invocation.arguments.first else {
            throw UsageError("name the file (the start of its sha256)", command: "inbox dismiss")
        }
        guard let client = invocation.value("client") else {
            throw UsageError("give --client C", command: "inbox dismiss")
        }
        guard let reason = invocation.value("reason"), !reason.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw UsageError("say why nobody will read it: --reason \"...\"", command: "inbox dismiss")
        }
        let (paths, _, method) = try VaultCommands.context(invocation)
        guard case .passphrase = method else {
            throw UsageError("a person decides: act with --as NAME", command: "inbox dismiss")
        }
        let vault = try Vault.open(paths: paths, as: method)
        guard vault.roles.contains(where: ReviewAuthority.roles(for: .approve).contains) else {
            throw GeneralError(
                code: "inbox.role",
                message: "\(vault.principalName) needs the reviewer or admin role to dismiss a file",
                exitStatus: .noPermission)
        }
        let log = RunLog(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        // The audit record first: a dismissal the log cannot hold does not happen.
        guard let found = try log.unreadFiles(client: client).first(where: { RunLog.names($0, file) }) else {
            throw GeneralError(
                code: "inbox.not_unread",
                message: "no unread file \(file) for \(client) (nightjar inbox list --client \(client))",
                exitStatus: .noInput)
        }
        _ = try vault.audit(
            AuditEvent("inbox-dismiss", client: client, detail: "\(found.file) (sha256 \(found.sha256)): \(reason)"))
        let dismissed = try log.dismiss(client: client, file: file, by: vault.principalName, reason: reason)
        Output.line("\(dismissed.file) dismissed by \(vault.principalName): \(reason)")
        return .ok
    }

    /// `nightjar import --pending [--client C]`: reads again every unread file, with the
    /// workspace's profiles as they are now, one transaction each.
    static func importPending(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        let config = try workspace.requireExisting()
        let importer = RemittanceFileImporter(
            defaultCurrency: config.defaultCurrency, profiles: try ImportCommands.workspaceProfiles(workspace),
            maximumFileBytes: config.maximumFileBytes)
        let book = try NightBook(
            open: WorkspaceDatabase.opener(workspace), importer: importer, inbox: Inbox(root: workspace.inboxDirectory),
            rules: MatchingRulesFiles(directory: workspace.rulesDirectory))
        let done = try await book.importPending(client: invocation.value("client"))
        // What was read is matched as the night would have matched it.
        _ = try await book.matchNewBatches(clients: Array(Set(done.map(\.file.client))).sorted())
        if invocation.json {
            struct Entry: Encodable {
                let client: String
                let file: String
                let sha256: String
                let result: String
            }
            try Output.json(
                done.map {
                    Entry(client: $0.file.client, file: $0.file.file, sha256: $0.file.sha256, result: $0.result)
                })
        } else if done.isEmpty {
            Output.line("No unread files to import.")
        } else {
            for (file, result) in done { Output.line("\(file.client)/\(file.portal) \(file.file): \(result)") }
        }
        let remaining = try RunLog(database: try WorkspaceDatabase.open(at: workspace.databasePath)).unreadFiles(
            client: invocation.value("client"))
        if !remaining.isEmpty { Output.line("\(remaining.count) file(s) still unread: nightjar inbox list") }
        return remaining.isEmpty ? .ok : .dataError
    }
}
