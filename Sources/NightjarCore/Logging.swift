public import Foundation
import Synchronization

/// How much a log says.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case debug = 0, info, notice, warning, error

    public var description: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        }
    }

    public init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = level
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A value attached to a log line. `.secret` is always printed as `[REDACTED]`: use it for
/// fields that may hold values too short for the redactor to search (PINs, one-time codes).
public enum LogValue: Sendable, CustomStringConvertible, ExpressibleByStringInterpolation, ExpressibleByIntegerLiteral {
    case text(String)
    case integer(Int64)
    case secret

    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }

    public var description: String {
        switch self {
        case .text(let text): text
        case .integer(let value): String(value)
        case .secret: Redactor.marker
        }
    }
}

/// A destination for log lines. Every line reaches a sink already redacted.
public protocol LogSink: Sendable {
    func write(line: String)
}

/// Writes log lines to standard error.
public struct StandardErrorSink: LogSink {
    public init() {}
    public func write(line: String) { Console.standardError.write(line + "\n") }
}

/// Appends log lines to a file created readable by the owner only.
public final class FileSink: LogSink {
    private let handle: Mutex<FileHandle>

    public init(path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw GeneralError(
                code: "log.open_failed", message: "cannot open log file \(path): \(String(cString: strerror(errno)))",
                exitStatus: .cannotCreate)
        }
        handle = Mutex(FileHandle(fileDescriptor: descriptor, closeOnDealloc: true))
    }

    public func write(line: String) {
        handle.withLock { $0.write(Data((line + "\n").utf8)) }
    }
}

/// The program's logger. Lines are formatted `2026-11-24T01:02:03Z info [label] message key=value`,
/// pass through the redactor, then go to every sink.
public struct Logger: Sendable {
    /// The subsystem, e.g. `http` or `vault`.
    public let label: String

    public init(label: String) { self.label = label }

    private static let configuration = Mutex<(level: LogLevel, sinks: [any LogSink])>((.notice, [StandardErrorSink()]))

    /// Sets the threshold and destinations for every logger.
    public static func configure(level: LogLevel, sinks: [any LogSink]) {
        configuration.withLock { $0 = (level, sinks) }
    }

    /// The current destinations.
    public static var sinks: [any LogSink] { configuration.withLock { $0.sinks } }

    /// The current threshold.
    public static var level: LogLevel { configuration.withLock { $0.level } }

    public func log(_ level: LogLevel, _ message: @autoclosure () -> String, _ fields: [(String, LogValue)] = []) {
        let (threshold, sinks) = Logger.configuration.withLock { ($0.level, $0.sinks) }
        guard level >= threshold else { return }
        var line = "\(Logger.timestamp()) \(level) [\(label)] \(message())"
        for (key, value) in fields { line += " \(key)=\(value)" }
        let redacted = Redactor.shared.redact(line)
        for sink in sinks { sink.write(line: redacted) }
    }

    public func debug(_ message: @autoclosure () -> String, _ fields: [(String, LogValue)] = []) {
        log(.debug, message(), fields)
    }
    public func info(_ message: @autoclosure () -> String, _ fields: [(String, LogValue)] = []) {
        log(.info, message(), fields)
    }
    public func notice(_ message: @autoclosure () -> String, _ fields: [(String, LogValue)] = []) {
        log(.notice, message(), fields)
    }
    public func warning(_ message: @autoclosure () -> String, _ fields: [(String, LogValue)] = []) {
        log(.warning, message(), fields)
    }
    public func error(_ message: @autoclosure () -> String, _ fields: [(String, LogValue)] = []) {
        log(.error, message(), fields)
    }

    /// UTC instant in ISO 8601 with seconds.
    public static func timestamp(_ date: Date = Date()) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
    }
}

extension Date {
    /// `2026-11-24T01:02:03.456Z`: UTC, ISO 8601 with milliseconds (cut, not rounded), written
    /// without a date formatter: making one costs more than the rest of a login's bookkeeping.
    public var iso8601Milliseconds: String {
        let milliseconds = Int64((timeIntervalSince1970 * 1000).rounded(.down))
        var time = time_t(milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000)
        var parts = tm()
        gmtime_r(&time, &parts)
        var digits: [UInt8] = []
        digits.reserveCapacity(24)
        func put(_ value: Int32, _ width: Int) {
            var divisor: Int32 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                digits.append(UInt8(48 + rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        put(parts.tm_year + 1900, 4)
        digits.append(45)
        put(parts.tm_mon + 1, 2)
        digits.append(45)
        put(parts.tm_mday, 2)
        digits.append(84)
        put(parts.tm_hour, 2)
        digits.append(58)
        put(parts.tm_min, 2)
        digits.append(58)
        put(parts.tm_sec, 2)
        digits.append(46)
        put(Int32(((milliseconds % 1000) + 1000) % 1000), 3)
        digits.append(90)
        return String(decoding: digits, as: UTF8.self)
    }
}

/// Standard output and standard error, with every byte passed through the redactor.
public struct Console: Sendable {
    private let descriptor: Int32

    public static let standardOutput = Console(descriptor: 1)
    public static let standardError = Console(descriptor: 2)

    /// Writes `text` after redaction.
    public func write(_ text: String) {
        let bytes = Redactor.shared.redact(bytes: Array(text.utf8))
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Foundation.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 {
                    if written < 0 && errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// Writes `text` and a newline.
    public func line(_ text: String = "") { write(text + "\n") }

    /// Whether the descriptor is a terminal.
    public var isTerminal: Bool { isatty(descriptor) == 1 }

    /// Colour for what this stream prints: on a terminal only, never with `NO_COLOR` set or `TERM=dumb`.
    public var paint: Paint {
        Paint(enabled: isTerminal && Paint.environmentAllowsColour(ProcessInfo.processInfo.environment))
    }
}

/// Colour for the few words a person should see at once (an error, a failure, an exception), as
/// ANSI escapes when enabled and as the plain text otherwise (https://no-color.org).
public struct Paint: Sendable {
    public enum Colour: String, Sendable {
        case red = "31", green = "32", yellow = "33", bold = "1"
    }

    public let enabled: Bool

    /// Plain text always: for files, mail and pipes.
    public static let none = Paint(enabled: false)

    public init(enabled: Bool) { self.enabled = enabled }

    /// Whether the environment allows colour: `NO_COLOR` unset or empty, and `TERM` not `dumb`.
    public static func environmentAllowsColour(_ environment: [String: String]) -> Bool {
        (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
    }

    /// `text` in `colour` (when enabled).
    public func callAsFunction(_ text: String, _ colour: Colour) -> String {
        enabled && !text.isEmpty ? "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m" : text
    }
}
