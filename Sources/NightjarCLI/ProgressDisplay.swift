import Foundation
import NightjarAgent
import NightjarCore
import Synchronization

/// `nightjar run --progress`: how the night shows its progress.
enum ProgressMode: String {
    /// A live line when standard error is a terminal; nothing otherwise.
    case auto
    /// One JSON object per event on standard error, for a supervisor.
    case json
    case none

    static func parse(_ text: String?) throws -> ProgressMode {
        guard let text else { return .auto }
        guard let mode = ProgressMode(rawValue: text) else {
            throw UsageError("--progress takes auto, json or none, not \(text)", command: "run")
        }
        return mode
    }

    /// The progress for this mode, or nil when nothing is to be shown.
    func progress() -> NightProgress? {
        switch self {
        case .auto: Console.standardError.isTerminal ? NightProgress(display: TerminalProgressLine()) : nil
        case .json: NightProgress(display: JSONProgressLines())
        case .none: nil
        }
    }
}

/// A line at the bottom of the terminal, redrawn in place (at most ten times a second):
/// `credentials 312/1000 · files 2,430 · 3 failed · 0:41 elapsed · about 0:29 left (ends 02:14:09)`.
/// Log lines written meanwhile appear above it. (The formatter is used under the lock only.)
final class TerminalProgressLine: NightProgressDisplay, LogSink, @unchecked Sendable {
    private struct State {
        var shown = ""
        var lastDraw = Date.distantPast
        var finished = false
    }

    private let state = Mutex(State())
    private let localTime: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "HH:mm:ss"
        return formatter
    }()

    init() {
        // Log lines go through here, so they clear the line first and it is drawn again after.
        Logger.configure(level: Logger.level, sinks: Logger.sinks.map { $0 is StandardErrorSink ? self : $0 })
    }

    func show(_ event: NightProgress.Event, _ counts: NightProgress.Counts) {
        state.withLock { state in
            let line = TerminalProgressLine.text(counts, localTime: localTime)
            guard !state.finished else { return }
            if case .runFinished = event {
                // The last counts stay on screen, then the summary follows on its own lines.
                Console.standardError.write("\r\u{1B}[K" + line + "\n")
                state.finished = true
                state.shown = ""
                return
            }
            guard counts.now.timeIntervalSince(state.lastDraw) >= 0.1 || state.shown.isEmpty else { return }
            Console.standardError.write("\r\u{1B}[K" + line)
            state.shown = line
            state.lastDraw = counts.now
        }
    }

    func write(line: String) {
        state.withLock { state in
            if state.shown.isEmpty {
                Console.standardError.write(line + "\n")
            } else {
                Console.standardError.write("\r\u{1B}[K" + line + "\n" + state.shown)
            }
        }
    }

    static func text(_ counts: NightProgress.Counts, localTime: DateFormatter) -> String {
        var parts = ["credentials \(counts.done)/\(counts.total)", "files \(counts.files)"]
        if counts.failures > 0 { parts.append("\(counts.failures) failed") }
        parts.append("\(duration(counts.elapsed)) elapsed")
        if let end = counts.estimatedEnd, counts.done < counts.total {
            parts.append(
                "about \(duration(end.timeIntervalSince(counts.now))) left (ends \(localTime.string(from: end)))")
        }
        return parts.joined(separator: " · ")
    }

    /// `0:41`, `12:05`, `1:02:09`.
    static func duration(_ seconds: TimeInterval) -> String {
        let total = max(0, Int(seconds.rounded()))
        let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
        return hours > 0
            ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }
}

/// One JSON object per line on standard error, for supervisors:
/// `{"at":"2026-11-24T02:00:03Z","credential":"acme/sandbox-html-portal","credentials_done":1,...,"event":"credential_finished","status":"ok"}`.
struct JSONProgressLines: NightProgressDisplay {
    func show(_ event: NightProgress.Event, _ counts: NightProgress.Counts) {
        var object: [String: Any] = [
            "event": event.name, "at": Logger.timestamp(counts.now), "started_at": Logger.timestamp(counts.started),
            "credentials_total": counts.total, "credentials_done": counts.done, "credentials_running": counts.running,
            "files": counts.files, "failures": counts.failures, "elapsed_seconds": (counts.elapsed * 10).rounded() / 10,
            "estimated_end": counts.estimatedEnd.map { Logger.timestamp($0) } ?? NSNull(),
        ]
        switch event {
        case .runStarted(let run): object["run"] = run
        case .credentialStarted(let name): object["credential"] = name
        case .fileLanded(let credential, let file, let kind):
            object["credential"] = credential
            object["file"] = file
            object["kind"] = kind
        case .credentialFinished(let name, let status):
            object["credential"] = name
            object["status"] = status
        case .runFinished(let status): object["status"] = status
        }
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        Console.standardError.write(String(decoding: data, as: UTF8.self) + "\n")
    }
}
