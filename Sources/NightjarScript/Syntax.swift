public import NightjarCore

/// A parsed scraper definition: one portal, its origins and settings, a login block and one
/// block per kind of document it fetches. Produced by `ScraperParser`, checked by
/// `ScraperChecker`, run by `ScraperInterpreter`.
public struct ScraperDefinition: Sendable {
    /// Where the definition came from (for error locations).
    public var file: String
    /// The portal identifier (`portal northwind`), which names vault entries `CLIENT/northwind`.
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

/// An expression, with where it is written and its source text for messages.
public final class Expression: Sendable {
    public let kind: ExpressionKind
    public let location: SourceLocation
    /// The expression as written (for messages such as "xpath(...) matched nothing").
    public let text: String

    public init(_ kind: ExpressionKind, location: SourceLocation, text: String) {
        self.kind = kind
        self.location = location
        self.text = text
    }
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

    /// Whether a later attempt tonight may help.
    public var isRetryable: Bool { self == .portalUnavailable || self == .rateLimited }

    /// What the operator should do.
    public var advice: String {
        switch self {
        case .authFailed: "the portal refused the login: check the credential (`nightjar vault show`) and rotate it if it changed; not retried tonight"
        case .accountLocked: "the portal says the account is locked: the client must have it unlocked; not retried"
        case .mfaRequired: "a person must type a one-time code: run `nightjar scraper try --interactive` in the morning"
        case .portalUnavailable: "the portal was down or failing; a later run will try again"
        case .layoutChanged: "the portal's pages changed: compare the saved page and the HAR with the definition"
        case .rateLimited: "the portal asked us to slow down; a later run will try again"
        case .originRefused: "the definition tried to send a vault value to an origin it may not reach; fix the definition or the credential's --origin list"
        case .loginRefused: "a login for this credential already failed (or was cut off) in the last 12 hours; Nightjar will not risk a lock-out"
        }
    }
}
