import Foundation
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarAgent
import NightjarMatching
import NightjarStore

/// `nightjar import`, `nightjar invoices import`, `nightjar batches`, `nightjar batch show`.
enum ImportCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(["import"], summary: "import remittance files (X12 820, or text, Excel, HTML and JSON by profile) into batches",
                        discussion: """
                        The format is found from the content: X12 by its ISA header; anything else is read by the one
                        profile of profiles/ that fits it (or --profile). When two profiles fit, the file is refused and
                        both are named. Each file is one transaction and is imported once: the same bytes again change
                        nothing. A payment whose total differs from its lines, or whose file states a total or count
                        its rows do not match, is stored and flagged out of balance with both figures. A file that is
                        not imported (an 810 invoice, a PDF, no fitting profile) exits 65 and says what reads it.

                        Example:
                          nightjar import remit-2026-11-23.x12 northwind-2026-11.csv --client acme
                        """,
                        arguments: [ArgumentSpec("FILE", "files to import", variadic: true)],
                        options: [.value("client", "C", "the client the files belong to"),
                                  .value("profile", "NAME", "read delimited files with profiles/NAME.profile")],
                        run: importFiles),
            CommandSpec(["invoices", "import"], summary: "load a client's open invoices (updates open amounts on re-import)",
                        discussion: """
                        Default layout (a header row, comma-separated, ISO dates):
                          customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number[,terms]
                        Other layouts are described by a profile with `kind = open_invoices`.
                        """,
                        arguments: [ArgumentSpec("FILE", "the open-invoice export")],
                        options: [.value("client", "C", "the client"), .value("profile", "NAME", "profiles/NAME.profile")],
                        run: importInvoices),
            CommandSpec(["customers", "list"], summary: "list a client's customers and the payer aliases that point to them",
                        options: [.value("client", "C", "the client")], run: listCustomers),
            CommandSpec(["customers", "alias", "add"], summary: "say that a payer's id or name (as a portal writes it) is one of your customers",
                        discussion: """
                        A portal may use another account number than your ERP. Matching only considers the invoices of
                        the customers a payer is known as, so map each payer id or name once:
                          nightjar customers alias add NWD-ACME-0042 ACME-C1 --client acme
                        """,
                        arguments: [ArgumentSpec("ALIAS", "the payer id or name as written"), ArgumentSpec("CUSTOMER", "your customer id")],
                        options: [.value("client", "C", "the client")], run: addAlias),
            CommandSpec(["customers", "alias", "remove"], summary: "remove a payer alias",
                        arguments: [ArgumentSpec("ALIAS", "the payer id or name")], options: [.value("client", "C", "the client")], run: removeAlias),
            CommandSpec(["match"], summary: "match batches' lines to open invoices by reference (new batches, or --batch ID)",
                        discussion: """
                        Each line is matched against the open invoices of the customers its payer is known as (see
                        `nightjar customers alias add`), by reference after normalisation, and classified: paid in
                        full, with discount, short paid (typed deductions), over paid, paid twice, unknown reference,
                        ambiguous. Near misses become suggestions, never matches. Matching again replaces earlier
                        decisions; open amounts change only when a person approves the batch.
                        """,
                        options: [.value("client", "C", "only this client's batches"), .value("batch", "ID", "match this batch again")],
                        run: matchBatches),
            CommandSpec(["rules", "show"], summary: "the matching rules a client's batches are matched with, and where they come from",
                        discussion: """
                        Rules live in rules/CLIENT.rules (else rules/default.rules, else the documented defaults):
                          write_off_amount = 5.00        write_off_percent = 0.5
                          discount_grace_days = 5        look_back_days = 730
                          strip_prefixes = INVOICE INV NO #
                          strip_leading_zeros = yes      strip_zero_suffix = yes
                          reason.99 = promotion          (a payer's reason code -> deduction type)
                        """,
                        options: [.value("client", "C", "the client")], run: showRules),
            CommandSpec(["batches"], summary: "list remittance batches (one per payment)",
                        options: [.value("client", "C", "only this client"), .value("date", "DATE", "only payments dated DATE")],
                        run: listBatches),
            CommandSpec(["batch", "show"], summary: "show a batch with its lines, adjustments and where each came from",
                        arguments: [ArgumentSpec("ID", "the batch id")], run: showBatch),
        ]
    }

    static func ledger(_ invocation: Invocation) throws -> (Ledger, WorkspaceConfig, Workspace) {
        let workspace = invocation.workspace
        let config = try workspace.requireExisting()
        return (Ledger(database: try WorkspaceDatabase.open(at: workspace.databasePath)), config, workspace)
    }

    static func requireClient(_ invocation: Invocation) throws -> String {
        guard let client = invocation.value("client") else { throw UsageError("give --client C", command: invocation.command.name) }
        return client
    }

    static func loadProfile(_ name: String, workspace: Workspace) throws -> LayoutProfile {
        let path = name.contains("/") ? name : workspace.profilesDirectory + "/\(name).profile"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GeneralError(code: "profile.missing", message: "no profile \(path)", exitStatus: .noInput)
        }
        return try LayoutProfileParser.parse(String(decoding: data, as: UTF8.self), file: path)
    }

    static func workspaceProfiles(_ workspace: Workspace) throws -> [LayoutProfile] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: workspace.profilesDirectory)) ?? []
        return try names.filter { $0.hasSuffix(".profile") }.sorted().map { try loadProfile(workspace.profilesDirectory + "/" + $0, workspace: workspace) }
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GeneralError(code: "file.missing", message: "cannot read \(path)", exitStatus: .noInput)
        }
        return Array(data)
    }

    static func importFiles(_ invocation: Invocation) async throws -> ExitStatus {
        let client = try requireClient(invocation)
        let (ledger, config, workspace) = try ledger(invocation)
        let explicit = try invocation.value("profile").map { try loadProfile($0, workspace: workspace) }
        let importer = RemittanceFileImporter(defaultCurrency: config.defaultCurrency, profiles: explicit == nil ? try workspaceProfiles(workspace) : [])
        var results: [ImportResult] = []
        var problems: [(String, String, String)] = []
        for path in invocation.arguments {
            let name = (path as NSString).lastPathComponent
            do {
                switch try importer.importFile(try readFile(path), name: name, client: client, portal: nil, into: ledger, profile: explicit) {
                case .imported(let result): results.append(result)
                case .skipped(let code, let message): problems.append((name, code, message))
                }
            } catch let error as any NightjarError {
                problems.append((name, error.code, error.description))
            }
        }
        if invocation.json {
            struct Report: Encodable {
                let imported: [ImportResult]
                let problems: [[String: String]]
            }
            try Output.json(Report(imported: results, problems: problems.map { ["file": $0.0, "code": $0.1, "message": $0.2] }))
        } else {
            for result in results {
                if result.alreadyImported {
                    Output.line("\(result.file): already imported (sha256 \(result.sha256.prefix(12))…); nothing changed")
                } else {
                    Output.line("\(result.file): \(result.batches) batch(es), \(result.lines) line(s)"
                        + (result.outOfBalance > 0 ? ", \(result.outOfBalance) OUT OF BALANCE" : ""))
                }
            }
            for (_, _, message) in problems { Console.standardError.line("error: \(message)") }
        }
        // A file that was not imported (another kind of document, no profile or two, a refusal) is bad input.
        return problems.isEmpty ? .ok : .dataError
    }

    static func importInvoices(_ invocation: Invocation) async throws -> ExitStatus {
        let client = try requireClient(invocation)
        let (ledger, config, workspace) = try ledger(invocation)
        let path = invocation.argument("FILE")!
        let profile = try invocation.value("profile").map { try loadProfile($0, workspace: workspace) } ?? .defaultOpenInvoices
        let bytes = try readFile(path)
        let name = (path as NSString).lastPathComponent
        let invoices = try OpenInvoiceReader.read(bytes, profile: profile, defaultCurrency: config.defaultCurrency, file: name)
        let result = try ledger.importOpenInvoices(invoices, bytes: bytes, name: name, client: client)
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
            struct Customer: Encodable { let customer_id: String; let open_invoices: Int; let aliases: [String] }
            try Output.json(customers.map { customer in
                Customer(customer_id: customer.customerID, open_invoices: customer.openInvoices,
                         aliases: aliases.filter { $0.customerID == customer.customerID }.map(\.alias))
            })
        } else {
            for customer in customers {
                let names = aliases.filter { $0.customerID == customer.customerID }.map(\.alias)
                Output.line("\(customer.customerID.padding(16))\(String(customer.openInvoices).padding(6))open   aliases: \(names.isEmpty ? "-" : names.joined(separator: ", "))")
            }
        }
        return .ok
    }

    static func addAlias(_ invocation: Invocation) async throws -> ExitStatus {
        let client = try requireClient(invocation)
        let (ledger, _, _) = try ledger(invocation)
        try ledger.addCustomerAlias(client: client, alias: invocation.argument("ALIAS")!, customerID: invocation.argument("CUSTOMER")!)
        Output.line("\(invocation.argument("ALIAS")!) now means customer \(invocation.argument("CUSTOMER")!) for \(client).")
        return .ok
    }

    static func removeAlias(_ invocation: Invocation) async throws -> ExitStatus {
        let client = try requireClient(invocation)
        let (ledger, _, _) = try ledger(invocation)
        guard try ledger.removeCustomerAlias(client: client, alias: invocation.argument("ALIAS")!) else {
            throw GeneralError(code: "customer.alias_missing", message: "no alias \(invocation.argument("ALIAS")!) for \(client)", exitStatus: .noInput)
        }
        Output.line("Removed.")
        return .ok
    }

    static func matchBatches(_ invocation: Invocation) async throws -> ExitStatus {
        let (ledger, _, _) = try ledger(invocation)
        let ids = try invocation.value("batch").map { text -> [Int64] in
            guard let id = Int64(text) else { throw UsageError("--batch takes a number", command: "match") }
            return [id]
        } ?? ledger.unmatchedBatches(client: invocation.value("client"))
        let files = MatchingRulesFiles(directory: invocation.workspace.rulesDirectory)
        let results = try ledger.match(batches: ids, rules: { try files.rules(for: $0).0 })
        if invocation.json {
            try Output.json(results)
        } else if results.isEmpty {
            Output.line("No batches to match.")
        } else {
            var totals: [String: Int] = [:]
            for result in results {
                for (status, count) in result.statuses { totals[status, default: 0] += count }
                if result.customers.isEmpty {
                    Output.line("batch \(result.batchID): payer not known as any customer yet (nightjar customers alias add)")
                }
            }
            Output.line("Matched \(results.count) batch(es): " + totals.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key.replacingOccurrences(of: "_", with: " "))" }.joined(separator: ", "))
        }
        return .ok
    }

    static func showRules(_ invocation: Invocation) async throws -> ExitStatus {
        _ = try invocation.workspace.requireExisting()
        let client = invocation.value("client") ?? "default"
        let (rules, file) = try MatchingRulesFiles(directory: invocation.workspace.rulesDirectory).rules(for: client)
        if invocation.json {
            try Output.json(rules)
        } else {
            Output.line("Matching rules for \(client) (\(file ?? "the documented defaults")):")
            Output.line("  write_off_amount = \(Money.decimalString(rules.writeOffAmount, digits: 2))")
            Output.line("  write_off_percent = \(Money.decimalString(rules.writeOffBasisPoints, digits: 2))")
            Output.line("  discount_grace_days = \(rules.discountGraceDays)")
            Output.line("  look_back_days = \(rules.lookBackDays)")
            Output.line("  strip_prefixes = \(rules.normalisation.prefixes.joined(separator: " "))")
            Output.line("  strip_leading_zeros = \(rules.normalisation.stripLeadingZeros ? "yes" : "no")")
            Output.line("  strip_zero_suffix = \(rules.normalisation.stripZeroSuffix ? "yes" : "no")")
            for code in rules.reasonCodes.types.keys.sorted() { Output.line("  reason.\(code) = \(rules.reasonCodes.types[code]!.rawValue)") }
        }
        return .ok
    }

    static func listBatches(_ invocation: Invocation) async throws -> ExitStatus {
        let (ledger, _, _) = try ledger(invocation)
        let date = try invocation.value("date").map { try CalendarDate(iso: $0) }
        let batches = try ledger.batches(client: invocation.value("client"), date: date)
        if invocation.json {
            try Output.json(batches)
        } else if batches.isEmpty {
            Output.line("No batches.")
        } else {
            Output.line("ID    CLIENT      DATE        PAYER                     TRACE               TOTAL          LINES  BALANCE")
            for batch in batches {
                Output.line("\(String(batch.id).padding(6))\(batch.client.padding(12))\((batch.paymentDate ?? "-").padding(12))"
                    + "\(String((batch.payer ?? "-").prefix(24)).padding(26))\(String((batch.traceNumber ?? "-").prefix(18)).padding(20))"
                    + "\((batch.total + " " + batch.currency).padding(15))\(String(batch.lines).padding(7))"
                    + (batch.balanced ? "ok" : "OUT BY \(batch.difference)"))
            }
        }
        return .ok
    }

    static func showBatch(_ invocation: Invocation) async throws -> ExitStatus {
        let (ledger, _, _) = try ledger(invocation)
        guard let id = Int64(invocation.argument("ID")!) else { throw UsageError("ID must be a number", command: "batch show") }
        guard let batch = try ledger.batch(id) else {
            throw GeneralError(code: "batch.missing", message: "no batch \(id)", exitStatus: .noInput)
        }
        if invocation.json {
            try Output.json(batch)
            return .ok
        }
        let s = batch.summary
        Output.line("Batch \(s.id) — \(s.client), from \(s.sourceFile)")
        Output.line("  payer     \(s.payer ?? "-")")
        Output.line("  trace     \(s.traceNumber ?? "-")    date \(s.paymentDate ?? "-")    method \(batch.paymentMethod ?? "-")"
            + (batch.receivingAccount.map { "    account \($0)" } ?? ""))
        Output.line("  total     \(s.total) \(s.currency)    lines account for \(batch.remitted)"
            + (s.balanced ? "    balanced" : "    OUT OF BALANCE by \(s.difference)"))
        for finding in batch.findings { Output.line("  FILE CHECK: \(finding.message)" + (finding.segment.map { " (at \($0))" } ?? "")) }
        for deduction in batch.paymentDeductions { Output.line("  payment deduction " + describe(deduction)) }
        Output.line("")
        let statuses = try ledger.lineStatuses(batch: id)
        Output.line("  #    REFERENCE                 PAID          INVOICE       DISCOUNT    ADJUSTMENTS           FROM    STATUS")
        for line in batch.lines {
            Output.line("  \(String(line.position + 1).padding(5))\((line.referenceQualifier + " " + line.reference).padding(26))"
                + "\(line.amountPaid.padding(14))\((line.invoiceAmount ?? "-").padding(14))\((line.discount ?? "-").padding(12))"
                + "\(line.adjustments.joined(separator: ", ").padding(22))\(String(line.sourceLocation).padding(8))"
                + (statuses[line.position].map { "\($0.status) (\($0.rule))" } ?? "not matched"))
            for deduction in line.deductions { Output.line("         deduction " + describe(deduction)) }
        }
        return .ok
    }

    /// `-45.00 DMG "Damaged in transit" ref DM-5566 (line 3)`.
    static func describe(_ deduction: BatchDetail.Deduction) -> String {
        var text = "\(deduction.amount) \(deduction.currency) \(deduction.code.isEmpty ? "(no code)" : deduction.code)"
        if let words = deduction.text { text += " \"\(words)\"" }
        if let reference = deduction.reference { text += " ref \(deduction.referenceQualifier.map { "\($0) " } ?? "")\(reference)" }
        if let invoice = deduction.invoice { text += " on invoice \(invoice)" }
        return text + " (at \(deduction.sourceLocation))"
    }
}
