public import Foundation

/// A business date with no time and no zone: a payment date, an invoice date, a range bound.
public struct CalendarDate: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// Validates the date (proleptic Gregorian, years 1...9999).
    public init(year: Int, month: Int, day: Int) throws(DateError) {
        guard (1...9999).contains(year), (1...12).contains(month),
            day >= 1, day <= CalendarDate.daysIn(month: month, year: year)
        else { throw DateError.invalid("\(year)-\(month)-\(day)") }
        self.year = year
        self.month = month
        self.day = day
    }

    private init(unchecked year: Int, _ month: Int, _ day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    public static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    /// Days since 1970-01-01 (negative before).
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The date `days` days after 1970-01-01.
    public init(daysSinceEpoch days: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(unchecked: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    public func adding(days: Int) -> CalendarDate { CalendarDate(daysSinceEpoch: daysSinceEpoch + days) }

    /// Whole days from `other` to `self`.
    public func days(since other: CalendarDate) -> Int { daysSinceEpoch - other.daysSinceEpoch }

    /// 1 = Monday ... 7 = Sunday (ISO 8601).
    public var isoWeekday: Int { ((daysSinceEpoch % 7 + 7) % 7 + 3) % 7 + 1 }

    /// Today's date in `timeZone`.
    public static func today(in timeZone: TimeZone, now: Date = Date()) -> CalendarDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        return CalendarDate(unchecked: parts.year!, parts.month!, parts.day!)
    }

    /// The instant this date starts in `timeZone`.
    public func startInstant(in timeZone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar.date(from: DateComponents(year: year, month: month, day: day))!
    }

    /// `2026-11-24`
    /// `yyyy-MM-dd`, written digit by digit (imports store a date per line, a million times a file).
    public var description: String {
        guard (0...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else {
            return format("yyyy-MM-dd")
        }
        return String(unsafeUninitializedCapacity: 10) { bytes in
            func put(_ value: Int, at end: Int, width: Int) {
                var rest = value
                for offset in stride(from: end, to: end - width, by: -1) {
                    bytes[offset] = UInt8(48 + rest % 10)
                    rest /= 10
                }
            }
            put(year, at: 3, width: 4)
            bytes[4] = 45
            put(month, at: 6, width: 2)
            bytes[7] = 45
            put(day, at: 9, width: 2)
            return 10
        }
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Parses ISO 8601 `yyyy-MM-dd`.
    public init(iso text: String) throws(DateError) {
        self = try CalendarDate.parse(text, format: "yyyy-MM-dd")
    }

    /// Month names `MMM` and `MMMM` accept, in any letter case: English names and their
    /// three-letter abbreviations, German and French abbreviations that differ (Mär, Mai, Okt,
    /// Dez; janv., févr., ...), with an optional trailing dot.
    static let monthNames: [(String, Int)] = {
        let english = [
            "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
            "november", "december",
        ]
        var names: [(String, Int)] = []
        for (index, name) in english.enumerated() {
            names.append((name, index + 1))
            names.append((String(name.prefix(3)), index + 1))
        }
        names.append(("sept", 9))
        for (name, month) in [
            ("januar", 1), ("februar", 2), ("märz", 3), ("mär", 3), ("maerz", 3), ("mrz", 3), ("mai", 5), ("juni", 6),
            ("juli", 7),
            ("oktober", 10), ("okt", 10), ("dezember", 12), ("dez", 12),
            ("janv", 1), ("févr", 2), ("fevr", 2), ("mars", 3), ("avr", 4), ("juin", 6), ("juil", 7), ("août", 8),
            ("aout", 8), ("déc", 12),
        ] {
            names.append((name, month))
        }
        // Longest first, so "june" is not read as "jun" followed by a stray "e".
        return names.sorted { $0.0.count > $1.0.count }
    }()

    /// Parses `text` with a pattern of `yyyy`, `yy`, `MM`, `M`, `MMM`/`MMMM` (a month name),
    /// `dd`, `d` and literal characters, e.g. `MM/dd/yyyy`, `yyyyMMdd`, `MMM d, yyyy`, `dd-MMM-yy`
    /// (two-digit years are 2000-2099 below 70, else 1900s). A space in the pattern matches one
    /// or more spaces.
    public static func parse(_ text: String, format: String) throws(DateError) -> CalendarDate {
        var input = Array(text.utf8)
        while let first = input.first, first == 32 || first == 9 { input.removeFirst() }
        while let last = input.last, last == 32 || last == 9 { input.removeLast() }
        let pattern = Array(format.utf8)
        var i = 0
        var p = 0
        var year: Int?
        var month: Int?
        var day: Int?
        func readNumber(min: Int, max: Int) -> Int? {
            var value = 0
            var count = 0
            while count < max, i < input.count, input[i] >= 48, input[i] <= 57 {
                value = value * 10 + Int(input[i] - 48)
                i += 1
                count += 1
            }
            return count >= min ? value : nil
        }
        func readMonthName() -> Int? {
            let rest = String(decoding: input[i...], as: UTF8.self).lowercased()
            for (name, value) in CalendarDate.monthNames where rest.hasPrefix(name) {
                i += name.utf8.count
                // The lower-cased name has the same UTF-8 length as the original for these names.
                if i < input.count, input[i] == UInt8(ascii: ".") { i += 1 }
                return value
            }
            return nil
        }
        while p < pattern.count {
            let c = pattern[p]
            var run = 0
            while p + run < pattern.count, pattern[p + run] == c { run += 1 }
            switch c {
            case UInt8(ascii: "y"):
                guard let value = readNumber(min: run, max: run) else { throw .unparseable(text, format: format) }
                year = run == 2 ? (value < 70 ? 2000 + value : 1900 + value) : value
            case UInt8(ascii: "M") where run >= 3:
                guard let value = readMonthName() else { throw .unparseable(text, format: format) }
                month = value
            case UInt8(ascii: "M"):
                guard let value = readNumber(min: run, max: 2) else { throw .unparseable(text, format: format) }
                month = value
            case UInt8(ascii: " "):
                guard i < input.count, input[i] == 32 else { throw .unparseable(text, format: format) }
                while i < input.count, input[i] == 32 { i += 1 }
            case UInt8(ascii: "d"):
                guard let value = readNumber(min: run, max: 2) else { throw .unparseable(text, format: format) }
                day = value
            default:
                for _ in 0..<run {
                    guard i < input.count, input[i] == c else { throw .unparseable(text, format: format) }
                    i += 1
                }
            }
            p += run
        }
        guard i == input.count, let year, let month, let day else { throw .unparseable(text, format: format) }
        do {
            return try CalendarDate(year: year, month: month, day: day)
        } catch {
            throw .invalid(text)
        }
    }

    /// Formats with the same pattern letters as `parse`.
    public func format(_ pattern: String) -> String {
        var out = ""
        let chars = Array(pattern)
        var p = 0
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        while p < chars.count {
            let c = chars[p]
            var run = 0
            while p + run < chars.count, chars[p + run] == c { run += 1 }
            switch c {
            case "y": out += run == 2 ? pad(year % 100, 2) : pad(year, run)
            case "M" where run >= 3:
                let name = [
                    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                    "November", "December",
                ][month - 1]
                out += run == 3 ? String(name.prefix(3)) : name
            case "M": out += pad(month, run)
            case "d": out += pad(day, run)
            default: out += String(repeating: c, count: run)
            }
            p += run
        }
        return out
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try CalendarDate(iso: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An inclusive range of business dates, e.g. a portal search from 1 to 31 October.
public struct DateRange: Hashable, Sendable, Codable, CustomStringConvertible {
    public let from: CalendarDate
    public let to: CalendarDate

    public init(from: CalendarDate, to: CalendarDate) throws(DateError) {
        guard from <= to else { throw DateError.reversedRange(from, to) }
        self.from = from
        self.to = to
    }

    /// Number of days, both ends included.
    public var dayCount: Int { to.days(since: from) + 1 }

    /// Splits into consecutive ranges of at most `maxDays` days each, covering every day once.
    public func split(maxDays: Int) -> [DateRange] {
        precondition(maxDays >= 1)
        var parts: [DateRange] = []
        var start = from
        while start <= to {
            let end = min(start.adding(days: maxDays - 1), to)
            parts.append(try! DateRange(from: start, to: end))
            start = end.adding(days: 1)
        }
        return parts
    }

    public func contains(_ date: CalendarDate) -> Bool { from <= date && date <= to }

    public var description: String { "\(from)..\(to)" }
}

/// Problems with dates.
public enum DateError: NightjarError, Equatable {
    case invalid(String)
    case unparseable(String, format: String)
    case reversedRange(CalendarDate, CalendarDate)
    case unknownTimeZone(String)

    public var code: String {
        switch self {
        case .invalid: "date.invalid"
        case .unparseable: "date.unparseable"
        case .reversedRange: "date.reversed_range"
        case .unknownTimeZone: "date.unknown_time_zone"
        }
    }

    public var message: String {
        switch self {
        case .invalid(let text): "\"\(text)\" is not a valid calendar date"
        case .unparseable(let text, let format): "\"\(text)\" does not match the date format \(format)"
        case .reversedRange(let a, let b): "the range starts (\(a)) after it ends (\(b))"
        case .unknownTimeZone(let name): "unknown time zone \"\(name)\" (use an IANA name such as America/New_York)"
        }
    }

    public var exitStatus: ExitStatus { .dataError }
}

extension TimeZone {
    /// The IANA zone named `identifier`, or a typed error.
    public static func named(_ identifier: String) throws(DateError) -> TimeZone {
        guard let zone = TimeZone(identifier: identifier) else { throw .unknownTimeZone(identifier) }
        return zone
    }
}
