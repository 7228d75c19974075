import Foundation
import NightjarCore
import NightjarLedger

/// `nightjar client rename`: the ledger's clients under names the identifier rule admits.
enum ClientCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["client", "rename"], effect: .changesBooks,
                summary:
                    "rename a client in the ledger (every batch, invoice, alias, run and file record), in one transaction",
                discussion: """
                    For a client stored under a name the naming rule now refuses (every command says so when it
                    opens the workspace), or any other rename. NEW must follow the rule and be unused: two clients
                    are never merged. The vault's names are renamed by `nightjar vault upgrade --rename`; a
                    rules/OLD.rules file is renamed with `mv`.

                    Example:
                      nightjar client rename 'acme corp' acme-corp
                    """,
                arguments: [
                    ArgumentSpec("OLD", "the client's name as the ledger holds it (any name from before the rule)"),
                    ArgumentSpec("NEW", "its new name", names: .identifier("client name")),
                ],
                run: rename)
        ]
    }

    static func rename(_ invocation: Invocation) async throws -> ExitStatus {
        let (ledger, _, workspace) = try ImportCommands.ledger(invocation)
        let old = ClientID(invocation.argument("OLD")!)
        let new = ClientID(invocation.argument("NEW")!)
        try ledger.renameClient(old, to: new)
        if invocation.json {
            try Output.json(["renamed": old.rawValue, "to": new.rawValue])
        } else {
            Output.line("Renamed client \(old) to \(new) in the ledger.")
            if Identifier.isValid(old.rawValue),
                FileManager.default.fileExists(atPath: workspace.rulesDirectory + "/\(old).rules")
            {
                Output.line(
                    "Its rules file keeps the old name: mv \(workspace.rulesDirectory)/\(old).rules \(workspace.rulesDirectory)/\(new).rules"
                )
            }
        }
        return .ok
    }
}
