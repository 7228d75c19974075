import Foundation
import NightjarCore
import NightjarCrypto
import NightjarSandbox
import Synchronization
import Testing

@testable import NightjarHTTP

/// Real HTTP over loopback against the sandbox server, for every behaviour the layer promises.
@Suite("HTTP sessions against the sandbox", .serialized)
struct HTTPTests {
    static func quickLimits() -> TransferLimits {
        var limits = TransferLimits()
        limits.connectTimeout = .seconds(2)
        limits.totalTimeout = .seconds(5)
        limits.lowSpeedTime = .seconds(1)
        return limits
    }

    static func fastRetry() -> RetryPolicy {
        var policy = RetryPolicy()
        policy.baseDelay = .milliseconds(20)
        policy.maximumDelay = .milliseconds(100)
        return policy
    }

    @Test func cookiesStayWithinASessionAndApartBetweenSessions() async throws {
        let server = try SandboxServer { request in
            if request.path == "/login" {
                return SandboxResponse(
                    status: 200, headers: [("Set-Cookie", "session=abc123; Path=/; HttpOnly")], body: Array("ok".utf8))
            }
            return .text(request.cookies["session"] ?? "none")
        }
        defer { server.stop() }
        let first = HTTPSession(limits: HTTPTests.quickLimits())
        let second = HTTPSession(limits: HTTPTests.quickLimits())
        _ = try await first.send(HTTPRequest(.get, server.url("/login")))
        #expect(try await first.send(HTTPRequest(.get, server.url("/me"))).text == "abc123")
        #expect(try await second.send(HTTPRequest(.get, server.url("/me"))).text == "none")
    }

    @Test func formsQueriesHeadersAndTheRefererArrive() async throws {
        let seen = Mutex<[SandboxRequest]>([])
        let server = try SandboxServer { request in
            seen.withLock { $0.append(request) }
            return .text("ok")
        }
        defer { server.stop() }
        let session = HTTPSession(limits: HTTPTests.quickLimits())
        _ = try await session.send(
            HTTPRequest(.get, server.url("/search"), query: [("from", "11/01/2026"), ("q", "a b&c")]))
        _ = try await session.send(
            HTTPRequest(
                .post, server.url("/login"), headers: [("X-Token", "t1")],
                body: .form([("UserName", "ap@acme"), ("Password", "p&ss=wörd")])))
        let requests = seen.withLock { $0 }
        #expect(requests[0].query["from"] == "11/01/2026")
        #expect(requests[0].query["q"] == "a b&c")
        #expect(requests[1].method == "POST")
        #expect(requests[1].form["Password"] == "p&ss=wörd")
        #expect(requests[1].header("X-Token") == "t1")
        #expect(requests[1].header("Referer") == server.url("/search?from=11%2F01%2F2026&q=a+b%26c"))
        #expect(requests[1].header("User-Agent")?.contains("Mozilla") == true)
    }

    @Test func redirectsFollowTheRules() async throws {
        let foreign = Mutex(0)
        let other = try SandboxServer { request in
            foreign.withLock { $0 += 1 }
            return .text("foreign saw \(request.body.count) bytes")
        }
        defer { other.stop() }
        let server = try SandboxServer { request in
            switch request.path {
            case "/a": return .redirect("/b")
            case "/b": return .text("landed with \(request.method)")
            case "/post-303": return .redirect("/b", status: 303)
            case "/post-307": return .redirect("/echo", status: 307)
            case "/echo": return .text("body \(String(decoding: request.body, as: UTF8.self))")
            case "/away-307": return .redirect(other.url("/steal"), status: 307)
            case "/loop": return .redirect("/loop")
            default: return .text("?", status: 404)
            }
        }
        defer { server.stop() }
        let session = HTTPSession(limits: HTTPTests.quickLimits(), retry: .none)
        let followed = try await session.send(HTTPRequest(.get, server.url("/a")))
        #expect(followed.text == "landed with GET" && followed.url == server.url("/b"))
        #expect(
            try await session.send(HTTPRequest(.post, server.url("/post-303"), body: .form([("x", "1")]))).text
                == "landed with GET")
        #expect(
            try await session.send(HTTPRequest(.post, server.url("/post-307"), body: .form([("x", "1")]))).text
                == "body x=1")
        await #expect(throws: HTTPError.crossOriginBodyRedirect("http://127.0.0.1:\(other.port)")) {
            try await session.send(HTTPRequest(.post, server.url("/away-307"), body: .form([("password", "secret")])))
        }
        #expect(foreign.withLock { $0 } == 0, "the foreign origin must receive no request")
        await #expect(throws: HTTPError.tooManyRedirects(10)) {
            try await session.send(HTTPRequest(.get, server.url("/loop")))
        }
        let raw = try await session.send(HTTPRequest(.get, server.url("/a")), followRedirects: false)
        #expect(raw.status == 302 && raw.header("location") == "/b")
    }

    @Test func retriesHonourRetryAfterAndRepeatAPostOnlyWhenTheServerDidNothing() async throws {
        let attempts = Mutex([String: Int]())
        let server = try SandboxServer { request in
            let count = attempts.withLock { state -> Int in
                state[request.path, default: 0] += 1
                return state[request.path]!
            }
            switch request.path {
            case "/busy":
                return count == 1 ? SandboxResponse(status: 429, headers: [("Retry-After", "1")]) : .text("ok")
            case "/flaky": return count < 3 ? SandboxResponse(status: 503) : .text("ok")
            case "/post": return SandboxResponse(status: 503)
            case "/reset-post", "/reset-get":
                return count == 1 ? SandboxResponse(fault: .closeWithoutResponse) : .text("ok")
            default: return .text("?", status: 404)
            }
        }
        defer { server.stop() }
        let session = HTTPSession(limits: HTTPTests.quickLimits(), retry: HTTPTests.fastRetry())
        let start = ContinuousClock.now
        #expect(try await session.send(HTTPRequest(.get, server.url("/busy"))).text == "ok")
        let waited = ContinuousClock.now - start
        #expect(
            waited >= .milliseconds(950) && waited < .seconds(30), "Retry-After 1 is waited, not a default back-off")
        #expect(try await session.send(HTTPRequest(.get, server.url("/flaky"))).text == "ok")
        #expect(attempts.withLock { $0["/flaky"] } == 3)
        // A 503 says the server did nothing with the request: a POST is sent again too.
        #expect(
            try await session.send(HTTPRequest(.post, server.url("/post"), body: .form([("a", "b")]))).status == 503)
        #expect(attempts.withLock { $0["/post"] } == HTTPTests.fastRetry().maximumAttempts)
        // A connection lost after the request went out: a GET is sent again, a POST never (it may have been done).
        #expect(try await session.send(HTTPRequest(.get, server.url("/reset-get"))).text == "ok")
        #expect(attempts.withLock { $0["/reset-get"] } == 2)
        await #expect(throws: HTTPError.self) {
            try await session.send(HTTPRequest(.post, server.url("/reset-post"), body: .form([("a", "b")])))
        }
        #expect(attempts.withLock { $0["/reset-post"] } == 1)
    }

    /// A `Retry-After` that would run past the night's end is not waited out: the answer comes
    /// back at once, saying how long the server asked for.
    @Test func aWaitPastTheDeadlineIsNotMade() async throws {
        let attempts = Mutex(0)
        let server = try SandboxServer { _ in
            attempts.withLock { $0 += 1 }
            return SandboxResponse(status: 429, headers: [("Retry-After", "30")])
        }
        defer { server.stop() }
        var retry = HTTPTests.fastRetry()
        retry.deadline = ContinuousClock.now + .seconds(10)
        let session = HTTPSession(limits: HTTPTests.quickLimits(), retry: retry)
        let start = ContinuousClock.now
        let response = try await session.send(HTTPRequest(.get, server.url("/busy")))
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(response.status == 429)
        #expect(response.waitRefused == .seconds(30))
        #expect(attempts.withLock { $0 } == 1)
    }

    @Test func byteLevelFaultsBecomeTypedErrors() async throws {
        let body = Array(String(repeating: "remittance,", count: 5000).utf8)
        let server = try SandboxServer { request in
            switch request.path {
            case "/truncated": return SandboxResponse(body: body, fault: .truncateBody)
            case "/reset": return SandboxResponse(body: body, fault: .resetMidBody)
            case "/stall": return SandboxResponse(body: body, fault: .stall(seconds: 4))
            case "/garbage": return SandboxResponse(fault: .malformedStatusLine)
            case "/huge-header": return SandboxResponse(body: body, fault: .hugeHeader(bytes: 1_000_000))
            case "/gzip":
                var response = SandboxResponse.text(String(repeating: "compressible ", count: 10_000))
                response.gzip = true
                response.chunked = true
                return response
            case "/big": return SandboxResponse(body: [UInt8](repeating: 65, count: 2_000_000))
            default: return .text("?", status: 404)
            }
        }
        defer { server.stop() }
        var limits = HTTPTests.quickLimits()
        limits.maximumResponseBytes = 1_000_000
        let session = HTTPSession(limits: limits, retry: .none)
        await #expect(throws: HTTPError.truncated) {
            try await session.send(HTTPRequest(.get, server.url("/truncated")))
        }
        await #expect { try await session.send(HTTPRequest(.get, server.url("/reset"))) } throws: { error in
            [HTTPError.connectionReset, HTTPError.truncated].contains(error as? HTTPError)
        }
        await #expect(throws: HTTPError.stalled) { try await session.send(HTTPRequest(.get, server.url("/stall"))) }
        await #expect { try await session.send(HTTPRequest(.get, server.url("/garbage"))) } throws: { error in
            (error as? HTTPError)?.code == "http.malformed_response"
        }
        await #expect { try await session.send(HTTPRequest(.get, server.url("/huge-header"))) } throws: { error in
            (error as? HTTPError) != nil
        }
        let decoded = try await session.send(HTTPRequest(.get, server.url("/gzip")))
        #expect(decoded.text.count == 130_000)
        await #expect(throws: HTTPError.responseTooLarge(1_000_000)) {
            try await session.send(HTTPRequest(.get, server.url("/big")))
        }
        await #expect { try await session.send(HTTPRequest(.get, "http://127.0.0.1:1/")) } throws: { error in
            (error as? HTTPError)?.code == "http.connect_failed"
        }
        await #expect(throws: HTTPError.invalidURL("ftp://example.com/")) {
            try await session.send(HTTPRequest(.get, "ftp://example.com/"))
        }
    }

    @Test func cancellingTheTaskAbortsAStalledTransfer() async throws {
        let server = try SandboxServer { _ in SandboxResponse(body: [1, 2, 3], fault: .stall(seconds: 20)) }
        defer { server.stop() }
        var limits = TransferLimits()
        limits.lowSpeedTime = .seconds(60)
        let session = HTTPSession(limits: limits, retry: .none)
        let start = ContinuousClock.now
        let task = Task { try await session.send(HTTPRequest(.get, server.url("/slow"))) }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        await #expect(throws: HTTPError.cancelled) { try await task.value }
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func manyTransfersShareOneLoop() async throws {
        let server = try SandboxServer { request in .text(request.path) }
        defer { server.stop() }
        let session = HTTPSession(limits: HTTPTests.quickLimits())
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<200 {
                group.addTask { try await session.send(HTTPRequest(.get, server.url("/n\(index)"))).text }
            }
            var collected: [String] = []
            for try await text in group { collected.append(text) }
            return collected
        }
        #expect(Set(results).count == 200)
    }
}

@Suite("TLS", .serialized)
struct TLSTests {
    @Test func aServerWithAnUnknownCAIsRefusedUntilItsCAIsConfigured() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-tls-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let certificates = try TestCertificates.generate(in: folder)
        let server = try SandboxServer(tls: certificates) { _ in .text("secure hello") }
        defer { server.stop() }
        #expect(server.url().hasPrefix("https://localhost:"))
        let untrusting = HTTPSession(limits: HTTPTests.quickLimits(), retry: .none)
        await #expect { try await untrusting.send(HTTPRequest(.get, server.url("/"))) } throws: { error in
            (error as? HTTPError)?.code == "http.tls"
        }
        let trusting = HTTPSession(
            limits: HTTPTests.quickLimits(), tls: TLSSettings(caBundle: certificates.caCertificate), retry: .none)
        #expect(try await trusting.send(HTTPRequest(.get, server.url("/"))).text == "secure hello")

        // Mutual TLS: refused without a client certificate, accepted with one.
        let strict = try SandboxServer(tls: certificates, requireClientCertificate: true) { _ in .text("client known") }
        defer { strict.stop() }
        await #expect { try await trusting.send(HTTPRequest(.get, strict.url("/"))) } throws: { error in
            error is HTTPError
        }
        let withCertificate = HTTPSession(
            limits: HTTPTests.quickLimits(),
            tls: TLSSettings(
                caBundle: certificates.caCertificate, clientCertificate: certificates.clientCertificate,
                clientKey: certificates.clientKey), retry: .none)
        #expect(try await withCertificate.send(HTTPRequest(.get, strict.url("/"))).text == "client known")
    }

    @Test func multipartFormsArriveWithTheirParts() async throws {
        let server = try SandboxServer { request in
            .text("\(request.header("Content-Type") ?? "")|\(String(decoding: request.body, as: UTF8.self))")
        }
        defer { server.stop() }
        let session = HTTPSession(limits: HTTPTests.quickLimits(), retry: .none)
        let answer = try await session.send(
            HTTPRequest(
                .post, server.url("/upload"),
                body: .multipart([
                    MultipartPart(name: "from", data: Array("2026-11-01".utf8)),
                    MultipartPart(
                        name: "file", filename: "claim.csv", contentType: "text/csv", data: Array("a,b\n1,2\n".utf8)),
                ])))
        let parts = answer.text.split(separator: "|", maxSplits: 1)
        #expect(parts[0].hasPrefix("multipart/form-data; boundary="))
        let boundary = String(parts[0].dropFirst("multipart/form-data; boundary=".count))
        #expect(
            parts[1].contains("--\(boundary)\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\n2026-11-01\r\n"))
        #expect(parts[1].contains("filename=\"claim.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n"))
        #expect(parts[1].hasSuffix("--\(boundary)--\r\n"))
    }
}

@Suite("Downloads", .serialized)
struct DownloadTests {
    @Test func aDownloadStreamsHashesAndLandsAtomicallyUnderASafeName() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-dl-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let content = Array(String(repeating: "INV-1,100.00\n", count: 20_000).utf8)
        let server = try SandboxServer { request in
            switch request.path {
            case "/file":
                return SandboxResponse(
                    headers: [
                        ("Content-Type", "text/csv"),
                        ("Content-Disposition", "attachment; filename=\"../../etc/remit 11.csv\""),
                    ],
                    body: content)
            case "/moved": return .redirect("/file")
            case "/cut": return SandboxResponse(body: content, fault: .truncateBody)
            case "/gz":
                var response = SandboxResponse(body: content)
                response.gzip = true
                return response
            default: return .text("nope", status: 404)
            }
        }
        defer { server.stop() }
        let session = HTTPSession(limits: HTTPTests.quickLimits(), retry: .none)
        let file = try await session.download(HTTPRequest(.get, server.url("/moved")), to: folder)
        #expect(file.path == folder + "/____etc_remit 11.csv")
        #expect(file.size == content.count)
        #expect(file.sha256 == SHA256Reference.hex(content))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: file.path))) == content)
        #expect(SecureFile.mode(of: file.path) == 0o600)
        let unpacked = try await session.download(HTTPRequest(.get, server.url("/gz")), to: folder, name: "gz.csv")
        #expect(unpacked.size == content.count)
        await #expect(throws: HTTPError.truncated) {
            try await session.download(HTTPRequest(.get, server.url("/cut")), to: folder, name: "cut.csv")
        }
        await #expect(throws: HTTPError.self) {
            try await session.download(HTTPRequest(.get, server.url("/missing")), to: folder, name: "x.csv")
        }
        // Nothing half-written is left: only the two complete files.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["____etc_remit 11.csv", "gz.csv"])
        #expect(
            HTTPSession.sanitise("..") == "_" && HTTPSession.sanitise("a/../b\u{0}") == "a___b_"
                && HTTPSession.sanitise(".hidden") == "hidden")
    }
}

enum SHA256Reference {
    static func hex(_ bytes: [UInt8]) -> String { SHA256.hash(bytes).hexString }
}

@Suite("HAR recording", .serialized)
struct HARTests {
    @Test func aRecordingHoldsNoPlantedSecret() async throws {
        let canaries = ["Canary-Pass/+%\"<&é x", "tok-9f8e7d6c5b4a", "otp-000111", "cookie-secret-42"]
        for canary in canaries { Redactor.shared.register(text: canary) }
        let server = try SandboxServer { request in
            if request.path == "/login" {
                return SandboxResponse(
                    status: 200,
                    headers: [("Set-Cookie", "sid=cookie-secret-42; HttpOnly"), ("Content-Type", "application/json")],
                    body: Array("{\"token\":\"tok-9f8e7d6c5b4a\",\"echo\":\"Canary-Pass/+%\\\"<&é x\"}".utf8))
            }
            return .html("<p>Welcome back, your code was otp-000111</p>")
        }
        defer { server.stop() }
        let recorder = HARRecorder()
        let session = HTTPSession(limits: HTTPTests.quickLimits(), recorder: recorder)
        _ = try await session.send(
            HTTPRequest(
                .post, server.url("/login"), headers: [("Authorization", "Bearer tok-9f8e7d6c5b4a")],
                body: .form([("UserName", "ap@acme"), ("Password", canaries[0]), ("note", "pw is \(canaries[0])")])))
        _ = try await session.send(
            HTTPRequest(
                .post, server.url("/mfa"), body: .json(Array("{\"otp\":\"otp-000111\",\"remember\":true}".utf8))))
        _ = try await session.send(
            HTTPRequest(.get, server.url("/home"), query: [("session_token", "tok-9f8e7d6c5b4a")]))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-har-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/run.har"
        try recorder.write(to: path)
        #expect(SecureFile.mode(of: path) == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let har = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let entries = (har?["log"] as? [String: Any])?["entries"] as? [Any]
        #expect(entries?.count == 3)
        #expect(text.contains("\"UserName\"") && text.contains("ap@acme"))
        for canary in canaries {
            for form in [
                canary, FormEncoding.encode(canary),
                String(decoding: try JSONEncoder().encode([canary]), as: UTF8.self).dropFirst(2).dropLast(2)
                    .description,
                Data(canary.utf8).base64EncodedString(),
            ] {
                #expect(!text.contains(form), "the HAR contains \(form)")
            }
        }
    }
}

extension HARTests {
    /// The headers libcurl really sent are recorded (the cookie from the jar too, its value
    /// masked); one-time values — an SSO code and state in a redirect, the session cookie, a
    /// hidden input, a name the definition declared — appear nowhere in the file.
    @Test func aRecordingShowsTheHeadersSentAndNoOneTimeValue() async throws {
        let oneTime = [
            "ONE-TIME-CODE-4711", "STATE-VALUE-2222", "SESSION-ID-3333333", "WCTX-VALUE-5555", "TICKET-ST-99887766",
        ]
        let server = try SandboxServer { request in
            switch request.path {
            case "/start":
                return SandboxResponse(
                    status: 302,
                    headers: [
                        ("Location", "/callback?code=\(oneTime[0])&state=\(oneTime[1])&wctx=\(oneTime[3])"),
                        ("Set-Cookie", "sid=\(oneTime[2]); Path=/; HttpOnly"),
                    ])
            case "/callback":
                return .html(
                    "<form><input type=\"hidden\" name=\"state\" value=\"\(oneTime[1])\"><p>you came with \(oneTime[0])</p></form>"
                )
            case "/cas":
                return .json("{\"ticket\":\"\(oneTime[4])\",\"user\":\"ap@acme\"}")
            default:
                return .text("echo \(request.header("Cookie") ?? "") \(oneTime[4])")
            }
        }
        defer { server.stop() }
        let recorder = HARRecorder(sensitiveNames: ["wctx"])
        let session = HTTPSession(limits: HTTPTests.quickLimits(), recorder: recorder)
        let first = try await session.send(HTTPRequest(.get, server.url("/start")), followRedirects: false)
        _ = try await session.send(HTTPRequest(.get, server.url(first.header("Location")!)))
        _ = try await session.send(HTTPRequest(.get, server.url("/cas")))
        _ = try await session.send(
            HTTPRequest(.get, server.url("/home"), headers: [("Authorization", "Bearer tok-abcdef-123456")]))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-har-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/run.har"
        try recorder.write(to: path)
        #expect(SecureFile.mode(of: path) == 0o600)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for value in oneTime + ["tok-abcdef-123456"] { #expect(!text.contains(value), "the HAR shows \(value)") }
        let har = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let entries = ((har?["log"] as? [String: Any])?["entries"] as? [[String: Any]]) ?? []
        #expect(entries.count == 4)
        let headers = entries.map { (($0["request"] as? [String: Any])?["headers"] as? [[String: String]]) ?? [] }
        // Sent by libcurl: the browser-like defaults, Host, and the cookie from the jar.
        #expect(headers[0].contains { $0["name"] == "User-Agent" })
        #expect(headers[0].contains { $0["name"] == "Host" })
        #expect(headers[1].contains { $0["name"] == "Cookie" && $0["value"] == "sid=[REDACTED]" })
        #expect(headers[3].contains { $0["name"] == "Authorization" && $0["value"] == "Bearer [REDACTED]" })
        #expect(text.contains("code=[REDACTED]&state=[REDACTED]&wctx=[REDACTED]"))
        #expect(text.contains("ap@acme"))
    }
}

@Suite("Politeness", .serialized)
struct PolitenessTests {
    @Test func perOriginConcurrencyAndRateAreHeldAcrossSessions() async throws {
        let inFlight = Mutex((now: 0, most: 0))
        let server = try SandboxServer { _ in
            inFlight.withLock {
                $0.now += 1
                $0.most = max($0.most, $0.now)
            }
            usleep(100_000)
            inFlight.withLock { $0.now -= 1 }
            return .text("ok")
        }
        defer { server.stop() }
        let limiter = OriginLimiter(defaultLimit: .init(concurrency: 2, requestsPerSecond: 20))
        let sessions = (0..<4).map { _ in HTTPSession(limits: HTTPTests.quickLimits(), limiter: limiter) }
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<12 {
                group.addTask { _ = try await sessions[index % 4].send(HTTPRequest(.get, server.url("/x\(index)"))) }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        #expect(inFlight.withLock { $0.most } <= 2)
        // 12 requests two at a time, 100 ms each: at least 600 ms; and no faster than 20 per second.
        #expect(elapsed >= .milliseconds(550))
    }
}
