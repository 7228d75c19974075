import Foundation
import NightjarCore
import NightjarCrypto
import NightjarLedger
import NightjarReview
import NightjarVault

/// `nightjar batch approve`, `batch reverse`, `batch export`: the morning's decisions and the GL.
enum ReviewCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(["batch", "approve"], summary: "approve a matched batch (reviewer or admin): open amounts change, the batch is frozen",
                        discussion: """
                        Each line's settlement (applied cash, discount, deductions, write-off) reduces its invoice's
                        open amount. The decision is recorded with who and when. An approved batch cannot change;
                        an admin can reverse it.

                        Example:
                          nightjar batch approve 42 --as carol
                        """,
                        arguments: [ArgumentSpec("ID", "the batch id")], options: VaultCommands.unlockOptions, run: approve),
            CommandSpec(["batch", "reverse"], summary: "reverse an approved batch (admin): open amounts restored, history kept",
                        arguments: [ArgumentSpec("ID", "the batch id")],
                        options: [.value("reason", "TEXT", "why (recorded)")] + VaultCommands.unlockOptions, run: reverse),
            CommandSpec(["batch", "export"], summary: "export an approved batch as a balanced journal: csv, json, hledger or beancount",
                        discussion: """
                        Entries: the payment into a clearing account (a remittance advice is not yet cash in the bank),
                        receivables per customer and invoice, discounts allowed, deduction expenses by type, write-offs
                        and unapplied cash, balanced per currency; a reversed batch adds its reversing entry. Account
                        names come from gl-accounts.conf in the workspace (`clearing = Assets:Clearing:Remittances`,
                        `deduction.shortage = Expenses:Deductions:Shortage`, ...). Each export is recorded; exporting the
                        same batch in the same format again needs --again. CSV cells are neutralised against formulas.

                        Example:
                          nightjar batch export 42 --format hledger --out batch-42.journal
                        """,
                        arguments: [ArgumentSpec("ID", "the batch id")],
                        options: [.value("format", "FORMAT", "csv, json, hledger or beancount"), .value("out", "FILE", "write here (default: standard output)"),
                                  .flag("again", "export a batch that was exported before")],
                        run: export),
        ]
    }

    static func batchID(_ invocation: Invocation) throws -> Int64 {
        guard let id = invocation.arguments.first.flatMap({ Int64($0) }) else { throw UsageError("give a batch id", command: invocation.command.name) }
        return id
    }

    /// The acting principal, who must hold one of `roles`.
    static func actor(_ invocation: Invocation, roles: [Role]) throws -> String {
        let (paths, _, method) = try VaultCommands.context(invocation)
        guard case .passphrase = method else {
            throw UsageError("a person decides: act with --as NAME", command: invocation.command.name)
        }
        let vault = try Vault.open(paths: paths, as: method)
        guard vault.roles.contains(where: roles.contains) else {
            throw GeneralError(code: "review.role", message: "\(vault.principalName) needs the \(roles.map(\.rawValue).joined(separator: " or ")) role",
                               exitStatus: .noPermission)
        }
        return vault.principalName
    }

    static func approve(_ invocation: Invocation) async throws -> ExitStatus {
        let id = try batchID(invocation)
        let name = try actor(invocation, roles: [.reviewer, .admin])
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let settlement = try ledger.approve(batch: id, actor: name)
        Output.line("batch \(id) approved by \(name): \(settlement.lines.filter { $0.invoice != nil }.count) invoice(s) settled, payment \(MorningReport.amount(settlement.total))")
        return .ok
    }

    static func reverse(_ invocation: Invocation) async throws -> ExitStatus {
        let id = try batchID(invocation)
        let name = try actor(invocation, roles: [.admin])
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        _ = try ledger.reverse(batch: id, actor: name, reason: invocation.value("reason") ?? "reversed")
        Output.line("batch \(id) reversed by \(name); open amounts restored; its export now carries a reversing entry")
        return .ok
    }

    static func export(_ invocation: Invocation) async throws -> ExitStatus {
        let id = try batchID(invocation)
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        guard let format = invocation.value("format").flatMap(GLExport.Format.init(rawValue:)) else {
            throw UsageError("--format takes csv, json, hledger or beancount", command: "batch export")
        }
        var accounts = AccountMapping()
        let mappingPath = workspace.root + "/gl-accounts.conf"
        if let data = FileManager.default.contents(atPath: mappingPath) {
            accounts = try AccountMapping.parse(String(decoding: data, as: UTF8.self), file: mappingPath)
        }
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: workspace.databasePath))
        let settlement = try ledger.settlement(batch: id)
        guard settlement.status == "approved" || settlement.status == "reversed" else { throw ReviewError.notApproved(id) }
        let entries = GLExport.entries(for: settlement, accounts: accounts)
        guard entries.allSatisfy(\.isBalanced) else {
            throw GeneralError(code: "gl.unbalanced", message: "batch \(id) does not balance; nothing exported", exitStatus: .software)
        }
        let text = GLExport.render(entries, format: format)
        try ledger.recordExport(batch: id, format: format.rawValue, sha256: SHA256.hash(Array(text.utf8)).hexString, again: invocation.flag("again"))
        if let out = invocation.value("out") {
            try SecureFile.writeAtomically(Array(text.utf8), to: Workspace.absolute(out), mode: 0o600)
            Output.line("batch \(id) exported as \(format.rawValue) to \(Workspace.absolute(out)) (\(entries.count) entr\(entries.count == 1 ? "y" : "ies"), balanced)")
        } else {
            Console.standardOutput.write(text)
        }
        return .ok
    }
}
