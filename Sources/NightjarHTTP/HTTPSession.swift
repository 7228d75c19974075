import CCurl
import Foundation
import NightjarCore
import Synchronization

/// How failed requests are tried again.
///
/// After 429 (too many requests) or 503 (unavailable) every request is tried again, logins and
/// POSTs included: the server refused it before doing anything. After a transport error only a
/// request that is safe to repeat is, or one that never reached the server (the connection
/// failed). Never after any other answer: a 401, or a 200 that says the password is wrong, is
/// the portal's word, and repeating it could lock the account.
public struct RetryPolicy: Sendable {
    public var maximumAttempts = 4
    /// The first wait without a `Retry-After`; each next one doubles, with jitter.
    public var baseDelay: Duration = .seconds(1)
    public var maximumDelay: Duration = .seconds(30)
    /// The most a `Retry-After` header may make us wait; longer is reported instead.
    public var maximumRetryAfter: Duration = .seconds(120)
    /// Retry POSTs after transport errors too (only when repeating them is harmless for this portal).
    public var allowNonIdempotent = false
    /// A wait that would end after this instant (the portal's window closes) is not made: the
    /// answer is returned as it is, and the caller reports the credential rate limited.
    public var deadline: ContinuousClock.Instant?

    public init() {}

    public static let none: RetryPolicy = {
        var policy = RetryPolicy()
        policy.maximumAttempts = 1
        return policy
    }()
}

/// Per-origin politeness shared by every session of a run: at most `concurrency` requests at
/// once, `requestsPerSecond` started per second, and one back-off gate: when an origin says to
/// wait (429, 503, `Retry-After`), no session sends to it until the wait is over.
public actor OriginLimiter {
    public struct Limit: Sendable {
        public var concurrency: Int
        public var requestsPerSecond: Double
        public init(concurrency: Int = 4, requestsPerSecond: Double = 5) {
            self.concurrency = concurrency
            self.requestsPerSecond = requestsPerSecond
        }
    }

    private var limits: [String: Limit] = [:]
    private let defaultLimit: Limit
    private var inFlight: [String: Int] = [:]
    private var nextStart: [String: ContinuousClock.Instant] = [:]
    private var pausedUntil: [String: ContinuousClock.Instant] = [:]
    private var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    /// Requests held at a paused origin's gate, in the order they came; let through in that order.
    private var gateQueue: [String: [CheckedContinuation<Void, Never>]] = [:]
    private var gateOpening: Set<String> = []

    public init(defaultLimit: Limit = Limit()) { self.defaultLimit = defaultLimit }

    public func setLimit(_ limit: Limit, for origin: String) { limits[origin] = limit }

    /// Holds every request to `origin` until `until` (a later pause extends an earlier one).
    public func pause(_ origin: String, until: ContinuousClock.Instant) {
        pausedUntil[origin] = max(pausedUntil[origin] ?? until, until)
    }

    /// When requests to `origin` may start again, if it is paused.
    public func pausedUntil(_ origin: String) -> ContinuousClock.Instant? {
        guard let until = pausedUntil[origin], until > .now else { return nil }
        return until
    }

    /// Waits for the gate, a slot and the rate; call `release` when the request ends.
    public func acquire(_ origin: String) async {
        // The gate first, without holding a slot: a paused origin holds no one else's place. When
        // the wait is over, requests get their slots in the order they reached the gate, so the
        // one that was told to wait (it comes back first) is not overtaken by those sent meanwhile.
        // Slots are handed over, never raced for: a request resumed from either queue holds one.
        let limit = limits[origin] ?? defaultLimit
        if let until = pausedUntil[origin], until > .now {
            await withCheckedContinuation { continuation in
                gateQueue[origin, default: []].append(continuation)
                openGate(origin, at: until)
            }
        } else if inFlight[origin, default: 0] >= limit.concurrency {
            await withCheckedContinuation { waiters[origin, default: []].append($0) }
        } else {
            inFlight[origin, default: 0] += 1
        }
        while true {
            let now = ContinuousClock.now
            let start = max(now, nextStart[origin] ?? now, pausedUntil[origin] ?? now)
            if start <= now {
                nextStart[origin] = now + .milliseconds(Int(1000 / max(0.01, limit.requestsPerSecond)))
                return
            }
            try? await Task.sleep(until: start, clock: .continuous)
        }
    }

    /// How many requests wait at `origin`'s gate.
    func heldAtGate(_ origin: String) -> Int { gateQueue[origin]?.count ?? 0 }

    /// Lets the requests held at `origin`'s gate through, in order, once its pause is over (one
    /// timer per origin; a pause extended meanwhile keeps them waiting).
    private func openGate(_ origin: String, at until: ContinuousClock.Instant) {
        guard gateOpening.insert(origin).inserted else { return }
        Task {
            try? await Task.sleep(until: until, clock: .continuous)
            self.gateTimerFired(origin)
        }
    }

    private func gateTimerFired(_ origin: String) {
        gateOpening.remove(origin)
        if let until = pausedUntil[origin], until > .now {
            openGate(origin, at: until)
            return
        }
        let limit = limits[origin] ?? defaultLimit
        for continuation in gateQueue.removeValue(forKey: origin) ?? [] {
            if inFlight[origin, default: 0] < limit.concurrency {
                inFlight[origin, default: 0] += 1
                continuation.resume()
            } else {
                waiters[origin, default: []].append(continuation)
            }
        }
    }

    /// Ends a request: its slot passes to the first one waiting, if any.
    public func release(_ origin: String) {
        if var queue = waiters[origin], !queue.isEmpty {
            queue.removeFirst().resume()
            waiters[origin] = queue
        } else {
            inFlight[origin, default: 1] -= 1
        }
    }
}

/// A browsing session: its own cookie jar (in memory only), browser-like default headers, the
/// Referer kept, redirects followed by rules, retries and politeness.
public final class HTTPSession: @unchecked Sendable {
    /// The cookie store: a libcurl share handle, used only by this session's transfers, all of
    /// which run on the one loop thread.
    private let share: UnsafeMutableRawPointer?
    public let limits: TransferLimits
    public let tls: TLSSettings
    public let retry: RetryPolicy
    let limiter: OriginLimiter?
    private let state = Mutex<(referer: String?, requests: Int)>((nil, 0))
    /// Records every exchange, when set.
    public let recorder: HARRecorder?

    public static let defaultHeaders: [(String, String)] = [
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Nightjar/0.1"
        ),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,application/json;q=0.8,*/*;q=0.7"),
        ("Accept-Language", "en-US,en;q=0.9"),
    ]

    public init(
        limits: TransferLimits = TransferLimits(), tls: TLSSettings = TLSSettings(), retry: RetryPolicy = RetryPolicy(),
        limiter: OriginLimiter? = nil, recorder: HARRecorder? = nil
    ) {
        self.recorder = recorder
        _ = CurlLoop.shared
        share = curl_share_init()
        if let share { _ = ccurl_share_setopt_long(share, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_COOKIE.rawValue)) }
        self.limits = limits
        self.tls = tls
        self.retry = retry
        self.limiter = limiter
    }

    deinit {
        if let share { curl_share_cleanup(share) }
    }

    /// Number of requests this session has sent (each attempt and each redirect counts).
    public var requestCount: Int { state.withLock { $0.requests } }

    /// Sends `request`, following redirects and retrying as the policies say.
    public func send(_ request: HTTPRequest, followRedirects: Bool = true) async throws -> HTTPResponse {
        try await send(request, followRedirects: followRedirects, sink: nil)
    }

    func send(_ request: HTTPRequest, followRedirects: Bool = true, sink: DownloadSink?) async throws -> HTTPResponse {
        var current = request
        var redirects = 0
        while true {
            let response = try await sendWithRetries(current, sink: sink)
            guard followRedirects, [301, 302, 303, 307, 308].contains(response.status),
                let location = response.header("Location")
            else {
                return response
            }
            sink?.reset()
            redirects += 1
            if redirects > limits.maximumRedirects { throw HTTPError.tooManyRedirects(limits.maximumRedirects) }
            guard let target = URL(string: location, relativeTo: URL(string: response.url))?.absoluteURL,
                let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https"
            else {
                throw HTTPError.invalidURL(location)
            }
            if HTTPSession.scheme(of: response.url) == "https" && scheme == "http" {
                throw HTTPError.downgradeRedirect(target.absoluteString)
            }
            if [307, 308].contains(response.status) {
                if case .none = current.body {
                } else if HTTPSession.origin(of: target.absoluteString) != HTTPSession.origin(of: response.url) {
                    throw HTTPError.crossOriginBodyRedirect(HTTPSession.origin(of: target.absoluteString))
                }
                current = HTTPRequest(
                    current.method, target.absoluteString, headers: current.headers, body: current.body,
                    retryable: current.retryable)
            } else {
                current = HTTPRequest(
                    current.method == .head ? .head : .get, target.absoluteString, headers: current.headers)
            }
        }
    }

    private func sendWithRetries(_ request: HTTPRequest, sink: DownloadSink?) async throws -> HTTPResponse {
        let repeatable = request.retryable ?? (request.method.isIdempotent || retry.allowNonIdempotent)
        // A request marked not retryable (a login carrying a secret) is still sent again after a
        // 429 or 503: they say the server did nothing with it.
        let origin = HTTPSession.origin(of: request.fullURL)
        var attempt = 0
        while true {
            attempt += 1
            do {
                var response = try await sendOnce(request, sink: sink)
                response.attempts = attempt
                let busy = response.status == 429 || response.status == 503
                let gateway = response.status == 502 || response.status == 504
                guard attempt < retry.maximumAttempts, busy || gateway && repeatable else { return response }
                let wait = retryAfter(response) ?? backoff(attempt)
                if wait > retry.maximumRetryAfter { return response }
                let until = ContinuousClock.now + wait
                if let deadline = retry.deadline, until > deadline {
                    response.waitRefused = wait
                    return response
                }
                // One gate per origin: every session of the run waits with this one.
                if let limiter {
                    await limiter.pause(origin, until: until)
                } else {
                    try await Task.sleep(until: until, clock: .continuous)
                }
                sink?.reset()
                continue
            } catch let error as HTTPError
                where error.isTransient && attempt < retry.maximumAttempts
                && (repeatable && sink == nil || error.neverReachedServer)
            {
                let wait = backoff(attempt)
                if let deadline = retry.deadline, ContinuousClock.now + wait > deadline { throw error }
                try await Task.sleep(for: wait)
                sink?.reset()
            }
        }
    }

    /// Exponential backoff with jitter (between half and all of the doubled delay), bounded.
    func backoff(_ attempt: Int) -> Duration {
        let base = Double(retry.baseDelay.milliseconds) * pow(2, Double(attempt - 1))
        let capped = min(base, Double(retry.maximumDelay.milliseconds))
        return .milliseconds(Int(Double.random(in: capped / 2...capped)))
    }

    /// `Retry-After` as seconds or an HTTP date.
    func retryAfter(_ response: HTTPResponse) -> Duration? {
        guard let value = response.header("Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Int(value) { return .seconds(max(0, seconds)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(max(0, Int(date.timeIntervalSinceNow * 1000)))
    }

    private func sendOnce(_ request: HTTPRequest, sink: DownloadSink?) async throws -> HTTPResponse {
        let url = request.fullURL
        guard let scheme = HTTPSession.scheme(of: url), scheme == "http" || scheme == "https" else {
            throw HTTPError.invalidURL(url)
        }
        let (body, contentType) = request.body.encoded()
        var headers = HTTPSession.defaultHeaders.filter { name, _ in
            !request.headers.contains { $0.0.caseInsensitiveCompare(name) == .orderedSame }
        }
        headers += request.headers
        if let contentType, !headers.contains(where: { $0.0.caseInsensitiveCompare("Content-Type") == .orderedSame }) {
            headers.append(("Content-Type", contentType))
        }
        let referer = state.withLock { state -> String? in
            state.requests += 1
            return state.referer
        }
        if let referer, !headers.contains(where: { $0.0.caseInsensitiveCompare("Referer") == .orderedSame }) {
            headers.append(("Referer", referer))
        }
        let origin = HTTPSession.origin(of: url)
        if let limiter { await limiter.acquire(origin) }
        defer { if let limiter { Task { await limiter.release(origin) } } }
        let transfer = Transfer(
            id: CurlLoop.shared.nextID(), url: url, method: request.method,
            headerLines: headers.map { "\($0.0): \($0.1)" }, body: body, limits: limits, tls: tls, share: share)
        transfer.sink = sink
        transfer.freshConnection = !(request.retryable ?? (request.method.isIdempotent || retry.allowNonIdempotent))
        transfer.recordsSentHeaders = recorder != nil
        let started = Date()
        do {
            let raw = try await CurlLoop.shared.perform(transfer)
            let response = HTTPResponse(status: raw.status, headers: raw.headers, url: raw.url, body: raw.body)
            state.withLock { $0.referer = raw.url }
            recorder?.record(
                request,
                sink == nil
                    ? response
                    : HTTPResponse(
                        status: response.status, headers: response.headers, url: response.url,
                        body: Array("[download: \(sink!.count) bytes]".utf8)), nil, started: started,
                sentHeaders: raw.sentHeaders.map { $0.map { ($0.name, $0.value) } } ?? headers)
            return response
        } catch {
            recorder?.record(request, nil, error, started: started, sentHeaders: headers)
            throw error
        }
    }

    /// `https://host:port` of a URL (default ports filled in), lower-cased.
    public static func origin(of url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host?.lowercased()
        else {
            return url
        }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        return "\(scheme)://\(host):\(port)"
    }

    /// The lower-cased scheme of a URL.
    public static func scheme(of url: String) -> String? { URLComponents(string: url)?.scheme?.lowercased() }
}
