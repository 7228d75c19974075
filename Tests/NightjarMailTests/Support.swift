import Foundation
import NightjarCore
import NightjarMail
import NightjarSandbox
import NightjarScript

/// What the reader remembers, held in memory for these tests (the night keeps it in the
/// workspace database; the CLI tests drive that one).
actor MemoryOfReads: SourceMemory {
    var items: [String: SourceItemRecord] = [:]

    func wasRead(client: String, source: String, key: String) -> SourceItemRecord? {
        items["\(client)/\(source)/\(key)"]
    }

    func wasRead(client: String, source: String, identity: String) -> SourceItemRecord? {
        items.first {
            $0.key.hasPrefix("\(client)/\(source)/") && $0.value.identity == identity && $0.value.status != "duplicate"
        }?.value
    }

    func record(client: String, source: String, key: String, identity: String?, status: String, message: String?) {
        items["\(client)/\(source)/\(key)"] = SourceItemRecord(
            key: key, identity: identity, status: status, readAt: Logger.timestamp())
    }

    var count: Int { items.count }
}

/// Login attempts in memory: the rule (one failed sign-in per night) as the night applies it.
final class LoginJournal: LoginGuard, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var attempts: [(credential: String, outcome: String?)] = []

    func begin(credential: String) throws -> Int64 {
        try lock.withLock {
            if let earlier = attempts.last(where: { $0.credential == credential }), earlier.outcome != "succeeded",
                earlier.outcome != "unavailable"
            {
                throw ScraperFailure(
                    .loginRefused, "a login for \(credential) ended \(earlier.outcome ?? "unfinished")", location: nil)
            }
            attempts.append((credential, nil))
            return Int64(attempts.count - 1)
        }
    }

    func finish(_ attempt: Int64, outcome: String) throws {
        lock.withLock { attempts[Int(attempt)].outcome = outcome }
    }
}

enum MailTestSupport {
    static func temporaryFolder(_ label: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nj-\(label)-\(UUID().uuidString)")
            .path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func definition(_ text: String) throws -> ScraperDefinition {
        try ScraperChecker.load(text, file: "test.scraper")
    }

    /// The sandbox retailer's mailbox definition (as in scrapers/sandbox-mailbox.scraper), with extra lines.
    static func sandboxMailbox(_ extra: String = "", signIn: String = "password") throws -> ScraperDefinition {
        try definition(
            """
            mailbox sandbox-mailbox "Sandbox mailbox remittance e-mails"
            origin "imaps://imap.sandbox-mailbox.example"
            sign in \(signIn)
            size max 1 MB
            \(extra)
            remittances {
              messages from "remittance@sandbox-mailbox.example" subject "Remittance" {
                attachments name "*.csv" expect type csv
                attachments name "*.xlsx" expect type xlsx
                attachments name "*.820" expect type x12
                body html
              }
              messages from "remittance@sandbox-mailbox.example" subject "Zahlungsavis" {
                attachments name "*.csv"
              }
            }
            """)
    }

    static let range = try! DateRange(from: CalendarDate(iso: "2026-08-01"), to: CalendarDate(iso: "2026-10-31"))
}
