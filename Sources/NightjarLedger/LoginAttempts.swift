public import Foundation
import NightjarCore
public import NightjarStore

/// The durable record of portal logins. One failed (or unfinished) login per credential per
/// night at most: a second could lock the client out of its portal.
public struct LoginAttempts {
    let database: Database

    /// Outcomes after which another login the same night is safe.
    public static let harmless: Set<String> = ["succeeded", "unavailable", "mfa_required", "cleared"]
    /// How far back a failed login blocks another.
    public static let window: TimeInterval = 12 * 3600

    public init(database: Database) { self.database = database }

    /// An earlier attempt that forbids a new one.
    public struct Blocking: Error, Sendable, Equatable {
        public let startedAt: String
        /// nil: the attempt never finished (a crash while logging in).
        public let outcome: String?
    }

    /// Records a new attempt, durably, unless an earlier one in the window failed or never finished.
    public func begin(credential: String, now: Date = Date()) throws -> Result<Int64, Blocking> {
        try database.transaction { () throws -> Result<Int64, Blocking> in
            let since = LoginAttempts.format(now.addingTimeInterval(-LoginAttempts.window))
            let rows = try database.query(
                """
                SELECT started_at, outcome FROM login_attempt WHERE credential = ? AND started_at >= ? ORDER BY id DESC
                """, [credential, since])
            for row in rows {
                let outcome = try row.optionalString("outcome")
                if outcome == nil || !LoginAttempts.harmless.contains(outcome!) {
                    return .failure(Blocking(startedAt: try row.string("started_at"), outcome: outcome))
                }
            }
            try database.execute(
                "INSERT INTO login_attempt (credential, started_at) VALUES (?, ?)",
                [credential, LoginAttempts.format(now)])
            return .success(database.lastInsertRowID)
        }
    }

    /// Records how an attempt ended.
    public func finish(_ id: Int64, outcome: String, now: Date = Date()) throws {
        try database.execute(
            "UPDATE login_attempt SET finished_at = ?, outcome = ? WHERE id = ?",
            [LoginAttempts.format(now), outcome, id])
    }

    /// After an operator fixed a credential: earlier failures stop blocking (the record stays).
    public func clear(credential: String) throws -> Int {
        try database.transaction { () throws -> Int in
            let count =
                try database.scalar(
                    Int64.self,
                    """
                    SELECT count(*) FROM login_attempt WHERE credential = ? AND (outcome IS NULL OR outcome NOT IN ('succeeded', 'unavailable', 'mfa_required', 'cleared'))
                    """, [credential]) ?? 0
            try database.execute(
                """
                UPDATE login_attempt SET outcome = 'cleared', finished_at = coalesce(finished_at, ?)
                WHERE credential = ? AND (outcome IS NULL OR outcome NOT IN ('succeeded', 'unavailable', 'mfa_required', 'cleared'))
                """, [LoginAttempts.format(Date()), credential])
            return Int(count)
        }
    }

    /// Attempts for a credential, newest first.
    public func history(credential: String) throws -> [(startedAt: String, outcome: String?)] {
        try database.query(
            "SELECT started_at, outcome FROM login_attempt WHERE credential = ? ORDER BY id DESC", [credential]
        ).map {
            (try $0.string("started_at"), try $0.optionalString("outcome"))
        }
    }

    static func format(_ date: Date) -> String { date.iso8601Milliseconds }
}
