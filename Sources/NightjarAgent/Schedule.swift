public import Foundation
public import NightjarCore

/// When a portal is visited: times of day in a named time zone (`11:30 15:00 18:45 23:00
/// America/New_York`). Times that do not exist on a spring-forward day happen at the first
/// instant after the gap; times that happen twice on a fall-back day happen once, the first time.
public struct PortalSchedule: Sendable, Equatable, CustomStringConvertible {
    public struct TimeOfDay: Sendable, Equatable, Comparable, CustomStringConvertible {
        public let hour: Int
        public let minute: Int
        public let second: Int

        public init(hour: Int, minute: Int, second: Int = 0) {
            self.hour = hour
            self.minute = minute
            self.second = second
        }

        public static func < (a: TimeOfDay, b: TimeOfDay) -> Bool {
            (a.hour, a.minute, a.second) < (b.hour, b.minute, b.second)
        }
        public var description: String {
            second == 0
                ? String(format: "%02d:%02d", hour, minute) : String(format: "%02d:%02d:%02d", hour, minute, second)
        }
    }

    public let times: [TimeOfDay]
    public let timeZone: TimeZone

    public init(times: [TimeOfDay], timeZone: TimeZone) {
        self.times = times.sorted()
        self.timeZone = timeZone
    }

    public var description: String { times.map(\.description).joined(separator: " ") + " " + timeZone.identifier }

    /// Parses `"11:30 15:00 18:45 23:00 America/New_York"` (the zone defaults to `defaultZone`).
    public static func parse(_ text: String, defaultZone: TimeZone) throws(ScheduleError) -> PortalSchedule {
        var zone = defaultZone
        var times: [TimeOfDay] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init) {
            if word.contains("/") || word == "UTC" {
                guard let named = TimeZone(identifier: word) else {
                    throw .invalid("unknown time zone `\(word)` (use an IANA name such as America/New_York)")
                }
                zone = named
                continue
            }
            let parts = word.split(separator: ":").map { Int($0) }
            guard (2...3).contains(parts.count), parts.allSatisfy({ $0 != nil }), let hour = parts[0],
                let minute = parts[1],
                (0..<24).contains(hour), (0..<60).contains(minute), parts.count == 2 || (0..<60).contains(parts[2]!)
            else {
                throw .invalid("`\(word)` is not a time of day (HH:MM, 24-hour)")
            }
            times.append(TimeOfDay(hour: hour, minute: minute, second: parts.count == 3 ? parts[2]! : 0))
        }
        guard !times.isEmpty else {
            throw .invalid("a schedule needs at least one time, e.g. \"02:00 America/New_York\"")
        }
        return PortalSchedule(times: times, timeZone: zone)
    }

    var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// The next `count` windows strictly after `instant`.
    public func next(after instant: Date, count: Int) -> [Date] {
        var result: [Date] = []
        var cursor = instant
        while result.count < count {
            let candidates = times.compactMap { time in
                calendar.nextDate(
                    after: cursor, matching: DateComponents(hour: time.hour, minute: time.minute, second: time.second),
                    matchingPolicy: .nextTime, repeatedTimePolicy: .first, direction: .forward)
            }
            guard let earliest = candidates.min() else { break }
            result.append(earliest)
            cursor = earliest
        }
        return result
    }

    /// The business day a document stamped at `instant` belongs to: its local date, or the next
    /// day when it came after the day's last window (it is fetched in tomorrow's first).
    public func deliveryDate(of instant: Date) -> CalendarDate {
        let components = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: instant)
        let local = TimeOfDay(
            hour: components.hour ?? 0, minute: components.minute ?? 0, second: components.second ?? 0)
        let day =
            (try? CalendarDate(year: components.year ?? 1970, month: components.month ?? 1, day: components.day ?? 1))
            ?? CalendarDate(daysSinceEpoch: 0)
        guard let last = times.last else { return day }
        return local > last ? day.adding(days: 1) : day
    }
}

public struct ScheduleError: Error, Sendable, Equatable {
    public let message: String
    static func invalid(_ message: String) -> ScheduleError { ScheduleError(message: message) }
}
