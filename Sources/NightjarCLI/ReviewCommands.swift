import Foundation
import NightjarAgent
import NightjarCore
import NightjarCrypto
import NightjarLedger
import NightjarMatching
import NightjarReview
import NightjarVault

/// `nightjar batch approve`, `batch reverse`, `batch export`: the morning's decisions and the GL.
enum ReviewCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["batch", "approve"], effect: .changesBooks,
                summary: "approve a matched batch (reviewer or admin): open amounts change, the batch is frozen",
                discussion: """
                    Each line's settlement (applied cash, discount, deductions, write-off) reduces its invoice's
                    open amount. The decision is recorded with who and when. An approved batch cannot change;
                    an admin can reverse it. A batch out of balance, or with lines that are not paid in full or
                    with their discount, is approved only with --accept-exceptions and a --reason, both recorded.

                    Example:
                      nightjar batch approve 42 --as carol
                      nightjar batch approve 43 --accept-exceptions --reason "shortages go to deductions" --as carol
                    """,
                arguments: [ArgumentSpec("ID", "the batch id")],
                options: [
                    .flag("accept-exceptions", "approve although the batch has exceptions or is out of balance"),
                    .value("reason", "TEXT", "why the exceptions are accepted (recorded)"),
                ] + VaultCommands.unlockOptions,
                run: approve),
            CommandSpec(
                ["batch", "reverse"], effect: .changesBooks,
                summary: "reverse an approved batch (admin): open amounts restored, history kept",
                discussion: """
                    Every invoice gets back exactly what the approval took off it. The reversal is dated today in
                    the workspace's time zone, or --date (never before the payment); the batch's export then
                    carries a reversing entry on that date, which balances against the original.

                    Example:
                      nightjar batch reverse 42 --reason "wrong payer" --as alice
                    """,
                arguments: [ArgumentSpec("ID", "the batch id")],
                options: [
                    .value("reason", "TEXT", "why (recorded)"),
                    .value("date", "DATE", "date the reversal (YYYY-MM-DD; default today)"),
                ]
                    + VaultCommands.unlockOptions, run: reverse),
            CommandSpec(
                ["batch", "export"], effect: .changesBooks,
                summary: "export an approved batch as a balanced journal: csv, json, hledger or beancount",
                discussion: """
                    Entries: the payment into a clearing account (a remittance advice is not yet cash in the bank),
                    receivables per customer and invoice, discounts allowed, deduction expenses by type, write-offs
                    and unapplied cash, balanced per currency; a reversed batch adds its reversing entry. Account
                    names come from gl-accounts.conf in the workspace (`clearing = Assets:Clearing:Remittances`,
                    `deduction.shortage = Expenses:Deductions:Shortage`, ...). Each export is recorded; exporting the
                    same batch in the same format again needs --again. CSV cells are neutralised against formulas.
                    Only an export written with --out is recorded: printed to standard output, or with --dry-run,
                    it is a preview and says so on standard error.

                    Example:
                      nightjar batch export 42 --format hledger --out batch-42.journal
                    """,
                arguments: [ArgumentSpec("ID", "the batch id")],
                options: [
                    .value("format", "FORMAT", "csv, json, hledger or beancount"),
                    .value("out", "FILE", "write here and record the export (default: a preview on standard output)"),
                    .flag("dry-run", "print the journal without recording it, even with --out"),
                    .flag("again", "export a batch that was exported before"),
                ],
                run: export),
        ]
    }

    static var accountCommands: [CommandSpec] {
        [
            CommandSpec(
                ["batch", "reassign"], effect: .changesBooks,
                summary: "point a line at another invoice before approval (recorded with who)",
                discussion: """
                    Lines are numbered from 1, as `batch show` prints them. The line before and after is printed,
                    and the client's waiting batches are decided again (a line paid twice against this one).

                    Example:
                      nightjar batch reassign 42 3 INV-10043 --as bob
                    """,
                arguments: [
                    ArgumentSpec("ID", "the batch id"), ArgumentSpec("LINE", "the line number (from 1)"),
                    ArgumentSpec("INVOICE", "the invoice number"),
                ],
                options: VaultCommands.unlockOptions, run: reassign),
            CommandSpec(
                ["batch", "accept-suggestion"], effect: .changesBooks,
                summary: "accept suggestion N of a line (one digit off, transposed, a PO number...)",
                discussion: """
                    `batch show ID` lists each line's suggestions, numbered, with the invoice, its open amount,
                    why and how the amount fits. --invoice names the invoice you saw: if suggestion N is no longer
                    that invoice (the batch was matched again), nothing changes.

                    Example:
                      nightjar batch accept-suggestion 42 5 1 --invoice INV-10043 --as bob
                    """,
                arguments: [
                    ArgumentSpec("ID", "the batch id"), ArgumentSpec("LINE", "the line number (from 1)"),
                    ArgumentSpec("N", "the suggestion's number"),
                ],
                options: [.value("invoice", "INVOICE", "the invoice suggestion N names")] + VaultCommands.unlockOptions,
                run: acceptSuggestion),
            CommandSpec(
                ["invoices", "show"], effect: .readsOnly,
                summary:
                    "an invoice with every payment, deduction, discount and credit applied, each with its reference",
                arguments: [ArgumentSpec("INVOICE", "the invoice number")], options: [.client("the client")],
                run: showInvoice),
            CommandSpec(
                ["account", "show"], effect: .readsOnly,
                summary: "a customer's running account: invoices, payments, credits and debits by type",
                arguments: [ArgumentSpec("CUSTOMER", "the customer id")], options: [.client("the client")],
                run: showAccount),
            CommandSpec(
                ["account", "credit"], effect: .changesBooks,
                summary: "record a credit (or a debit, with a negative amount) by hand",
                discussion: """
                    Types: return, shortage, promotion, cancellation, pricing, damage, discount, manual (or your own).
                    With --invoice, the credit settles part of that invoice at once.

                    Example:
                      nightjar account credit ACME-C1 --client acme --type return --reference RMA-7781 --amount 125.40 --invoice INV-10042
                    """,
                arguments: [ArgumentSpec("CUSTOMER", "the customer id")],
                options: [
                    .client("the client"), .value("type", "TYPE", "the credit's type"),
                    .value("reference", "REF", "its reference"),
                    .value("amount", "AMOUNT", "e.g. 125.40"), .value("currency", "CODE", "default: the workspace's"),
                    .value("invoice", "INVOICE", "the invoice it applies to"), .value("by", "NAME", "who records it"),
                ],
                run: credit),
        ]
    }

    static func reassign(_ invocation: Invocation) async throws -> ExitStatus {
        let id = try batchID(invocation)
        guard invocation.arguments.count == 3, let line = Int(invocation.arguments[1]), line >= 1 else {
            throw UsageError("give ID LINE INVOICE (lines are numbered from 1)", command: "batch reassign")
        }
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let name = try actor(invocation, .work, batch: id, ledger: ledger)
        let change = try ledger.reassign(batch: id, line: line, invoice: invocation.arguments[2], actor: name)
        return try changed(change, ledger: ledger, invocation: invocation, by: name)
    }

    static func acceptSuggestion(_ invocation: Invocation) async throws -> ExitStatus {
        let id = try batchID(invocation)
        guard invocation.arguments.count == 3, let line = Int(invocation.arguments[1]), line >= 1,
            let number = Int(invocation.arguments[2]), number >= 1
        else {
            throw UsageError(
                "give ID LINE N (lines and suggestions are numbered from 1, as batch show prints them)",
                command: "batch accept-suggestion")
        }
        guard let invoice = invocation.value("invoice") else {
            throw UsageError(
                "name the invoice suggestion \(number) shows: --invoice INVOICE", command: "batch accept-suggestion")
        }
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let name = try actor(invocation, .work, batch: id, ledger: ledger)
        let change = try ledger.acceptSuggestion(batch: id, line: line, number: number, invoice: invoice, actor: name)
        return try changed(change, ledger: ledger, invocation: invocation, by: name)
    }

    /// Prints a line before and after, then decides the client's waiting batches again.
    static func changed(_ change: LineChange, ledger: Ledger, invocation: Invocation, by name: String) throws
        -> ExitStatus
    {
        let run = try ledger.redecideAfterChange(batch: change.batch, rules: rules(invocation.workspace))
        if invocation.json {
            try Output.json(change)
        } else {
            Output.line("batch \(change.batch) " + change.description + " (by \(name))")
            if run.batches.count > 1 {
                Output.line("decided again: \(run.batches.count) waiting batch(es) of the client")
            }
        }
        return .ok
    }

    /// A client's matching rules, from the workspace's rules files.
    static func rules(_ workspace: Workspace) -> @Sendable (ClientID) throws -> MatchingRules {
        let files = MatchingRulesFiles(directory: workspace.rulesDirectory)
        return { try files.rules(for: $0.rawValue).0 }
    }

    static func client(_ invocation: Invocation) throws -> ClientID {
        guard let client = invocation.value("client") else {
            throw UsageError("say which client: --client C", command: invocation.command.name)
        }
        return ClientID(client)
    }

    static func showInvoice(_ invocation: Invocation) async throws -> ExitStatus {
        guard let number = invocation.arguments.first else {
            throw UsageError("give the invoice number", command: "invoices show")
        }
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let history = try ledger.invoiceHistory(client: try client(invocation), invoice: number)
        if invocation.json {
            try Output.json(history)
        } else {
            Output.line(
                "\(history.invoice) for \(history.customer) (\(history.client)), \(history.date ?? "-"): \(MorningReport.amount(history.amount)), open \(MorningReport.amount(history.openAmount))"
            )
            if history.applications.isEmpty { Output.line("  nothing applied yet") }
            for item in history.applications {
                Output.line(
                    "  \(item.kind.padding(16)) \(MorningReport.amount(item.amount).padding(18)) \(item.status.padding(9)) \(item.reference)"
                )
            }
        }
        return .ok
    }

    static func showAccount(_ invocation: Invocation) async throws -> ExitStatus {
        guard let customer = invocation.arguments.first else {
            throw UsageError("give the customer id", command: "account show")
        }
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let account = try ledger.account(client: try client(invocation), customer: customer)
        if invocation.json {
            try Output.json(account)
        } else {
            Output.line(
                "Account \(account.customer) of \(account.client): balance \(MorningReport.amount(account.balance))")
            for entry in account.entries {
                Output.line(
                    "  \((entry.date ?? "-").padding(11)) \(entry.kind.padding(16)) \(MorningReport.amount(entry.amount).padding(18)) \(MorningReport.amount(entry.balance).padding(18)) \(entry.reference)"
                )
            }
            if !account.byType.isEmpty {
                Output.line(
                    "Credits and deductions by type: "
                        + account.byType.keys.sorted().map { "\($0) \(MorningReport.amount(account.byType[$0]!))" }
                        .joined(separator: ", "))
            }
        }
        return .ok
    }

    static func credit(_ invocation: Invocation) async throws -> ExitStatus {
        guard let customer = invocation.arguments.first else {
            throw UsageError("give the customer id", command: "account credit")
        }
        guard let type = invocation.value("type"), let reference = invocation.value("reference"),
            let amountText = invocation.value("amount")
        else {
            throw UsageError("give --type, --reference and --amount", command: "account credit")
        }
        let config = try invocation.workspace.requireExisting()
        let currency = try invocation.value("currency").map { try CurrencyCode($0) } ?? config.defaultCurrency
        let amount = try Money.parse(amountText, currency: currency)
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        try ledger.recordCredit(
            client: try client(invocation), customer: customer, type: type, reference: reference, amount: amount,
            invoice: invocation.value("invoice"), actor: invocation.value("by"))
        Output.line(
            "recorded \(type) \(reference) \(MorningReport.amount(amount)) for \(customer)"
                + (invocation.value("invoice").map { " on \($0)" } ?? ""))
        return .ok
    }

    static func batchID(_ invocation: Invocation) throws -> Int64 {
        guard let id = invocation.arguments.first.flatMap({ Int64($0) }) else {
            throw UsageError("give a batch id", command: invocation.command.name)
        }
        return id
    }

    /// The acting principal, who must be allowed `action` on the batch's client by the vault's
    /// roles and review grants (`ReviewAuthority.permits`, the rule the site applies too).
    static func actor(_ invocation: Invocation, _ action: ReviewAction, batch id: Int64, ledger: Ledger) throws
        -> String
    {
        let (paths, _, method) = try VaultCommands.context(invocation)
        guard case .passphrase = method else {
            throw UsageError("a person decides: act with --as NAME", command: invocation.command.name)
        }
        guard let client = try ledger.batch(id)?.summary.client else { throw ReviewError.missing(id) }
        let vault = try Vault.open(paths: paths, as: method)
        let keyClients = vault.principals().first { $0.name == vault.principalName }?.clients ?? []
        guard
            ReviewAuthority.permits(
                action, client: client, roles: Array(vault.roles), keyClients: keyClients,
                scope: try vault.reviewScope(of: nil))
        else {
            throw GeneralError(
                code: "review.role",
                message: ReviewAuthority.refusal(
                    action, client: client, name: vault.principalName, roles: Array(vault.roles)),
                exitStatus: .noPermission)
        }
        return vault.principalName
    }

    static func approve(_ invocation: Invocation) async throws -> ExitStatus {
        let id = try batchID(invocation)
        let reason = invocation.value("reason")
        if invocation.flag("accept-exceptions") && (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw UsageError(
                "--accept-exceptions needs --reason \"...\" (recorded with who and when)", command: "batch approve")
        }
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let name = try actor(invocation, .approve, batch: id, ledger: ledger)
        let settlement = try ledger.approve(
            batch: id, actor: name, acceptingExceptions: invocation.flag("accept-exceptions") ? reason : nil)
        Output.line(
            "batch \(id) approved by \(name): \(settlement.lines.filter { $0.invoice != nil }.count) invoice(s) settled, payment \(MorningReport.amount(settlement.total))"
        )
        return .ok
    }

    static func reverse(_ invocation: Invocation) async throws -> ExitStatus {
        let id = try batchID(invocation)
        let config = try invocation.workspace.requireExisting()
        let date =
            try invocation.value("date").map { try CalendarDate(iso: $0) }
            ?? CalendarDate.today(in: TimeZone(identifier: config.timeZone) ?? .gmt)
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
        let name = try actor(invocation, .reverse, batch: id, ledger: ledger)
        _ = try ledger.reverse(batch: id, actor: name, reason: invocation.value("reason") ?? "reversed", on: date)
        _ = try ledger.redecideAfterChange(batch: id, rules: rules(invocation.workspace))
        Output.line(
            "batch \(id) reversed by \(name) on \(date); open amounts restored; its export now carries a reversing entry dated \(date)"
        )
        return .ok
    }

    static func export(_ invocation: Invocation) async throws -> ExitStatus {
        let id = try batchID(invocation)
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        guard let format = invocation.value("format").flatMap(GLExport.Format.init(rawValue:)) else {
            throw UsageError("--format takes csv, json, hledger or beancount", command: "batch export")
        }
        let ledger = Ledger(database: try WorkspaceDatabase.open(at: workspace.databasePath))
        let out = invocation.value("out")
        let recording = out != nil && !invocation.flag("dry-run")
        let export = try JournalExport.make(
            batch: id, format: format, ledger: ledger,
            accounts: try JournalExport.accounts(workspaceRoot: workspace.root),
            record: recording, again: invocation.flag("again"))
        let text = export.text
        if !recording {
            Console.standardOutput.write(text)
            Output.note("a preview, not recorded as exported: write it with --out FILE to record the export")
        } else if let out {
            try SecureFile.writeAtomically(Array(text.utf8), to: Workspace.absolute(out), mode: 0o600)
            Output.line(
                "batch \(id) exported as \(format.rawValue) to \(Workspace.absolute(out)) (\(export.entryCount) entr\(export.entryCount == 1 ? "y" : "ies"), balanced)"
            )
        } else {
            Console.standardOutput.write(text)
        }
        return .ok
    }
}
