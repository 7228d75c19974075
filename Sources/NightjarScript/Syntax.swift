public import NightjarCore

/// A parsed scraper definition: one portal, its origins and settings, a login block and one
/// block per kind of document it fetches. Produced by `ScraperParser`, checked by
/// `ScraperChecker`, run by `ScraperInterpreter`.
public struct ScraperDefinition: Sendable {
    /// Where the definition came from (for error locations).
    public var file: String
    /// What it reads: a portal over HTTP (`portal`), a mailbox over IMAP (`mailbox`) or an SFTP
    /// drop (`sftp`).
    public var source: SourceKind = .portal
    /// The portal identifier (`portal sandbox-html-portal`, `mailbox acme-ar`, `sftp bigbank`), which names
    /// vault entries `CLIENT/sandbox-html-portal`.
    public var portal: String
    /// A name for people.
    public var title: String?
    /// Declared origins; the first is the base that relative paths resolve against.
    public var origins: [OriginDeclaration]
    public var settings: ScraperSettings
    /// When a response means the session has expired (`expired if ...`).
    public var expired: Expression?
    /// When an answer, downloads included, is the portal saying it is down (`unavailable if text
    /// "maintenance"`): the credential ends `portal_unavailable` and its range is fetched again.
    public var unavailable: [Expression] = []
    public var login: Block?
    /// Document blocks in file order.
    public var documents: [DocumentBlock]
    /// SHA-256 of the file's bytes: what an admin approves.
    public var sha256: String
    /// How a mailbox or SFTP source signs in, and what it does after an import.
    public var sourceSettings = SourceDeclarations()
    /// Where each top-level declaration is written (`window`, `login`, `sign`...), for the checker.
    public var declarations: [String: SourceLocation] = [:]

    /// The document block for a kind, if the definition has one.
    public func block(for kind: DocumentKind) -> DocumentBlock? { documents.first { $0.kind == kind } }
}

/// `origin NAME "URL" [public] [allow-http]`: an origin the definition talks to. Vault values may
/// go only to origins not marked `public` and allowed by the credential too, and over plain http
/// only to a loopback address or an origin marked `allow-http`.
public struct OriginDeclaration: Sendable {
    public var name: String
    public var url: String
    /// `public`: never receives a vault-derived value (a CDN, a help site).
    public var isPublic: Bool
    /// `allow-http`: the portal has no https, and vault values may travel to it unencrypted.
    public var allowsPlainHTTP: Bool = false
    public var location: SourceLocation

    public init(name: String, url: String, isPublic: Bool, allowsPlainHTTP: Bool = false, location: SourceLocation) {
        self.name = name
        self.url = url
        self.isPublic = isPublic
        self.allowsPlainHTTP = allowsPlainHTTP
        self.location = location
    }
}

/// Settings a definition declares; each has a safe default.
public struct ScraperSettings: Sendable, Equatable {
    /// Longest date range the portal accepts in one search; longer ranges are split.
    public var windowDays: Int?
    /// Longest time one request may take.
    public var timeoutSeconds = 60
    /// Requests in flight at once per origin.
    public var concurrency = 2
    /// Requests per second per origin.
    public var requestsPerSecond = 2.0
    /// Hard page limit for `pages` loops without their own `limit`.
    public var pageLimit = 50
    /// `sensitive "NAME", ...`: more fields (query and form parameters, JSON keys, headers,
    /// cookies, hidden inputs) whose values are one-time or session values, hidden in HAR files
    /// and cassettes like the built-in ones (`code`, `state`, `ticket`, session ids).
    public var sensitiveNames: [String] = []
    public init() {}
}

/// Kinds of document a definition can fetch, each with its block name.
public enum DocumentKind: String, Sendable, CaseIterable, Codable {
    case remittance, invoice, purchaseOrder = "purchase_order", statement, other

    /// The block that fetches this kind (`remittances { ... }`).
    public var blockName: String {
        switch self {
        case .remittance: "remittances"
        case .invoice: "invoices"
        case .purchaseOrder: "purchase_orders"
        case .statement: "statements"
        case .other: "documents"
        }
    }

    public init?(blockName: String) {
        guard let kind = DocumentKind.allCases.first(where: { $0.blockName == blockName }) else { return nil }
        self = kind
    }
}

/// What a definition reads.
public enum SourceKind: String, Sendable, Codable, CaseIterable {
    /// A web portal, over HTTP(S): requests, pages, downloads.
    case portal
    /// A mailbox, over IMAP with TLS: messages, their attachments or bodies.
    case mailbox
    /// An SFTP drop: files in remote folders.
    case sftp

    /// The statements a document block of this kind of source is made of, for messages.
    var stepWords: String {
        switch self {
        case .portal: "get, post, download, let, expect, fail, if, for, pages, ..."
        case .mailbox: "messages { attachments ... body ... }"
        case .sftp: "files in \"FOLDER\" ..."
        }
    }
}

/// How a mailbox or SFTP source signs in (`sign in password|oauth2|key`).
public enum SignInMethod: String, Sendable, CaseIterable {
    /// `vault.username` and `vault.password` (an app password for most mail providers).
    case password
    /// OAuth 2.0: `vault.refresh_token` is exchanged at `vault.token_url` for an access token
    /// (XOAUTH2 / OAUTHBEARER); `vault.client_id` and optionally `vault.client_secret`, `vault.scope`.
    case oauth2
    /// An SSH key: `vault.private_key` (OpenSSH or PEM), optionally `vault.passphrase`.
    case key

    /// The vault fields a sign-in needs (always), and those it uses when present.
    public var fields: (required: [String], optional: [String]) {
        switch self {
        case .password: (["username", "password"], [])
        case .oauth2: (["username", "refresh_token", "client_id", "token_url"], ["client_secret", "scope"])
        case .key: (["username", "private_key"], ["passphrase"])
        }
    }
}

/// What becomes of a message or file once its documents are in the inbox (`after import ...`).
public enum AfterImport: Sendable, Equatable {
    /// Left as it was (the default): Nightjar remembers what it read.
    case leave
    /// `after import flag seen`: the message is marked read (mailboxes).
    case flagSeen
    /// `after import move "FOLDER"`: into another mailbox folder, or another SFTP folder.
    case move(String)
}

/// The declarations of a mailbox or SFTP source.
public struct SourceDeclarations: Sendable, Equatable {
    public var signIn: SignInMethod?
    public var signInLocation: SourceLocation?
    /// The mailbox folder searched (`folder "INBOX"`).
    public var folder: String?
    public var afterImport: AfterImport = .leave
    /// The largest document kept — an attachment, a body, an SFTP file — in bytes (`size max 25 MB`).
    public var maximumBytes = 25 * 1024 * 1024

    /// The largest message fetched: room for one such document in base64, and a megabyte more.
    public var maximumMessageBytes: Int { maximumBytes / 3 * 4 + 1024 * 1024 }

    public init() {}

    public static let defaultFolder = "INBOX"
}

/// `messages [from "..."] [to "..."] [subject "..."] [limit N] { ... }`: the messages of the
/// night's range (by arrival) that match, each read once.
public struct MessageQuery: Sendable {
    public var from: String?
    public var to: String?
    public var subject: String?
    public var limit: Int?
}

/// `attachments [name "GLOB"] [expect type T]`: which attachments of a message are documents.
/// A zip attachment is opened and its entries are chosen by the same rule.
public struct AttachmentRule: Sendable {
    public var namePattern: String?
    public var expectedType: DownloadType?
}

/// `body html|text`: the message's body is the document (advice written in the message).
public struct BodyRule: Sendable {
    public var type: DownloadType
}

/// How an SFTP file is placed in the night's range.
public enum FileDating: Sendable, Equatable {
    /// `dated by name "yyyyMMdd"`: the first run of the name that reads as a date in that pattern.
    case name(String)
    /// `dated by modified`: its modification time, in the workspace's zone (the default).
    case modified
}

/// `files in "FOLDER" [name "GLOB"] [dated by name "FORMAT" | dated by modified] [expect type T]`.
public struct FileQuery: Sendable {
    public var folder: String
    public var namePattern: String?
    public var dating: FileDating
    public var expectedType: DownloadType?
}

/// `remittances { ... }`.
public struct DocumentBlock: Sendable {
    public var kind: DocumentKind
    public var body: Block
    public var location: SourceLocation
}

/// Statements between braces.
public struct Block: Sendable {
    public var statements: [Statement]
    public var location: SourceLocation
}

/// One step, with where it is written.
public struct Statement: Sendable {
    public var kind: StatementKind
    public var location: SourceLocation
}

public indirect enum StatementKind: Sendable {
    /// `get URL ...` / `post URL ...`
    case request(RequestSpec)
    /// `download get URL ... kind remittance name ... date ...`
    case download(RequestSpec, DownloadSpec)
    /// `let NAME = EXPR` (rebinding an existing name updates it)
    case bind(String, Expression)
    /// `cookie NAME = EXPR`: sent on later requests to the definition's origins.
    case cookie(String, Expression)
    /// `expect CONDITION [else CLASS] [message TEXT]` (default class: layout_changed)
    case expect(Expression, FailureClass, message: Expression?)
    /// `fail CLASS if CONDITION [message TEXT]`
    case fail(FailureClass, condition: Expression, message: Expression?)
    case conditional(Expression, then: Block, otherwise: Block?)
    /// `for NAME in LIST [limit N] { ... }`
    case forEach(String, Expression, limit: Int?, Block)
    /// `while CONDITION limit N { ... }` (the checker insists on the limit)
    case whileLoop(Expression, limit: Int?, Block)
    /// `pages next EXPR [limit N] { ... }`: run the body, follow the next link, repeat.
    case pages(next: Expression, limit: Int?, Block)
    /// `log EXPR`: a line in the run's trace (redacted like every output).
    case log(Expression)
    /// `wait N seconds`
    case wait(seconds: Int)
    /// `messages ... { ... }` (mailboxes)
    case messages(MessageQuery, Block)
    /// `attachments ...` inside `messages` (mailboxes)
    case attachments(AttachmentRule)
    /// `body html|text` inside `messages` (mailboxes)
    case body(BodyRule)
    /// `files in "FOLDER" ...` (SFTP)
    case files(FileQuery)
    /// `expires in EXPR` (in `login`): the session lasts EXPR seconds (a token's `expires_in`);
    /// Nightjar logs in again shortly before, instead of meeting the expiry mid-run.
    case expiresIn(Expression)
}

/// What a request sends.
public struct RequestSpec: Sendable {
    public enum Method: String, Sendable { case get, post }
    public var method: Method
    public var url: Expression
    /// `via NAME`: resolve the path against this declared origin.
    public var via: String?
    public var query: [(String, Expression)]
    public var headers: [(String, Expression)]
    public var body: BodySpec?
}

public enum BodySpec: Sendable {
    case form([(String, Expression)])
    case json(JSONTemplate)
    /// `body EXPR [type TEXT]`
    case raw(Expression, contentType: Expression?)
}

/// A JSON body written in the definition: objects, arrays and expression leaves.
public indirect enum JSONTemplate: Sendable {
    case object([(String, JSONTemplate)])
    case array([JSONTemplate])
    case value(Expression)
}

/// What a download is and what the page said about it.
public struct DownloadSpec: Sendable {
    public var kind: DocumentKind
    public var name: Expression?
    /// `expect type csv`: what the bytes must be; anything else is a substituted answer.
    public var expectedType: DownloadType?
    /// `date`, `amount`, `payer`, `reference`, `currency`, `size`.
    public var metadata: [(String, Expression)]

    public static let metadataFields = ["date", "amount", "payer", "reference", "currency", "size"]
}

/// What a download's bytes must be (`expect type ...`).
public enum DownloadType: String, Sendable, CaseIterable {
    case csv, text, x12, xlsx, json, html, pdf, xml
}

/// A definition's text as the parser reads it: shared by every expression, which keeps only
/// where in it it was written (so an expression costs the same whatever its length).
public final class SourceText: Sendable {
    public let file: String
    public let scalars: [Unicode.Scalar]

    public init(_ text: String, file: String) {
        self.file = file
        scalars = Array(text.unicodeScalars)
    }

    /// The text of `range` (scalar offsets).
    public func text(_ range: Range<Int>) -> String {
        guard range.lowerBound >= 0, range.upperBound <= scalars.count, !range.isEmpty else { return "" }
        var result = ""
        result.unicodeScalars.append(contentsOf: scalars[range])
        return result
    }
}

/// An expression, with where it is written and its source text for messages.
public final class Expression: Sendable {
    public let kind: ExpressionKind
    /// How deep its tree is: 1 for a leaf.
    public let depth: Int
    private let source: SourceText
    private let line: Int32
    private let column: Int32
    private let start: Int32
    private let end: Int32

    /// An expression written at `range` of `source`, starting at `line` and `column`.
    public init(_ kind: ExpressionKind, source: SourceText, line: Int, column: Int, range: Range<Int>) {
        self.kind = kind
        self.source = source
        self.line = Int32(clamping: line)
        self.column = Int32(clamping: column)
        start = Int32(clamping: range.lowerBound)
        end = Int32(clamping: range.upperBound)
        depth = 1 + kind.children.reduce(0) { max($0, $1.depth) }
    }

    /// An expression made by the program rather than read from a file.
    public convenience init(_ kind: ExpressionKind, location: SourceLocation, text: String) {
        let source = SourceText(text, file: location.file ?? "<definition>")
        self.init(
            kind, source: source, line: location.line ?? 1, column: location.column ?? 1,
            range: 0..<source.scalars.count)
    }

    public var location: SourceLocation { SourceLocation(file: source.file, line: Int(line), column: Int(column)) }

    /// The expression as written (for messages such as "xpath(...) matched nothing").
    public var text: String { source.text(Int(start)..<Int(end)) }
}

public enum StringPart: Sendable {
    case text(String)
    case interpolation(Expression)
}

public enum BinaryOperator: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", greater = ">", lessOrEqual = "<=", greaterOrEqual = ">="
    case plus = "+", and, or
}

public indirect enum ExpressionKind: Sendable {
    case string([StringPart])
    case number(Int64)
    case bool(Bool)
    case list([Expression])
    /// A name: a `let` binding, a loop variable, or a built-in (`totp`, `client`, `portal`, `status`, `url`, `page`, `today`).
    case variable(String)
    /// `vault.password`, `range.from`, `origin.api`.
    case member(String, String)
    /// `xpath("//a")`, `text "Invalid"`, `ask "Code sent by e-mail"`.
    case call(String, [Expression])
    /// `EXPR | date "MM/dd/yyyy"`.
    case filter(Expression, String, [Expression])
    case binary(BinaryOperator, Expression, Expression)
    case not(Expression)

    /// The expressions directly inside this one.
    public var children: [Expression] {
        switch self {
        case .string(let parts): parts.compactMap { if case .interpolation(let inner) = $0 { inner } else { nil } }
        case .number, .bool, .variable, .member: []
        case .list(let items): items
        case .call(_, let arguments): arguments
        case .filter(let value, _, let arguments): [value] + arguments
        case .binary(_, let left, let right): [left, right]
        case .not(let inner): [inner]
        }
    }
}

/// How a run ended badly. `auth_failed` and `account_locked` are never retried.
public enum FailureClass: String, Sendable, CaseIterable, Codable {
    case authFailed = "auth_failed"
    case accountLocked = "account_locked"
    case mfaRequired = "mfa_required"
    case portalUnavailable = "portal_unavailable"
    case layoutChanged = "layout_changed"
    case rateLimited = "rate_limited"
    /// A request would have carried a vault value somewhere it may not go; nothing was sent.
    case originRefused = "origin_refused"
    /// The night's one login attempt for this credential already failed (or may have).
    case loginRefused = "login_refused"
    /// An SFTP server presented another host key than the one pinned in the credential.
    case hostKeyChanged = "host_key_changed"

    /// Whether a later attempt tonight may help.
    public var isRetryable: Bool { self == .portalUnavailable || self == .rateLimited }

    /// What the operator should do.
    public var advice: String {
        switch self {
        case .authFailed:
            "the portal refused the login: check the credential (`nightjar vault show`) and rotate it if it changed; not retried tonight"
        case .accountLocked: "the portal says the account is locked: the client must have it unlocked; not retried"
        case .mfaRequired: "a person must type a one-time code: run `nightjar scraper try --interactive` in the morning"
        case .portalUnavailable: "the portal was down or failing; a later run will try again"
        case .layoutChanged: "the portal's pages changed: compare the saved page and the HAR with the definition"
        case .rateLimited: "the portal asked us to slow down; a later run will try again"
        case .originRefused:
            "the definition tried to send a vault value to an origin it may not reach; fix the definition or the credential's --origin list"
        case .loginRefused:
            "a login for this credential already failed (or was cut off) in the last 12 hours; Nightjar will not risk a lock-out"
        case .hostKeyChanged:
            "the server's host key is not the one pinned in the credential: confirm the new key with the server's owner out of band, then update the credential's known_hosts field (`nightjar vault edit ... --field known_hosts`); nothing was sent"
        }
    }
}
