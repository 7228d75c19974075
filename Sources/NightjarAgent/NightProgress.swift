public import Foundation
import NightjarCore
import Synchronization

/// Where a night's progress goes: a live line on a terminal, JSON lines for a supervisor.
public protocol NightProgressDisplay: Sendable {
    /// Called after every event, with the counts as they stand after it.
    func show(_ event: NightProgress.Event, _ counts: NightProgress.Counts)
}

/// Counts a night as it goes (credentials done of the total, files landed, failures) and tells
/// a display after each event. The night calls it; it decides nothing about the night.
public final class NightProgress: Sendable {
    /// Something that happened in the night.
    public enum Event: Sendable, Equatable {
        case runStarted(run: Int64)
        case credentialStarted(String)
        case fileLanded(credential: String, file: String, kind: String)
        case credentialFinished(String, status: String)
        case runFinished(status: String)

        /// The snake_case name used in JSON lines.
        public var name: String {
            switch self {
            case .runStarted: "run_started"
            case .credentialStarted: "credential_started"
            case .fileLanded: "file_landed"
            case .credentialFinished: "credential_finished"
            case .runFinished: "run_finished"
            }
        }
    }

    /// The counts after an event.
    public struct Counts: Sendable, Equatable {
        public var total = 0
        public var done = 0
        public var running = 0
        public var files = 0
        public var failures = 0
        public var started = Date()
        public var now = Date()

        public var elapsed: TimeInterval { now.timeIntervalSince(started) }

        /// When the night should end at the pace so far (nil before the first credential is done).
        public var estimatedEnd: Date? {
            guard done > 0, total > 0 else { return nil }
            return started.addingTimeInterval(elapsed * Double(total) / Double(done))
        }
    }

    private let counts: Mutex<Counts>
    private let display: any NightProgressDisplay
    private let clock: @Sendable () -> Date

    public init(display: any NightProgressDisplay, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.display = display
        self.clock = clock
        counts = Mutex(Counts(started: clock(), now: clock()))
    }

    /// The night begins with `credentials` to run.
    public func runStarted(_ run: Int64, credentials: Int) {
        record(.runStarted(run: run)) { $0.total = credentials }
    }

    public func credentialStarted(_ name: String) {
        record(.credentialStarted(name)) { $0.running += 1 }
    }

    public func fileLanded(_ credential: String, file: String, kind: String) {
        record(.fileLanded(credential: credential, file: file, kind: kind)) { $0.files += 1 }
    }

    /// `status`: `ok`, `no_documents` or a failure class.
    public func credentialFinished(_ name: String, status: String) {
        record(.credentialFinished(name, status: status)) { counts in
            counts.running -= 1
            counts.done += 1
            if status != "ok" && status != "no_documents" { counts.failures += 1 }
        }
    }

    public func runFinished(status: String) {
        record(.runFinished(status: status)) { _ in }
    }

    /// The counts now.
    public var current: Counts { counts.withLock { $0 } }

    private func record(_ event: Event, _ change: (inout Counts) -> Void) {
        let now = clock()
        // Shown under the lock, so displays see the events in order.
        counts.withLock { counts in
            change(&counts)
            counts.now = now
            display.show(event, counts)
        }
    }
}
