public import NightjarCore

extension MatchingRules {
    /// Rules files larger than this are refused (a rules file needs a few hundred bytes).
    public static let maximumFileBytes = 1024 * 1024

    /// Reads a client's rules file (`rules/CLIENT.rules`), starting from the documented defaults:
    ///
    /// ```
    /// write_off_amount = 5.00            # differences up to this are written off as paid in full
    /// write_off_percent = 0.5            # ...or up to this share of the invoice, whichever is smaller
    /// discount_grace_days = 5            # discounts accepted this many days past their period
    /// look_back_days = 730               # older open invoices are not candidates
    /// strip_prefixes = INVOICE INV NO #  # reference normalisation
    /// strip_leading_zeros = yes
    /// strip_zero_suffix = yes            # INV-123-00 → 123
    /// reason.99 = promotion              # a payer's reason code → deduction type
    /// payer_id_is_customer_id = no       # yes: a payer id equal to a customer id means that customer
    /// ```
    public static func parse(_ text: String, file: String) throws(GeneralError) -> MatchingRules {
        guard text.utf8.count <= maximumFileBytes else {
            throw GeneralError(
                code: "input.too_large",
                message: "the rules file is \(text.utf8.count) bytes, more than the 1 MiB a rules file may be",
                location: SourceLocation(file: file, line: 1), exitStatus: .dataError)
        }
        if let location = NULByte.location(in: text, file: file) {
            throw GeneralError(
                code: "input.nul_byte", message: NULByteError(field: "rules file").message, location: location,
                exitStatus: .config)
        }
        var rules = MatchingRules.standard
        for (offset, raw) in text.textLines.enumerated() {
            let location = SourceLocation(file: file, line: offset + 1, column: 1)
            func fail(_ message: String) -> GeneralError {
                GeneralError(code: "rules.invalid", message: message, location: location, exitStatus: .config)
            }
            let line =
                (raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "")
                .trimmingWhitespace()
            // `#` is also a prefix worth stripping: keep it when it is the value of strip_prefixes.
            let full = raw.trimmingWhitespace()
            if line.isEmpty { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingWhitespace() }
            guard parts.count == 2 else { throw fail("expected `key = value`") }
            let (key, value) = (parts[0], parts[1])
            func number(_ digits: Int) throws(GeneralError) -> Int64 {
                do { return try Money.parseMinorUnits(value, digits: digits) } catch {
                    throw fail("`\(key)` takes a number, not \"\(value)\"")
                }
            }
            func flag() throws(GeneralError) -> Bool {
                switch value.lowercased() {
                case "yes", "true", "on": return true
                case "no", "false", "off": return false
                default: throw fail("`\(key)` takes yes or no")
                }
            }
            switch key {
            case "write_off_amount": rules.writeOffAmount = try number(2)
            case "write_off_percent": rules.writeOffBasisPoints = try number(2)
            case "discount_grace_days": rules.discountGraceDays = Int(try number(0))
            case "look_back_days": rules.lookBackDays = Int(try number(0))
            case "strip_prefixes":
                let listed = full.split(separator: "=", maxSplits: 1).last.map(String.init) ?? value
                rules.normalisation.prefixes = listed.split(separator: " ").map { $0.uppercased() }.filter {
                    !$0.isEmpty
                }
            case "strip_leading_zeros": rules.normalisation.stripLeadingZeros = try flag()
            case "strip_zero_suffix": rules.normalisation.stripZeroSuffix = try flag()
            case "payer_id_is_customer_id": rules.payerIDIsCustomerID = try flag()
            default:
                guard key.hasPrefix("reason.") else {
                    throw fail(
                        "unknown rule `\(key)` (write_off_amount, write_off_percent, discount_grace_days, look_back_days, strip_prefixes, strip_leading_zeros, strip_zero_suffix, payer_id_is_customer_id, reason.CODE)"
                    )
                }
                guard let type = DeductionType(rawValue: value.lowercased()) else {
                    throw fail(
                        "unknown deduction type `\(value)` (\(DeductionType.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                rules.reasonCodes.types[String(key.dropFirst("reason.".count)).uppercased()] = type
            }
        }
        return rules
    }
}
