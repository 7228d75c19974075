import Foundation
public import NightjarCore
import NightjarCrypto
import NightjarDocuments
public import NightjarHTTP
import NightjarMarkup

/// Runs one definition for one credential over a date range: logs in, fetches each requested
/// kind of document window by window, and reports what it downloaded or why it stopped.
///
/// Before any request leaves, a request that carries a vault-derived value (directly, through
/// `let`, filters, string operations, regexes, conditions, or a response to such a request) is
/// refused unless its origin is allowed by both the definition and the credential; such a
/// request never follows redirects on its own.
public final class ScraperInterpreter: @unchecked Sendable {
    public let definition: ScraperDefinition
    let credential: ScriptCredential
    let transport: any ScriptTransport
    let options: ScraperRunOptions
    let loginGuard: (any LoginGuard)?
    let prompt: (any OneTimeCodePrompt)?
    let totpSource: TOTPCodeSource
    let trace: @Sendable (String) -> Void
    let onDownload: (@Sendable (DownloadRecord) async -> Void)?
    /// Awaited before a download is saved into the download folder: a caller that lands files
    /// in the background (`onDownload` returns before the file is moved on) finishes the landing
    /// under way, so the folder is as a landing done at once would have left it.
    let beforeSaving: (@Sendable () async -> Void)?

    /// Origin name → `scheme://host:port`, after overrides.
    public let origins: [String: String]
    /// Origin name → the URL the definition's paths resolve against.
    let originURLs: [String: String]

    var scopes: [[String: Value]] = [[:]]
    var current: CurrentResponse?
    var seenCookies: [String: String] = [:]
    var scriptCookies: [(String, Value)] = []
    var taintedControl = 0
    var pageNumbers: [Int] = []
    var inLogin = false
    /// When the session (a token with `expires in`) should be renewed.
    var sessionRenewal: ContinuousClock.Instant?
    var loginAttempt: Int64?
    var range: DateRange
    var outcome = ScraperOutcome()
    /// Whether the download folder has been made (once per run, before the first file).
    var downloadDirectoryMade = false
    /// SHA-256 of pages this run saw as sign-in or error pages: a download equal to one is the
    /// portal answering with that page, not a document.
    var suspectPages: Set<String> = []

    public init(
        definition: ScraperDefinition, credential: ScriptCredential, transport: any ScriptTransport,
        options: ScraperRunOptions,
        loginGuard: (any LoginGuard)? = nil, prompt: (any OneTimeCodePrompt)? = nil, totp: TOTPCodeSource = .shared,
        trace: @escaping @Sendable (String) -> Void = { _ in },
        onDownload: (@Sendable (DownloadRecord) async -> Void)? = nil,
        beforeSaving: (@Sendable () async -> Void)? = nil
    ) {
        self.onDownload = onDownload
        self.beforeSaving = beforeSaving
        self.definition = definition
        self.credential = credential
        self.transport = transport
        self.options = options
        self.loginGuard = loginGuard
        self.prompt = prompt
        self.totpSource = totp
        self.trace = trace
        self.range = options.range
        var urls: [String: String] = [:]
        for declaration in definition.origins {
            urls[declaration.name] =
                (options.originOverrides[declaration.name] ?? declaration.url).withoutTrailingSlashes
        }
        originURLs = urls
        origins = urls.mapValues { ScraperChecker.origin(of: $0) }
    }

    /// An HTTP session set up with the definition's timeout, concurrency and rate per origin.
    /// Pass one `limiter` to every session of a portal so the definition's concurrency and rate
    /// hold across credentials.
    /// `deadline` is when the night must be over: a wait the portal asks for that would pass it
    /// is not made.
    public static func session(
        for definition: ScraperDefinition, origins: [String], recorder: HARRecorder?, tls: TLSSettings = TLSSettings(),
        limiter shared: OriginLimiter? = nil, deadline: ContinuousClock.Instant? = nil
    ) async -> HTTPSession {
        var limits = TransferLimits()
        limits.totalTimeout = .seconds(definition.settings.timeoutSeconds)
        limits.lowSpeedTime = .seconds(min(30, definition.settings.timeoutSeconds))
        let limiter = shared ?? OriginLimiter()
        for origin in origins {
            await limiter.setLimit(
                OriginLimiter.Limit(
                    concurrency: definition.settings.concurrency,
                    requestsPerSecond: definition.settings.requestsPerSecond), for: origin)
        }
        var retry = RetryPolicy()
        retry.deadline = deadline
        return HTTPSession(limits: limits, tls: tls, retry: retry, limiter: limiter, recorder: recorder)
    }

    /// Runs the definition. Never throws: a failure is part of the outcome.
    public func run() async -> ScraperOutcome {
        guard definition.source == .portal else {
            outcome.failure = ScraperFailure(
                .layoutChanged,
                "\(definition.portal) is a \(definition.source.rawValue), not a portal: it is read by its own reader",
                location: nil)
            return outcome
        }
        do {
            if let login = definition.login { try await runLogin(login) }
            let windows = definition.settings.windowDays.map { options.range.split(maxDays: $0) } ?? [options.range]
            for kind in options.kinds {
                guard let block = definition.block(for: kind) else { continue }
                for window in windows {
                    range = window
                    if windows.count > 1 { trace("window \(window.from) to \(window.to)") }
                    // A login during the block (a renewed token) changes the globals: they outlive it.
                    let saved = scopes
                    scopes.append([:])
                    defer {
                        let globals = scopes.first ?? saved[0]
                        scopes = saved
                        scopes[0] = globals
                    }
                    try await execute(block.body.statements)
                }
            }
        } catch let failure as ScraperFailure {
            outcome.failure = failure
        } catch {
            outcome.failure = ScraperFailure(.portalUnavailable, "\(error)", location: nil)
        }
        return outcome
    }

    // MARK: Login

    func runLogin(_ login: Block) async throws {
        // The login sees only the globals; the caller's scopes come back on every path, failure
        // included, so the blocks around a re-login always find the scopes they pushed.
        let saved = scopes
        scopes = [saved[0]]
        defer {
            let globals = scopes.first ?? saved[0]
            scopes = saved
            scopes[0] = globals
        }
        if definition.loginUsesTOTP, !options.dryRun {
            let wait = totpSource.waitBeforeLogin(for: credential)
            if wait > 0 {
                Logger(label: "scraper").info(
                    "\(credential.name): waiting \(String(format: "%.1f", wait)) s for a fresh one-time-code period before logging in"
                )
                trace("waiting \(String(format: "%.1f", wait)) s for a fresh one-time-code period before logging in")
                try await totpSource.pause(wait)
            }
        }
        inLogin = true
        loginAttempt = nil
        outcome.logins += 1
        trace(outcome.logins == 1 ? "logging in as \(credential.name)" : "logging in again")
        do {
            try await execute(login.statements)
        } catch let failure as ScraperFailure {
            inLogin = false
            if let attempt = loginAttempt, !options.dryRun {
                let recorded: String =
                    switch failure.failureClass {
                    case .portalUnavailable, .rateLimited: "unavailable"
                    default: failure.failureClass.rawValue
                    }
                try? loginGuard?.finish(attempt, outcome: recorded)
            }
            throw failure
        }
        inLogin = false
        if let attempt = loginAttempt, !options.dryRun { try loginGuard?.finish(attempt, outcome: "succeeded") }
    }

    // MARK: Statements

    func execute(_ statements: [Statement]) async throws {
        for statement in statements { try await execute(statement) }
    }

    func describe(_ statement: Statement) -> String {
        switch statement.kind {
        case .request(let spec): "\(spec.method.rawValue) \(spec.url.text)"
        case .download(let spec, _): "download \(spec.url.text)"
        case .bind(let name, let value): "let \(name) = \(value.text)"
        case .cookie(let name, _): "cookie \(name)"
        case .expect(let condition, _, _): "expect \(condition.text)"
        case .fail(let failure, let condition, _): "fail \(failure.rawValue) if \(condition.text)"
        case .conditional(let condition, _, _): "if \(condition.text)"
        case .forEach(let name, let list, _, _): "for \(name) in \(list.text)"
        case .whileLoop(let condition, _, _): "while \(condition.text)"
        case .pages(let next, _, _): "pages next \(next.text)"
        case .log: "log"
        case .wait: "wait"
        case .expiresIn(let value): "expires in \(value.text)"
        case .messages, .attachments, .body, .files: ScraperInterpreter.stepName(statement.kind)
        }
    }

    /// The word a step starts with.
    static func stepName(_ kind: StatementKind) -> String {
        switch kind {
        case .request(let spec): spec.method.rawValue
        case .download: "download"
        case .bind: "let"
        case .cookie: "cookie"
        case .expect: "expect"
        case .fail: "fail"
        case .conditional: "if"
        case .forEach: "for"
        case .whileLoop: "while"
        case .pages: "pages"
        case .log: "log"
        case .wait: "wait"
        case .messages: "messages"
        case .attachments: "attachments"
        case .body: "body"
        case .files: "files"
        case .expiresIn: "expires"
        }
    }

    func failure(_ failureClass: FailureClass, _ problem: String, _ statement: Statement, withPage: Bool = false)
        -> ScraperFailure
    {
        ScraperFailure(
            failureClass, problem, location: statement.location, step: describe(statement),
            page: withPage ? current?.response.body : nil, pageURL: withPage ? current?.response.url : nil)
    }

    func execute(_ statement: Statement) async throws {
        switch statement.kind {
        case .request(let spec):
            _ = try await request(spec, statement, isDownload: false)
        case .download(let spec, let download):
            try await self.download(spec, download, statement)
        case .bind(let name, let expression):
            var value = try await evaluate(expression, statement)
            if taintedControl > 0 { value.tainted = true }
            bind(name, value)
        case .cookie(let name, let expression):
            var value = try await evaluate(expression, statement)
            if taintedControl > 0 { value.tainted = true }
            scriptCookies.removeAll { $0.0 == name }
            scriptCookies.append((name, value))
        case .expect(let condition, let failureClass, let message):
            let value = try await evaluate(condition, statement)
            guard let holds = truth(value) else {
                trace("(dry run) would check: \(describe(statement))")
                return
            }
            if !holds {
                if let page = current { suspectPages.insert(SHA256.hash(page.response.body).hexString) }
                let text = try await self.message(message, statement)
                throw failure(
                    failureClass, text ?? "expected \(condition.text) on \(current?.response.url ?? "the page")",
                    statement,
                    withPage: failureClass == .layoutChanged)
            }
        case .fail(let failureClass, let condition, let message):
            let value = try await evaluate(condition, statement)
            guard let holds = truth(value) else {
                trace("(dry run) would check: \(describe(statement))")
                return
            }
            if holds {
                if let page = current { suspectPages.insert(SHA256.hash(page.response.body).hexString) }
                let text = try await self.message(message, statement)
                throw failure(
                    failureClass, text ?? "the portal answered \(condition.text)", statement,
                    withPage: failureClass == .layoutChanged)
            }
        case .conditional(let condition, let then, let otherwise):
            let value = try await evaluate(condition, statement)
            let holds = truth(value) ?? true
            if value.tainted { taintedControl += 1 }
            defer { if value.tainted { taintedControl -= 1 } }
            if holds {
                try await scoped(then.statements)
            } else if let otherwise {
                try await scoped(otherwise.statements)
            }
        case .forEach(let name, let listExpression, let limit, let body):
            let list = try await evaluate(listExpression, statement)
            var items = elements(of: list)
            if let limit { items = Array(items.prefix(limit)) }
            if list.tainted { taintedControl += 1 }
            defer { if list.tainted { taintedControl -= 1 } }
            for item in items {
                scopes.append([name: item])
                defer { scopes.removeLast() }
                try await execute(body.statements)
            }
        case .whileLoop(let condition, let limit, let body):
            let bound = min(limit ?? ScraperChecker.hardPageLimit, ScraperChecker.hardPageLimit)
            var rounds = 0
            while true {
                let value = try await evaluate(condition, statement)
                let holds = truth(value)
                if holds == false { break }
                if rounds >= bound {
                    trace(
                        "warning: line \(statement.location.line ?? 0): stopped after \(bound) rounds (the loop's limit)"
                    )
                    break
                }
                rounds += 1
                if value.tainted { taintedControl += 1 }
                defer { if value.tainted { taintedControl -= 1 } }
                try await scoped(body.statements)
                if holds == nil { break }
            }
        case .pages(let next, let limit, let body):
            let bound = min(limit ?? definition.settings.pageLimit, ScraperChecker.hardPageLimit)
            var number = 1
            while true {
                let listing = current
                pageNumbers.append(number)
                do {
                    defer { pageNumbers.removeLast() }
                    try await scoped(body.statements)
                }
                current = listing
                let link = try await evaluate(next, statement)
                if case .placeholder = link.kind { break }
                let target = elements(of: link).isEmpty ? "" : try string(link, next, statement)
                if target.isEmpty { break }
                if number >= bound {
                    trace(
                        "warning: line \(statement.location.line ?? 0): stopped after \(bound) pages (the page limit)")
                    break
                }
                number += 1
                let spec = RequestSpec(
                    method: .get, url: Expression(.string([.text(target)]), location: next.location, text: next.text),
                    via: nil, query: [], headers: [], body: nil)
                let followed = try await request(spec, statement, isDownload: false, extraTaint: link.tainted)
                if !(200..<300).contains(followed.response.status) && !followed.synthetic {
                    throw failure(
                        .layoutChanged,
                        "the next page (\(followed.response.url)) answered HTTP \(followed.response.status)", statement,
                        withPage: true)
                }
            }
        case .log(let expression):
            let value = try await evaluate(expression, statement)
            trace("log: " + ((try? string(value, expression, statement)) ?? ""))
        case .wait(let seconds):
            if !options.dryRun { try await Task.sleep(for: .seconds(seconds)) }
        case .messages, .attachments, .body, .files:
            // The checker refuses these in a portal; a mailbox or drop is run by its own reader.
            throw failure(
                .layoutChanged, "`\(ScraperInterpreter.stepName(statement.kind))` is not a portal step", statement)
        case .expiresIn(let expression):
            let value = try await evaluate(expression, statement)
            guard !options.dryRun, case .some(let text) = try? string(value, expression, statement) else { return }
            guard let seconds = Int(text.trimmingCharacters(in: .whitespaces)), seconds > 0 else {
                throw failure(
                    .layoutChanged, "`expires in` wants a number of seconds; the portal gave \"\(text.prefix(40))\"",
                    statement)
            }
            sessionRenewal = ContinuousClock.now + ScraperInterpreter.renewalLead(lifetime: seconds)
        }
    }

    /// The text of an optional expression.
    func message(_ expression: Expression?, _ statement: Statement) async throws -> String? {
        guard let expression else { return nil }
        return try string(try await evaluate(expression, statement), expression, statement)
    }

    func scoped(_ statements: [Statement]) async throws {
        scopes.append([:])
        defer { scopes.removeLast() }
        try await execute(statements)
    }

    func bind(_ name: String, _ value: Value) {
        for index in scopes.indices.reversed() where scopes[index][name] != nil {
            scopes[index][name] = value
            return
        }
        scopes[scopes.count - 1][name] = value
    }

    func lookup(_ name: String) -> Value? {
        for scope in scopes.reversed() { if let value = scope[name] { return value } }
        return nil
    }

    /// How long a session of `lifetime` seconds is used: a tenth of it (5 s to a minute) is kept
    /// in hand, so a request that waits its turn is never sent on a token about to lapse.
    static func renewalLead(lifetime: Int) -> Duration {
        let margin = min(60, max(5, lifetime / 10))
        return .seconds(max(1, lifetime - margin))
    }

    // MARK: Requests

    /// Builds and sends a request; in a document block, an expired session triggers one login
    /// and the step is sent again.
    @discardableResult
    func request(_ spec: RequestSpec, _ statement: Statement, isDownload: Bool, extraTaint: Bool = false) async throws
        -> CurrentResponse
    {
        var relogged = false
        // The login said how long it lasts: log in again shortly before it ends, not after.
        if !inLogin, let renewal = sessionRenewal, ContinuousClock.now >= renewal, let login = definition.login {
            sessionRenewal = nil
            trace("the session is about to expire; logging in again before line \(statement.location.line ?? 0)")
            let listing = current
            try await runLogin(login)
            current = listing
        }
        while true {
            let (request, tainted) = try await build(spec, statement, extraTaint: extraTaint)
            let response = try await send(request, tainted: tainted, statement)
            if inLogin, !response.synthetic { suspectPages.insert(SHA256.hash(response.response.body).hexString) }
            if !response.synthetic, !definition.unavailable.isEmpty {
                let saved = current
                current = response
                defer { current = saved }
                for condition in definition.unavailable where truth(try await evaluate(condition, statement)) == true {
                    suspectPages.insert(SHA256.hash(response.response.body).hexString)
                    throw failure(
                        .portalUnavailable,
                        "the portal says it is unavailable (\(condition.text)) at \(response.response.url)", statement,
                        withPage: true)
                }
            }
            if !isDownload { current = response }
            if !inLogin, !response.synthetic, let expired = definition.expired, let login = definition.login {
                let saved = current
                current = response
                let isExpired = truth(try await evaluate(expired, statement)) ?? false
                current = isDownload ? saved : response
                if isExpired {
                    suspectPages.insert(SHA256.hash(response.response.body).hexString)
                    if relogged {
                        throw failure(.portalUnavailable, "the session expired again right after logging in", statement)
                    }
                    relogged = true
                    trace("the session expired; logging in again and resuming line \(statement.location.line ?? 0)")
                    let listing = current
                    try await runLogin(login)
                    current = listing
                    continue
                }
            }
            return response
        }
    }

    func build(_ spec: RequestSpec, _ statement: Statement, extraTaint: Bool) async throws -> (HTTPRequest, Bool) {
        var tainted = taintedControl > 0 || extraTaint
        let urlValue = try await evaluate(spec.url, statement)
        tainted = tainted || urlValue.tainted
        let text = try string(urlValue, spec.url, statement)
        let base: String
        if let via = spec.via {
            base = (originURLs[via] ?? "") + "/"
        } else {
            base =
                current.map { $0.synthetic ? (originURLs[definition.origins[0].name] ?? "") + "/" : $0.response.url }
                ?? (originURLs[definition.origins[0].name] ?? "") + "/"
        }
        let resolvedText: String
        if text.hasPrefix("http://") || text.hasPrefix("https://") {
            resolvedText = text
        } else if text.hasPrefix("/"), spec.via != nil {
            resolvedText = (originURLs[spec.via!] ?? "") + text
        } else {
            guard let url = URL(string: text, relativeTo: URL(string: base)) else {
                throw failure(.layoutChanged, "`\(text)` is not a usable link", statement, withPage: true)
            }
            resolvedText = url.absoluteString
        }
        let origin = ScraperChecker.origin(of: resolvedText)
        guard let originName = origins.first(where: { $0.value == origin })?.key else {
            throw failure(
                .originRefused, "refused a request to \(origin): it is not one of the definition's origins", statement)
        }
        var query: [(String, String)] = []
        for (name, expression) in spec.query {
            let value = try await evaluate(expression, statement)
            tainted = tainted || value.tainted
            query.append((name, try string(value, expression, statement)))
        }
        var headers: [(String, String)] = []
        for (name, expression) in spec.headers {
            let value = try await evaluate(expression, statement)
            tainted = tainted || value.tainted
            headers.append((name, try string(value, expression, statement)))
        }
        if !scriptCookies.isEmpty {
            var pairs: [String] = []
            for (name, value) in scriptCookies {
                tainted = tainted || value.tainted
                pairs.append("\(name)=\(try string(value, nil, statement))")
            }
            headers.append(("Cookie", pairs.joined(separator: "; ")))
        }
        var body = HTTPBody.none
        switch spec.body {
        case .form(let fields):
            var pairs: [(String, String)] = []
            for (name, expression) in fields {
                let value = try await evaluate(expression, statement)
                tainted = tainted || value.tainted
                pairs.append((name, try string(value, expression, statement)))
            }
            body = .form(pairs)
        case .json(let template):
            let (object, jsonTainted) = try await json(template, statement)
            tainted = tainted || jsonTainted
            body = .json(
                Array(try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])))
        case .raw(let expression, let typeExpression):
            let value = try await evaluate(expression, statement)
            tainted = tainted || value.tainted
            let type = try await message(typeExpression, statement) ?? "text/plain"
            body = .raw(Array(try string(value, expression, statement).utf8), contentType: type)
        case nil:
            break
        }
        if tainted {
            let declaration = definition.origins.first { $0.name == originName }
            if declaration?.isPublic == true {
                throw failure(
                    .originRefused,
                    "refused to send a vault-derived value to \(origin): the definition marks it public", statement)
            }
            if !credential.allowedOrigins.contains(origin) {
                throw failure(
                    .originRefused,
                    "refused to send a vault-derived value to \(origin): the credential \(credential.name) does not allow that origin (allowed: \(credential.allowedOrigins.isEmpty ? "none" : credential.allowedOrigins.joined(separator: ", ")))",
                    statement)
            }
            if origin.hasPrefix("http://"), !ScraperChecker.isLoopback(origin), declaration?.allowsPlainHTTP != true,
                !credential.allowsPlainHTTP
            {
                throw failure(
                    .originRefused,
                    "refused to send a vault-derived value to \(origin) over plain http, where anyone on the way can read it: use the portal's https address, or, if it has none, say so with `allow-http` on the definition's origin (origin \(originName) \"\(origin)\" allow-http) or on the credential (nightjar vault edit \(credential.name) --allow-http)",
                    statement)
            }
        }
        let method: HTTPMethod = spec.method == .post ? .post : .get
        return (
            HTTPRequest(
                method, resolvedText, query: query, headers: headers, body: body,
                retryable: inLogin && tainted ? false : nil), tainted
        )
    }

    func json(_ template: JSONTemplate, _ statement: Statement) async throws -> (Any, Bool) {
        switch template {
        case .object(let entries):
            var object: [String: Any] = [:]
            var tainted = false
            for (key, inner) in entries {
                let (value, innerTainted) = try await json(inner, statement)
                object[key] = value
                tainted = tainted || innerTainted
            }
            return (object, tainted)
        case .array(let items):
            var array: [Any] = []
            var tainted = false
            for inner in items {
                let (value, innerTainted) = try await json(inner, statement)
                array.append(value)
                tainted = tainted || innerTainted
            }
            return (array, tainted)
        case .value(let expression):
            let value = try await evaluate(expression, statement)
            switch value.kind {
            case .number(let number): return (number, value.tainted)
            case .bool(let flag): return (flag, value.tainted)
            case .null: return (NSNull(), value.tainted)
            case .json(let raw): return (raw, value.tainted)
            default: return (try string(value, expression, statement), value.tainted)
            }
        }
    }

    /// `text` with every percent-encoded `‹…›` placeholder decoded (`+` is a space when `formEncoded`).
    static func showingPlaceholders(_ text: String, formEncoded: Bool) -> String {
        let open = "%E2%80%B9"
        let close = "%E2%80%BA"
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: open, options: .caseInsensitive),
            let end = rest[start.upperBound...].range(of: close, options: .caseInsensitive)
        {
            result += rest[..<start.lowerBound]
            var span = String(rest[start.lowerBound..<end.upperBound])
            if formEncoded { span = span.replacingOccurrences(of: "+", with: " ") }
            result += span.removingPercentEncoding ?? span
            rest = rest[end.upperBound...]
        }
        return result + rest
    }

    func send(_ request: HTTPRequest, tainted: Bool, _ statement: Statement) async throws -> CurrentResponse {
        if options.dryRun {
            // Resolved values are shown encoded as they would be sent; unresolved ones as ‹what they stand for›.
            var shown = Self.showingPlaceholders(request.url, formEncoded: false)
            if !request.query.isEmpty {
                shown +=
                    (shown.contains("?") ? "&" : "?")
                    + request.query.map { name, value in
                        FormEncoding.encode(name) + "=" + (value.contains("‹") ? value : FormEncoding.encode(value))
                    }.joined(separator: "&")
            }
            var line = "\(request.method.rawValue) \(shown)"
            if case .form(let fields) = request.body {
                line += "  form: " + fields.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
            }
            if case .json(let bytes) = request.body { line += "  json: " + String(decoding: bytes, as: UTF8.self) }
            if !request.headers.isEmpty {
                line += "  headers: " + request.headers.map { "\($0.0): \($0.1)" }.joined(separator: "; ")
            }
            trace("would send (line \(statement.location.line ?? 0)): " + Redactor.shared.redact(line))
            return CurrentResponse(
                HTTPResponse(status: 200, headers: [], url: request.fullURL, body: []), tainted: tainted,
                synthetic: true)
        }
        if inLogin, tainted, loginAttempt == nil, let loginGuard {
            loginAttempt = try loginGuard.begin(credential: credential.name)
        }
        let response: HTTPResponse
        do {
            response = try await followRedirects(of: request, tainted: tainted, statement)
        } catch let error as HTTPError {
            if case .crossOriginBodyRedirect = error { throw failure(.originRefused, error.message, statement) }
            throw failure(.portalUnavailable, error.message, statement)
        } catch let failure as ScraperFailure {
            throw failure
        } catch {
            throw failure(.portalUnavailable, "\(error)", statement)
        }
        outcome.requests += 1
        trace(
            "\(request.method.rawValue) \(Redactor.shared.redact(HTTPSession.withoutQuery(request.fullURL))) -> \(response.status)"
        )
        for value in response.headers(named: "Set-Cookie") {
            let pair = value.split(separator: ";", maxSplits: 1).first ?? ""
            if let equals = pair.firstIndex(of: "=") {
                seenCookies[pair[..<equals].trimmingCharacters(in: .whitespaces)] = String(
                    pair[pair.index(after: equals)...])
            }
        }
        let answer = CurrentResponse(response, tainted: tainted)
        let tries = response.attempts > 1 ? " (after \(response.attempts) attempts)" : ""
        if let wait = response.waitRefused {
            throw failure(
                .rateLimited,
                "the portal asked to wait \(wait.components.seconds) s, past the end of this portal's window; a later run will try again",
                statement)
        }
        if response.status == 429 {
            throw failure(.rateLimited, "the portal answered 429 Too Many Requests\(tries)", statement)
        }
        if response.status >= 500 {
            current = answer
            throw failure(.portalUnavailable, "the portal answered HTTP \(response.status)\(tries)", statement)
        }
        return answer
    }

    /// Sends a request and follows redirects here rather than in the session, so that every hop
    /// is checked: only to the definition's origins, and never for a request carrying a vault value.
    func followRedirects(of request: HTTPRequest, tainted: Bool, _ statement: Statement) async throws -> HTTPResponse {
        var hop = request
        for _ in 0...10 {
            let response = try await transport.send(hop, followRedirects: false)
            guard !tainted, [301, 302, 303, 307, 308].contains(response.status),
                let location = response.header("Location")
            else {
                return response
            }
            outcome.requests += 1
            guard let target = URL(string: location, relativeTo: URL(string: response.url))?.absoluteString else {
                throw failure(.layoutChanged, "a redirect to `\(location)` that is not a URL", statement)
            }
            let origin = ScraperChecker.origin(of: target)
            guard origins.values.contains(origin) else {
                throw failure(
                    .originRefused, "refused a redirect to \(origin): it is not one of the definition's origins",
                    statement)
            }
            if HTTPSession.scheme(of: response.url) == "https" && HTTPSession.scheme(of: target) == "http" {
                throw failure(.originRefused, "refused a redirect from https to http (\(origin))", statement)
            }
            let sameOrigin = origin == ScraperChecker.origin(of: response.url)
            let headers = sameOrigin ? hop.headers : []
            if [307, 308].contains(response.status) {
                hop = HTTPRequest(
                    hop.method, target, headers: headers, body: sameOrigin ? hop.body : .none, retryable: hop.retryable)
            } else {
                hop = HTTPRequest(hop.method == .head ? .head : .get, target, headers: headers)
            }
        }
        throw failure(.portalUnavailable, "more than 10 redirects", statement)
    }

    // MARK: Downloads

    func download(_ spec: RequestSpec, _ download: DownloadSpec, _ statement: Statement) async throws {
        var metadata: [String: String] = [:]
        for (field, expression) in download.metadata {
            let value = try await evaluate(expression, statement)
            var text = try string(value, expression, statement)
            // A dry run's unresolved value is shown as it is, never read as a date or an amount.
            if case .placeholder = value.kind {
                metadata[field] = text
                continue
            }
            if field == "date", let date = ScraperInterpreter.parseDate(text) { text = date.description }
            if field == "amount" { text = ScraperInterpreter.amountText(text) }
            if field == "size" { text = text.filter(\.isNumber) }
            metadata[field] = text
        }
        // The listing names a document the inbox already holds: not fetched again.
        let keys = DownloadRecord.listingKeys(kind: download.kind, metadata: metadata)
        if let known = keys.first(where: options.alreadyFetched.contains) {
            outcome.alreadyInInbox += 1
            trace(
                "already in the inbox: \(download.kind.rawValue) \(known.split(separator: "|").dropFirst().joined(separator: ", ")); not downloaded again"
            )
            return
        }
        var chosenName: String?
        if let nameExpression = download.name {
            let value = try await evaluate(nameExpression, statement)
            if value.tainted || taintedControl > 0 {
                throw failure(.originRefused, "a file name may not carry a vault-derived value", statement)
            }
            chosenName = try string(value, nameExpression, statement)
        }
        let response = try await request(spec, statement, isDownload: true)
        if response.synthetic {
            trace(
                "would save a \(download.kind.rawValue)"
                    + (metadata.isEmpty
                        ? ""
                        : " "
                            + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            )
            return
        }
        guard (200..<300).contains(response.response.status) else {
            let saved = current
            current = response
            defer { current = saved }
            throw failure(
                .layoutChanged, "the download (\(response.response.url)) answered HTTP \(response.response.status)",
                statement, withPage: true)
        }
        let serverName = HTTPSession.fileName(fromContentDisposition: response.response.header("Content-Disposition"))
        let lastComponent = URL(string: response.response.url)?.lastPathComponent
        let name = HTTPSession.sanitise(chosenName ?? serverName ?? lastComponent ?? "download")
        let bytes = response.response.body
        let sha = SHA256.hash(bytes).hexString
        try checkDocument(bytes, sha256: sha, response: response.response, download: download, statement)
        if let existing = outcome.downloads.first(where: { $0.sha256 == sha }) {
            trace("skipped a second copy of \(existing.fileName)")
            return
        }
        await beforeSaving?()
        if !downloadDirectoryMade {
            try SecureFile.createPrivateDirectory(options.downloadDirectory)
            downloadDirectoryMade = true
        }
        var target = options.downloadDirectory + "/" + name
        var counter = 1
        var alreadyThere = false
        while FileManager.default.fileExists(atPath: target) {
            if let data = FileManager.default.contents(atPath: target), SHA256.hash(Array(data)).hexString == sha {
                alreadyThere = true
                break
            }
            counter += 1
            let base = (name as NSString).deletingPathExtension
            let ext = (name as NSString).pathExtension
            target = options.downloadDirectory + "/" + base + "-\(counter)" + (ext.isEmpty ? "" : "." + ext)
        }
        // Only this credential writes here, and the file is moved into the inbox next.
        if !alreadyThere { try SecureFile.writeNew(bytes, to: target, mode: 0o600) }
        let record = DownloadRecord(
            kind: download.kind, fileName: (target as NSString).lastPathComponent, path: target, size: bytes.count,
            sha256: sha, metadata: metadata)
        outcome.downloads.append(record)
        trace("saved \(record.fileName) (\(record.size) bytes, sha256 \(sha.prefix(12))...)")
        await onDownload?(record)
    }

    /// A download must be the document it claims to be. An empty body, a web page where a
    /// document was expected, bytes of another type than `expect type` says, a Content-Type that
    /// contradicts it, or a copy of a sign-in or error page this run saw, is the portal answering
    /// with something else (a maintenance page, a session that ended): `portal_unavailable`, so
    /// the range is fetched again next time instead of a page being kept as a document.
    func checkDocument(
        _ bytes: [UInt8], sha256: String, response: HTTPResponse, download: DownloadSpec, _ statement: Statement
    ) throws {
        func substituted(_ why: String) -> ScraperFailure {
            let saved = current
            current = CurrentResponse(response, tainted: false)
            defer { current = saved }
            return failure(
                .portalUnavailable,
                "the download from \(HTTPSession.withoutQuery(response.url)) is not a \(download.kind.rawValue): \(why)",
                statement, withPage: true)
        }
        guard !bytes.isEmpty else { throw substituted("it is empty") }
        if suspectPages.contains(sha256) {
            throw substituted("it is the same page the portal showed at sign-in or as an error")
        }
        let detected = DocumentFormat.detect(bytes)
        let contentType = (response.header("Content-Type") ?? "").lowercased()
        let expected = download.expectedType
        if detected == .html || contentType.hasPrefix("text/html") {
            if expected != .html && !(expected == nil && download.kind == .other) {
                let title = MarkupDocument.htmlTitle(bytes).map { " (\"\($0)\")" } ?? ""
                throw substituted("the portal answered a web page\(title)")
            }
        }
        guard let expected else { return }
        if let mismatch = DocumentCheck.typeMismatch(bytes, detected: detected, expected: expected) {
            throw substituted(mismatch)
        }
        let contradicting: [String] =
            switch expected {
            case .csv, .text, .x12: ["application/pdf", "application/json", "application/vnd.openxmlformats"]
            case .xlsx: ["text/", "application/json", "application/pdf"]
            case .json: ["text/html", "application/pdf", "text/csv"]
            case .pdf: ["text/", "application/json"]
            case .html, .xml: []
            }
        if let wrong = contradicting.first(where: { contentType.hasPrefix($0) }) {
            throw substituted("it came as \(wrong)…, not \(expected.rawValue)")
        }
    }

    static func parseDate(_ text: String) -> CalendarDate? {
        for format in ["yyyy-MM-dd", "MM/dd/yyyy", "M/d/yyyy", "yyyyMMdd", "dd.MM.yyyy"] {
            if let date = try? CalendarDate.parse(text, format: format) { return date }
        }
        return nil
    }

    /// `$1,234.50` → `1234.50`; `(12.00)` → `-12.00`.
    static func amountText(_ text: String) -> String {
        var negative = text.contains("(") || text.contains("-")
        let kept = text.filter { $0.isNumber || $0 == "." }
        if kept.isEmpty { negative = false }
        return (negative ? "-" : "") + kept
    }
}

extension HTTPSession {
    /// A URL without its query, for traces.
    static func withoutQuery(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}
