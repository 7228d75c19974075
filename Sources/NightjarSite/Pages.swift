import Foundation
import NightjarCore
import NightjarLedger
import NightjarReview

/// HTML-escaped text; the common case (nothing to escape) costs one scan.
func h(_ text: String) -> String {
    for byte in text.utf8 where byte == 38 || byte == 60 || byte == 62 || byte == 34 || byte == 39 {
        return MorningReport.escape(text)
    }
    return text
}

func h(_ text: String?) -> String { text.map(h) ?? "-" }

/// `1,234.50 USD`, as `MorningReport.amount` writes it (built from the digits directly: a
/// batch page writes thousands).
func amount(_ money: Money) -> String {
    let digits = money.currency.minorUnitDigits
    var value = money.minorUnits.magnitude
    var reversed: [UInt8] = []
    reversed.reserveCapacity(24)
    for _ in 0..<digits {
        reversed.append(UInt8(48 + value % 10))
        value /= 10
    }
    if digits > 0 { reversed.append(UInt8(ascii: ".")) }
    var group = 0
    repeat {
        if group == 3 {
            reversed.append(UInt8(ascii: ","))
            group = 0
        }
        reversed.append(UInt8(48 + value % 10))
        value /= 10
        group += 1
    } while value > 0
    if money.minorUnits < 0 { reversed.append(UInt8(ascii: "-")) }
    return String(decoding: reversed.reversed(), as: UTF8.self) + " " + money.currency.description
}

/// Sums per currency, in currency order.
func totals(_ values: [Money]) -> [Money] {
    var sums: [CurrencyCode: Int64] = [:]
    for value in values { sums[value.currency, default: 0] += value.minorUnits }
    return sums.keys.sorted { $0.description < $1.description }.map { Money(minorUnits: sums[$0]!, currency: $0) }
}

func amounts(_ values: [Money]) -> String { values.isEmpty ? "0" : values.map(amount).joined(separator: " + ") }

/// A status as people read it: `short paid`.
func label(_ status: String?) -> String {
    guard let status else { return "not matched" }
    guard status.utf8.contains(UInt8(ascii: "_")) else { return status }
    return String(decoding: status.utf8.map { $0 == UInt8(ascii: "_") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
}

/// Links into the site, each part escaped for a path.
enum Link {
    static func batch(_ id: Int64) -> String { "/batches/\(id)" }
    static func invoice(client: String, number: String) -> String {
        "/clients/\(PercentEncoding.encode(client))/invoices/\(PercentEncoding.encode(number))"
    }
    static func customer(client: String, customer: String) -> String {
        "/clients/\(PercentEncoding.encode(client))/customers/\(PercentEncoding.encode(customer))"
    }
    static func reassign(batch: Int64, position: Int) -> String { "/batches/\(batch)/lines/\(position)/reassign" }
    static func worklist(_ fields: [(name: String, value: String)]) -> String {
        "/worklist" + FormFields(fields).queryString
    }
}

/// A notice at the top of a page.
struct Notice: Sendable {
    enum Kind: String, Sendable { case done = "", error, warn }
    let kind: Kind
    let text: String

    var html: String { "<p class=\"notice \(kind.rawValue)\" role=\"status\">\(h(text))</p>\n" }
}

/// The site's pages: server-rendered HTML that works without script; every form carries the
/// session's form token and, for actions on a batch, the version of the batch it was drawn from.
struct Pages {
    let title: String
    let principal: SitePrincipal?
    let formToken: String

    var tokenField: String { "<input type=\"hidden\" name=\"csrf\" value=\"\(h(formToken))\">" }

    func layout(_ heading: String, current: String? = nil, notice: Notice? = nil, _ body: String) -> String {
        let (head, tail) = frame(heading, current: current, notice: notice)
        return head + body + tail
    }

    /// The page around a body: the header with the navigation and the sign-out form, the heading, a notice.
    func frame(_ heading: String, current: String? = nil, notice: Notice? = nil) -> (head: String, tail: String) {
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(h(heading)) · \(h(title))</title><link rel="stylesheet" href="\(SiteStyle.path)"><link rel="icon" href="/static/icon.svg" type="image/svg+xml"></head><body>
            <header class="bar"><a class="brand" href="/">\(h(title))</a>
            """
        if let principal {
            page += "<nav>"
            for (path, name) in [("/", "This morning"), ("/worklist", "Worklist"), ("/exports", "Exports")] {
                page += "<a href=\"\(path)\"\(current == path ? " aria-current=\"page\"" : "")>\(name)</a>"
            }
            page +=
                "</nav><form method=\"post\" action=\"/sign-out\">\(tokenField)<span>\(h(principal.name)) · \(h(principal.roles.map(\.rawValue).joined(separator: ", ")))</span>"
                + "<button type=\"submit\">Sign out</button></form>"
        }
        page += "</header>\n<main>\n<h1>\(h(heading))</h1>\n"
        if let notice { page += notice.html }
        return (page, "</main></body></html>\n")
    }

    // MARK: Sign-in

    func signIn(name: String, notice: Notice?) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Sign in · \(h(title))</title><link rel="stylesheet" href="\(SiteStyle.path)"><link rel="icon" href="/static/icon.svg" type="image/svg+xml"></head><body>
        <main class="signin"><h1>\(h(title))</h1><p class="muted">Sign in with your Nightjar operator name and passphrase.</p>
        \(notice?.html ?? "")<form method="post" action="/sign-in">\(tokenField)
        <label>Name <input type="text" name="name" value="\(h(name))" autocomplete="username" required maxlength="64" autofocus></label>
        <label>Passphrase <input type="password" name="passphrase" autocomplete="current-password" required maxlength="1024"></label>
        <button type="submit">Sign in</button></form></main></body></html>

        """
    }

    // MARK: This morning

    func morning(_ clients: [ClientMorning], batches: [BatchSummary]) -> String {
        var body = clients.isEmpty ? "<p>No client's work is open to you.</p>\n" : "<div class=\"cards\">\n"
        for client in clients {
            body += "<section class=\"card\"><h2>\(h(client.client))</h2>\n"
            body +=
                "<div class=\"summary\"><div>Batches waiting<b>\(client.batchesWaiting)</b></div><div>Exceptions<b>\(client.exceptions)</b></div>"
                + "<div>Exceptions' total<b>\(h(amounts(client.exceptionTotals)))</b></div>"
                + (client.outOfBalance > 0 ? "<div>Out of balance<b>\(client.outOfBalance)</b></div>" : "") + "</div>\n"
            if client.credentials.isEmpty {
                body += "<p class=\"muted\">No night has run for this client yet.</p>\n"
            } else {
                body +=
                    "<h3>Last night (run \(client.lastRun.map(String.init) ?? "-"))</h3><table><tr><th>Portal</th><th>Outcome</th><th class=\"num\">New files</th></tr>\n"
                for credential in client.credentials {
                    let good = credential.status == "ok" || credential.status == "no_documents"
                    body +=
                        "<tr><td>\(h(credential.portal))</td><td><span class=\"pill \(good ? "ok" : "bad")\">\(h(label(credential.status)))</span>"
                        + (credential.message.map { " <span class=\"muted\">\(h($0))</span>" } ?? "")
                        + "</td><td class=\"num\">\(credential.filesNew)</td></tr>\n"
                }
                body += "</table>\n"
            }
            let waiting = batches.filter { $0.client == client.client }
            if !waiting.isEmpty {
                body += "<h3>Waiting for approval</h3><ul class=\"plain\">\n"
                for batch in waiting.prefix(20) {
                    body +=
                        "<li><a href=\"\(Link.batch(batch.id))\">Batch \(batch.id)</a> · \(h(batch.payer)) · \(h(batch.paymentDate)) · \(h(batch.total)) \(h(batch.currency))"
                        + (batch.balanced ? "" : " <span class=\"pill bad\">out of balance</span>") + "</li>\n"
                }
                if waiting.count > 20 { body += "<li class=\"muted\">and \(waiting.count - 20) more</li>\n" }
                body += "</ul>\n"
            }
            if client.exceptions > 0 {
                body +=
                    "<p><a href=\"\(h(Link.worklist([("client", client.client)])))\">Work the \(client.exceptions) exception\(client.exceptions == 1 ? "" : "s")</a></p>\n"
            }
            body += "</section>\n"
        }
        if !clients.isEmpty { body += "</div>\n" }
        return layout("This morning", current: "/", body)
    }

    // MARK: Worklist

    func worklist(_ page: WorklistPage, query: WorklistQuery, clients: [String]) -> String {
        var filters: [(name: String, value: String)] = []
        if let client = query.client { filters.append(("client", client)) }
        if let kind = query.kind { filters.append(("kind", kind)) }
        if let payer = query.payer, !payer.isEmpty { filters.append(("payer", payer)) }
        if let batch = query.batch { filters.append(("batch", String(batch))) }
        func sorted(_ sort: WorklistQuery.Sort, _ name: String, numeric: Bool = false) -> String {
            let descending = query.sort == sort ? !query.descending : (sort == .amount || sort == .age)
            let mark = query.sort == sort ? (query.descending ? " ↓" : " ↑") : ""
            let link = Link.worklist(filters + [("sort", sort.rawValue), ("order", descending ? "desc" : "asc")])
            return "<th\(numeric ? " class=\"num\"" : "")><a href=\"\(h(link))\">\(name)\(mark)</a></th>"
        }
        var body = "<form class=\"filters\" method=\"get\" action=\"/worklist\">"
        body += "<label>Client <select name=\"client\"><option value=\"\">all</option>"
        for client in clients { body += "<option\(query.client == client ? " selected" : "")>\(h(client))</option>" }
        body += "</select></label><label>Kind <select name=\"kind\"><option value=\"\">all</option>"
        for kind in page.kinds {
            body += "<option value=\"\(h(kind))\"\(query.kind == kind ? " selected" : "")>\(h(label(kind)))</option>"
        }
        body +=
            "</select></label><label>Payer <input type=\"search\" name=\"payer\" value=\"\(h(query.payer ?? ""))\"></label>"
        body += "<label>Sort <select name=\"sort\">"
        for sort in WorklistQuery.Sort.allCases {
            body += "<option\(query.sort == sort ? " selected" : "")>\(sort.rawValue)</option>"
        }
        body +=
            "</select></label><label>Order <select name=\"order\"><option value=\"desc\"\(query.descending ? " selected" : "")>descending</option>"
            + "<option value=\"asc\"\(query.descending ? "" : " selected")>ascending</option></select></label><button type=\"submit\">Show</button></form>\n"
        body += "<p>\(page.total) exception\(page.total == 1 ? "" : "s") · \(h(amounts(page.totals)))</p>\n"
        if page.entries.isEmpty {
            body += "<p><span class=\"pill ok\">nothing</span> no exception matches.</p>\n"
        } else {
            body +=
                "<table><tr>" + sorted(.client, "Client") + sorted(.batch, "Batch") + "<th>Line</th>"
                + sorted(.payer, "Payer")
                + sorted(.age, "Payment date") + "<th>Reference</th>" + sorted(.amount, "Paid", numeric: true)
                + sorted(.kind, "Kind")
                + "<th>Invoice</th><th>Suggestions</th></tr>\n"
            for entry in page.entries {
                body +=
                    "<tr><td>\(h(entry.client))</td><td><a href=\"\(Link.batch(entry.batch))\">\(entry.batch)</a></td>"
                    + "<td>\(ReviewAdapter.lineNumber(entry.position))</td><td>\(h(entry.payer))</td><td>\(h(entry.paymentDate))</td><td>\(h(entry.reference))</td>"
                    + "<td class=\"num\">\(h(amount(entry.amountPaid)))</td><td><span class=\"pill bad\">\(h(label(entry.kind)))</span></td>"
                    + "<td>\(entry.invoice.map { "<a href=\"\(h(Link.invoice(client: entry.client, number: $0)))\">\(h($0))</a>" } ?? "-")</td>"
                    + "<td>\(entry.suggestions == 0 ? "" : "<a href=\"\(Link.batch(entry.batch))#line-\(entry.position)\">\(entry.suggestions)</a>")</td></tr>\n"
            }
            body += "</table>\n"
        }
        let keep = filters + [("sort", query.sort.rawValue), ("order", query.descending ? "desc" : "asc")]
        body += "<nav class=\"pages\">"
        if page.page > 1 {
            body +=
                "<a href=\"\(h(Link.worklist(keep + [("page", String(page.page - 1))])))\" rel=\"prev\">Previous</a>"
        }
        body += "<span>Page \(page.page) of \(page.pageCount)</span>"
        if page.page < page.pageCount {
            body += "<a href=\"\(h(Link.worklist(keep + [("page", String(page.page + 1))])))\" rel=\"next\">Next</a>"
        }
        body += "</nav>\n"
        return layout("Worklist", current: "/worklist", body)
    }

    // MARK: Batch

    func batch(_ batch: BatchReview, scope: ReviewScope, notice: Notice?) -> String {
        layout("Batch \(batch.id)", notice: notice, batchBody(batch, scope: scope))
    }

    /// The batch page's content: what it shows depends on the batch and on what the reader's
    /// roles permit, and on the session only through the form token (see `CachedBody`).
    func batchBody(_ batch: BatchReview, scope: ReviewScope) -> String {
        let frozen = batch.status != "new"
        let version = "<input type=\"hidden\" name=\"version\" value=\"\(h(batch.version))\">"
        var body = "<dl class=\"header\">"
        body.reserveCapacity(4096 + batch.lines.count * 640)
        for (name, value) in [
            ("Client", batch.client), ("Status", label(batch.status)), ("Payer", batch.payer ?? "-"),
            ("Payer id", batch.payerID ?? "-"),
            ("Trace", batch.traceNumber ?? "-"), ("Payment date", batch.paymentDate ?? "-"),
            ("Total", amount(batch.total)),
            ("Lines add up to", amount(batch.remitted)),
            ("Balance", batch.balanced ? "balanced" : "out by \(amount(batch.difference))"),
            ("Method", batch.paymentMethod ?? "-"), ("Source file", batch.file), ("Portal", batch.portal ?? "-"),
            ("Imported", batch.importedAt),
        ] {
            body += "<dt>\(name)</dt><dd>\(h(value))</dd>"
        }
        body += "</dl>\n"
        let exceptions = batch.exceptions
        body +=
            "<div class=\"summary\"><div>Lines<b>\(batch.lines.count)</b></div><div>Exceptions<b>\(exceptions.count)</b></div>"
            + "<div>Exceptions' total<b>\(h(amounts(totals(exceptions.map(\.amountPaid)))))</b></div></div>\n"
        if !batch.batchDeductions.isEmpty {
            body +=
                "<h2>Adjustments of the payment</h2><table><tr><th>Code</th><th>Reference</th><th class=\"num\">Amount</th></tr>\n"
            for deduction in batch.batchDeductions {
                body +=
                    "<tr><td>\(h(deduction.reasonCode))</td><td>\(h(deduction.reference))</td><td class=\"num\">\(h(amount(deduction.amount)))</td></tr>\n"
            }
            body += "</table>\n"
        }
        let canWork = !frozen && scope.permits(.work, client: batch.client)
        body +=
            "<h2>Lines</h2><table><tr><th>#</th><th>Reference</th><th class=\"num\">Paid</th><th>Status</th><th>Invoice</th><th>Rule</th><th>Deductions</th><th>Suggestions</th></tr>\n"
        for line in batch.lines {
            body +=
                "<tr id=\"line-\(line.position)\"><td>\(ReviewAdapter.lineNumber(line.position))</td><td>\(h(line.reference))</td>"
                + "<td class=\"num\">\(h(amount(line.amountPaid)))</td><td><span class=\"pill \(line.isException ? "bad" : "ok")\">\(h(label(line.status)))</span></td><td>"
            if let invoice = line.invoice {
                body += "<a href=\"\(h(Link.invoice(client: batch.client, number: invoice)))\">\(h(invoice))</a>"
                if let customer = line.customer {
                    body +=
                        " <a class=\"muted\" href=\"\(h(Link.customer(client: batch.client, customer: customer)))\">\(h(customer))</a>"
                }
            } else {
                body += "-"
            }
            if canWork && line.status != nil {
                body += "<br><a href=\"\(Link.reassign(batch: batch.id, position: line.position))\">Reassign…</a>"
            }
            body += "</td><td class=\"muted\">\(h(line.rule))</td><td>"
            for deduction in line.deductions {
                let wording = ReviewAdapter.reasonWording(deduction.reasonCode)
                body +=
                    "<div>\(h(deduction.type))\(deduction.reasonCode.map { " (\(h($0)))" } ?? "")\(wording.map { " \(h($0))" } ?? "") "
                    + "\(h(amount(deduction.amount)))\(deduction.reference.map { " <span class=\"muted\">ref \(h($0))</span>" } ?? "")</div>"
            }
            body += "</td><td>"
            for candidate in line.suggestions {
                body +=
                    "<div>\(candidate.number). <a href=\"\(h(Link.invoice(client: batch.client, number: candidate.invoice)))\">\(h(candidate.invoice))</a>"
                    + " open \(h(candidate.openAmount.map(amount) ?? "-")) · \(h(label(candidate.kind)))"
                if canWork {
                    // One form for every suggestion of the batch (below the table); each button names its own.
                    body +=
                        " <button class=\"quiet\" type=\"submit\" form=\"accept-suggestion\" name=\"suggestion\" "
                        + "value=\"\(line.position):\(candidate.number):\(h(candidate.invoice))\">Accept</button>"
                }
                body += "</div>"
            }
            body += "</td></tr>\n"
        }
        body += "</table>\n"
        if canWork && batch.lines.contains(where: { !$0.suggestions.isEmpty }) {
            body +=
                "<form id=\"accept-suggestion\" method=\"post\" action=\"/batches/\(batch.id)/accept-suggestion\">\(tokenField)\(version)</form>\n"
        }
        body += "<h2>Decide</h2>\n"
        if batch.status == "new" {
            if scope.permits(.approve, client: batch.client) {
                let needsReason = !batch.balanced || !exceptions.isEmpty
                body +=
                    "<form class=\"action\" method=\"post\" action=\"/batches/\(batch.id)/approve\">\(tokenField)\(version)"
                if needsReason {
                    body +=
                        "<p>This batch has \(exceptions.count) exception\(exceptions.count == 1 ? "" : "s")\(batch.balanced ? "" : " and is out of balance by \(h(amount(batch.difference)))")."
                        + " Approving it posts them as they are.</p><p><label class=\"check\"><input type=\"checkbox\" name=\"accept_exceptions\" value=\"yes\"> Accept the exceptions</label></p>"
                        + "<p><label>Reason (recorded) <textarea name=\"reason\" maxlength=\"500\"></textarea></label></p>"
                }
                body += "<p><button type=\"submit\">Approve batch \(batch.id)</button></p></form>\n"
            } else {
                body +=
                    "<p class=\"muted\">Approving needs the reviewer role with a review grant for \(h(batch.client)), or the admin role.</p>\n"
            }
        } else if batch.status == "approved" {
            if scope.permits(.reverse, client: batch.client) {
                body +=
                    "<form class=\"action\" method=\"post\" action=\"/batches/\(batch.id)/reverse\">\(tokenField)\(version)"
                    + "<p>Reversing restores every invoice's open amount; the batch's export then carries a reversing entry.</p>"
                    + "<p><label>Reason (recorded) <textarea name=\"reason\" maxlength=\"500\" required></textarea></label></p>"
                    + "<p><button class=\"danger\" type=\"submit\">Reverse batch \(batch.id)</button></p></form>\n"
            } else {
                body += "<p class=\"muted\">Approved and frozen; only an admin can reverse it.</p>\n"
            }
        } else {
            body += "<p class=\"muted\">\(h(label(batch.status))); nothing more to decide.</p>\n"
        }
        if batch.status == "approved" || batch.status == "reversed" {
            body += exportForm(batch.id, exported: !batch.exports.isEmpty)
        }
        body += "<h2>History</h2>\n"
        if batch.decisions.isEmpty && batch.exports.isEmpty {
            body += "<p class=\"muted\">No decision yet.</p>\n"
        } else {
            body += "<table><tr><th>When</th><th>Who</th><th>What</th><th>Line</th><th>Detail</th></tr>\n"
            for decision in batch.decisions {
                body +=
                    "<tr><td>\(h(decision.at))</td><td>\(h(decision.actor))</td><td>\(h(decision.action))</td>"
                    + "<td>\(decision.line.map { String($0) } ?? "")</td><td>\(h(decision.detail))</td></tr>\n"
            }
            for export in batch.exports {
                body +=
                    "<tr><td>\(h(export.at))</td><td></td><td>export</td><td></td><td>\(h(export.format)) sha256 \(h(String(export.sha256.prefix(16))))…</td></tr>\n"
            }
            body += "</table>\n"
        }
        return body
    }

    func exportForm(_ id: Int64, exported: Bool) -> String {
        var form =
            "<form class=\"action\" method=\"post\" action=\"/batches/\(id)/export\">\(tokenField)<p><label>Journal format <select name=\"format\">"
        for format in GLExport.Format.allCases {
            form += "<option\(format == .hledger ? " selected" : "")>\(format.rawValue)</option>"
        }
        form += "</select></label></p>"
        if exported {
            form +=
                "<p><label class=\"check\"><input type=\"checkbox\" name=\"again\" value=\"yes\"> Export again (it was exported before)</label></p>"
        }
        form += "<p><button type=\"submit\">Download the journal of batch \(id)</button></p></form>\n"
        return form
    }

    // MARK: Reassign

    func reassign(
        _ batch: BatchReview, line: BatchReview.Line, search: String, results: [InvoiceMatch], notice: Notice?
    ) -> String {
        var body =
            "<p><a href=\"\(Link.batch(batch.id))#line-\(line.position)\">Batch \(batch.id)</a> · line \(ReviewAdapter.lineNumber(line.position)): "
            + "\(h(line.reference)), paid \(h(amount(line.amountPaid))), <span class=\"pill \(line.isException ? "bad" : "ok")\">\(h(label(line.status)))</span>"
            + (line.invoice.map { " now on \(h($0))" } ?? "") + "</p>\n"
        body +=
            "<form class=\"filters\" method=\"get\" action=\"\(Link.reassign(batch: batch.id, position: line.position))\">"
            + "<label>Find an invoice of \(h(batch.client)) by number, amount or customer <input type=\"search\" name=\"q\" value=\"\(h(search))\" autofocus></label>"
            + "<button type=\"submit\">Search</button></form>\n"
        if !search.isEmpty && results.isEmpty { body += "<p>No invoice matches “\(h(search))”.</p>\n" }
        if !results.isEmpty {
            body +=
                "<table><tr><th>Invoice</th><th>Customer</th><th>Date</th><th class=\"num\">Amount</th><th class=\"num\">Open</th><th></th></tr>\n"
            for result in results {
                body +=
                    "<tr><td><a href=\"\(h(Link.invoice(client: batch.client, number: result.invoice)))\">\(h(result.invoice))</a></td>"
                    + "<td>\(h(result.customer))\(result.customerName.map { " · \(h($0))" } ?? "")</td><td>\(h(result.date))</td>"
                    + "<td class=\"num\">\(h(amount(result.amount)))</td><td class=\"num\">\(h(amount(result.openAmount)))</td><td>"
                    + "<form class=\"inline\" method=\"post\" action=\"\(Link.reassign(batch: batch.id, position: line.position))\">\(tokenField)"
                    + "<input type=\"hidden\" name=\"version\" value=\"\(h(batch.version))\"><input type=\"hidden\" name=\"invoice\" value=\"\(h(result.invoice))\">"
                    + "<button class=\"quiet\" type=\"submit\">Apply to \(h(result.invoice))</button></form></td></tr>\n"
            }
            body += "</table>\n"
        }
        return layout(
            "Reassign line \(ReviewAdapter.lineNumber(line.position)) of batch \(batch.id)", notice: notice, body)
    }

    // MARK: Invoice and account

    func invoice(_ history: InvoiceHistory) -> String {
        var body =
            "<dl class=\"header\"><dt>Client</dt><dd>\(h(history.client.rawValue))</dd><dt>Customer</dt>"
            + "<dd><a href=\"\(h(Link.customer(client: history.client.rawValue, customer: history.customer)))\">\(h(history.customer))</a></dd>"
            + "<dt>Date</dt><dd>\(h(history.date))</dd><dt>Amount</dt><dd>\(h(amount(history.amount)))</dd>"
            + "<dt>Open</dt><dd>\(h(amount(history.openAmount)))</dd></dl>\n"
        body += "<h2>Applied</h2>\n"
        if history.applications.isEmpty {
            body += "<p class=\"muted\">Nothing applied yet.</p>\n"
        } else {
            body +=
                "<table><tr><th>Kind</th><th>Reference</th><th class=\"num\">Amount</th><th>Status</th><th>Batch</th><th>Date</th></tr>\n"
            for item in history.applications {
                body +=
                    "<tr><td>\(h(label(item.kind)))</td><td>\(h(item.reference))</td><td class=\"num\">\(h(amount(item.amount)))</td>"
                    + "<td>\(h(item.status))</td><td>\(item.batch.map { "<a href=\"\(Link.batch($0))\">\($0)</a>" } ?? "")</td><td>\(h(item.date))</td></tr>\n"
            }
            body += "</table>\n"
        }
        return layout("Invoice \(history.invoice)", body)
    }

    func account(_ account: CustomerAccount) -> String {
        var body = "<p>Client \(h(account.client.rawValue)) · balance <b>\(h(amount(account.balance)))</b></p>\n"
        body +=
            "<table><tr><th>Date</th><th>Kind</th><th>Reference</th><th>Invoice</th><th class=\"num\">Amount</th><th class=\"num\">Balance</th></tr>\n"
        for entry in account.entries {
            body +=
                "<tr><td>\(h(entry.date))</td><td>\(h(label(entry.kind)))</td><td>\(h(entry.reference))</td>"
                + "<td>\(entry.invoice.map { "<a href=\"\(h(Link.invoice(client: account.client.rawValue, number: $0)))\">\(h($0))</a>" } ?? "")</td>"
                + "<td class=\"num\">\(h(amount(entry.amount)))</td><td class=\"num\">\(h(amount(entry.balance)))</td></tr>\n"
        }
        body += "</table>\n"
        if !account.byType.isEmpty {
            body +=
                "<h2>Credits and deductions by type</h2><table><tr><th>Type</th><th class=\"num\">Amount</th></tr>\n"
            for type in account.byType.keys.sorted() {
                body +=
                    "<tr><td>\(h(label(type)))</td><td class=\"num\">\(h(amount(account.byType[type]!)))</td></tr>\n"
            }
            body += "</table>\n"
        }
        return layout("Customer \(account.customer)", body)
    }

    // MARK: Exports

    func exports(_ batches: [BatchSummary], canExport: Bool, notice: Notice?) -> String {
        var body =
            "<p class=\"muted\">A batch's journal can be downloaded once it is approved (a reversed batch adds its reversing entry). Every download is recorded.</p>\n"
        if batches.isEmpty { body += "<p>No approved batch yet.</p>\n" }
        if !batches.isEmpty {
            body +=
                "<table><tr><th>Batch</th><th>Client</th><th>Payer</th><th>Payment date</th><th class=\"num\">Total</th><th>Status</th><th>Journal</th></tr>\n"
            for batch in batches {
                body +=
                    "<tr><td><a href=\"\(Link.batch(batch.id))\">\(batch.id)</a></td><td>\(h(batch.client))</td><td>\(h(batch.payer))</td>"
                    + "<td>\(h(batch.paymentDate))</td><td class=\"num\">\(h(batch.total)) \(h(batch.currency))</td><td>\(h(label(batch.status)))</td><td>"
                if canExport {
                    body +=
                        "<form class=\"inline\" method=\"post\" action=\"/batches/\(batch.id)/export\">\(tokenField)<select name=\"format\" aria-label=\"format\">"
                    for format in GLExport.Format.allCases {
                        body += "<option\(format == .hledger ? " selected" : "")>\(format.rawValue)</option>"
                    }
                    body +=
                        "</select> <label class=\"check\"><input type=\"checkbox\" name=\"again\" value=\"yes\"> again</label> <button class=\"quiet\" type=\"submit\">Download</button></form>"
                }
                body += "</td></tr>\n"
            }
            body += "</table>\n"
        }
        return layout("Exports", current: "/exports", notice: notice, body)
    }

    // MARK: Messages

    func message(_ heading: String, _ text: String) -> String {
        layout(heading, "<p>\(h(text))</p>\n<p><a href=\"/\">This morning</a></p>\n")
    }
}

/// A page body kept for everyone whose roles permit the same, with the form token left out: it
/// is cut where the token goes, and each answer puts the reader's own token back in.
struct CachedBody: Sendable {
    /// Stands for the token while the body is drawn (random, so no data can look like it).
    static let placeholder = "tk" + Token.random()
    let parts: [[UInt8]]

    init(_ text: String) {
        let marker = Array(CachedBody.placeholder.utf8)
        var parts: [[UInt8]] = []
        var text = text
        text.withUTF8 { bytes in
            var start = 0
            var index = 0
            let last = bytes.count - marker.count
            while index <= last {
                if bytes[index] == marker[0], memcmp(bytes.baseAddress! + index, marker, marker.count) == 0 {
                    parts.append(Array(bytes[start..<index]))
                    index += marker.count
                    start = index
                } else {
                    index += 1
                }
            }
            parts.append(Array(bytes[start..<bytes.count]))
        }
        self.parts = parts
    }

    var size: Int { parts.reduce(0) { $0 + $1.count } }

    /// The body with `token` where the placeholder was.
    func bytes(token: String) -> [UInt8] {
        let tokenBytes = Array(token.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(parts.reduce(0) { $0 + $1.count } + parts.count * tokenBytes.count)
        for (index, part) in parts.enumerated() {
            if index > 0 { out += tokenBytes }
            out += part
        }
        return out
    }
}
