import Dispatch
import Foundation
public import NightjarCore
public import NightjarLedger
import NightjarMatching

/// The morning report: one self-contained HTML page (no external assets; a Content-Security-
/// Policy that allows no script and nothing from elsewhere), per client, exceptions first, then
/// totals per payer, deductions by type and each batch's lines, with the night's portal
/// "Needs attention" on top (each credential that did not go well and each unread file, with
/// what to do), then warnings. Printable. Pure: values in, text out.
public struct MorningReport: Sendable {
    public let title: String
    public let generatedAt: String
    public let batches: [ReviewBatch]
    /// What a person must see first (`NightAttention.list`).
    public let attention: [RunLog.Attention]
    public let warnings: [String]
    /// Exceptions among tonight's new batches (a night's report); nil for a report asked for by hand.
    public let newTonight: Int?

    public init(
        title: String, generatedAt: String, batches: [ReviewBatch], attention: [RunLog.Attention] = [],
        warnings: [String] = [],
        newTonight: Int? = nil
    ) {
        self.title = title
        self.generatedAt = generatedAt
        self.batches = batches
        self.attention = attention
        self.warnings = warnings
        self.newTonight = newTonight
    }

    /// Exceptions waiting in these batches: the count the report and the night's summary both give.
    public static func exceptionCount(_ batches: [ReviewBatch]) -> Int {
        batches.reduce(0) { $0 + $1.lines.filter(\.isException).count }
    }

    /// An id for anchors: letters, digits, `-` and `_` only.
    static func anchor(_ text: String) -> String {
        String(text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") ? $0 : "_" })
    }

    /// What a clerk does next about one exception: the command, with the batch and line filled in.
    static func whatToDo(_ batch: ReviewBatch, _ line: ReviewBatch.Line) -> String {
        let place = "\(batch.id) \(line.number)"
        if let first = line.suggestions.first {
            return
                "check suggestion 1, then: nightjar batch accept-suggestion \(place) 1 --invoice \(first.invoiceNumber)"
        }
        switch line.status ?? "not_matched" {
        case "short_paid":
            return
                "check the deductions; record a credit (nightjar account credit) or approve with --accept-exceptions --reason"
        case "over_paid":
            return
                "the surplus goes to unapplied cash on approval; or point the line at the right invoice: nightjar batch reassign \(place) INVOICE"
        case "paid_twice":
            return
                "the invoice was paid before (see the line it names): reverse one of the two, or approve with --accept-exceptions --reason"
        case "unknown_reference", "ambiguous":
            return
                "find the invoice (nightjar invoices show, the site's search), then: nightjar batch reassign \(place) INVOICE"
        case "unknown_payer":
            return
                "map the payer to a customer: nightjar customers alias add PAYER CUSTOMER --client \(batch.client), then nightjar match --client \(batch.client)"
        case "duplicate_payment": return "the same payment came in another file; nothing to apply"
        case "debit_memo": return "a deduction sent as its own line: check it against the invoice it names"
        case "not_matched": return "nightjar match"
        default: return "nightjar batch show \(batch.id)"
        }
    }

    /// `shortage (06) quantity contested 50.00 USD`.
    static func deduction(_ deduction: ReviewBatch.Deduction) -> String {
        var text = deduction.type
        if let code = deduction.reasonCode {
            text += " (\(code))"
            if let wording = ReasonCodeTable.wording(of: code) { text += " " + wording }
        }
        if let words = deduction.text { text += " “\(words)”" }
        if let reference = deduction.reference { text += " ref \(reference)" }
        return text + " " + amount(deduction.amount)
    }

    /// `1. INV-2001 open 300.00 USD · transposed · amount exact`.
    static func suggestion(_ number: Int, _ suggestion: Suggestion) -> String {
        "\(number). \(suggestion.invoiceNumber) open \(amount(suggestion.openAmount)) · \(label(suggestion.kind.rawValue)) · amount \(label(suggestion.amountFit.rawValue))"
    }

    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

    /// Text safe inside HTML. (The page is redacted as a whole when it is written.)
    public static func escape(_ text: String) -> String {
        // Most texts (ids, amounts, dates) hold nothing to escape: found over the text's own bytes.
        var bytes = text
        let special = bytes.withUTF8 { buffer in
            buffer.contains { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }
        }
        guard special else { return text }
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// `12345.6` style amounts with thousands separators: `12,345.60 USD`.
    public static func amount(_ money: Money) -> String {
        // Written digit by digit: the report writes thousands of amounts.
        let digits = money.currency.minorUnitDigits
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        let magnitude = money.minorUnits.magnitude
        var text: [UInt8] = money.minorUnits < 0 ? [45] : []
        let whole = String(magnitude / scale).utf8
        // Thousands separators: after the first one to three digits, then every three.
        let leading = whole.count % 3 == 0 ? 3 : whole.count % 3
        for (position, digit) in whole.enumerated() {
            if position >= leading && (position - leading) % 3 == 0 { text.append(44) }
            text.append(digit)
        }
        if digits > 0 {
            let fraction = String(magnitude % scale).utf8
            text.append(46)
            text += repeatElement(48, count: digits - fraction.count)
            text += fraction
        }
        text.append(32)
        text += money.currency.description.utf8
        return String(decoding: text, as: UTF8.self)
    }

    static func sum(_ values: [Money]) -> [Money] {
        var totals: [CurrencyCode: Int64] = [:]
        for value in values { totals[value.currency, default: 0] += value.minorUnits }
        return totals.keys.sorted { $0.description < $1.description }.map {
            Money(minorUnits: totals[$0]!, currency: $0)
        }
    }

    static func amounts(_ values: [Money]) -> String {
        let totals = sum(values)
        return totals.isEmpty ? "0" : totals.map(amount).joined(separator: " + ")
    }

    static func label(_ status: String?) -> String {
        let text = status ?? "not matched"
        // A status is an ASCII identifier: its underscores become spaces byte for byte.
        guard text.utf8.allSatisfy({ $0 < 0x80 }) else { return String(text.map { $0 == "_" ? " " : $0 }) }
        guard text.utf8.contains(95) else { return text }
        return String(decoding: text.utf8.map { $0 == 95 ? 32 : $0 }, as: UTF8.self)
    }

    /// The page. It is written with `RedactedFile`, which passes it through the redactor once
    /// (secrets are matched in every encoding, HTML entities included).
    public func html() -> String {
        let e = MorningReport.escape
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="\(MorningReport.contentSecurityPolicy)">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(title))</title>
            <style>
            body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2330; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
            h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.3rem; margin: 2rem 0 .5rem; border-bottom: 2px solid #1d2330; padding-bottom: .2rem; }
            h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; } .muted { color: #5b6475; }
            table { border-collapse: collapse; width: 100%; margin: .3rem 0 1rem; font-variant-numeric: tabular-nums; }
            th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #d9dde5; vertical-align: top; }
            th { background: #f1f3f7; font-weight: 600; } td.num, th.num { text-align: right; white-space: nowrap; }
            .pill { display: inline-block; padding: 0 .45rem; border-radius: .6rem; font-size: .85em; background: #e7eaf0; }
            .bad { background: #fde2e1; color: #8a1c17; } .ok { background: #dff3e4; color: #155b2b; } .warn { background: #fff1cc; color: #7a5200; }
            .summary { display: flex; gap: 1rem; flex-wrap: wrap; margin: .5rem 0 1rem; }
            ul.suggestions { list-style: none; padding: 0; margin: 0; } td.todo code { white-space: normal; }
            .summary div { background: #f1f3f7; border-radius: .4rem; padding: .5rem .8rem; } .summary b { display: block; font-size: 1.15rem; }
            @media print { body { margin: 0; max-width: none; font-size: 11px; } h2 { page-break-before: always; } h2.first { page-break-before: avoid; }
                           table { page-break-inside: auto; } tr { page-break-inside: avoid; } }
            </style></head><body>
            <h1>\(e(title))</h1>
            <p class="muted">Generated \(e(generatedAt)) · \(batches.count) batch\(batches.count == 1 ? "" : "es") awaiting review</p>

            """
        if !attention.isEmpty {
            page += "<h2 class=\"first\" id=\"needs-attention\">Needs attention (\(attention.count))</h2>\n"
            page += "<p>Until each of these is settled, some payments may be missing from the batches below.</p>\n"
            page +=
                "<table><tr><th>Client / portal</th><th>Outcome</th><th>File</th><th>What happened</th><th>What to do</th></tr>\n"
            for entry in attention {
                page +=
                    "<tr><td>\(e(entry.client))/\(e(entry.item))</td><td><span class=\"pill bad\">\(e(MorningReport.label(entry.outcome)))</span></td>"
                    + "<td>\(e(entry.file ?? "-"))</td><td>\(e(entry.message))</td><td>\(e(entry.whatToDo))</td></tr>\n"
            }
            page += "</table>\n"
        }
        if !warnings.isEmpty {
            if attention.isEmpty { page += "<h2 class=\"first\">The night</h2>\n" }
            for warning in warnings { page += "<p><span class=\"pill warn\">warning</span> \(e(warning))</p>\n" }
        }
        let clients = Array(Set(batches.map(\.client))).sorted()
        // Each client's batches, in the order given (grouped once, not filtered per client).
        let byClient = Dictionary(grouping: batches, by: \.client)
        let waiting = MorningReport.exceptionCount(batches)
        page +=
            "<div class=\"summary\" id=\"exception-counts\">"
            + (newTonight.map { "<div>Exceptions new tonight<b id=\"new-tonight\">\($0)</b></div>" } ?? "")
            + "<div>Exceptions waiting in total<b id=\"waiting-in-total\">\(waiting)</b></div>"
            + "<div>Batches awaiting approval<b>\(batches.filter { $0.status == "new" }.count)</b></div></div>\n"
        // Each client's entry and section are built apart, on every core, and joined in order.
        let parts = MorningReport.inParallel(clients.count) { index in
            let client = clients[index]
            let mine = byClient[client] ?? []
            return (
                contents: MorningReport.contentsEntry(client, mine),
                section: MorningReport.clientSection(
                    client, mine, first: index == 0 && attention.isEmpty && warnings.isEmpty)
            )
        }
        // The page grows once to hold every part (it is megabytes for hundreds of clients).
        page.reserveCapacity(
            page.utf8.count + parts.reduce(4096) { $0 + $1.contents.utf8.count + $1.section.utf8.count })
        if !clients.isEmpty {
            // A table of contents: each client and its batches, by anchor.
            page += "<nav id=\"contents\"><h3>Contents</h3><ul>\n"
            if !attention.isEmpty {
                page += "<li><a href=\"#needs-attention\">Needs attention (\(attention.count))</a></li>\n"
            }
            for part in parts { page += part.contents }
            page += "</ul></nav>\n"
        }
        if clients.isEmpty { page += "<p>No batches await review.</p>\n" }
        for part in parts { page += part.section }
        page +=
            "<p class=\"muted\">Nightjar · amounts are exact; nothing on this page is a secret.</p>\n</body></html>\n"
        return page
    }

    /// A client's line in the table of contents, with its batches.
    static func contentsEntry(_ client: String, _ mine: [ReviewBatch]) -> String {
        let e = MorningReport.escape
        var page = ""
        let exceptions = mine.flatMap { $0.lines.filter(\.isException) }
        page +=
            "<li><a href=\"#client-\(MorningReport.anchor(client))\">\(e(client))</a> · \(mine.count) batch\(mine.count == 1 ? "" : "es") · "
            + "<a href=\"#exceptions-\(MorningReport.anchor(client))\">\(exceptions.count) exception\(exceptions.count == 1 ? "" : "s")</a>"
            + (exceptions.isEmpty ? "" : " (\(e(MorningReport.amounts(exceptions.map(\.amountPaid)))))")
            + "<ul>\n"
        for batch in mine {
            page +=
                "<li><a href=\"#batch-\(batch.id)\">Batch \(batch.id) · \(e(batch.payer ?? "-")) · \(e(batch.paymentDate ?? "-")) · \(e(MorningReport.amount(batch.total)))</a>"
                + (batch.status == "new"
                    ? " <span class=\"pill warn\">awaiting approval</span>"
                    : " <span class=\"pill\">\(e(MorningReport.label(batch.status)))</span>")
                + "</li>\n"
        }
        page += "</ul></li>\n"
        return page
    }

    /// A client's section: its summary, exceptions, totals per payer, deductions and batches.
    /// `first` marks the page's first heading (no page break before it when printed).
    static func clientSection(_ client: String, _ mine: [ReviewBatch], first: Bool) -> String {
        let e = MorningReport.escape
        var page = ""
        let lineCount = mine.reduce(0) { $0 + $1.lines.count }
        // Exceptions, the largest first (by currency, then amount), with their total: sorted as
        // places (batch, line) in `mine`, so no batch or line is copied to compare.
        var places: [(batch: Int, line: Int)] = []
        for (batchIndex, batch) in mine.enumerated() {
            for (lineIndex, line) in batch.lines.enumerated() where line.isException {
                places.append((batchIndex, lineIndex))
            }
        }
        places.sort { left, right in
            let (a, b) = (mine[left.batch].lines[left.line], mine[right.batch].lines[right.line])
            if a.amountPaid.currency != b.amountPaid.currency { return a.amountPaid.currency < b.amountPaid.currency }
            if a.amountPaid.minorUnits != b.amountPaid.minorUnits {
                return a.amountPaid.minorUnits > b.amountPaid.minorUnits
            }
            if mine[left.batch].id != mine[right.batch].id { return mine[left.batch].id < mine[right.batch].id }
            return a.position < b.position
        }
        let exceptions = places.map { (mine[$0.batch], mine[$0.batch].lines[$0.line]) }
        let key = MorningReport.anchor(client)
        page +=
            "<h2 id=\"client-\(key)\"\(first ? " class=\"first\"" : "")>Client \(e(client))</h2>\n"
        page +=
            "<div class=\"summary\"><div>Batches<b>\(mine.count)</b></div><div>Payments<b>\(e(MorningReport.amounts(mine.map(\.total))))</b></div>"
            + "<div>Lines<b>\(lineCount)</b></div><div>Exceptions<b>\(exceptions.count)</b></div>"
            + "<div>Exceptions' total<b>\(e(MorningReport.amounts(exceptions.map(\.1.amountPaid))))</b></div>"
            + "<div>Out of balance<b>\(mine.filter { !$0.balanced }.count)</b></div></div>\n"
        page += "<h3 id=\"exceptions-\(key)\">Needs review (exceptions first, largest first)</h3>\n"
        if exceptions.isEmpty {
            page +=
                "<p><span class=\"pill ok\">nothing</span> every line matched an invoice in full or with its discount.</p>\n"
        } else {
            page +=
                "<table class=\"exceptions\"><tr><th>Batch · line</th><th>Customer</th><th>Payer</th><th>Reference</th><th class=\"num\">Paid</th><th>Status</th>"
                + "<th>Invoice</th><th>Deductions</th><th>Suggestions</th><th>What to do</th></tr>\n"
            for (batch, line) in exceptions {
                let deductions = line.deductions.map(MorningReport.deduction).joined(separator: "; ")
                let customer = line.customer.map { id in (line.customerName.map { "\($0) (\(id))" } ?? id) } ?? "-"
                let suggestions = line.suggestions.enumerated().map {
                    "<li>\(e(MorningReport.suggestion($0.offset + 1, $0.element)))</li>"
                }.joined()
                page +=
                    "<tr class=\"exception\" data-amount=\"\(line.amountPaid.minorUnits)\"><td><a href=\"#batch-\(batch.id)-line-\(line.number)\">\(batch.id) · \(line.number)</a></td>"
                    + "<td>\(e(customer))</td><td>\(e(batch.payer ?? "-"))</td><td>\(e(line.reference))</td><td class=\"num\">\(e(MorningReport.amount(line.amountPaid)))</td>"
                    + "<td><span class=\"pill bad\">\(e(MorningReport.label(line.status)))</span>\(line.note.map { "<br><span class=\"muted\">\(e($0))</span>" } ?? "")</td>"
                    + "<td>\(e(line.invoice ?? "-"))</td><td>\(e(deductions))</td>"
                    + "<td>\(suggestions.isEmpty ? "" : "<ul class=\"suggestions\">\(suggestions)</ul>")</td>"
                    + "<td class=\"todo\"><code>\(e(MorningReport.whatToDo(batch, line)))</code></td></tr>\n"
            }
            page +=
                "<tr class=\"total\"><th colspan=\"4\">Total</th><th class=\"num\">\(e(MorningReport.amounts(exceptions.map(\.1.amountPaid))))</th><th colspan=\"5\"></th></tr>\n"
            page += "</table>\n"
        }
        for batch in mine where !batch.balanced {
            page +=
                "<p><span class=\"pill bad\">out of balance</span> batch \(batch.id) (\(e(batch.file))): lines and payment differ by \(e(MorningReport.amount(batch.difference)))</p>\n"
        }
        page +=
            "<h3>Totals per payer</h3>\n<table><tr><th>Payer</th><th class=\"num\">Payments</th><th class=\"num\">Total</th></tr>\n"
        for payer in Array(Set(mine.map { $0.payer ?? "-" })).sorted() {
            let theirs = mine.filter { ($0.payer ?? "-") == payer }
            page +=
                "<tr><td>\(e(payer))</td><td class=\"num\">\(theirs.count)</td><td class=\"num\">\(e(MorningReport.amounts(theirs.map(\.total))))</td></tr>\n"
        }
        page += "</table>\n"
        let deductions = mine.flatMap { $0.lines.flatMap(\.deductions) }
        page += "<h3>Deductions by type</h3>\n"
        if deductions.isEmpty {
            page += "<p class=\"muted\">No deductions.</p>\n"
        } else {
            page += "<table><tr><th>Type</th><th class=\"num\">Count</th><th class=\"num\">Amount</th></tr>\n"
            for type in Array(Set(deductions.map(\.type))).sorted() {
                let ofType = deductions.filter { $0.type == type }
                page +=
                    "<tr><td>\(e(type))</td><td class=\"num\">\(ofType.count)</td><td class=\"num\">\(e(MorningReport.amounts(ofType.map(\.amount))))</td></tr>\n"
            }
            page += "</table>\n"
        }
        let unmapped = deductions.filter(\.unmapped)
        if !unmapped.isEmpty {
            page +=
                "<h3>Unmapped reason codes</h3>\n<p class=\"muted\">Deductions whose code is not in the reason-code table count as manual; "
                + "map a code with <code>reason.CODE = TYPE</code> in rules/\(e(client)).rules.</p>\n"
            page +=
                "<table><tr><th>Code</th><th>Payer's words</th><th class=\"num\">Count</th><th class=\"num\">Amount</th></tr>\n"
            for code in Array(Set(unmapped.map { $0.reasonCode ?? "" })).sorted() {
                let ofCode = unmapped.filter { ($0.reasonCode ?? "") == code }
                let words = Array(Set(ofCode.compactMap(\.text))).sorted().joined(separator: "; ")
                page +=
                    "<tr><td>\(e(code))</td><td>\(e(words.isEmpty ? "-" : words))</td><td class=\"num\">\(ofCode.count)</td>"
                    + "<td class=\"num\">\(e(MorningReport.amounts(ofCode.map(\.amount))))</td></tr>\n"
            }
            page += "</table>\n"
        }
        page += "<h3>Batches</h3>\n"
        for batch in mine {
            page +=
                "<p id=\"batch-\(batch.id)\"><b>Batch \(batch.id)</b> "
                + (batch.status == "new"
                    ? "<span class=\"pill warn\">awaiting approval</span>"
                    : "<span class=\"pill\">\(e(MorningReport.label(batch.status)))</span>")
                + " · \(e(batch.payer ?? "-")) · payment \(e(batch.traceNumber ?? "-")) of \(e(batch.paymentDate ?? "-")) · "
                + "total \(e(MorningReport.amount(batch.total))) · <span class=\"muted\">\(e(batch.file))\(batch.portal.map { " from " + e($0) } ?? "")</span></p>\n"
            page +=
                "<table><tr><th>#</th><th>Reference</th><th class=\"num\">Paid</th><th>Status</th><th>Invoice</th><th>Rule</th></tr>\n"
            for line in batch.lines {
                page +=
                    "<tr id=\"batch-\(batch.id)-line-\(line.number)\"><td>\(line.number)</td><td>\(e(line.reference))</td><td class=\"num\">\(e(MorningReport.amount(line.amountPaid)))</td>"
                    + "<td><span class=\"pill \(line.isException ? "bad" : "ok")\">\(e(MorningReport.label(line.status)))</span></td>"
                    + "<td>\(e(line.invoice ?? "-"))</td><td class=\"muted\">\(e(line.rule ?? "-"))</td></tr>\n"
            }
            page += "</table>\n"
        }
        return page
    }

    /// `body(0..<count)` on every core, the results in order: a contiguous share of the indexes
    /// for each core, the calling thread taking the first. (Dispatch's `concurrentPerform` runs
    /// serially when called from a thread of Swift's task pool.)
    static func inParallel<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) -> T) -> [T] {
        let shares = min(count, ProcessInfo.processInfo.activeProcessorCount)
        guard shares > 1 else { return (0..<count).map(body) }
        let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
        results.initialize(repeating: nil)
        defer {
            results.deinitialize()
            results.deallocate()
        }
        nonisolated(unsafe) let slots = results
        let group = DispatchGroup()
        let bounds = (0...shares).map { $0 * count / shares }
        for share in 1..<shares {
            DispatchQueue.global().async(group: group) {
                for index in bounds[share]..<bounds[share + 1] { slots[index] = body(index) }
            }
        }
        for index in bounds[0]..<bounds[1] { slots[index] = body(index) }
        group.wait()
        return results.map { $0! }
    }
}
