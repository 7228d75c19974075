import Foundation
import NightjarCore
import Testing

@Suite("Calendar dates")
struct CalendarDateTests {
    @Test func epochConversionRoundTripsAcrossCenturies() {
        for days in stride(from: -800_000, through: 2_900_000, by: 997) {
            let date = CalendarDate(daysSinceEpoch: days)
            #expect(date.daysSinceEpoch == days)
        }
        #expect(CalendarDate(daysSinceEpoch: 0).description == "1970-01-01")
        #expect(CalendarDate(daysSinceEpoch: 19723).description == "2024-01-01")
    }

    @Test func isoTextIsThePatternFormatForEveryDay() throws {
        // Years 1 to 9999 (short years padded), leap days, month ends: the digit-by-digit text equals the pattern's.
        for days in stride(from: -719_162, through: 2_932_896, by: 331) {
            let date = CalendarDate(daysSinceEpoch: days)
            #expect(date.description == date.format("yyyy-MM-dd"))
            #expect(try CalendarDate(iso: date.description) == date)
        }
        #expect(try CalendarDate(year: 7, month: 3, day: 9).description == "0007-03-09")
        #expect(try CalendarDate(year: 9999, month: 12, day: 31).description == "9999-12-31")
    }

    @Test func validatesDays() throws {
        #expect(throws: DateError.self) { try CalendarDate(year: 2023, month: 2, day: 29) }
        #expect(throws: DateError.self) { try CalendarDate(year: 2026, month: 4, day: 31) }
        #expect(throws: DateError.self) { try CalendarDate(year: 2026, month: 13, day: 1) }
        #expect(try CalendarDate(year: 2024, month: 2, day: 29).adding(days: 1).description == "2024-03-01")
        #expect(try CalendarDate(year: 2000, month: 2, day: 29).year == 2000)
        #expect(throws: DateError.self) { try CalendarDate(year: 1900, month: 2, day: 29) }
    }

    static let formats: [(String, String, String)] = [
        ("2026-11-24", "yyyy-MM-dd", "2026-11-24"), ("11/24/2026", "MM/dd/yyyy", "2026-11-24"),
        ("20261124", "yyyyMMdd", "2026-11-24"), ("261124", "yyMMdd", "2026-11-24"),
        ("24.11.2026", "dd.MM.yyyy", "2026-11-24"),
        ("1/5/2026", "M/d/yyyy", "2026-01-05"), ("991231", "yyMMdd", "1999-12-31"),
    ]

    @Test("parses the date formats documents use", arguments: formats)
    func parsesFormats(text: String, format: String, iso: String) throws {
        let date = try CalendarDate.parse(text, format: format)
        #expect(date.description == iso)
        #expect(try CalendarDate.parse(date.format(format), format: format) == date)
    }

    static let bad: [(String, String)] = [
        ("2026-02-30", "yyyy-MM-dd"), ("2026/11/24", "yyyy-MM-dd"), ("", "yyyy-MM-dd"),
        ("2026-11-24x", "yyyy-MM-dd"), ("13/01/2026", "MM/dd/yyyy"), ("26112", "yyMMdd"),
    ]

    @Test("refuses dates that do not fit", arguments: bad)
    func refusesBadDates(text: String, format: String) {
        #expect(throws: DateError.self) { try CalendarDate.parse(text, format: format) }
    }

    @Test func rangesSplitIntoWindowsCoveringEachDayOnce() throws {
        let range = try DateRange(from: CalendarDate(iso: "2026-01-15"), to: CalendarDate(iso: "2026-04-02"))
        for maxDays in [1, 7, 31, 365] {
            let parts = range.split(maxDays: maxDays)
            #expect(parts.first?.from == range.from)
            #expect(parts.last?.to == range.to)
            #expect(parts.map(\.dayCount).reduce(0, +) == range.dayCount)
            for (a, b) in zip(parts, parts.dropFirst()) { #expect(b.from == a.to.adding(days: 1)) }
            #expect(parts.allSatisfy { $0.dayCount <= maxDays })
        }
        #expect(throws: DateError.self) {
            try DateRange(from: CalendarDate(iso: "2026-02-01"), to: CalendarDate(iso: "2026-01-01"))
        }
    }

    @Test func todayDependsOnTheZone() throws {
        // 2026-03-08T04:30Z is still 7 March in New York, already 8 March in UTC.
        let instant = Date(timeIntervalSince1970: 1_772_944_200)
        #expect(
            CalendarDate.today(in: try TimeZone.named("America/New_York"), now: instant).description == "2026-03-07")
        #expect(CalendarDate.today(in: try TimeZone.named("UTC"), now: instant).description == "2026-03-08")
        #expect(throws: DateError.unknownTimeZone("Mars/Olympus")) { try TimeZone.named("Mars/Olympus") }
        #expect(try CalendarDate(iso: "2026-11-24").isoWeekday == 2)
    }
}
