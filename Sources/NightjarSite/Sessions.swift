public import Foundation
public import NightjarCrypto
import Synchronization

/// Random tokens as they travel in cookies and forms: base64url without padding.
enum Token {
    /// 256 random bits from the system CSPRNG.
    static func random() -> String { base64url(SecureRandom.bytes(32)) }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
    }

    /// Whether `text` has the shape of a token (so junk is never hashed or stored).
    static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == 43
            && text.utf8.allSatisfy { byte in
                (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte) || byte == 45
                    || byte == 95
            }
    }

    static func equal(_ a: String, _ b: String) -> Bool { ConstantTime.equals(Array(a.utf8), Array(b.utf8)) }
}

/// How long sessions live and how many there may be.
public struct SessionPolicy: Sendable {
    /// A session unused this long ends.
    public var idleTimeout: TimeInterval = 30 * 60
    /// A session ends this long after sign-in, however busy.
    public var absoluteTimeout: TimeInterval = 12 * 60 * 60
    public var maximumSessions = 10_000
    /// Beyond this, an operator's oldest session ends when a new one starts.
    public var maximumPerOperator = 100

    public init() {}
}

/// A signed-in person.
public struct SiteSession: Sendable {
    public let operatorName: String
    public let startedAt: Date
    public fileprivate(set) var lastSeenAt: Date
    /// Every form of this session carries it; a POST without it is refused.
    public let formToken: String
    /// Where the sign-in came from.
    public let address: String
    /// A message for the next page (the outcome of the form just posted).
    fileprivate(set) var notice: (kind: String, text: String)?
}

/// Why a session ended.
public enum SessionEnd: String, Sendable {
    case signedOut = "signed out"
    case idle = "idle timeout"
    case expired = "absolute timeout"
    case replaced = "replaced by a newer session"
}

/// The server's sessions, in memory: a restart signs everyone out. Ids are 256 random bits,
/// kept only as their SHA-256 (so a lookup's timing says nothing about stored ids).
public final class SessionStore: Sendable {
    public let policy: SessionPolicy
    let clock: @Sendable () -> Date
    private let sessions = Mutex<[String: SiteSession]>([:])

    public init(policy: SessionPolicy = SessionPolicy(), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.policy = policy
        self.clock = clock
    }

    static func key(_ id: String) -> String { SHA256.hash(Array(id.utf8)).hexString }

    /// Starts a session for `name`; returns the new id for the cookie, with sessions it pushed out.
    public func start(operatorName name: String, address: String) -> (
        id: String, session: SiteSession, ended: [SiteSession]
    ) {
        let id = Token.random()
        let now = clock()
        let session = SiteSession(
            operatorName: name, startedAt: now, lastSeenAt: now, formToken: Token.random(), address: address,
            notice: nil)
        let ended = sessions.withLock { table -> [SiteSession] in
            var ended: [SiteSession] = []
            let theirs = table.filter { $0.value.operatorName == name }.sorted {
                $0.value.startedAt < $1.value.startedAt
            }
            for (key, old) in theirs.prefix(max(0, theirs.count - policy.maximumPerOperator + 1)) {
                table[key] = nil
                ended.append(old)
            }
            if table.count >= policy.maximumSessions,
                let oldest = table.min(by: { $0.value.lastSeenAt < $1.value.lastSeenAt })
            {
                table[oldest.key] = nil
                ended.append(oldest.value)
            }
            table[SessionStore.key(id)] = session
            return ended
        }
        return (id, session, ended)
    }

    /// What a presented session id turned out to be.
    public enum Lookup: Sendable {
        case live(SiteSession)
        case ended(SiteSession, SessionEnd)
        case unknown
    }

    /// The session for `id`, marked as used now; an expired one is removed and reported once.
    public func resume(_ id: String) -> Lookup {
        guard Token.isWellFormed(id) else { return .unknown }
        let key = SessionStore.key(id)
        let now = clock()
        return sessions.withLock { table -> Lookup in
            guard var session = table[key] else { return .unknown }
            if let end = end(of: session, at: now) {
                table[key] = nil
                return .ended(session, end)
            }
            session.lastSeenAt = now
            table[key] = session
            return .live(session)
        }
    }

    /// Ends the session `id` (sign-out); returns it if it existed.
    @discardableResult
    public func end(_ id: String) -> SiteSession? {
        guard Token.isWellFormed(id) else { return nil }
        return sessions.withLock { $0.removeValue(forKey: SessionStore.key(id)) }
    }

    /// Removes every session past a timeout and returns them with the reason.
    public func sweep() -> [(SiteSession, SessionEnd)] {
        let now = clock()
        return sessions.withLock { table in
            var ended: [(SiteSession, SessionEnd)] = []
            for (key, session) in table {
                if let end = end(of: session, at: now) {
                    table[key] = nil
                    ended.append((session, end))
                }
            }
            return ended
        }
    }

    /// Ends every session of an operator who no longer exists or may no longer sign in.
    public func endAll(operatorName name: String) -> [SiteSession] {
        sessions.withLock { table in
            let keys = table.filter { $0.value.operatorName == name }.map(\.key)
            return keys.compactMap { table.removeValue(forKey: $0) }
        }
    }

    public var count: Int { sessions.withLock { $0.count } }

    /// Leaves a message for the session's next page (after a redirect).
    func leaveNotice(_ id: String, kind: String, text: String) {
        guard Token.isWellFormed(id) else { return }
        sessions.withLock { $0[SessionStore.key(id)]?.notice = (kind, text) }
    }

    /// The message left for this page, once.
    func takeNotice(_ id: String) -> (kind: String, text: String)? {
        guard Token.isWellFormed(id) else { return nil }
        return sessions.withLock { table in
            let key = SessionStore.key(id)
            defer { table[key]?.notice = nil }
            return table[key]?.notice
        }
    }

    func end(of session: SiteSession, at now: Date) -> SessionEnd? {
        if now.timeIntervalSince(session.startedAt) >= policy.absoluteTimeout { return .expired }
        if now.timeIntervalSince(session.lastSeenAt) >= policy.idleTimeout { return .idle }
        return nil
    }
}

/// Tokens for the sign-in form, before there is a session: the form's token is an HMAC of a
/// random cookie under a key that lives as long as the server, so nothing is stored per visitor.
public struct PreSessionTokens: Sendable {
    private let key: [UInt8]

    public init(key: [UInt8] = SecureRandom.bytes(32)) { self.key = key }

    /// A new pre-session cookie value.
    public func newCookie() -> String { Token.random() }

    /// The form token that goes with `cookie`.
    public func formToken(for cookie: String) -> String {
        Token.base64url(HMAC.authenticate(Array(("sign-in:" + cookie).utf8), key: key, algorithm: .sha256))
    }

    /// Whether `token` was made for `cookie`.
    public func verify(token: String, cookie: String) -> Bool {
        Token.isWellFormed(cookie) && Token.equal(formToken(for: cookie), token)
    }
}
