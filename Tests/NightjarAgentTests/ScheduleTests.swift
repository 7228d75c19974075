import Foundation
import NightjarCore
import Testing

@testable import NightjarAgent

/// Delivery windows in a named zone, across the DST changes of America/New_York.
@Suite struct ScheduleTests {
    static let newYork = TimeZone(identifier: "America/New_York")!

    static func instant(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
    static func text(_ dates: [Date]) -> [String] {
        let formatter = ISO8601DateFormatter()
        return dates.map { formatter.string(from: $0) }
    }

    @Test func fourWindowsADayInTheirZone() throws {
        let schedule = try PortalSchedule.parse("11:30 15:00 18:45 23:00 America/New_York", defaultZone: .gmt)
        #expect(schedule.description == "11:30 15:00 18:45 23:00 America/New_York")
        let next = schedule.next(after: ScheduleTests.instant("2026-11-24T17:00:00Z"), count: 5)
        #expect(
            ScheduleTests.text(next) == [
                "2026-11-24T20:00:00Z", "2026-11-24T23:45:00Z", "2026-11-25T04:00:00Z", "2026-11-25T16:30:00Z",
                "2026-11-25T20:00:00Z",
            ])
    }

    @Test func springForwardKeepsLocalTimesAndMovesAMissingOneToAfterTheGap() throws {
        let morning = try PortalSchedule.parse("11:30 America/New_York", defaultZone: .gmt)
        #expect(
            ScheduleTests.text(morning.next(after: ScheduleTests.instant("2026-03-07T00:00:00Z"), count: 2))
                == ["2026-03-07T16:30:00Z", "2026-03-08T15:30:00Z"])
        let inTheGap = try PortalSchedule.parse("02:30", defaultZone: ScheduleTests.newYork)
        #expect(
            ScheduleTests.text(inTheGap.next(after: ScheduleTests.instant("2026-03-07T12:00:00Z"), count: 2))
                == ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"])
    }

    @Test func fallBackRunsARepeatedTimeOnce() throws {
        let repeated = try PortalSchedule.parse("01:30 America/New_York", defaultZone: .gmt)
        #expect(
            ScheduleTests.text(repeated.next(after: ScheduleTests.instant("2026-10-31T12:00:00Z"), count: 3))
                == ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z"])
        let evening = try PortalSchedule.parse("23:00 America/New_York", defaultZone: .gmt)
        #expect(
            ScheduleTests.text(evening.next(after: ScheduleTests.instant("2026-10-31T12:00:00Z"), count: 2))
                == ["2026-11-01T03:00:00Z", "2026-11-02T04:00:00Z"])
    }

    @Test func aDocumentAfterTheLastWindowBelongsToTheNextDay() throws {
        let schedule = try PortalSchedule.parse("11:30 15:00 18:45 23:00 America/New_York", defaultZone: .gmt)
        #expect(schedule.deliveryDate(of: ScheduleTests.instant("2026-11-25T03:59:00Z")).description == "2026-11-24")
        #expect(schedule.deliveryDate(of: ScheduleTests.instant("2026-11-25T04:30:00Z")).description == "2026-11-25")
        #expect(schedule.deliveryDate(of: ScheduleTests.instant("2026-11-24T12:00:00Z")).description == "2026-11-24")
    }

    @Test func badSchedulesAreClearErrors() {
        #expect(throws: ScheduleError.self) { try PortalSchedule.parse("25:00", defaultZone: .gmt) }
        #expect(throws: ScheduleError.self) { try PortalSchedule.parse("11:30 Mars/Olympus", defaultZone: .gmt) }
        #expect(throws: ScheduleError.self) { try PortalSchedule.parse("", defaultZone: .gmt) }
        #expect(throws: ScheduleError.self) { try PortalSchedule.parse("noon", defaultZone: .gmt) }
    }

    @Test func rangesStartBeforeTheLastGoodEnd() throws {
        let today = try CalendarDate(iso: "2026-11-29")
        #expect(
            NightPlanning.range(lastSuccessfulEnd: try CalendarDate(iso: "2026-11-28"), today: today).description
                == "2026-11-25..2026-11-29")
        #expect(NightPlanning.range(lastSuccessfulEnd: nil, today: today).description == "2026-10-30..2026-11-29")
        #expect(
            NightPlanning.range(lastSuccessfulEnd: try CalendarDate(iso: "2026-12-10"), today: today).description
                == "2026-11-29..2026-11-29")
    }
}
