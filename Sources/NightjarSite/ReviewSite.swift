public import Foundation
public import NightjarCore
import NightjarCrypto
public import NightjarLedger
public import NightjarMatching
import NightjarReview
public import NightjarStore
import NightjarVault
import Synchronization

/// How the site is set up: the workspace it serves, the vault it signs people in against, and
/// its limits.
public struct SiteConfiguration: Sendable {
    /// A name for the header and titles (the workspace's name).
    public var title: String
    /// The workspace folder (for `gl-accounts.conf`).
    public var workspaceRoot: String
    /// Opens a connection to the workspace database (migrated); the site keeps a few open.
    public var openDatabase: @Sendable () throws -> Database
    public var vault: SiteVault
    public var sessions = SessionPolicy()
    public var throttle = ThrottleSchedule()
    /// Key derivations (sign-ins) running at once; more are answered "busy" before deriving.
    public var concurrentDerivations = 2
    /// Peers whose `X-Forwarded-For` is believed (a reverse proxy on this machine).
    public var trustedProxies: [String] = []
    /// Cookies marked `Secure`: under TLS, or behind a proxy that serves HTTPS.
    public var secureCookies = false
    /// The matching rules of a client (the workspace's rules files), for deciding waiting batches
    /// again after a person changed one.
    public var matchingRules: @Sendable (ClientID) throws -> MatchingRules = { _ in .standard }
    /// Where reversals are dated "today".
    public var timeZone = TimeZone.gmt

    public init(
        title: String, workspaceRoot: String, openDatabase: @escaping @Sendable () throws -> Database, vault: SiteVault
    ) {
        self.title = title
        self.workspaceRoot = workspaceRoot
        self.openDatabase = openDatabase
        self.vault = vault
    }
}

/// Open database connections, each used by one request at a time.
final class DatabasePool: Sendable {
    final class Connection: @unchecked Sendable {
        let database: Database
        init(_ database: Database) { self.database = database }
    }

    let open: @Sendable () throws -> Database
    let keep: Int
    /// Requests that may work at once (more wait their turn: on a small machine fifty threads
    /// at once only slow each other down).
    let turns: DispatchSemaphore
    let reads: ReadCache
    private let idle = Mutex<[Connection]>([])

    init(
        open: @escaping @Sendable () throws -> Database, keep: Int = 32,
        concurrent: Int = 2 * ProcessInfo.processInfo.activeProcessorCount
    ) {
        self.open = open
        self.keep = keep
        turns = DispatchSemaphore(value: max(2, concurrent))
        reads = ReadCache(open: open)
    }

    /// Runs `body` with a connection and the reads valid now.
    func with<T>(_ body: (Database, ReadCache.Snapshot) throws -> T) throws -> T {
        turns.wait()
        defer { turns.signal() }
        let connection = try idle.withLock { $0.popLast() } ?? Connection(try open())
        defer {
            if !connection.database.isInTransaction { idle.withLock { if $0.count < keep { $0.append(connection) } } }
        }
        return try body(connection.database, try reads.snapshot())
    }
}

/// Reads shared by every request until the database changes. A connection of its own that never
/// writes watches SQLite's `data_version`, which moves whenever any other connection or process
/// commits, so a page never shows what was read before a change it could see. A read being
/// made is made once: requests that want the same one meanwhile wait for it.
final class ReadCache: @unchecked Sendable {
    /// The reads of one request: valid for the generation it started in.
    struct Snapshot {
        let cache: ReadCache
        let generation: Int

        /// The value read for `key` in this generation, or `read()`'s (kept unless a change came meanwhile).
        func value<T: Sendable>(_ key: ReviewAdapter.Read, _ read: () throws -> T) rethrows -> T {
            cache.condition.lock()
            while cache.generation == generation, cache.reading.contains(key) { cache.condition.wait() }
            if cache.generation == generation, let raw = cache.values[key], let stored = raw as? T {
                cache.condition.unlock()
                return stored
            }
            let mine = cache.generation == generation
            if mine { cache.reading.insert(key) }
            cache.condition.unlock()
            var result: T?
            defer {
                cache.condition.lock()
                if mine { cache.reading.remove(key) }
                if mine, cache.generation == generation, let result {
                    let size = (result as? CachedBody)?.size ?? 1_024
                    if cache.values.count >= 512 || cache.bytes + size > ReadCache.maximumBytes {
                        cache.values.removeAll()
                        cache.bytes = 0
                    }
                    cache.values[key] = result
                    cache.bytes += size
                }
                cache.condition.broadcast()
                cache.condition.unlock()
            }
            result = try read()
            return result!
        }

        /// After a write by this request: nothing read before it is used again.
        func forget() { cache.forget() }
    }

    let open: @Sendable () throws -> Database
    // All below under `condition`.
    private let condition = NSCondition()
    private var watcher: Database?
    private var version: Int64 = -1
    private var generation = 0
    private var values: [ReviewAdapter.Read: any Sendable] = [:]
    /// Roughly what `values` hold (page bodies by their size, other reads counted small).
    private var bytes = 0
    private var reading: Set<ReviewAdapter.Read> = []
    static let maximumBytes = 64 << 20

    init(open: @escaping @Sendable () throws -> Database) { self.open = open }

    func snapshot() throws -> Snapshot {
        condition.lock()
        defer { condition.unlock() }
        if watcher == nil { watcher = try open() }
        let now = try watcher!.scalar(Int64.self, "PRAGMA data_version") ?? -1
        if now != version {
            version = now
            advance()
        }
        return Snapshot(cache: self, generation: generation)
    }

    func forget() {
        condition.lock()
        advance()
        condition.unlock()
    }

    /// A new generation: what was read is dropped, and those waiting for a read stop waiting.
    private func advance() {
        generation += 1
        values.removeAll()
        bytes = 0
        reading.removeAll()
        condition.broadcast()
    }
}

/// The review site: sign-in, sessions, form tokens, routing and pages. `handle` answers one
/// request; `HTTPServer` calls it on the connection's thread.
public final class ReviewSite: Sendable {
    public let configuration: SiteConfiguration
    public let sessions: SessionStore
    public let throttle: SignInThrottle
    public let derivations: DerivationGate
    let preSession = PreSessionTokens()
    let pool: DatabasePool
    let log = Logger(label: "site")

    public init(configuration: SiteConfiguration, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        sessions = SessionStore(policy: configuration.sessions, clock: clock)
        throttle = SignInThrottle(schedule: configuration.throttle)
        derivations = DerivationGate(limit: configuration.concurrentDerivations)
        pool = DatabasePool(open: configuration.openDatabase)
    }

    var sessionCookie: String { configuration.secureCookies ? "__Host-nightjar-session" : "nightjar-session" }
    var signInCookie: String { configuration.secureCookies ? "__Host-nightjar-sign-in" : "nightjar-sign-in" }

    func cookie(_ name: String, _ value: String, maxAge: Int? = nil) -> String {
        "\(name)=\(value); Path=/; HttpOnly; SameSite=Strict" + (configuration.secureCookies ? "; Secure" : "")
            + (maxAge.map { "; Max-Age=\($0)" } ?? "")
    }

    /// The client's address: the peer's, or the one a trusted proxy says it forwarded for.
    func clientAddress(_ request: SiteRequest) -> String {
        guard configuration.trustedProxies.contains(request.peerAddress),
            let forwarded = request.header("x-forwarded-for")?.split(separator: ",").last?.trimmingCharacters(
                in: .whitespaces),
            !forwarded.isEmpty, forwarded.count <= 64
        else { return request.peerAddress }
        return forwarded
    }

    // MARK: Handling a request

    /// Who is asking, when signed in.
    struct Visitor {
        let sessionID: String
        let session: SiteSession
        let principal: SitePrincipal
    }

    public func handle(_ request: SiteRequest) -> SiteResponse {
        do {
            return try route(request)
        } catch let error as RequestError {
            return .text("\(error.status) \(error.message)\n", status: error.status)
        } catch {
            log.error("request \(request.method) \(request.path) failed: \(error)")
            return .html(
                Pages(title: configuration.title, principal: nil, formToken: "").message(
                    "Something went wrong",
                    "The server could not answer this request; its log says why."), status: 500)
        }
    }

    func visitor(_ request: SiteRequest) throws -> Visitor? {
        guard let id = request.cookies[sessionCookie] else { return nil }
        switch sessions.resume(id) {
        case .unknown:
            return nil
        case .ended(let session, let reason):
            auditQuietly(
                AuditEvent(
                    "site-sign-out", detail: "\(session.operatorName), \(reason.rawValue), from \(session.address)"))
            return nil
        case .live(let session):
            guard let principal = try configuration.vault.principal(named: session.operatorName) else {
                for ended in sessions.endAll(operatorName: session.operatorName) {
                    auditQuietly(AuditEvent("site-sign-out", detail: "\(ended.operatorName), removed from the vault"))
                }
                return nil
            }
            return Visitor(sessionID: id, session: session, principal: principal)
        }
    }

    func route(_ request: SiteRequest) throws -> SiteResponse {
        let segments = request.segments
        let isPost = request.method == "POST"
        if segments == ["static", "site-\(SiteStyle.version).css"] || segments == ["static", "site.css"] {
            return SiteResponse(
                status: 200,
                headers: [("Content-Type", "text/css; charset=utf-8"), ("Cache-Control", "public, max-age=86400")],
                body: Array(SiteStyle.css.utf8))
        }
        if segments == ["favicon.ico"] || segments == ["static", "icon.svg"] {
            return SiteResponse(
                status: 200, headers: [("Content-Type", "image/svg+xml"), ("Cache-Control", "public, max-age=86400")],
                body: Array(SiteStyle.icon.utf8))
        }
        if request.header("sec-fetch-site") == "cross-site" && isPost {
            return forbidden("A form from another site cannot act here.")
        }
        if segments == ["sign-in"] {
            return isPost ? try signIn(request) : signInPage(request, name: "", notice: nil)
        }
        guard let visitor = try visitor(request) else {
            if isPost { return forbidden("Your session has ended; sign in again.") }
            return .redirect("/sign-in")
        }
        let pages = Pages(
            title: configuration.title, principal: visitor.principal, formToken: visitor.session.formToken)
        var form = FormFields()
        if isPost {
            form = try request.form()
            guard let token = form["csrf"], Token.equal(token, visitor.session.formToken) else {
                return forbidden(
                    "This form is not from your session (it is stale or from elsewhere); nothing was done.")
            }
        }
        if segments == ["sign-out"] {
            guard isPost else { return notFound(pages) }
            sessions.end(visitor.sessionID)
            try configuration.vault.audit(
                AuditEvent(
                    "site-sign-out", detail: "\(visitor.principal.name), signed out, from \(clientAddress(request))"))
            var response = SiteResponse.redirect("/sign-in")
            response.setCookie(cookie(sessionCookie, "", maxAge: 0))
            return response
        }
        return try pool.with { database, reads in
            let adapter = ReviewAdapter(
                database: database, reads: reads, workspaceRoot: configuration.workspaceRoot,
                matchingRules: configuration.matchingRules, timeZone: configuration.timeZone)
            let scope = try adapter.scope(for: visitor.principal)
            guard scope.permits(.read) else {
                return .html(
                    pages.message("Nothing to review", "\(visitor.principal.name) holds no role that reviews batches."),
                    status: 403)
            }
            let notice = sessions.takeNotice(visitor.sessionID).map {
                Notice(kind: Notice.Kind(rawValue: $0.kind) ?? .done, text: $0.text)
            }
            switch (request.method, segments.first) {
            case ("GET", nil), ("HEAD", nil):
                return .html(
                    pages.morning(try adapter.morning(scope), batches: try adapter.batches(scope, statuses: ["new"])))
            case ("GET", "worklist"), ("HEAD", "worklist"):
                guard segments.count == 1 else { return notFound(pages) }
                return .html(
                    pages.worklist(
                        try adapter.worklist(scope, worklistQuery(request.query)), query: worklistQuery(request.query),
                        clients: scope.clients))
            case ("GET", "exports"), ("HEAD", "exports"):
                guard segments.count == 1 else { return notFound(pages) }
                return .html(
                    pages.exports(
                        try adapter.batches(scope, statuses: ["approved", "reversed"]),
                        canExport: scope.permits(.export), notice: notice))
            case (_, "batches"):
                return try batchRoute(
                    request, segments: Array(segments.dropFirst()), form: form, adapter: adapter, scope: scope,
                    pages: pages,
                    visitor: visitor, notice: notice)
            case ("GET", "clients"), ("HEAD", "clients"):
                guard segments.count == 4 else { return notFound(pages) }
                if segments[2] == "invoices",
                    let history = try adapter.invoice(client: segments[1], number: segments[3], scope)
                {
                    return .html(pages.invoice(history))
                }
                if segments[2] == "customers",
                    let account = try adapter.account(client: segments[1], customer: segments[3], scope)
                {
                    return .html(pages.account(account))
                }
                return notFound(pages)
            default:
                return notFound(pages)
            }
        }
    }

    func worklistQuery(_ fields: FormFields) -> WorklistQuery {
        var query = WorklistQuery()
        query.client = fields["client"].flatMap { $0.isEmpty ? nil : $0 }
        query.kind = fields["kind"].flatMap { $0.isEmpty ? nil : $0 }
        query.payer = fields["payer"].flatMap { $0.isEmpty ? nil : String($0.prefix(100)) }
        query.batch = fields["batch"].flatMap { Int64($0) }
        query.sort = fields["sort"].flatMap(WorklistQuery.Sort.init(rawValue:)) ?? .amount
        query.descending = fields["order"] != "asc"
        query.page = fields["page"].flatMap { Int($0) } ?? 1
        query.pageSize = fields["size"].flatMap { Int($0) } ?? 50
        return query
    }

    /// `/batches/ID[/ACTION]` and `/batches/ID/lines/POSITION/ACTION`.
    func batchRoute(
        _ request: SiteRequest, segments: [String], form: FormFields, adapter: ReviewAdapter, scope: ReviewScope,
        pages: Pages,
        visitor: Visitor, notice: Notice?
    ) throws -> SiteResponse {
        guard let idText = segments.first, let id = Int64(idText), id > 0 else { return notFound(pages) }
        let isPost = request.method == "POST"
        func outcome(_ action: () throws -> String) throws -> SiteResponse {
            do {
                let message = try action()
                sessions.leaveNotice(visitor.sessionID, kind: Notice.Kind.done.rawValue, text: message)
                return .redirect(Link.batch(id))
            } catch let refusal as ReviewRefusal {
                return refused(refusal, pages: pages, scope: scope)
            }
        }
        let version = form["version"] ?? ""
        switch (isPost, segments.count) {
        case (false, 1):
            guard let batch = try adapter.batch(id, scope) else { return notFound(pages) }
            let drawing = Pages(title: pages.title, principal: pages.principal, formToken: CachedBody.placeholder)
            let body = adapter.batchPage(batch, scope) { drawing.batchBody(batch, scope: scope) }
            let (head, tail) = pages.frame("Batch \(batch.id)", notice: notice)
            var response = SiteResponse.html("")
            response.body = Array(head.utf8) + body.bytes(token: visitor.session.formToken) + Array(tail.utf8)
            return response
        case (true, 2) where segments[1] == "approve":
            return try outcome {
                try adapter.approve(
                    id, version: version, acceptExceptions: form["accept_exceptions"] == "yes",
                    reason: form["reason"] ?? "", scope)
            }
        case (true, 2) where segments[1] == "reverse":
            return try outcome { try adapter.reverse(id, version: version, reason: form["reason"] ?? "", scope) }
        case (true, 2) where segments[1] == "export":
            guard let format = form["format"].flatMap(GLExport.Format.init(rawValue:)) else {
                return .html(pages.message("Export", "Choose csv, json, hledger or beancount."), status: 400)
            }
            do {
                let export = try adapter.export(id, format: format, again: form["again"] == "yes", scope)
                let type =
                    switch format {
                    case .json: "application/json; charset=utf-8"
                    case .csv: "text/csv; charset=utf-8"
                    case .hledger, .beancount: "text/plain; charset=utf-8"
                    }
                return SiteResponse(
                    status: 200,
                    headers: [
                        ("Content-Type", type), ("Cache-Control", "no-store"),
                        ("Content-Disposition", "attachment; filename=\"\(export.fileName)\""),
                    ],
                    body: Array(export.text.utf8))
            } catch let refusal as ReviewRefusal {
                if case .refused(let message, _) = refusal {
                    return .html(
                        pages.exports(
                            try adapter.batches(scope, statuses: ["approved", "reversed"]),
                            canExport: scope.permits(.export),
                            notice: Notice(kind: .error, text: message)), status: 409)
                }
                return refused(refusal, pages: pages, scope: scope)
            }
        case (true, 2) where segments[1] == "accept-suggestion":
            // `POSITION:NUMBER:INVOICE`, from the button pressed.
            let parts = (form["suggestion"] ?? "").split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3, let position = Int(parts[0]), let number = Int(parts[1]) else {
                return .html(
                    pages.message("Accept a suggestion", "Choose a suggestion on the batch's page."), status: 400)
            }
            return try outcome {
                try adapter.acceptSuggestion(
                    id, position: position, number: number, invoice: parts[2], version: version, scope)
            }
        case (_, 4) where segments[1] == "lines":
            guard let position = Int(segments[2]), position >= 0 else { return notFound(pages) }
            switch (isPost, segments[3]) {
            case (false, "reassign"):
                guard let batch = try adapter.batch(id, scope),
                    let line = batch.lines.first(where: { $0.position == position })
                else { return notFound(pages) }
                let search = String((request.query["q"] ?? "").prefix(100))
                return .html(
                    pages.reassign(
                        batch, line: line, search: search,
                        results: try adapter.searchInvoices(for: batch, text: search, scope), notice: notice))
            case (true, "reassign"):
                return try outcome {
                    try adapter.reassign(
                        id, position: position, invoice: form["invoice"] ?? "", version: version, scope)
                }
            default:
                return notFound(pages)
            }
        default:
            return notFound(pages)
        }
    }

    func refused(_ refusal: ReviewRefusal, pages: Pages, scope: ReviewScope) -> SiteResponse {
        switch refusal {
        case .notFound:
            return notFound(pages)
        case .forbidden(let message):
            return .html(pages.message("Not allowed", message), status: 403)
        case .stale(let batch):
            return .html(
                pages.batch(
                    batch, scope: scope,
                    notice: Notice(
                        kind: .warn,
                        text:
                            "This batch changed after your page was drawn (a re-match, another reviewer or the command line). Nothing was done; this is the batch as it is now."
                    )),
                status: 409)
        case .refused(let message, let batch):
            guard let batch else { return .html(pages.message("Refused", message), status: 409) }
            return .html(
                pages.batch(batch, scope: scope, notice: Notice(kind: .error, text: message + " Nothing was done.")),
                status: 409)
        }
    }

    func notFound(_ pages: Pages) -> SiteResponse {
        .html(pages.message("Not found", "There is nothing here, or nothing you may see."), status: 404)
    }

    func forbidden(_ text: String) -> SiteResponse {
        .html(Pages(title: configuration.title, principal: nil, formToken: "").message("Refused", text), status: 403)
    }

    // MARK: Sign-in

    func signInPage(_ request: SiteRequest, name: String, notice: Notice?, status: Int = 200, retryAfter: Int? = nil)
        -> SiteResponse
    {
        var cookieValue = request.cookies[signInCookie] ?? ""
        var response = SiteResponse.html("", status: status)
        if !Token.isWellFormed(cookieValue) {
            cookieValue = preSession.newCookie()
            response.setCookie(cookie(signInCookie, cookieValue))
        }
        response.body = Array(
            Pages(title: configuration.title, principal: nil, formToken: preSession.formToken(for: cookieValue))
                .signIn(name: name, notice: notice).utf8)
        if let retryAfter { response.headers.append(("Retry-After", String(retryAfter))) }
        return response
    }

    func signIn(_ request: SiteRequest) throws -> SiteResponse {
        let form = try request.form()
        guard let cookieValue = request.cookies[signInCookie], let token = form["csrf"],
            preSession.verify(token: token, cookie: cookieValue)
        else {
            return forbidden("This sign-in form is stale or from elsewhere; open the sign-in page again.")
        }
        let name = String((form["name"] ?? "").prefix(64)).trimmingCharacters(in: .whitespaces)
        let passphrase = form["passphrase"] ?? ""
        let address = clientAddress(request)
        let wait = throttle.wait(operatorName: name, address: address)
        if wait > 0 {
            let seconds = Int(wait.rounded(.up))
            log.notice("sign-in throttled", [("address", .text(address))])
            return signInPage(
                request, name: name,
                notice: Notice(
                    kind: .error,
                    text: "Too many failed sign-ins: try again in \(seconds) second\(seconds == 1 ? "" : "s")."),
                status: 429, retryAfter: seconds)
        }
        guard derivations.tryEnter() else {
            return signInPage(
                request, name: name,
                notice: Notice(kind: .warn, text: "The server is busy signing others in: try again in a moment."),
                status: 503, retryAfter: 1)
        }
        let verdict: SiteVault.Verdict
        do {
            defer { derivations.leave() }
            verdict = try configuration.vault.verify(
                name: name, passphrase: SecretBytes(utf8: passphrase), address: address)
        } catch {
            log.error("sign-in could not be checked: \(error)")
            return signInPage(
                request, name: name,
                notice: Notice(
                    kind: .error, text: "The vault cannot check sign-ins right now; the server's log says why."),
                status: 503)
        }
        switch verdict {
        case .refused:
            throttle.failed(operatorName: name, address: address)
            let who = (try? configuration.vault.isOperator(name)) == true ? "operator \(name)" : "an unknown name"
            try configuration.vault.audit(AuditEvent("site-sign-in-failed", detail: "\(who), from \(address)"))
            return signInPage(
                request, name: name, notice: Notice(kind: .error, text: "That name and passphrase do not sign in."),
                status: 401)
        case .signedIn(let principal):
            throttle.succeeded(operatorName: principal.name)
            // A new id at every sign-in: an id planted or seen before never becomes a signed-in session.
            if let old = request.cookies[sessionCookie] { sessions.end(old) }
            let started = sessions.start(operatorName: principal.name, address: address)
            for ended in started.ended {
                auditQuietly(
                    AuditEvent(
                        "site-sign-out",
                        detail: "\(ended.operatorName), \(SessionEnd.replaced.rawValue), from \(ended.address)"))
            }
            var response = SiteResponse.redirect("/")
            response.setCookie(cookie(sessionCookie, started.id))
            response.setCookie(cookie(signInCookie, "", maxAge: 0))
            return response
        }
    }

    // MARK: Housekeeping

    /// Ends sessions past their timeouts and records each end; the server calls it every minute.
    public func sweepSessions() {
        for (session, reason) in sessions.sweep() {
            auditQuietly(
                AuditEvent(
                    "site-sign-out", detail: "\(session.operatorName), \(reason.rawValue), from \(session.address)"))
        }
    }

    /// Records an end of session that nobody waits for; a failure is logged.
    func auditQuietly(_ event: AuditEvent) {
        do {
            try configuration.vault.audit(event)
        } catch {
            log.error("audit record \(event.action) could not be written: \(error)")
        }
    }
}
