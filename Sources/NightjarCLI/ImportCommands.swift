import Foundation
import NightjarAgent
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarMatching
import NightjarStore

/// `nightjar import`, `nightjar invoices import`, `nightjar batches`, `nightjar batch show`.
enum ImportCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["import"], effect: .changesBooks,
                summary: "import remittance files (X12 820, or text, Excel, HTML and JSON by profile) into batches",
                discussion: """
                    The format is found from the content: X12 by its ISA header; anything else is read by the one
                    profile of profiles/ that fits it (or --profile). When two profiles fit, the file is refused and
                    both are named. Each file is one transaction and is imported once: the same bytes again change
                    nothing. A payment whose total differs from its lines, or whose file states a total or count
                    its rows do not match, is stored and flagged out of balance with both figures. A file that is
                    not imported (an 810 invoice, a PDF, no fitting profile) exits 65 and says what reads it.
                    With --pending, reads again the files the night kept but could not read (after a profile
                    was written or fixed), matches what it read, and exits 65 while any stays unread.

                    Examples:
                      nightjar import remit-2026-11-23.x12 sandbox-html-portal-2026-11.csv --client acme
                      nightjar import --pending --client acme
                    """,
                arguments: [ArgumentSpec("FILE", "files to import", optional: true, variadic: true)],
                options: [
                    .client("the client the files belong to"),
                    .value(
                        "profile", "NAME", names: .identifierOrPath("profile name", suffix: ".profile"),
                        "read delimited files with profiles/NAME.profile, or a path to a .profile file"),
                    .flag("pending", "read again the inbox's unread files (nightjar inbox list)"),
                ],
                run: importFiles),
            CommandSpec(
                ["invoices", "import"], effect: .changesBooks,
                summary: "load a client's open invoices (updates open amounts on re-import)",
                discussion: """
                    Default layout (a header row, comma-separated, ISO dates):
                      customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number[,terms]
                    Other layouts are described by a profile with `kind = open_invoices`.
                    """,
                arguments: [ArgumentSpec("FILE", "the open-invoice export")],
                options: [
                    .client("the client"),
                    .value(
                        "profile", "NAME", names: .identifierOrPath("profile name", suffix: ".profile"),
                        "profiles/NAME.profile, or a path to a .profile file"),
                ],
                run: importInvoices),
            CommandSpec(
                ["customers", "list"], effect: .readsOnly,
                summary: "list a client's customers and the payer aliases that point to them",
                options: [.client("the client")], run: listCustomers),
            CommandSpec(
                ["customers", "alias", "add"], effect: .changesBooks,
                summary: "say that a payer's id or name (as a portal writes it) is one of your customers",
                discussion: """
                    A portal may use another account number than your ERP. Matching only considers the invoices of
                    the customers a payer is known as, so map each payer id or name once:
                      nightjar customers alias add NWD-ACME-0042 ACME-C1 --client acme
                    An alias belongs to its client and never changes another client's matching. A name that several
                    payer ids share is refused (map each id instead) unless --force. Then `nightjar match --client C`
                    decides the client's waiting batches again.
                    """,
                arguments: [
                    ArgumentSpec("ALIAS", "the payer id or name as written"),
                    ArgumentSpec("CUSTOMER", "your customer id"),
                ],
                options: [.client("the client"), .flag("force", "map a name even when several payer ids share it")],
                run: addAlias),
            CommandSpec(
                ["customers", "alias", "import"], effect: .changesBooks,
                summary: "load many payer aliases at once from a CSV file (alias,customer_id)",
                discussion: """
                    The file has a header row naming an `alias` column (or payer_id, payer, payer_name) and a
                    `customer_id` column; comma- or semicolon-separated. All rows load in one transaction, or
                    none: a bad row or a name several payer ids share (without --force) is reported with its line.

                    Example:
                      nightjar customers alias import aliases.csv --client acme
                    """,
                arguments: [ArgumentSpec("FILE", "the alias file")],
                options: [.client("the client"), .flag("force", "map names even when several payer ids share them")],
                run: importAliases),
            CommandSpec(
                ["customers", "alias", "remove"], effect: .changesBooks, summary: "remove a payer alias",
                arguments: [ArgumentSpec("ALIAS", "the payer id or name")], options: [.client("the client")],
                run: removeAlias),
            CommandSpec(
                ["match"], effect: .changesBooks,
                summary:
                    "match batches' lines to open invoices (new batches; --client C decides all its waiting batches again)",
                discussion: """
                    Each line is matched against the open invoices of the customers its payer is known as (see
                    `nightjar customers alias add`), in the line's currency, and classified: paid in full, with
                    discount, short paid (typed deductions), over paid, paid twice (pointing at the line that paid
                    first), debit memo, unknown reference, unknown payer, ambiguous (twins, several invoices).
                    Only one invoice answering exactly is ever applied; near misses become suggestions. A payment
                    sent again in another file is flagged duplicate_payment and not matched again.

                    Without options, batches never matched are decided. --client C decides every batch of C that
                    is not approved again (after invoices, aliases or rules changed) and says how many; decisions
                    a person made are kept, and those that no longer fit are listed. --batch ID decides that batch
                    (and the client's waiting batches after it); an approved, exported or reversed batch is refused.
                    Open amounts change only when a person approves a batch.
                    """,
                options: [
                    .client("decide all of this client's waiting batches again"),
                    .value("batch", "ID", "decide this batch again"),
                ],
                run: matchBatches),
            CommandSpec(
                ["rules", "show"], effect: .readsOnly,
                summary: "the matching rules a client's batches are matched with, and where they come from",
                discussion: """
                    Rules live in rules/CLIENT.rules (else rules/default.rules, else the documented defaults):
                      write_off_amount = 5.00        write_off_percent = 0.5
                      discount_grace_days = 5        look_back_days = 730
                      strip_prefixes = INVOICE INV NO #
                      strip_leading_zeros = yes      strip_zero_suffix = yes
                      reason.99 = promotion          (a payer's reason code -> deduction type)
                      payer_id_is_customer_id = no   (yes: a payer id equal to a customer id means that customer)
                    """,
                options: [.client("the client")], run: showRules),
            CommandSpec(
                ["batches"], effect: .readsOnly,
                summary: "list remittance batches (one per payment) with their state and exceptions",
                discussion: """
                    States, in the order review moves a batch: new (imported, not matched) -> matched -> approved
                    (open amounts changed, frozen) -> exported (its journal written with --out) -> reversed (by an
                    admin, with new entries); duplicate_payment is a payment sent again in another file.

                    Example:
                      nightjar batches --client acme --status matched --exceptions
                      nightjar batches --since 2026-11-01 --status approved --status exported
                    """,
                options: [
                    .client("only this client"), .value("date", "DATE", "only payments dated DATE"),
                    .value("since", "DATE", "only batches imported on or after DATE"),
                    .value(
                        "status", "STATE", repeatable: true,
                        "only batches in this state (new, matched, approved, exported, reversed, duplicate_payment)"),
                    .flag("exceptions", "only batches with exceptions"),
                ],
                run: listBatches),
            CommandSpec(
                ["batch", "show"], effect: .readsOnly,
                summary: "show a batch with each line's decision, suggestions, deductions and where it came from",
                discussion: """
                    --json prints the stable shape documented in docs/json-api.md: each line's decision (status,
                    rule, invoices with applied amounts, deductions, suggestions, the line paid first), and its
                    origin (file, X12 segment and ST02 control number, or row).
                    """,
                arguments: [ArgumentSpec("ID", "the batch id")], run: showBatch),
        ]
    }

    static func ledger(_ invocation: Invocation) throws -> (Ledger, WorkspaceConfig, Workspace) {
        let workspace = invocation.workspace
        let config = try workspace.requireExisting()
        return (Ledger(database: try WorkspaceDatabase.open(at: workspace.databasePath)), config, workspace)
    }

    static func requireClient(_ invocation: Invocation) throws -> ClientID {
        guard let client = invocation.value("client") else {
            throw UsageError("give --client C", command: invocation.command.name)
        }
        return ClientID(client)
    }

    /// A profile by name (profiles/NAME.profile) or by a path ending in .profile, read under the 1 MiB cap.
    static func loadProfile(_ argument: String, workspace: Workspace) throws -> LayoutProfile {
        let path: String
        if NameRule.isPath(argument, suffix: ".profile") {
            path = Workspace.absolute(argument)
        } else {
            try Identifier.validate(argument, field: "profile name")
            path = workspace.profilesDirectory + "/\(argument).profile"
        }
        guard
            let text = try BoundedFile.readTextIfPresent(
                path, what: "profile", maximumBytes: LayoutProfileParser.maximumSize)
        else {
            throw GeneralError(code: "profile.missing", message: "no profile \(path)", exitStatus: .noInput)
        }
        return try LayoutProfileParser.parse(text, file: path)
    }

    /// Every profile of the workspace (profiles/NAME.profile whose NAME the identifier rule admits).
    static func workspaceProfiles(_ workspace: Workspace) throws -> [LayoutProfile] {
        try workspace.namedFiles(in: workspace.profilesDirectory, suffix: ".profile").map {
            try loadProfile($0.path, workspace: workspace)
        }
    }

    /// A file to import, read in chunks; one over the workspace's `max_file_size` is refused with its size.
    static func inputFile(_ path: String, config: WorkspaceConfig) throws -> InputFile {
        try InputFile(path: path, maximumBytes: config.maximumFileBytes)
    }

    /// Small files read whole (an alias list), refused beyond `limit` with their size named.
    static func readFile(_ path: String, limit: Int = 64 * 1024 * 1024) throws -> [UInt8] {
        try InputFile(path: path, maximumBytes: limit).allBytes(limit: limit, what: "this kind of file")
    }

    static func importFiles(_ invocation: Invocation) async throws -> ExitStatus {
        if invocation.flag("pending") {
            guard invocation.arguments.isEmpty else {
                throw UsageError("--pending reads the inbox's unread files: give no FILE", command: "import")
            }
            return try await InboxCommands.importPending(invocation)
        }
        guard !invocation.arguments.isEmpty else {
            throw UsageError("give the files to import (or --pending)", command: "import")
        }
        let client = try requireClient(invocation)
        let (ledger, config, workspace) = try ledger(invocation)
        let explicit = try invocation.value("profile").map { try loadProfile($0, workspace: workspace) }
        let importer = RemittanceFileImporter(
            defaultCurrency: config.defaultCurrency, profiles: explicit == nil ? try workspaceProfiles(workspace) : [],
            maximumFileBytes: config.maximumFileBytes)
        var results: [ImportResult] = []
        var problems: [(String, String, String)] = []
        var missing = false
        for path in invocation.arguments {
            let name = (path as NSString).lastPathComponent
            do {
                switch try importer.importFile(
                    try inputFile(path, config: config), name: name, client: client, portal: nil, into: ledger,
                    profile: explicit)
                {
                case .imported(let result): results.append(result)
                case .skipped(let code, let message): problems.append((name, code, message))
                }
            } catch let error as any NightjarError {
                problems.append((name, error.code, error.description))
                if error.exitStatus == .noInput { missing = true }
            }
        }
        if invocation.json {
            struct Report: Encodable {
                let imported: [ImportResult]
                let problems: [[String: String]]
            }
            try Output.json(
                Report(imported: results, problems: problems.map { ["file": $0.0, "code": $0.1, "message": $0.2] }))
        } else {
            for result in results {
                if result.alreadyImported {
                    Output.line(
                        "\(result.file): already imported (sha256 \(result.sha256.prefix(12))…); nothing changed")
                } else {
                    Output.line(
                        "\(result.file): \(result.batches) batch(es), \(result.lines) line(s)"
                            + (result.outOfBalance > 0 ? ", \(result.outOfBalance) OUT OF BALANCE" : ""))
                }
            }
            for (_, _, message) in problems { Output.errorLine(message) }
        }
        // A file that is not there is missing input (66); one that was not imported (another kind of
        // document, no profile or two, a refusal) is bad input (65).
        return problems.isEmpty ? .ok : missing ? .noInput : .dataError
    }

    static func importInvoices(_ invocation: Invocation) async throws -> ExitStatus {
        let client = try requireClient(invocation)
        let (ledger, config, workspace) = try ledger(invocation)
        let path = invocation.argument("FILE")!
        let profile =
            try invocation.value("profile").map { try loadProfile($0, workspace: workspace) } ?? .defaultOpenInvoices
        let source = try inputFile(path, config: config)
        let name = (path as NSString).lastPathComponent
        let result = try ledger.importOpenInvoices(
            sha256: try Ledger.sha256(of: source), size: source.size, name: name, client: client
        ) { store in
            var failure: (any Error)?
            do {
                try OpenInvoiceReader.forEach(
                    source, profile: profile, defaultCurrency: config.defaultCurrency, file: name
                ) { (invoice, _) throws(LayoutError) in
                    do { try store(invoice) } catch let error as LayoutError { throw error } catch {
                        failure = error
                        throw LayoutError(code: "import.failed", message: "\(error)", location: nil)
                    }
                }
            } catch {
                throw failure ?? error
            }
        }
        if invocation.json {
            try Output.json(result)
        } else if result.alreadyImported {
            Output.line("\(name): already imported; nothing changed")
        } else {
            Output.line("\(name): \(result.invoicesCreated) new open invoice(s), \(result.invoicesUpdated) updated")
        }
        return .ok
    }

    static func listCustomers(_ invocation: Invocation) async throws -> ExitStatus {
        let client = try requireClient(invocation)
        let (ledger, _, _) = try ledger(invocation)
        let customers = try ledger.customers(client: client)
        let aliases = try ledger.customerAliases(client: client)
        if invocation.json {
            struct Customer: Encodable {
                let customer_id: String
                let open_invoices: Int
                let aliases: [String]
            }
            try Output.json(
                customers.map { customer in
                    Customer(
                        customer_id: customer.customerID, open_invoices: customer.openInvoices,
                        aliases: aliases.filter { $0.customerID == customer.customerID }.map(\.alias))
                })
        } else {
            for customer in customers {
                let names = aliases.filter { $0.customerID == customer.customerID }.map(\.alias)
                Output.line(
                    "\(customer.customerID.padding(16))\(String(customer.openInvoices).padding(6))open   aliases: \(names.isEmpty ? "-" : names.joined(separator: ", "))"
                )
            }
        }
        return .ok
    }

    static func addAlias(_ invocation: Invocation) async throws -> ExitStatus {
        let client = try requireClient(invocation)
        let (ledger, _, _) = try ledger(invocation)
        try ledger.addCustomerAlias(
            client: client, alias: invocation.argument("ALIAS")!, customerID: invocation.argument("CUSTOMER")!,
            force: invocation.flag("force"))
        Output.line(
            "\(invocation.argument("ALIAS")!) now means customer \(invocation.argument("CUSTOMER")!) for \(client).")
        Output.line("Run `nightjar match --client \(client)` to decide its waiting batches again.")
        return .ok
    }

    static func importAliases(_ invocation: Invocation) async throws -> ExitStatus {
        let client = try requireClient(invocation)
        let (ledger, _, _) = try ledger(invocation)
        let path = invocation.argument("FILE")!
        let name = (path as NSString).lastPathComponent
        let entries = try CustomerAliasFile.read(try readFile(path), file: name)
        let result = try ledger.importCustomerAliases(
            entries, client: client, file: name, force: invocation.flag("force"))
        if invocation.json {
            try Output.json(result)
        } else {
            Output.line(
                "\(name): \(result.added) alias(es) added, \(result.changed) changed, \(result.unchanged) unchanged for \(client)."
            )
            if result.added + result.changed > 0 {
                Output.line("Run `nightjar match --client \(client)` to decide its waiting batches again.")
            }
        }
        return .ok
    }

    static func removeAlias(_ invocation: Invocation) async throws -> ExitStatus {
        let client = try requireClient(invocation)
        let (ledger, _, _) = try ledger(invocation)
        guard try ledger.removeCustomerAlias(client: client, alias: invocation.argument("ALIAS")!) else {
            throw GeneralError(
                code: "customer.alias_missing", message: "no alias \(invocation.argument("ALIAS")!) for \(client)",
                exitStatus: .noInput)
        }
        Output.line("Removed.")
        return .ok
    }

    static func matchBatches(_ invocation: Invocation) async throws -> ExitStatus {
        let (ledger, _, _) = try ledger(invocation)
        let files = MatchingRulesFiles(directory: invocation.workspace.rulesDirectory)
        let rules: (ClientID) throws -> MatchingRules = { try files.rules(for: $0.rawValue).0 }
        var runs: [MatchRun] = []
        var redeciding = false
        if let text = invocation.value("batch") {
            guard let id = Int64(text) else { throw UsageError("--batch takes a number", command: "match") }
            runs.append(MatchRun(batches: try ledger.match(batches: [id], rules: rules)))
        } else if let client = invocation.value("client").map({ ClientID($0) }) {
            redeciding = true
            runs.append(try ledger.match(client: client, scope: .allPending, rules: try rules(client)))
        } else {
            for client in try ledger.clientsWithUnmatchedBatches() {
                runs.append(try ledger.match(client: client, scope: .newBatches, rules: try rules(client)))
            }
        }
        let run = MatchRun(batches: runs.flatMap(\.batches))
        if invocation.json {
            try Output.json(run)
            return .ok
        }
        if run.batches.isEmpty {
            Output.line(redeciding ? "No batches waiting for \(invocation.value("client")!)." : "No batches to match.")
            return .ok
        }
        for result in run.batches {
            if let original = result.duplicateOf {
                Output.line(
                    "batch \(result.batchID): the same payment as batch \(original) (payer, trace, amount and date), sent again: duplicate_payment, not matched"
                )
            }
            for hint in result.hints { Output.line("batch \(result.batchID): \(hint)") }
        }
        let totals = run.statuses.sorted { $0.key < $1.key }.map {
            "\($0.value) \($0.key.replacingOccurrences(of: "_", with: " "))"
        }.joined(separator: ", ")
        if redeciding {
            Output.line(
                "Decided \(run.batches.count) waiting batch(es) of \(invocation.value("client")!) again (\(run.redecided) had been decided before): \(totals)"
            )
        } else {
            Output.line("Matched \(run.batches.count) batch(es): \(totals)")
        }
        if run.unknownPayerLines > 0 {
            Output.line(
                "\(run.unknownPayerLines) line(s) have a payer not known as any customer (see the hints above).")
        }
        let kept = run.keptDecisions
        if !kept.isEmpty {
            Output.line("Kept \(kept.count) decision(s) a person made.")
            for decision in run.noLongerFitting {
                Output.line(
                    "  no longer fits: batch \(decision.batchID) line \(decision.line) -> \(decision.invoice ?? "-") (\(decision.rule)): \(decision.problem!)"
                )
            }
        }
        return .ok
    }

    static func showRules(_ invocation: Invocation) async throws -> ExitStatus {
        let config = try invocation.workspace.requireExisting()
        let client = invocation.value("client") ?? "default"
        let (rules, file) = try MatchingRulesFiles(directory: invocation.workspace.rulesDirectory).rules(for: client)
        if invocation.json {
            // The rules file's own names; the write-off amount is in minor units of each batch's
            // currency, shown in the workspace's.
            struct Shown: Encodable {
                let client: String
                let file: String?
                let write_off_amount: String
                let currency: String
                let write_off_percent: String
                let discount_grace_days: Int
                let look_back_days: Int
                let strip_prefixes: [String]
                let strip_leading_zeros: Bool
                let strip_zero_suffix: Bool
                let payer_id_is_customer_id: Bool
                let reason_codes: [String: String]
            }
            let currency = config.defaultCurrency
            try Output.json(
                Shown(
                    client: client, file: file,
                    write_off_amount: Money.decimalString(rules.writeOffAmount, digits: currency.minorUnitDigits),
                    currency: currency.description,
                    write_off_percent: Money.decimalString(rules.writeOffBasisPoints, digits: 2),
                    discount_grace_days: rules.discountGraceDays, look_back_days: rules.lookBackDays,
                    strip_prefixes: rules.normalisation.prefixes,
                    strip_leading_zeros: rules.normalisation.stripLeadingZeros,
                    strip_zero_suffix: rules.normalisation.stripZeroSuffix,
                    payer_id_is_customer_id: rules.payerIDIsCustomerID,
                    reason_codes: rules.reasonCodes.types.mapValues(\.rawValue)))
        } else {
            Output.line("Matching rules for \(client) (\(file ?? "the documented defaults")):")
            Output.line("  write_off_amount = \(Money.decimalString(rules.writeOffAmount, digits: 2))")
            Output.line("  write_off_percent = \(Money.decimalString(rules.writeOffBasisPoints, digits: 2))")
            Output.line("  discount_grace_days = \(rules.discountGraceDays)")
            Output.line("  look_back_days = \(rules.lookBackDays)")
            Output.line("  strip_prefixes = \(rules.normalisation.prefixes.joined(separator: " "))")
            Output.line("  strip_leading_zeros = \(rules.normalisation.stripLeadingZeros ? "yes" : "no")")
            Output.line("  strip_zero_suffix = \(rules.normalisation.stripZeroSuffix ? "yes" : "no")")
            Output.line("  payer_id_is_customer_id = \(rules.payerIDIsCustomerID ? "yes" : "no")")
            for code in rules.reasonCodes.types.keys.sorted() {
                Output.line("  reason.\(code) = \(rules.reasonCodes.types[code]!.rawValue)")
            }
        }
        return .ok
    }

    static func listBatches(_ invocation: Invocation) async throws -> ExitStatus {
        let (ledger, _, _) = try ledger(invocation)
        var filter = BatchFilter()
        filter.paymentDate = try invocation.value("date").map { try CalendarDate(iso: $0) }
        filter.since = try invocation.value("since").map { try CalendarDate(iso: $0) }
        filter.states = invocation.values("status")
        filter.withExceptions = invocation.flag("exceptions")
        if let unknown = filter.states.first(where: { !BatchFilter.allStates.contains($0) }) {
            throw UsageError(
                "--status takes \(BatchFilter.allStates.joined(separator: ", ")), not \(unknown)", command: "batches")
        }
        if let client = invocation.value("client").map({ ClientID($0) }) {
            guard try ledger.knowsClient(client) else {
                throw GeneralError(
                    code: "client.missing", message: "no client \(client) in this workspace (imports create clients)",
                    exitStatus: .noInput)
            }
            filter.client = client
        }
        let batches = try ledger.batches(filter)
        if invocation.json {
            try Output.json(batches)
        } else if batches.isEmpty {
            Output.line("No batches.")
        } else {
            Output.line(
                "ID    CLIENT      DATE        PAYER                     TRACE               TOTAL          LINES  EXC   STATE              BALANCE"
            )
            let paint = Console.standardOutput.paint
            for batch in batches {
                let exceptions = String(batch.exceptions).padding(6)
                Output.line(
                    "\(String(batch.id).padding(6))\(batch.client.padding(12))\((batch.paymentDate ?? "-").padding(12))"
                        + "\(String((batch.payer ?? "-").prefix(24)).padding(26))\(String((batch.traceNumber ?? "-").prefix(18)).padding(20))"
                        + "\((batch.total + " " + batch.currency).padding(15))\(String(batch.lines).padding(7))"
                        + (batch.exceptions > 0 ? paint(exceptions, .yellow) : exceptions)
                        + "\(batch.state.padding(19))"
                        + (batch.balanced ? "ok" : paint("OUT BY \(batch.difference)", .red)))
            }
        }
        return .ok
    }

    static func showBatch(_ invocation: Invocation) async throws -> ExitStatus {
        let (ledger, _, _) = try ledger(invocation)
        guard let id = Int64(invocation.argument("ID")!) else {
            throw UsageError("ID must be a number", command: "batch show")
        }
        guard let batch = try ledger.batchView(id) else {
            throw GeneralError(code: "batch.missing", message: "no batch \(id)", exitStatus: .noInput)
        }
        if invocation.json {
            try Output.json(batch)
            return .ok
        }
        Output.line(
            "Batch \(batch.batch) — \(batch.client), from \(batch.origin.file) (\(batch.status.replacingOccurrences(of: "_", with: " ")))"
        )
        if let original = batch.duplicateOf {
            Output.line("  DUPLICATE PAYMENT of batch \(original): its lines are not matched again")
        }
        Output.line("  payer     \(batch.payer.name ?? "-")" + (batch.payer.id.map { " (id \($0))" } ?? ""))
        Output.line(
            "  trace     \(batch.traceNumber ?? "-")    date \(batch.paymentDate ?? "-")    method \(batch.paymentMethod ?? "-")"
                + (batch.receivingAccount.map { "    account \($0)" } ?? ""))
        Output.line(
            "  total     \(batch.total) \(batch.currency)\(batch.currencyDeclared ? "" : " (not named in the file: the customer's currency)")"
                + "    lines account for \(batch.remitted)"
                + (batch.balanced ? "    balanced" : "    OUT OF BALANCE by \(batch.difference)"))
        for finding in batch.findings {
            Output.line("  FILE CHECK: \(finding.message)" + (finding.segment.map { " (at \($0))" } ?? ""))
        }
        for adjustment in batch.entityAdjustments { Output.line("  payment deduction " + describe(adjustment)) }
        Output.line("")
        Output.line(
            "  #    REFERENCE                 PAID          INVOICE       DISCOUNT    ADJUSTMENTS           FROM    STATUS"
        )
        for line in batch.lines {
            let from = line.origin.segment ?? line.origin.row ?? 0
            Output.line(
                "  \(String(line.line).padding(5))\((line.referenceQualifier + " " + line.reference).padding(26))"
                    + "\(line.amountPaid.padding(14))\((line.invoiceAmount ?? "-").padding(14))\((line.discount ?? "-").padding(12))"
                    + "\(line.adjustments.map { "\($0.amount) \($0.reasonCode)" }.joined(separator: ", ").padding(22))\(String(from).padding(8))"
                    + (line.decision.map { "\($0.status) (\($0.rule))" } ?? "not matched"))
            for adjustment in line.adjustments where adjustment.text != nil || adjustment.reference != nil {
                Output.line("       as written: " + describe(adjustment))
            }
            guard let decision = line.decision else { continue }
            for application in decision.applications {
                Output.line(
                    "       -> \(application.invoice) (\(application.customer)): open \(application.openAmount), applied \(application.applied)"
                        + (application.discount != "0.00" && application.discount != "0"
                            ? ", discount \(application.discount)" : "")
                        + (application.writeOff != "0.00" && application.writeOff != "0"
                            ? ", written off \(application.writeOff)" : ""))
            }
            for deduction in decision.deductions {
                Output.line(
                    "       deduction \(deduction.type) \(deduction.amount)"
                        + (deduction.code.isEmpty
                            ? "" : " (\(deduction.code)\(deduction.wording.map { " \($0)" } ?? ""))")
                        + (deduction.unmapped ? " unmapped reason code" : "")
                        + (deduction.text.map { " \"\($0)\"" } ?? "")
                        + (deduction.reference.map { " ref \($0)" } ?? "")
                        + (deduction.invoice.map { " on \($0)" } ?? ""))
            }
            if let first = decision.paidBy {
                Output.line(
                    decision.status == "duplicate_payment"
                        ? "       first sent as batch \(first.batch) line \(first.line)"
                        : "       paid first by batch \(first.batch) line \(first.line)")
            }
            if decision.status == "ambiguous" && decision.suggestions.isEmpty && !decision.candidates.isEmpty {
                Output.line("       could be: \(decision.candidates.joined(separator: ", "))")
            }
            for suggestion in decision.suggestions {
                Output.line(
                    "       suggestion \(suggestion.number): \(suggestion.invoice) open \(suggestion.openAmount), \(suggestion.reason.replacingOccurrences(of: "_", with: " ")),"
                        + " amount \(suggestion.amountFit.replacingOccurrences(of: "_", with: " "))")
            }
            if let note = decision.note { Output.line("       \(note)") }
        }
        return .ok
    }

    /// `-45.00 USD DMG "Damaged in transit" ref DM-5566 (at 3)`: a deduction as the file wrote it.
    static func describe(_ adjustment: BatchView.Adjustment) -> String {
        var text =
            "\(adjustment.amount) \(adjustment.currency) \(adjustment.reasonCode.isEmpty ? "(no code)" : adjustment.reasonCode)"
        if let words = adjustment.text { text += " \"\(words)\"" }
        if let reference = adjustment.reference {
            text += " ref \(adjustment.referenceQualifier.map { "\($0) " } ?? "")\(reference)"
        }
        if let invoice = adjustment.invoice { text += " on invoice \(invoice)" }
        return text + " (at \(adjustment.sourceLocation))"
    }
}
