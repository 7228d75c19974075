import Foundation
import NightjarCore
import NightjarLedger

/// `nightjar catalog ...` and `nightjar po ...`: supplier invoices (810) become purchase orders.
enum SupplierCommands {
    static let clientOption = OptionSpec.client("the client (the store)")

    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["catalog", "import"], effect: .changesOther,
                summary: "load products with suppliers' reorder numbers, or suppliers, or locations",
                discussion: """
                    The header says what a file holds:
                      sku,name,supplier,reorder_number      products, each with a supplier's item code
                      supplier,name,their_code              suppliers, with the code the distributor's documents use
                      location,name,their_code              locations (ship-to), likewise
                    Loading again updates; one transaction per file.
                    """,
                arguments: [ArgumentSpec("FILE", "a CSV file")], options: [clientOption], run: importCatalog),
            CommandSpec(
                ["catalog", "search"], effect: .readsOnly,
                summary: "find products by SKU or name (to map an item a document used)",
                arguments: [ArgumentSpec("TEXT", "part of a SKU or name")], options: [clientOption], run: search),
            CommandSpec(
                ["catalog", "map"], effect: .changesOther,
                summary: "record that a supplier's item code is one of your products; open orders are fixed at once",
                discussion:
                    "Example:\n  nightjar catalog map --client store1 --supplier BARRY --item 001055503223 --sku SOL-120",
                options: [
                    clientOption, .value("supplier", "CODE", "your supplier code"),
                    .value("item", "CODE", "the supplier's item code"),
                    .value("sku", "SKU", "your product"),
                ], run: map),
            CommandSpec(
                ["po", "import"], effect: .changesOther,
                summary: "turn 810 invoices (or an invoice feed by profile) into purchase orders",
                discussion: """
                    Each invoice becomes one purchase order whose reference is the invoice number and the order date
                    (`655910 20220615`). Items are found by the supplier's reorder number, trying the IT1 qualifiers
                    VN, IN, BP, UP in that order (--qualifiers). A document for an existing reference replaces it
                    when it is newer by its own date and control number; an older one is ignored; an order already
                    received or corrected is never replaced (logged as a conflict). Unmapped items stay on the order
                    as errors and in the log. A file that cannot be read changes nothing. A CSV or Excel feed is read by
                    the profile in profiles/ with `kind = supplier_invoices` whose columns its header has.
                    """,
                arguments: [ArgumentSpec("FILE", "810 files", variadic: true)],
                options: [
                    clientOption,
                    .value("qualifiers", "LIST", "IT1 qualifiers in order of preference (default VN,IN,BP,UP)"),
                ],
                run: importOrders),
            CommandSpec(
                ["po", "list"], effect: .readsOnly, summary: "list purchase orders",
                options: [
                    .client("only this client"),
                    .value("status", "STATUS", "inventory_not_received or inventory_received"),
                ], run: list),
            CommandSpec(
                ["po", "show"], effect: .readsOnly, summary: "show a purchase order with its lines and errors",
                arguments: [ArgumentSpec("REFERENCE", "e.g. \"465266 20020523\"")], options: [clientOption], run: show),
            CommandSpec(
                ["po", "receive"], effect: .changesOther,
                summary: "mark a purchase order received (it will not be replaced any more)",
                arguments: [ArgumentSpec("REFERENCE", "the reference")],
                options: [clientOption, .value("by", "NAME", "who")], run: receive),
            CommandSpec(
                ["po", "correct"], effect: .changesOther,
                summary:
                    "correct a line after delivery (recorded as a correction; the document's figures stay in the log)",
                arguments: [ArgumentSpec("REFERENCE", "the reference"), ArgumentSpec("LINE", "the line number")],
                options: [
                    clientOption, .value("quantity", "Q", "the quantity received"),
                    .value("unit-cost", "C", "the unit cost"),
                    .value("by", "NAME", "who"),
                ], run: correct),
            CommandSpec(
                ["po", "delete"], effect: .changesOther, summary: "delete a purchase order (logged)",
                arguments: [ArgumentSpec("REFERENCE", "the reference")],
                options: [clientOption, .value("by", "NAME", "who")], run: delete),
            CommandSpec(
                ["po", "log"], effect: .readsOnly,
                summary:
                    "the processing log: each document created, replaced, ignored, in conflict or failed, with unmapped items",
                options: [.value("date", "DATE", "only this day"), .client("only this client")], run: log),
            CommandSpec(
                ["po", "default-status"], effect: .changesOther,
                summary: "the status new purchase orders get for a client",
                arguments: [ArgumentSpec("STATUS", "inventory_not_received (default) or inventory_received")],
                options: [clientOption],
                run: defaultStatus),
        ]
    }

    static func orders(_ invocation: Invocation) throws -> PurchaseOrders {
        _ = try invocation.workspace.requireExisting()
        return PurchaseOrders(database: try WorkspaceDatabase.open(at: invocation.workspace.databasePath))
    }

    static func client(_ invocation: Invocation) throws -> String {
        guard let client = invocation.value("client") else {
            throw UsageError("say which client: --client C", command: invocation.command.name)
        }
        return client
    }

    static func importCatalog(_ invocation: Invocation) async throws -> ExitStatus {
        guard let file = invocation.arguments.first else {
            throw GeneralError(code: "file.missing", message: "cannot read the file", exitStatus: .noInput)
        }
        let config = try invocation.workspace.requireExisting()
        let result = try orders(invocation).importCatalog(
            try ImportCommands.inputFile(file, config: config), client: try client(invocation), file: file)
        Output.line("\(file): \(result.rows) \(result.kind) loaded")
        return .ok
    }

    static func search(_ invocation: Invocation) async throws -> ExitStatus {
        let found = try orders(invocation).search(
            client: try client(invocation), text: invocation.arguments.first ?? "")
        if invocation.json {
            try Output.json(
                found.map {
                    ["sku": $0.sku, "name": $0.name, "reorder_numbers": $0.reorderNumbers.joined(separator: " ")]
                })
        } else if found.isEmpty {
            Output.line("No product matches.")
        } else {
            for product in found {
                Output.line(
                    "\(product.sku.padding(16)) \(product.name.padding(36)) \(product.reorderNumbers.joined(separator: " "))"
                )
            }
        }
        return .ok
    }

    static func map(_ invocation: Invocation) async throws -> ExitStatus {
        guard let supplier = invocation.value("supplier"), let item = invocation.value("item"),
            let sku = invocation.value("sku")
        else {
            throw UsageError("give --supplier, --item and --sku", command: "catalog map")
        }
        let fixed = try orders(invocation).mapItem(
            client: try client(invocation), supplier: supplier, reorderNumber: item, sku: sku)
        Output.line(
            "\(supplier) item \(item) is \(sku)" + (fixed > 0 ? "; \(fixed) open purchase order line(s) mapped" : ""))
        return .ok
    }

    static func importOrders(_ invocation: Invocation) async throws -> ExitStatus {
        let config = try invocation.workspace.requireExisting()
        let store = try orders(invocation)
        let qualifiers =
            invocation.value("qualifiers").map {
                $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
            }
            ?? PurchaseOrders.defaultQualifiers
        var failed = false
        var outcomes: [PurchaseOrders.Outcome] = []
        for file in invocation.arguments {
            let results = try store.importInvoices(
                try ImportCommands.inputFile(file, config: config), name: (file as NSString).lastPathComponent,
                client: try client(invocation),
                defaultCurrency: config.defaultCurrency, qualifiers: qualifiers,
                profiles: try ImportCommands.workspaceProfiles(invocation.workspace))
            outcomes += results
            failed = failed || results.contains { $0.action == "failed" }
        }
        if invocation.json {
            try Output.json(outcomes)
        } else {
            for outcome in outcomes {
                Output.line("\(outcome.action.padding(13)) \(outcome.message)")
                for item in outcome.unmapped {
                    Output.line(
                        "              not mapped: \(item.qualifier) \(item.code)\(item.description.map { " \"\($0)\"" } ?? "") (segment \(item.segment))"
                    )
                }
            }
        }
        return failed ? .dataError : .ok
    }

    static func list(_ invocation: Invocation) async throws -> ExitStatus {
        let orders = try orders(invocation).orders(
            client: invocation.value("client"), status: invocation.value("status"))
        if invocation.json {
            try Output.json(orders)
        } else if orders.isEmpty {
            Output.line("No purchase orders.")
        } else {
            for order in orders {
                let unmapped = order.lines.filter { $0.sku == nil }.count
                Output.line(
                    "\(order.client.padding(10)) \(order.reference.padding(22)) \(order.status.padding(23)) \((order.supplier ?? "?").padding(10)) "
                        + "\(order.lines.count) lines, \(order.total) \(order.currency)"
                        + (unmapped > 0 ? ", \(unmapped) not mapped" : "") + (order.corrected ? ", corrected" : ""))
            }
        }
        return .ok
    }

    static func show(_ invocation: Invocation) async throws -> ExitStatus {
        guard let reference = invocation.arguments.first else {
            throw UsageError("give the reference", command: "po show")
        }
        guard let order = try orders(invocation).order(client: try client(invocation), reference: reference) else {
            throw GeneralError(code: "po.missing", message: "no purchase order \"\(reference)\"", exitStatus: .noInput)
        }
        if invocation.json {
            try Output.json(order)
            return .ok
        }
        Output.line(
            "Purchase order \(order.reference) (\(order.client)): \(order.status)\(order.corrected ? ", corrected" : "")"
        )
        Output.line(
            "  supplier \(order.supplier ?? "?"), location \(order.location ?? "?"), ordered \(order.orderDate ?? "-"), from \(order.source)"
        )
        for line in order.lines {
            Output.line(
                "  \(String(line.position).padding(3)) \((line.sku ?? "NOT MAPPED").padding(14)) \((line.itemQualifier ?? "").padding(3)) \((line.itemCode ?? "").padding(16)) "
                    + "\(line.quantity.padding(8)) x \(line.unitCost.padding(9)) = \(line.extended.padding(10)) \(line.description ?? "")"
                    + (line.correctedBy.map { "  (corrected by \($0))" } ?? ""))
        }
        Output.line("  total \(order.total) \(order.currency)")
        for error in order.errors + order.lines.compactMap(\.error) { Output.line("  error: \(error)") }
        return .ok
    }

    /// Who a change to an order is recorded as made by: `--by`, else the login name.
    static func actor(_ invocation: Invocation) -> String { invocation.value("by") ?? NSUserName() }

    /// What `po receive` and `po delete` share: one order named by its reference, changed in the
    /// client's ledger by the actor, then `REFERENCE: done`.
    static func changeOrder(
        _ invocation: Invocation, done: String,
        _ change: (PurchaseOrders, _ client: String, _ reference: String, _ actor: String) throws -> Void
    ) throws -> ExitStatus {
        guard let reference = invocation.arguments.first else {
            throw UsageError("give the reference", command: invocation.command.name)
        }
        try change(try orders(invocation), try client(invocation), reference, actor(invocation))
        Output.line("\(reference): \(done)")
        return .ok
    }

    static func receive(_ invocation: Invocation) async throws -> ExitStatus {
        try changeOrder(invocation, done: "inventory received") { try $0.receive(client: $1, reference: $2, by: $3) }
    }

    static func correct(_ invocation: Invocation) async throws -> ExitStatus {
        guard invocation.arguments.count == 2, let line = Int(invocation.arguments[1]) else {
            throw UsageError("give REFERENCE LINE", command: "po correct")
        }
        let quantity = try invocation.value("quantity").map { try Money.parseMinorUnits($0, digits: 3) }
        let cost = try invocation.value("unit-cost").map { try Money.parseMinorUnits($0, digits: 4) }
        guard quantity != nil || cost != nil else {
            throw UsageError("give --quantity and/or --unit-cost", command: "po correct")
        }
        try orders(invocation).correct(
            client: try client(invocation), reference: invocation.arguments[0], line: line, quantityMilli: quantity,
            unitCostTenThousandths: cost, by: actor(invocation))
        Output.line("\(invocation.arguments[0]) line \(line) corrected")
        return .ok
    }

    static func delete(_ invocation: Invocation) async throws -> ExitStatus {
        try changeOrder(invocation, done: "deleted") { try $0.delete(client: $1, reference: $2, by: $3) }
    }

    static func log(_ invocation: Invocation) async throws -> ExitStatus {
        let date = try invocation.value("date").map { try CalendarDate(iso: $0) }
        let entries = try orders(invocation).processingLog(date: date, client: invocation.value("client"))
        if invocation.json {
            try Output.json(entries)
        } else if entries.isEmpty {
            Output.line("Nothing processed" + (date.map { " on \($0)" } ?? "") + ".")
        } else {
            for entry in entries {
                Output.line("\(entry.at)  \(entry.client.padding(10)) \(entry.action.padding(13)) \(entry.message)")
                for item in entry.unmapped {
                    Output.line(
                        "      item not found: \(item.qualifier) \(item.code)\(item.description.map { " \"\($0)\"" } ?? "") — map it with `nightjar catalog map`"
                    )
                }
            }
        }
        return .ok
    }

    static func defaultStatus(_ invocation: Invocation) async throws -> ExitStatus {
        guard let status = invocation.arguments.first, PurchaseOrders.statuses.contains(status) else {
            throw UsageError("the status is inventory_not_received or inventory_received", command: "po default-status")
        }
        try orders(invocation).setSetting(client: try client(invocation), key: "po.default_status", value: status)
        Output.line("new purchase orders of \(try client(invocation)) start as \(status)")
        return .ok
    }
}
