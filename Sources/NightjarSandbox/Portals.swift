import COpenSSL
import Foundation
import Synchronization

/// Switchable misbehaviour for a portal, set by tests and the demo.
public struct PortalFaults: Sendable {
    /// Answer this many requests with 503 before behaving.
    public var serverErrors = 0
    /// Answer every request after this many with a maintenance page.
    public var maintenance = false
    /// Truncate download bodies.
    public var truncateDownloads = false
    /// Reset the connection mid-download.
    public var resetDownloads = false
    /// Stall answers for this many seconds.
    public var stallSeconds: Double = 0
    /// Send every remittance search into a redirect loop.
    public var redirectLoop = false
    /// Expire sessions after this many authenticated requests (0: never).
    public var sessionLifetime = 0
    /// sandbox-json-api's tokens last this many seconds, and `expires_in` says so (0: an hour).
    public var tokenSeconds = 0
    /// sandbox-json-api honours a token this many seconds past the `expires_in` it stated (clock-skew
    /// grace, as many real authorisation servers allow).
    public var tokenGraceSeconds = 0
    /// Treat every session as expired, even the first request after signing in.
    public var rejectSessions = false
    /// Answer every Nth API request with 429 and Retry-After: 1 (0: never).
    public var rateLimitEvery = 0
    /// Answer the Nth request to the portal (counted from 1 since these faults were set) this way.
    public var inject: [Int: InjectedAnswer] = [:]
    /// Answer downloads with something else than the document, after this many good ones.
    public var substitute: SubstitutedDownload?
    public var substituteAfter = 0

    public init() {}
}

/// What a portal serves instead of a document when something went wrong on its side.
public enum SubstitutedDownload: String, Sendable, CaseIterable {
    /// 200 with a maintenance page.
    case maintenancePage
    /// 200 with no body.
    case empty
    /// The document, but labelled as a PDF.
    case wrongContentType
    /// 200 with the sign-in page (the session ended without a redirect).
    case signInPage
}

/// A failure the sandbox answers one chosen request with (fault injection).
public enum InjectedAnswer: String, Sendable, CaseIterable {
    /// The connection closes without an answer.
    case reset
    case unauthorized, forbidden
    /// 429 with `Retry-After: 1`.
    case tooManyWithRetryAfter
    /// 429 without `Retry-After`.
    case tooMany
    case serverError, unavailable
    /// 200 with a page that is not what was asked for.
    case wrongContent
    /// No answer for 30 seconds.
    case timeout
}

/// The three fake supplier portals of different styles, over one seeded data set.
public final class SandboxPortals: Sendable {
    public let data: SandboxData
    public let htmlPortal: SandboxServer
    public let jsonAPI: SandboxServer
    public let totpPortal: SandboxServer
    private let state = Mutex(State())
    /// Faults apart from the rest of the state: read by every request, set by tests.
    private let faultTable = Mutex<[String: PortalFaults]>([:])

    struct State {
        var failedLogins: [String: Int] = [:]
        var sessions: [String: (username: String, uses: Int)] = [:]
        var pendingMFA: [String: String] = [:]
        var tokens: [String: (username: String, expires: Date, uses: Int)] = [:]
        var usedCodes: Set<String> = []
        var apiRequests = 0
        var nonce = 0
        var requestCount: [String: Int] = [:]
        /// When a 429 with Retry-After was sent, per portal, and until when it asked to wait.
        var blockedUntil: [String: Date] = [:]
        var blockedSince: [String: Date] = [:]
        var prematureRequests: [String: Int] = [:]
        var downloads: [String: Int] = [:]
        var refusedTokens = 0
        /// When sandbox-json-api last got a request, and for each refused token the seconds of
        /// silence before it (a client that was not scheduled for long cannot renew in time).
        var lastAPIRequest: Date?
        var silenceBeforeRefusal: [Double] = []
    }

    /// Accounts lock after this many wrong passwords in a row.
    public static let lockoutThreshold = 3

    /// The portals in the order their ports follow a port base: sandbox-html-portal at the base, sandbox-json-api
    /// at base + 1, sandbox-totp-portal at base + 2.
    public static let names = ["sandbox-html-portal", "sandbox-json-api", "sandbox-totp-portal"]

    /// Starts the three portals on 127.0.0.1: on free ports, or on `portBase`, `portBase + 1` and
    /// `portBase + 2` (in the order of `names`) when a base is given.
    public init(data: SandboxData = SandboxData(), tls: TestCertificates? = nil, portBase: UInt16? = nil) throws {
        self.data = data
        let box = PortalsBox()
        func port(_ offset: UInt16) throws -> UInt16 {
            guard let portBase else { return 0 }
            guard portBase > 0, portBase <= UInt16.max - offset else {
                throw SandboxError("port base \(portBase) leaves no room for three ports")
            }
            return portBase + offset
        }
        htmlPortal = try SandboxServer(port: try port(0), tls: tls) {
            box.portals?.htmlPortalRoute($0) ?? .text("starting", status: 503)
        }
        jsonAPI = try SandboxServer(port: try port(1), tls: tls) {
            box.portals?.jsonAPIRoute($0) ?? .text("starting", status: 503)
        }
        totpPortal = try SandboxServer(port: try port(2), tls: tls) {
            box.portals?.totpPortalRoute($0) ?? .text("starting", status: 503)
        }
        box.portals = self
    }

    public func stop() {
        htmlPortal.stop()
        jsonAPI.stop()
        totpPortal.stop()
    }

    public func setFaults(_ faults: PortalFaults, for portal: String) {
        faultTable.withLock { $0[portal] = faults }
        state.withLock {
            $0.requestCount[portal] = 0
            $0.downloads[portal] = 0
        }
    }

    /// Forgets the one-time codes already used, as if their periods had passed (tests that run
    /// many nights within one 30-second period).
    public func forgetUsedCodes() { state.withLock { $0.usedCodes.removeAll() } }

    /// Requests the portal has answered since its faults were last set.
    public func requestCount(portal: String) -> Int { state.withLock { $0.requestCount[portal, default: 0] } }
    /// sandbox-json-api requests refused for a missing, unknown or expired token.
    public var refusedTokens: Int { state.withLock { $0.refusedTokens } }
    /// Refused tokens that came after less than `seconds` of silence from the client: those a
    /// client renewing on time would not have met, however busy its machine.
    public func refusedTokens(afterSilenceUnder seconds: Double) -> Int {
        state.withLock { $0.silenceBeforeRefusal.filter { $0 < seconds }.count }
    }

    /// Documents served since the portal's faults were last set.
    public func downloadCount(portal: String) -> Int { state.withLock { $0.downloads[portal, default: 0] } }

    /// Requests that arrived while the portal had asked (429 with Retry-After) to wait.
    public func prematureRequests(portal: String) -> Int { state.withLock { $0.prematureRequests[portal, default: 0] } }

    /// Records a 429 asking to wait `seconds`.
    func askedToWait(_ portal: String, seconds: Double) {
        state.withLock {
            $0.blockedSince[portal] = Date()
            $0.blockedUntil[portal] = Date().addingTimeInterval(seconds)
        }
    }
    func faults(_ portal: String) -> PortalFaults { faultTable.withLock { $0[portal] } ?? PortalFaults() }

    /// Where each portal listens.
    public var origins: [String: String] {
        [
            "sandbox-html-portal": htmlPortal.url(""), "sandbox-json-api": jsonAPI.url(""),
            "sandbox-totp-portal": totpPortal.url(""),
        ]
    }

    func nextNonce() -> String {
        state.withLock { state in
            state.nonce += 1
            return SandboxPortals.nonce(state.nonce)
        }
    }

    /// The `number`th value the portals hand out (session ids, tokens, anti-forgery tokens, SSO
    /// codes and states are made of these).
    public static func nonce(_ number: Int) -> String { String(format: "%08x%04x", number &* 2_654_435_761, number) }

    /// Every one-time value handed out so far (anti-forgery tokens, SSO codes and states, MFA
    /// steps; session ids and access tokens are two of these joined) and every TOTP code
    /// accepted: what no recording may show.
    public var issuedValues: [String] {
        let (count, codes) = state.withLock {
            ($0.nonce, $0.usedCodes.map { String($0.split(separator: "|").last ?? "") })
        }
        return (0..<count).map { SandboxPortals.nonce($0 + 1) } + codes
    }

    /// Common faults; nil when the request should be served normally.
    func fault(_ portal: String, _ request: SandboxRequest) -> SandboxResponse? {
        var faults = faults(portal)
        let number = state.withLock { state -> Int in
            state.requestCount[portal, default: 0] += 1
            // A request that started after the 429 was sent and before its Retry-After ran out did
            // not wait. Requests already on their way when the 429 left get a grace of 0.4 s: on a
            // loaded machine (two test workers and this server on two cores) one admitted just
            // before the client read the 429 can reach here 0.15–0.3 s later; a client that ignores
            // Retry-After still sends in the remaining 0.6 s and is counted.
            if let since = state.blockedSince[portal], let until = state.blockedUntil[portal],
                Date() > since.addingTimeInterval(0.4), Date() < until
            {
                state.prematureRequests[portal, default: 0] += 1
            }
            return state.requestCount[portal]!
        }
        if let answer = faults.inject[number] {
            switch answer {
            case .reset: return SandboxResponse(fault: .closeWithoutResponse)
            case .unauthorized:
                return SandboxResponse(
                    status: 401,
                    headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\""), ("Content-Type", "text/plain")],
                    body: Array("Unauthorized".utf8))
            case .forbidden: return .html("<h1>Forbidden</h1>", status: 403)
            case .tooManyWithRetryAfter:
                askedToWait(portal, seconds: 1)
                return SandboxResponse(
                    status: 429, headers: [("Retry-After", "1"), ("Content-Type", "text/plain")],
                    body: Array("slow down".utf8))
            case .tooMany: return .text("Too Many Requests", status: 429)
            case .serverError: return .text("Internal Server Error", status: 500)
            case .unavailable: return .text("Service Unavailable", status: 503)
            case .wrongContent:
                return .html("<h1>We'll be back soon</h1><p>Our portal is being upgraded.</p>", status: 200)
            case .timeout: return SandboxResponse(body: Array("x".utf8), fault: .stall(seconds: 30))
            }
        }
        if faults.serverErrors > 0 {
            faults.serverErrors -= 1
            let remaining = faults
            faultTable.withLock { $0[portal] = remaining }
            return .text("Service Unavailable", status: 503)
        }
        if faults.maintenance {
            return .html("<h1>Scheduled maintenance</h1><p>The portal is down for maintenance.</p>", status: 503)
        }
        if faults.stallSeconds > 0 {
            return SandboxResponse(body: Array("x".utf8), fault: .stall(seconds: faults.stallSeconds))
        }
        return nil
    }

    func session(_ request: SandboxRequest, portal: String) -> String? {
        let faults = faults(portal)
        guard let id = request.cookies["\(portal)_session"], !faults.rejectSessions else { return nil }
        let lifetime = faults.sessionLifetime
        return state.withLock { state -> String? in
            guard var session = state.sessions[id] else { return nil }
            session.uses += 1
            if lifetime > 0 && session.uses > lifetime {
                state.sessions[id] = nil
                return nil
            }
            state.sessions[id] = session
            return session.username
        }
    }

    func startSession(_ username: String) -> String {
        let id = nextNonce() + nextNonce()
        state.withLock { $0.sessions[id] = (username, 0) }
        return id
    }

    /// Checks a password, counting failures and locking after the threshold. nil = accepted.
    func checkPassword(portal: String, username: String, password: String) -> SandboxResponse? {
        let key = "\(portal)|\(username)"
        let failures = state.withLock { $0.failedLogins[key, default: 0] }
        if failures >= SandboxPortals.lockoutThreshold {
            return .html(
                page("Sign in", "<p class=\"error\">Account locked. Contact your buyer to unlock it.</p>"), status: 403)
        }
        guard let account = data.accounts.first(where: { $0.portal == portal && $0.username == username }),
            account.password == password
        else {
            let count = state.withLock { state -> Int in
                state.failedLogins[key, default: 0] += 1
                return state.failedLogins[key]!
            }
            if count >= SandboxPortals.lockoutThreshold {
                return .html(
                    page("Sign in", "<p class=\"error\">Account locked. Contact your buyer to unlock it.</p>"),
                    status: 403)
            }
            return .html(
                page("Sign in", "<p class=\"error\">Invalid username or password.</p>" + loginForm(portal: portal)),
                status: 200)
        }
        state.withLock { $0.failedLogins[key] = 0 }
        return nil
    }

    /// Failed logins recorded for an account (tests check lock-out protection with it).
    public func failedLogins(portal: String, username: String) -> Int {
        state.withLock { $0.failedLogins["\(portal)|\(username)", default: 0] }
    }

    func client(ofUsername username: String, portal: String) -> String? {
        data.accounts.first { $0.portal == portal && $0.username == username }?.client
    }

    func page(_ title: String, _ body: String) -> String {
        "<!DOCTYPE html><html><head><title>\(title)</title></head><body><div id=\"main\"><h1>\(title)</h1>\(body)</div>"
    }

    func loginForm(portal: String) -> String {
        """
        <form method="post" action="/login"><input type="hidden" name="__RequestVerificationToken" value="\(nextNonce())">
        <label>User name <input name="UserName"></label><label>Password <input type="password" name="Password"></label>
        <button type="submit">Sign in</button></form>
        """
    }

    func download(_ portal: String, body: String, name: String, type: String) -> SandboxResponse {
        download(portal, bytes: Array(body.utf8), name: name, type: type)
    }

    func download(_ portal: String, bytes: [UInt8], name: String, type: String) -> SandboxResponse {
        let faults = faults(portal)
        let served = state.withLock { state -> Int in
            state.downloads[portal, default: 0] += 1
            return state.downloads[portal]!
        }
        if let substitute = faults.substitute, served > faults.substituteAfter {
            switch substitute {
            case .maintenancePage:
                return .html(
                    "<!DOCTYPE html><html><head><title>We'll be back soon</title></head><body><h1>We'll be back soon</h1>"
                        + "<p>Our systems are being upgraded. Please try again later.</p></body></html>")
            case .empty:
                return SandboxResponse(
                    headers: [("Content-Type", type), ("Content-Disposition", "attachment; filename=\"\(name)\"")],
                    body: [])
            case .wrongContentType:
                return SandboxResponse(
                    headers: [
                        ("Content-Type", "application/pdf"),
                        ("Content-Disposition", "attachment; filename=\"\(name)\""),
                    ], body: bytes)
            case .signInPage:
                // What the portal shows when the session has ended, answered as if it were the file.
                switch portal {
                case "sandbox-json-api":
                    return SandboxResponse(
                        headers: [("Content-Type", type)], body: Array("{\"error\":\"invalid_token\"}".utf8))
                case "sandbox-totp-portal":
                    return totpPortalAnswer(
                        SandboxRequest(method: "GET", path: "/signin", query: [:], headers: [], body: []))
                default: return .html(page("Sign in", loginForm(portal: portal)))
                }
            }
        }
        var response = SandboxResponse(
            headers: [("Content-Type", type), ("Content-Disposition", "attachment; filename=\"\(name)\"")],
            body: bytes)
        if faults.truncateDownloads { response.fault = .truncateBody }
        if faults.resetDownloads { response.fault = .resetMidBody }
        return response
    }

    static func date(fromUS text: String) -> String? {
        let parts = text.split(separator: "/")
        guard parts.count == 3, parts[2].count == 4 else { return nil }
        return "\(parts[2])-\(parts[0].count == 1 ? "0" : "")\(parts[0])-\(parts[1].count == 1 ? "0" : "")\(parts[1])"
    }

    // MARK: 1. sandbox-html-portal: an HTML portal

    func htmlPortalRoute(_ request: SandboxRequest) -> SandboxResponse {
        if let failure = fault("sandbox-html-portal", request) { return failure }
        switch (request.method, request.path) {
        case ("GET", "/"), ("GET", "/login"):
            return .html(page("Sandbox HTML Portal — Sign in", loginForm(portal: "sandbox-html-portal")))
        case ("POST", "/login"):
            let form = request.form
            guard let token = form["__RequestVerificationToken"], token.count == 12 else {
                return .html(page("Error", "<p>The anti-forgery token is missing.</p>"), status: 400)
            }
            if let refusal = checkPassword(
                portal: "sandbox-html-portal", username: form["UserName"] ?? "", password: form["Password"] ?? "")
            {
                return refusal
            }
            let session = startSession(form["UserName"] ?? "")
            return SandboxResponse(
                status: 302,
                headers: [
                    ("Location", "/dashboard"),
                    ("Set-Cookie", "sandbox-html-portal_session=\(session); Path=/; HttpOnly"),
                ])
        case ("GET", "/dashboard"):
            guard session(request, portal: "sandbox-html-portal") != nil else { return .redirect("/login") }
            return .html(page("Dashboard", "<a href=\"/payments/remittance\">Remittances</a>"))
        case ("GET", "/payments/remittance"):
            guard let username = session(request, portal: "sandbox-html-portal"),
                let client = client(ofUsername: username, portal: "sandbox-html-portal")
            else {
                return .redirect("/login?expired=1")
            }
            if faults("sandbox-html-portal").redirectLoop { return .redirect("/payments/remittance?loop=1") }
            let from = request.query["fromDate"].flatMap(SandboxPortals.date(fromUS:)) ?? "2000-01-01"
            let to = request.query["toDate"].flatMap(SandboxPortals.date(fromUS:)) ?? "2099-12-31"
            let all = data.payments(portal: "sandbox-html-portal", client: client, from: from, to: to)
            let pageNumber = max(1, Int(request.query["page"] ?? "1") ?? 1)
            let pageSize = 5
            let shown = all.dropFirst((pageNumber - 1) * pageSize).prefix(pageSize)
            var rows = ""
            for payment in shown {
                rows +=
                    "<tr><td>\(payment.trace)</td><td>\(payment.date)</td><td>\(SandboxData.decimal(payment.totalCents))</td>"
                    + "<td><a href=\"/payments/remittance/\(payment.id)/download\">Download</a></td></tr>"
            }
            var next = ""
            if all.count > pageNumber * pageSize {
                next =
                    "<a class=\"next\" href=\"/payments/remittance?fromDate=\(request.query["fromDate"] ?? "")&toDate=\(request.query["toDate"] ?? "")&page=\(pageNumber + 1)\">Next »</a>"
            }
            let table =
                all.isEmpty
                ? "<p class=\"empty\">No remittances found for this period.</p>"
                : "<table id=\"remits\"><tr><th>Check</th><th>Date</th><th>Amount</th><th></th></tr>\(rows)</table>"
            return .html(page("Remittances", table + next))
        case ("GET", _) where request.path.hasPrefix("/payments/remittance/") && request.path.hasSuffix("/download"):
            guard let username = session(request, portal: "sandbox-html-portal"),
                let client = client(ofUsername: username, portal: "sandbox-html-portal")
            else {
                return .redirect("/login?expired=1")
            }
            let id = request.path.split(separator: "/")[2]
            guard
                let payment = data.payments.first(where: {
                    $0.id == id && $0.client == client && $0.portal == "sandbox-html-portal"
                })
            else {
                return .text("Not found", status: 404)
            }
            return download(
                "sandbox-html-portal", body: data.htmlPortalCSV(payment), name: "remittance_\(payment.trace).csv",
                type: "text/csv")
        default:
            return .html(page("Not found", ""), status: 404)
        }
    }

    // MARK: 2. sandbox-json-api: a JSON API

    func jsonAPIRoute(_ request: SandboxRequest) -> SandboxResponse {
        if let failure = fault("sandbox-json-api", request) { return failure }
        let every = faults("sandbox-json-api").rateLimitEvery
        let (count, silence) = state.withLock { state -> (Int, Double) in
            state.apiRequests += 1
            let now = Date()
            defer { state.lastAPIRequest = now }
            return (state.apiRequests, state.lastAPIRequest.map { now.timeIntervalSince($0) } ?? 0)
        }
        if every > 0, count % every == 0 {
            askedToWait("sandbox-json-api", seconds: 1)
            return SandboxResponse(
                status: 429, headers: [("Retry-After", "1"), ("Content-Type", "application/json")],
                body: Array("{\"error\":\"rate_limited\"}".utf8))
        }
        if request.method == "POST" && request.path == "/api/token" {
            guard let object = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: String] else {
                return .json("{\"error\":\"invalid_request\"}", status: 400)
            }
            if let refusal = checkPassword(
                portal: "sandbox-json-api", username: object["username"] ?? "", password: object["password"] ?? "")
            {
                return .json(
                    refusal.status == 403 ? "{\"error\":\"account_locked\"}" : "{\"error\":\"invalid_grant\"}",
                    status: refusal.status == 403 ? 403 : 401)
            }
            let token = nextNonce() + nextNonce()
            let seconds = faults("sandbox-json-api").tokenSeconds > 0 ? faults("sandbox-json-api").tokenSeconds : 3600
            let honoured = Double(seconds + faults("sandbox-json-api").tokenGraceSeconds)
            state.withLock { $0.tokens[token] = (object["username"] ?? "", Date().addingTimeInterval(honoured), 0) }
            return .json("{\"access_token\":\"\(token)\",\"token_type\":\"Bearer\",\"expires_in\":\(seconds)}")
        }
        let jsonAPIFaults = faults("sandbox-json-api")
        guard let bearer = request.header("Authorization"), bearer.hasPrefix("Bearer "),
            let grant = state.withLock({ state -> (username: String, expires: Date, uses: Int)? in
                // A token is good for an hour, or for `sessionLifetime` requests when that fault is set.
                let key = String(bearer.dropFirst(7))
                guard var grant = state.tokens[key] else { return nil }
                grant.uses += 1
                state.tokens[key] = grant
                let lifetime = jsonAPIFaults.sessionLifetime
                return lifetime > 0 && grant.uses > lifetime ? nil : grant
            }), grant.expires > Date(),
            let client = client(ofUsername: grant.username, portal: "sandbox-json-api")
        else {
            state.withLock {
                $0.refusedTokens += 1
                $0.silenceBeforeRefusal.append(silence)
            }
            return SandboxResponse(
                status: 401,
                headers: [
                    ("WWW-Authenticate", "Bearer error=\"invalid_token\""), ("Content-Type", "application/json"),
                ],
                body: Array("{\"error\":\"invalid_token\"}".utf8))
        }
        if request.path == "/api/remittances" {
            let all = data.payments(
                portal: "sandbox-json-api", client: client, from: request.query["from"] ?? "2000-01-01",
                to: request.query["to"] ?? "2099-12-31")
            let offset = Int(request.query["cursor"] ?? "0") ?? 0
            let shown = all.dropFirst(offset).prefix(4)
            let items = shown.map {
                "{\"id\":\"\($0.id)\",\"paymentDate\":\"\($0.date)\",\"amount\":\"\(SandboxData.decimal($0.totalCents))\",\"trace\":\"\($0.trace)\",\"payer\":\"\($0.payer)\"}"
            }
            let next = all.count > offset + 4 ? "\"\(offset + 4)\"" : "null"
            return .json("{\"items\":[\(items.joined(separator: ","))],\"next_cursor\":\(next)}")
        }
        if request.path == "/api/invoices" {
            let from = request.query["from"] ?? "2000-01-01"
            let to = request.query["to"] ?? "2099-12-31"
            let items = data.distributorInvoices.filter { $0.client == client && $0.date >= from && $0.date <= to }
                .map { "{\"id\":\"\($0.id)\",\"number\":\"\($0.number)\",\"date\":\"\($0.date)\"}" }
            return .json("{\"items\":[\(items.joined(separator: ","))]}")
        }
        if request.path.hasPrefix("/api/invoices/") && request.path.hasSuffix("/file") {
            let id = request.path.split(separator: "/")[2]
            guard let invoice = data.distributorInvoices.first(where: { $0.id == id && $0.client == client }) else {
                return .json("{\"error\":\"not_found\"}", status: 404)
            }
            return download(
                "sandbox-json-api", body: data.x810(invoice), name: "INV\(invoice.number).810",
                type: "application/edi-x12")
        }
        if request.path.hasPrefix("/api/remittances/") && request.path.hasSuffix("/file") {
            let id = request.path.split(separator: "/")[2]
            guard
                let payment = data.payments.first(where: {
                    $0.id == id && $0.client == client && $0.portal == "sandbox-json-api"
                })
            else {
                return .json("{\"error\":\"not_found\"}", status: 404)
            }
            if SandboxData.jsonAPIGivesJSON(client: client) {
                return download(
                    "sandbox-json-api", body: data.jsonAPIRemittanceJSON(payment), name: "\(payment.trace).json",
                    type: "application/json")
            }
            return download(
                "sandbox-json-api", body: data.x12(payment), name: "\(payment.trace).820", type: "application/edi-x12")
        }
        return .json("{\"error\":\"not_found\"}", status: 404)
    }

    // MARK: 3. sandbox-totp-portal: password then TOTP, a POST search with a rotating field, gzip and chunked

    func totpPortalRoute(_ request: SandboxRequest) -> SandboxResponse {
        if let failure = fault("sandbox-totp-portal", request) { return failure }
        var response = totpPortalAnswer(request)
        if response.fault == nil && response.status == 200 {
            response.gzip = request.header("Accept-Encoding")?.contains("gzip") == true
            response.chunked = true
        }
        return response
    }

    func totpPortalAnswer(_ request: SandboxRequest) -> SandboxResponse {
        switch (request.method, request.path) {
        case ("GET", "/"), ("GET", "/signin"):
            return .html(
                page(
                    "Sandbox TOTP Portal",
                    """
                    <form method="post" action="/signin"><input name="user"><input type="password" name="pass"><button>Continue</button></form>
                    """))
        case ("POST", "/signin"):
            let form = request.form
            if let refusal = checkPassword(
                portal: "sandbox-totp-portal", username: form["user"] ?? "", password: form["pass"] ?? "")
            {
                return refusal
            }
            let pending = nextNonce()
            state.withLock { $0.pendingMFA[pending] = form["user"] ?? "" }
            return SandboxResponse(
                status: 302,
                headers: [("Location", "/verify"), ("Set-Cookie", "sandbox-totp-portal_mfa=\(pending); Path=/")])
        case ("GET", "/verify"):
            return .html(
                page(
                    "Verification",
                    "<form method=\"post\" action=\"/verify\"><input name=\"code\" autocomplete=\"one-time-code\"><button>Verify</button></form>"
                ))
        case ("POST", "/verify"):
            guard let pending = request.cookies["sandbox-totp-portal_mfa"],
                let username = state.withLock({ $0.pendingMFA[pending] }),
                let account = data.accounts.first(where: {
                    $0.portal == "sandbox-totp-portal" && $0.username == username
                })
            else {
                return .redirect("/signin")
            }
            let code = request.form["code"] ?? ""
            let now = UInt64(Date().timeIntervalSince1970)
            let valid = [now - 30, now, now + 30].contains {
                SandboxPortals.totp(secret: account.totpSecret, time: $0) == code
            }
            let fresh = state.withLock { $0.usedCodes.insert("\(username)|\(code)").inserted }
            guard valid && fresh else {
                return .html(
                    page("Verification", "<p class=\"error\">That code is not valid. Request a new one.</p>"),
                    status: 200)
            }
            state.withLock { $0.pendingMFA[pending] = nil }
            // Single sign-on: a one-time code and state in the link, exchanged for the session.
            let ssoCode = nextNonce()
            let stateToken = nextNonce()
            state.withLock { $0.pendingMFA["sso:\(ssoCode)|\(stateToken)"] = username }
            return SandboxResponse(
                status: 302, headers: [("Location", "/sso/callback?code=\(ssoCode)&state=\(stateToken)")])
        case ("GET", "/sso/callback"):
            let key = "sso:\(request.query["code"] ?? "")|\(request.query["state"] ?? "")"
            guard let username = state.withLock({ $0.pendingMFA.removeValue(forKey: key) }) else {
                return .html(
                    page("Sign-in error", "<p class=\"error\">This sign-in link has expired.</p>"), status: 400)
            }
            let session = startSession(username)
            return SandboxResponse(
                status: 302,
                headers: [
                    ("Location", "/remittances"), ("Set-Cookie", "sandbox-totp-portal_session=\(session); Path=/"),
                ])
        case ("GET", "/remittances"):
            guard session(request, portal: "sandbox-totp-portal") != nil else { return .redirect("/signin") }
            let stateToken = nextNonce()
            state.withLock { $0.pendingMFA["state:" + stateToken] = "search" }
            return .html(
                page(
                    "Remittance search",
                    """
                    <form method="post" action="/remittances/search"><input type="hidden" name="state" value="\(stateToken)">
                    <input name="from" placeholder="YYYY-MM-DD"><input name="to"><button>Search</button></form>
                    """))
        case ("POST", "/remittances/search"):
            guard let username = session(request, portal: "sandbox-totp-portal"),
                let client = client(ofUsername: username, portal: "sandbox-totp-portal")
            else {
                return .redirect("/signin")
            }
            let form = request.form
            guard let token = form["state"],
                state.withLock({ $0.pendingMFA.removeValue(forKey: "state:" + token) }) != nil
            else {
                return .html(
                    page("Session error", "<p class=\"error\">This page has expired. Start the search again.</p>"),
                    status: 400)
            }
            let found = data.payments(
                portal: "sandbox-totp-portal", client: client, from: form["from"] ?? "2000-01-01",
                to: form["to"] ?? "2099-12-31")
            let rows = found.map {
                "<li><a href=\"/remittances/\($0.id).xlsx\">\($0.trace)</a> <span class=\"date\">\($0.date)</span></li>"
            }.joined()
            return .html(
                page(
                    "Results",
                    found.isEmpty ? "<p class=\"empty\">Nothing found.</p>" : "<ul id=\"results\">\(rows)</ul>"))
        case ("GET", _) where request.path.hasPrefix("/remittances/") && request.path.hasSuffix(".xlsx"):
            guard let username = session(request, portal: "sandbox-totp-portal"),
                let client = client(ofUsername: username, portal: "sandbox-totp-portal")
            else {
                return .redirect("/signin")
            }
            let id = String(request.path.dropFirst("/remittances/".count).dropLast(5))
            guard
                let payment = data.payments.first(where: {
                    $0.id == id && $0.client == client && $0.portal == "sandbox-totp-portal"
                })
            else {
                return .text("Not found", status: 404)
            }
            return download(
                "sandbox-totp-portal", bytes: data.totpPortalWorkbook(payment),
                name: "sandbox-totp-portal-\(payment.trace).xlsx",
                type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        default:
            return .html(page("Not found", ""), status: 404)
        }
    }

    /// RFC 6238 with SHA-1, 6 digits, 30 seconds (the portal's own check).
    public static func totp(secret: String, time: UInt64) -> String {
        var key: [UInt8] = []
        var bits: UInt32 = 0
        var count = 0
        for scalar in secret.unicodeScalars {
            guard let index = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".unicodeScalars.firstIndex(of: scalar) else { continue }
            bits =
                bits << 5
                | UInt32(
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".unicodeScalars.distance(
                        from: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".unicodeScalars.startIndex, to: index))
            count += 5
            if count >= 8 {
                key.append(UInt8(bits >> UInt32(count - 8) & 0xFF))
                count -= 8
            }
        }
        let counter = time / 30
        let message = (0..<8).map { UInt8(counter >> UInt64(56 - 8 * $0) & 0xFF) }
        var mac = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        _ = HMAC(EVP_sha1(), key, Int32(key.count), message, message.count, &mac, &length)
        let offset = Int(mac[19] & 0x0F)
        let value =
            (UInt32(mac[offset] & 0x7F) << 24) | UInt32(mac[offset + 1]) << 16 | UInt32(mac[offset + 2]) << 8
            | UInt32(mac[offset + 3])
        return String(format: "%06d", value % 1_000_000)
    }
}

/// Lets the servers' handlers reach the portals object created after them.
final class PortalsBox: @unchecked Sendable {
    /// Set once, right after the servers start, before any request can be routed meaningfully.
    nonisolated(unsafe) var portals: SandboxPortals?
}
