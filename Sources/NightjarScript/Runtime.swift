import Foundation
public import NightjarCore
public import NightjarHTTP
import NightjarMarkup
import Synchronization

/// What the interpreter needs of a credential: its values by field, its TOTP generator and the
/// origins it may be sent to. The vault builds one from a decrypted entry; replay builds a fake.
///
/// Redaction: the client and portal ids are identifiers, never redacted; the username is an
/// identifier too unless the credential marks it secret (`usernameIsSecret`), in which case it is
/// registered with the redactor like the password.
public struct ScriptCredential: Sendable {
    public let client: String
    public let portal: String
    /// Tells two logins of one client at one portal apart; nil for the only one.
    public let label: String?
    /// `username`, `password` and any extra field, by name.
    public let fields: [String: String]
    /// Origins (`scheme://host:port`) these values may be sent to; empty allows none.
    public let allowedOrigins: [String]
    /// The RFC 6238 code at a Unix time, when the credential has a TOTP secret.
    public let totp: (@Sendable (UInt64) -> String)?
    public let totpPeriod: Int
    /// Whether the user name is a secret too; by default user names are identifiers.
    public let usernameIsSecret: Bool
    /// The credential says `allow-http`: its values may go to its plain `http://` origins.
    public let allowsPlainHTTP: Bool

    public init(
        client: String, portal: String, label: String? = nil, fields: [String: String], allowedOrigins: [String],
        totp: (@Sendable (UInt64) -> String)? = nil, totpPeriod: Int = 30, usernameIsSecret: Bool = false,
        allowsPlainHTTP: Bool = false
    ) {
        self.allowsPlainHTTP = allowsPlainHTTP
        self.client = client
        self.portal = portal
        self.label = label
        self.fields = fields
        self.allowedOrigins = allowedOrigins.map { ScraperChecker.origin(of: $0) }
        self.totp = totp
        self.totpPeriod = totpPeriod
        self.usernameIsSecret = usernameIsSecret
        Redactor.shared.declareIdentifier(client)
        Redactor.shared.declareIdentifier(portal)
        if let label { Redactor.shared.declareIdentifier(label) }
        if usernameIsSecret, let username = fields["username"] { Redactor.shared.register(text: username) }
    }

    /// `CLIENT/PORTAL[/LABEL]`: how logs, login attempts and one-time codes tell credentials apart.
    public var name: String { "\(client)/\(portal)" + (label.map { "/\($0)" } ?? "") }

    /// The portal as the night's run log keys it: `PORTAL` or `PORTAL/LABEL`.
    public var runItem: String { portal + (label.map { "/\($0)" } ?? "") }
}

/// Sends requests: a live `HTTPSession`, a cassette being replayed, or a recorder around either.
public protocol ScriptTransport: Sendable {
    func send(_ request: HTTPRequest, followRedirects: Bool) async throws -> HTTPResponse
}

extension HTTPSession: ScriptTransport {}

/// Durable memory of login attempts, so a credential is never tried again after a failure the
/// same night, even across a crash (the attempt is written before the login request leaves).
public protocol LoginGuard: Sendable {
    /// Records an attempt about to start; throws `ScraperFailure` (`login_refused`) when an earlier
    /// attempt failed or never finished.
    func begin(credential: String) throws -> Int64
    /// Records how the attempt ended: `succeeded` or a failure class.
    func finish(_ attempt: Int64, outcome: String) throws
}

/// Asks a person for a one-time code (e-mail, SMS). Absent at night: such a step ends the run
/// for that credential with `mfa_required`.
public protocol OneTimeCodePrompt: Sendable {
    func code(prompt: String, credential: String) async -> String?
}

/// Remembers, durably, the last TOTP period used per credential, so a restarted process does
/// not send a code its predecessor already sent.
public protocol TOTPUseStore: Sendable {
    func lastCounter(credential: String) -> UInt64?
    /// Called before the code is handed out (and so before it can be sent).
    func record(credential: String, counter: UInt64) throws
}

/// Hands out TOTP codes so that no code is ever sent twice: a second login in the same period
/// waits for the next one (portals reject a reused code and count it as a failed login).
public final class TOTPCodeSource: Sendable {
    private let lastCounter = Mutex<[String: UInt64]>([:])
    private let now: @Sendable () -> Double
    private let sleep: @Sendable (Double) async throws -> Void
    private let store: (any TOTPUseStore)?

    /// A source on the system clock.
    public convenience init() {
        self.init(
            now: { Date().timeIntervalSince1970 }, sleep: { try await Task.sleep(for: .milliseconds(Int($0 * 1000))) })
    }

    /// A source on a given clock (tests).
    public init(
        now: @escaping @Sendable () -> Double, sleep: @escaping @Sendable (Double) async throws -> Void,
        store: (any TOTPUseStore)? = nil
    ) {
        self.now = now
        self.sleep = sleep
        self.store = store
    }

    /// A source on the system clock that also remembers codes in `store`.
    public convenience init(store: any TOTPUseStore) {
        self.init(
            now: { Date().timeIntervalSince1970 }, sleep: { try await Task.sleep(for: .milliseconds(Int($0 * 1000))) },
            store: store)
    }

    /// The process-wide source.
    public static let shared = TOTPCodeSource()

    /// Seconds left in a period below which a login waits for the next one: the code must still
    /// be good when the portal checks it, after the password step.
    public static let minimumSecondsLeft = 5.0

    /// Before a login that will send a code: how long to wait so that a fresh period has begun
    /// (0 when the current one has at least `minimumSecondsLeft` seconds left and its code was not
    /// used yet). Waiting here, before the first request, keeps the portal's sign-in session from
    /// timing out in the middle.
    public func waitBeforeLogin(for credential: ScriptCredential) -> Double {
        guard credential.totp != nil else { return 0 }
        let period = Double(max(1, credential.totpPeriod))
        let time = now()
        let counter = UInt64(time / period)
        let left = Double(counter + 1) * period - time
        let used =
            lastCounter.withLock { $0[credential.name].map { $0 >= counter } ?? false }
            || (store?.lastCounter(credential: credential.name)).map { $0 >= counter } ?? false
        return left < TOTPCodeSource.minimumSecondsLeft || used ? left + 0.05 : 0
    }

    /// Sleeps `seconds` on this source's clock.
    public func pause(_ seconds: Double) async throws { try await sleep(seconds) }

    /// A fresh code for `credential`, waiting for the next period when this one's code was used.
    public func code(for credential: ScriptCredential) async throws -> String? {
        guard let generate = credential.totp else { return nil }
        let period = UInt64(max(1, credential.totpPeriod))
        while true {
            let time = now()
            let counter = UInt64(time) / period
            let stored = store?.lastCounter(credential: credential.name)
            let claimed = lastCounter.withLock { used -> Bool in
                if let last = used[credential.name], last >= counter { return false }
                if let stored, stored >= counter { return false }
                used[credential.name] = counter
                return true
            }
            if claimed {
                try store?.record(credential: credential.name, counter: counter)
                return generate(counter * period)
            }
            let wait = Double((counter + 1) * period) - time + 0.05
            try await sleep(max(0.05, wait))
        }
    }
}

/// A file a definition downloaded, with what the page said about it.
public struct DownloadRecord: Sendable, Codable, Equatable {
    public let kind: DocumentKind
    public let fileName: String
    public let path: String
    public let size: Int
    public let sha256: String
    /// `date`, `amount`, `payer`, `reference`, `currency`, `size` as captured from the page.
    public let metadata: [String: String]

    public init(
        kind: DocumentKind, fileName: String, path: String, size: Int, sha256: String, metadata: [String: String]
    ) {
        self.kind = kind
        self.fileName = fileName
        self.path = path
        self.size = size
        self.sha256 = sha256
        self.metadata = metadata
    }

    /// How a listing names a document already fetched: its kind and `reference` with its `date`,
    /// and with its `size` when the listing gives one. None without a reference: a listing that
    /// says too little is downloaded again rather than guessed.
    public static func listingKeys(kind: DocumentKind, metadata: [String: String]) -> [String] {
        guard let reference = metadata["reference"]?.trimmingCharacters(in: .whitespaces), !reference.isEmpty else {
            return []
        }
        var keys: [String] = []
        if let date = metadata["date"], !date.isEmpty { keys.append("\(kind.rawValue)|\(reference)|date \(date)") }
        if let size = metadata["size"], !size.isEmpty { keys.append("\(kind.rawValue)|\(reference)|size \(size)") }
        return keys
    }
}

/// Why a run for one credential stopped, with the step that raised it.
public struct ScraperFailure: NightjarError {
    public let failureClass: FailureClass
    public let problem: String
    public let location: SourceLocation?
    /// The step as written, e.g. `expect url "/dashboard"`.
    public let step: String
    /// The page that surprised us (for `layout_changed`), to save beside the HAR.
    public let page: [UInt8]?
    public let pageURL: String?

    public init(
        _ failureClass: FailureClass, _ problem: String, location: SourceLocation?, step: String = "",
        page: [UInt8]? = nil, pageURL: String? = nil
    ) {
        self.failureClass = failureClass
        self.problem = problem
        self.location = location
        self.step = step
        self.page = page
        self.pageURL = pageURL
    }

    public var code: String { "scraper.\(failureClass.rawValue)" }
    public var message: String { "\(failureClass.rawValue): \(problem)" + (step.isEmpty ? "" : " (step `\(step)`)") }
    public var exitStatus: ExitStatus { .failure }
}

/// How one credential's run ended.
public struct ScraperOutcome: Sendable {
    public var downloads: [DownloadRecord] = []
    public var failure: ScraperFailure?
    public var requests = 0
    public var logins = 0
    /// What the operator should know although nothing was lost: a file still being written
    /// (fetched next night), an archive move or flag the server refused.
    public var notes: [String] = []
    /// Messages, attachments or files the source held that were not imported and will not be
    /// read again (malformed, over the size limit, a zip bomb, not the expected type): each needs
    /// a person, so the credential's part of the night is `items_refused`.
    public var refused: [String] = []
    /// Documents the listing named that are already in the inbox, so were not downloaded again.
    public var alreadyInInbox = 0

    public init() {}

    /// `ok`, `no_documents`, or the failure class.
    public var status: String {
        if let failure { return failure.failureClass.rawValue }
        return downloads.isEmpty && alreadyInInbox == 0 ? "no_documents" : "ok"
    }
}

/// How to run a definition.
public struct ScraperRunOptions: Sendable {
    public var range: DateRange
    public var kinds: [DocumentKind]
    /// Origin name → URL, overriding the definition's (set per credential or workspace).
    public var originOverrides: [String: String]
    /// Where downloads go (created when missing).
    public var downloadDirectory: String
    /// Resolve and print the requests, send nothing.
    public var dryRun: Bool
    /// Listing keys (`DownloadRecord.listingKeys`) of documents already in the inbox: a download
    /// the listing names this way is not made again.
    public var alreadyFetched: Set<String>

    public init(
        range: DateRange, kinds: [DocumentKind] = [.remittance], originOverrides: [String: String] = [:],
        downloadDirectory: String, dryRun: Bool = false, alreadyFetched: Set<String> = []
    ) {
        self.range = range
        self.kinds = kinds
        self.originOverrides = originOverrides
        self.downloadDirectory = downloadDirectory
        self.dryRun = dryRun
        self.alreadyFetched = alreadyFetched
    }
}

/// A value while a definition runs. `tainted` marks anything derived from a vault value (or from
/// a response to a request that carried one).
struct Value: Sendable {
    enum Kind: @unchecked Sendable {
        case null
        case string(String)
        case number(Int64)
        case bool(Bool)
        case date(CalendarDate)
        case list([Value])
        case node(MarkupNode)
        case json(Any)
        /// In a dry run: what a page would have given.
        case placeholder(String)
    }
    var kind: Kind
    var tainted: Bool

    init(_ kind: Kind, tainted: Bool = false) {
        self.kind = kind
        self.tainted = tainted
    }

    static func string(_ text: String, tainted: Bool = false) -> Value { Value(.string(text), tainted: tainted) }
}

/// A response with its page and JSON parsed on first use.
final class CurrentResponse: @unchecked Sendable {
    let response: HTTPResponse
    let tainted: Bool
    let synthetic: Bool
    private var parsedPage: MarkupDocument??
    private var parsedJSON: Any??

    init(_ response: HTTPResponse, tainted: Bool, synthetic: Bool = false) {
        self.response = response
        self.tainted = tainted
        self.synthetic = synthetic
    }

    var page: MarkupDocument? {
        if let parsedPage { return parsedPage }
        let page = MarkupDocument.html(response.body)
        parsedPage = .some(page)
        return page
    }

    var json: Any? {
        if let parsedJSON { return parsedJSON }
        let value = try? JSONSerialization.jsonObject(with: Data(response.body), options: [.fragmentsAllowed])
        parsedJSON = .some(value)
        return value
    }

    var path: String { URLComponents(string: response.url)?.path ?? "" }
}
