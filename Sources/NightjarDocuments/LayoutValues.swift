import Foundation
public import NightjarCore

/// Typed values of the fields a profile read: amounts, dates, counts and identifiers, each
/// refused with the row and field named when it is not what the field needs.
struct LayoutValues {
    let profile: LayoutProfile
    let file: String?

    func failure(_ code: String, _ message: String, _ row: LayoutReading.Row) -> LayoutError {
        LayoutError(code: code, message: message, location: row.location)
    }

    /// Where a value sits, for messages: ` (cell C7)` for spreadsheet cells.
    func cellName(_ value: FieldValue) -> String { value.cell?.reference.map { " (cell \($0))" } ?? "" }

    /// An identifier exactly as the sender meant it. A spreadsheet number is restored to its
    /// digits (with the leading zeros a `00000000` number format shows); a fraction, or text a
    /// spreadsheet already rounded (`1.03521E+06`), is refused: the real number is lost.
    func identifier(_ field: String, _ row: LayoutReading.Row) throws(LayoutError) -> String? {
        guard let value = row.value(field) else { return nil }
        guard value.keepAsText else { return value.text }
        if let number = value.cell?.number, value.cell?.date == nil {
            var decimal = Decimal(string: number) ?? Decimal.nan
            var whole = Decimal()
            NSDecimalRound(&whole, &decimal, 0, .plain)
            guard !decimal.isNaN, whole == decimal, whole >= 0 else {
                throw failure(
                    "layout.not_an_identifier",
                    "\(field) holds the number \(number)\(cellName(value)), not an identifier; format the column as text",
                    row)
            }
            var digits = "\(whole)"
            if let format = value.cell?.numberFormat, !format.isEmpty, format.allSatisfy({ $0 == "0" }),
                digits.count < format.count
            {
                digits = String(repeating: "0", count: format.count - digits.count) + digits
            }
            return digits
        }
        if LayoutValues.looksRoundedBySpreadsheet(value.text) {
            throw failure(
                "layout.rounded_identifier",
                "\(field) \"\(value.text)\"\(cellName(value)) was rounded by a spreadsheet; the real number is lost: export the column as text",
                row)
        }
        return value.text
    }

    /// `1.03521E+06`, `1,03521E+06`: what a spreadsheet shows for a long number it stored.
    static func looksRoundedBySpreadsheet(_ text: String) -> Bool {
        let upper = text.uppercased()
        guard let e = upper.firstIndex(of: "E") else { return false }
        let mantissa = upper[..<e]
        let exponent = upper[upper.index(after: e)...]
        guard !mantissa.isEmpty, mantissa.allSatisfy({ $0.isNumber || $0 == "." || $0 == "," }),
            mantissa.first!.isNumber
        else { return false }
        var digits = exponent
        if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy(\.isNumber)
    }

    static let currencySymbols: Set<Character> = [
        "$", "€", "£", "¥", "₹", "₩", "₽", "₺", "₪", "¢", "\u{FE69}", "\u{FF04}",
    ]

    /// An amount under the profile's decimal and sign conventions, in `currency`.
    func amount(_ field: String, _ row: LayoutReading.Row, currency: CurrencyCode, debit: Bool = false)
        throws(LayoutError) -> Money?
    {
        guard let value = row.value(field) else { return nil }
        var amount: Money
        do {
            if let number = value.cell?.number, value.cell?.date == nil {
                // A spreadsheet number: its stored decimal text, with binary artefacts (…9999998) rounded off.
                amount = try Money.parse(
                    WorkbookReader.numberText(number), currency: currency,
                    style: DecimalStyle(decimalSeparator: ".", groupingSeparators: []))
            } else if let digits = value.impliedDecimals {
                amount = try LayoutValues.impliedDecimal(value.text, digits: digits, currency: currency)
            } else {
                amount = try Money.parse(
                    LayoutValues.withoutCurrency(value.text, currency), currency: currency, style: profile.decimalStyle)
            }
        } catch {
            var reason = error.message
            if profile.decimalStyle == .point, value.text.contains(","), !value.text.contains(".") {
                reason += " (is the decimal mark a comma? set `decimal = \",\"`)"
            }
            throw failure(
                "csv.bad_amount", "\(field) \"\(value.text)\"\(cellName(value)) is not an amount: \(reason)", row)
        }
        if value.negate || debit { amount = Money(minorUnits: 0 &- amount.minorUnits, currency: currency) }
        return amount
    }

    /// Text without a currency symbol or the currency's own code (`$1,234.56`, `1.234,56 EUR`, `USD -5.00`).
    static func withoutCurrency(_ text: String, _ currency: CurrencyCode) -> String {
        // ASCII text can hold only the dollar sign among the symbols, and no minus sign (U+2212).
        var result =
            text.utf8.allSatisfy({ $0 < 0x80 })
            ? (text.contains("$") ? text.filter { $0 != "$" } : text)
            : text.filter { !currencySymbols.contains($0) }.replacingOccurrences(of: "\u{2212}", with: "-")
        let code = currency.code
        if result.uppercased().hasSuffix(code) { result = String(result.dropLast(code.count)) }
        if result.uppercased().hasPrefix(code) { result = String(result.dropFirst(code.count)) }
        return result.trimmingBlanks()
    }

    /// `0001234` with 2 implied decimals is 12.34; a trailing or leading sign is kept.
    static func impliedDecimal(_ text: String, digits: Int, currency: CurrencyCode) throws(MoneyError) -> Money {
        var body = Substring(text.trimmingBlanks())
        var negative = false
        if body.hasPrefix("-") {
            negative = true
            body = body.dropFirst()
        } else if body.hasPrefix("+") {
            body = body.dropFirst()
        }
        if body.hasSuffix("-") {
            negative = true
            body = body.dropLast()
        } else if body.hasSuffix("+") {
            body = body.dropLast()
        }
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .malformed(text, reason: "implied decimals need digits only")
        }
        var padded = String(body)
        if padded.count <= digits { padded = String(repeating: "0", count: digits - padded.count + 1) + padded }
        let whole = padded.dropLast(digits)
        let fraction = padded.suffix(digits)
        let decimal = digits == 0 ? String(whole) : "\(whole).\(fraction)"
        let money = try Money.parse(
            decimal, currency: currency, style: DecimalStyle(decimalSeparator: ".", groupingSeparators: []))
        return negative ? Money(minorUnits: 0 &- money.minorUnits, currency: currency) : money
    }

    /// A calendar date: a spreadsheet's own date cell, the field's or the profile's date formats in
    /// order, else (a spreadsheet number, not styled as a date) an Excel serial day number.
    func date(_ field: String, _ row: LayoutReading.Row) throws(LayoutError) -> CalendarDate? {
        guard let value = row.value(field) else { return nil }
        if let date = value.cell?.date { return date }
        let formats = value.dateFormats ?? profile.dateFormats
        for format in formats {
            if let date = try? CalendarDate.parse(value.text, format: format) { return date }
        }
        if let number = value.cell?.number, let serial = Double(number), serial == serial.rounded(), serial >= 1,
            serial < 2_958_466
        {
            return WorkbookReader.excelDate(serial)
        }
        throw failure(
            "csv.bad_date",
            "\(field) \"\(value.text)\"\(cellName(value)) does not match the date format\(formats.count == 1 ? "" : "s") \(formats.joined(separator: ", "))",
            row)
    }

    /// A whole number (a count in a trailer).
    func count(_ field: String, _ row: LayoutReading.Row) throws(LayoutError) -> Int? {
        guard let value = row.value(field) else { return nil }
        let text = value.cell?.number.map(WorkbookReader.numberText) ?? value.text
        guard let count = Int(text.filter { $0 != "," && $0 != "." && $0 != " " }), count >= 0 else {
            throw failure("csv.bad_number", "\(field) \"\(value.text)\" is not a count", row)
        }
        return count
    }

    /// The row's currency: its `currency` field, else the profile's, else `fallback`.
    func currency(_ row: LayoutReading.Row, fallback: CurrencyCode) throws(LayoutError) -> CurrencyCode {
        guard let value = row.value("currency") else { return profile.currency ?? fallback }
        do { return try CurrencyCode(value.text.trimmingCharacters(in: .whitespaces).uppercased()) } catch {
            throw failure("csv.bad_currency", "\"\(value.text)\" is not a currency code", row)
        }
    }

    /// Whether the row's `debit_credit` field marks a debit: D, DR, DEBIT, S (Soll) or `-`.
    func isDebit(_ row: LayoutReading.Row) -> Bool {
        guard profile.debitCreditColumn, let flag = row.value("debit_credit")?.text.uppercased() else { return false }
        return flag.hasPrefix("D") || flag == "S" || flag == "SOLL" || flag == "-"
    }
}

extension String {
    /// Without leading and trailing spaces and tabs: what `trimmingCharacters(in: .whitespaces)`
    /// gives, with ASCII ends (nearly every cell) trimmed here rather than through Foundation.
    func trimmingBlanks() -> String {
        let utf8 = self.utf8
        func isBlank(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start < end, isBlank(utf8[start]) { start = utf8.index(after: start) }
        while start < end, isBlank(utf8[utf8.index(before: end)]) { end = utf8.index(before: end) }
        // Other blanks (a no-break space, an ideographic space) are Foundation's to judge.
        if start < end, utf8[start] >= 0x80 || utf8[utf8.index(before: end)] >= 0x80 {
            return trimmingCharacters(in: .whitespaces)
        }
        return String(self[start..<end])
    }
}
