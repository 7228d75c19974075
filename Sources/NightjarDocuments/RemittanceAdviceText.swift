public import NightjarCore

/// Remittance advices as plain text, one line per payment, line and deduction: what `profile try`
/// prints and what the layout fixtures state as each file's exact result.
///
/// ```
/// payment ACH-2026-0217 date 2026-02-17 payer "Harbor Foods" total 2066.85 USD computed balanced
///   line IV INV-10041 paid 1155.00
///     deduction -45.00 DMG "Damaged in transit" ref DM-5566
///   payment deduction -120.00 PROMO "Spring promotion" ref PROMO-77
/// ```
public enum RemittanceAdviceText {
    public static func render(_ advices: [RemittanceAdvice]) -> String {
        var lines: [String] = []
        for advice in advices {
            var head = "payment \(word(advice.controlNumber))"
            if let date = advice.effectiveDate { head += " date \(date)" }
            if let method = advice.paymentMethod { head += " method \(word(method))" }
            if let payer = advice.payer {
                if !payer.name.isEmpty { head += " payer \(quoted(payer.name))" }
                if let id = payer.id { head += " id \(word(id))" }
            }
            if let trace = advice.traceNumber, trace != advice.controlNumber { head += " trace \(word(trace))" }
            head +=
                " total \(advice.total.decimalString) \(advice.currency) \(advice.totalDeclared ? "stated" : "computed")"
            if !advice.difference.isZero {
                head += " out by \(advice.difference.decimalString)"
            } else {
                head += advice.findings.isEmpty ? " balanced" : " out of balance"
            }
            lines.append(head)
            for finding in advice.findings { lines.append("  finding \(finding.code) \(finding.message)") }
            for line in advice.lines {
                var text =
                    "  line \(word(line.referenceQualifier)) \(word(line.reference)) paid \(line.amountPaid.decimalString)"
                if let amount = line.invoiceAmount { text += " invoice \(amount.decimalString)" }
                if let discount = line.discount { text += " discount \(discount.decimalString)" }
                if let date = line.dates.first(where: { $0.qualifier == "003" }) { text += " date \(date.date)" }
                if let po = line.references.first(where: { $0.qualifier == "PO" }) { text += " po \(word(po.value))" }
                lines.append(text)
                for adjustment in line.adjustments { lines.append("    " + deduction(adjustment)) }
            }
            for adjustment in advice.paymentAdjustments { lines.append("  payment " + deduction(adjustment)) }
        }
        return lines.map { $0 + "\n" }.joined()
    }

    static func deduction(_ adjustment: Adjustment) -> String {
        var text = "deduction \(adjustment.amount.decimalString)"
        if !adjustment.reasonCode.isEmpty { text += " \(word(adjustment.reasonCode))" }
        if let reason = adjustment.reasonText { text += " \(quoted(reason))" }
        if let reference = adjustment.reference { text += " ref \(word(reference))" }
        if let qualifier = adjustment.referenceQualifier { text += " qualifier \(word(qualifier))" }
        if let invoice = adjustment.invoice { text += " invoice \(word(invoice))" }
        return text
    }

    static func word(_ text: String) -> String {
        text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" }) ? quoted(text) : text
    }

    static func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
}
