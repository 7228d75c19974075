import Foundation
import NightjarStore
import Testing

/// `nightjar serve`, started as a user would, on copies of `SiteFixture`: a real browser works
/// the morning, and an attack suite tries what a stranger or an insider would.
@Suite("nightjar serve", .serialized)
struct SiteTests {
    static let artefacts = ScraperCommandTests.repository + "/.build/test-artefacts"

    static func tool(_ path: String, _ arguments: [String]) throws -> (Int32, String) {
        try BinaryRunner.tool(path, arguments)
    }

    /// Statuses of the workspace's batches, by id, as `nightjar batches --json` gives them.
    static func statuses(_ site: RunningSite) throws -> [Int: String] {
        let result = try site.cli(["batches", "--json"])
        let list = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: list.map { ($0["id"] as? Int ?? -1, $0["status"] as? String ?? "") })
    }

    // MARK: The browser

    @Test func aClerkWorksTheMorningInABrowserAndTheCLISeesTheSameLedger() throws {
        let site = try RunningSite("browser")
        defer { site.stop() }
        try FileManager.default.createDirectory(atPath: SiteTests.artefacts, withIntermediateDirectories: true)
        let downloads = site.parent + "/downloads"
        try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true)
        let screenshot = SiteTests.artefacts + "/site-batch-page.png"
        try? FileManager.default.removeItem(atPath: screenshot)
        let (status, output) = try SiteTests.tool(
            "/usr/bin/python3",
            [
                ScraperCommandTests.repository + "/Tests/Support/site_browser_tour.py", site.base, downloads,
                screenshot, "carol", SiteFixture.carol, "alice", SiteFixture.alice,
            ])
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(output)")
        #expect(status == 0 && seen["ok"] as? Bool == true, "\(output)")
        #expect((seen["console_errors"] as? [String])?.isEmpty == true, "\(seen["console_errors"] ?? "")")
        // The style sheet came from its file and applied.
        #expect(seen["header_background"] as? String == "rgb(29, 35, 48)")
        // The worklist held the three exceptions of acme's first batch and no clean line.
        let worklist = seen["worklist"] as? [[String]] ?? []
        #expect(worklist.count == 3, "\(worklist)")
        #expect(worklist.map { $0[5] } == ["INV-1002", "INV-2010", "INV-9999"], "largest first: \(worklist)")
        #expect(worklist.first.map { $0[6] } == "450.00 USD")
        #expect((seen["worklist_sorted_by"] as? String)?.contains("sort=payer") == true)
        #expect((seen["suggestion"] as? String)?.contains("INV-2001") == true)
        #expect((seen["search"] as? [[String]])?.first?.first == "INV-3001")
        #expect((seen["batch1_status"] as? String)?.contains("approved") == true)
        let history = (seen["batch1_history"] as? [[String]] ?? []).map { "\($0[2]) \($0[1])" }
        #expect(history == ["accept-suggestion carol", "reassign carol", "approve carol"], "\(history)")
        #expect(
            ((seen["batch1_history"] as? [[String]])?.last?[4] ?? "").contains(
                "shortage on INV-1002 agreed with the buyer"))
        #expect(seen["invoice_open"] as? String == "0.00 USD", "\(seen["invoice_open"] ?? "")")
        #expect((seen["after_sign_out"] as? String)?.hasSuffix("/sign-in") == true)
        // The screenshot of the batch page is kept for people to look at.
        let image = try #require(FileManager.default.contents(atPath: screenshot))
        #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]) && image.count > 20_000)

        // The journal downloaded in the browser is a strict hledger journal, and the export was recorded.
        let journal = try #require(seen["journal"] as? String)
        let (checked, report) = try SiteTests.tool("/usr/bin/hledger", ["-f", journal, "check", "--strict"])
        #expect(checked == 0, "\(report)")
        let (_, clearing) = try SiteTests.tool(
            "/usr/bin/hledger", ["-f", journal, "balance", "Assets:Clearing:Remittances", "-N", "--flat"])
        #expect(clearing.contains("1850.00 USD"), "\(clearing)")
        let again = try site.cli([
            "batch", "export", "1", "--format", "hledger", "--out", site.parent + "/again.journal",
        ])
        #expect(again.status == 65 && again.stderr.contains("--again"), "\(again.stderr)")

        // The CLI sees what the browser did, at once.
        #expect(try SiteTests.statuses(site) == [1: "approved", 2: "reversed", 3: "new"])
        let invoice = try site.cli(["invoices", "show", "INV-2001", "--client", "acme"])
        #expect(invoice.stdout.contains("open 0.00 USD"), "\(invoice.stdout)")
        let reassigned = try site.cli(["invoices", "show", "INV-3001", "--client", "acme"])
        #expect(
            reassigned.stdout.contains("open 0.00 USD") && reassigned.stdout.contains("payment 5551 line INV-9999"),
            "\(reassigned.stdout)")
        let restored = try site.cli(["invoices", "show", "INV-1003", "--client", "acme"])
        #expect(restored.stdout.contains("open 800.00 USD"), "batch 2 reversed: \(restored.stdout)")
        let account = try site.cli(["account", "show", "ACME-C1", "--client", "acme"])
        let balance = try #require(account.stdout.split(separator: "\n").first.map(String.init))
        #expect(
            (seen["account_after_reversal"] as? String)?.contains(
                String(balance.split(separator: " ").suffix(2).joined(separator: " "))) == true,
            "site: \(seen["account_after_reversal"] ?? "") cli: \(balance)")
        #expect(
            (seen["account"] as? String)?.hasSuffix("balance 0.00 USD") == true,
            "both batches approved: \(seen["account"] ?? "")")
        let decisions = try Database(path: site.root + "/data/nightjar.sqlite").query(
            "SELECT batch_id, action, actor FROM review_decision ORDER BY id"
        ).map {
            "\(try $0.int64("batch_id")) \(try $0.string("action")) \(try $0.string("actor"))"
        }
        #expect(
            decisions == [
                "1 accept-suggestion carol", "1 reassign carol", "1 approve carol", "2 approve carol",
                "2 reverse alice",
            ])
        // Every sign-in and sign-out is in the vault's audit log, which still verifies.
        let audit = try site.cli(
            ["vault", "audit", "--verify", "--as", "alice", "--passphrase-stdin"], stdin: SiteFixture.alice + "\n")
        #expect(audit.status == 0, "\(audit.stderr)")
        let log = try String(contentsOfFile: site.root + "/vault/audit.log", encoding: .utf8)
        #expect(log.components(separatedBy: "\"action\":\"site-sign-in\"").count - 1 == 2)
        #expect(log.components(separatedBy: "\"action\":\"site-sign-out\"").count - 1 == 2)
    }

    // MARK: The attack suite

    /// Every page a signed-in admin can reach by following links (and a search), with what it answered.
    static func crawl(_ visitor: SiteVisitor, start: [String]) throws -> [String: HTTPAnswer] {
        var seen: [String: HTTPAnswer] = [:]
        var queue = start
        while let path = queue.first, seen.count < 200 {
            queue.removeFirst()
            if seen[path] != nil || path.hasPrefix("/static/") { continue }
            let answer = try visitor.get(path)
            seen[path] = answer
            for part in answer.body.components(separatedBy: "href=\"").dropFirst() {
                let link = String(part.prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
                let bare = String(link.prefix { $0 != "#" })
                if bare.hasPrefix("/"), seen[bare] == nil, !queue.contains(bare) { queue.append(bare) }
            }
        }
        return seen
    }

    @Test func securityHeadersAreOnEveryAnswerAndNoPageHoldsAVaultSecret() throws {
        let site = try RunningSite("headers")
        defer { site.stop() }
        let alice = SiteVisitor(site)
        var answers: [(String, HTTPAnswer)] = []
        answers.append(("sign-in page", try alice.get("/sign-in")))
        answers.append(("redirect to sign-in", try RawHTTP.request(port: site.port, "GET", "/worklist")))
        answers.append(("wrong passphrase", try alice.signIn("alice", "not-the-passphrase")))
        answers.append(("sign-in", try alice.signIn("alice", SiteFixture.alice)))
        #expect(answers.last?.1.status == 303)
        let pages = try SiteTests.crawl(
            alice,
            start: [
                "/", "/worklist", "/exports", "/batches/1", "/batches/1/lines/3/reassign?q=INV",
                "/batches/1/lines/3/reassign?q=120.00", "/clients/globex/customers/GLX-C1",
            ])
        #expect(pages.count >= 12, "\(pages.keys.sorted())")
        #expect(
            pages.keys.contains { $0.hasPrefix("/clients/acme/invoices/") }
                && pages.keys.contains { $0.hasPrefix("/clients/acme/customers/") })
        for (path, answer) in pages {
            answers.append((path, answer))
            #expect(answer.status == 200, "\(path): \(answer.status)")
        }
        answers.append(("not found", try alice.get("/batches/999999")))
        answers.append(("bad request", try RawHTTP.request(port: site.port, "GET", "/batches/%zz")))
        answers.append(
            (
                "style sheet",
                try alice.get(
                    try #require(
                        pages["/"]?.body.components(separatedBy: "href=\"/static/").dropFirst().first.map {
                            "/static/" + $0.prefix { $0 != "\"" }
                        }))
            ))
        answers.append(("no form token", try alice.post("/batches/1/approve", [("version", "x")])))
        for (what, answer) in answers {
            let policy = answer.header("Content-Security-Policy") ?? ""
            #expect(
                policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'")
                    && !policy.contains("unsafe-inline"),
                "\(what): \(policy)")
            #expect(answer.header("Referrer-Policy") == "no-referrer", "\(what)")
            #expect(answer.header("X-Content-Type-Options") == "nosniff", "\(what)")
            // No inline script or style anywhere: the policy would block it, so none is written.
            #expect(
                !answer.body.contains("<script") && !answer.body.contains("<style") && !answer.body.contains(" style="),
                "\(what)")
            // The canary scan: nothing the vault holds is in any answer.
            for canary in SiteFixture.canaries { #expect(!answer.body.contains(canary), "\(what) shows \(canary)") }
        }
        #expect(answers.allSatisfy { $0.1.header("Strict-Transport-Security") == nil }, "HSTS only under TLS")
        // Session cookies: HttpOnly, SameSite=Strict (Secure under TLS: see the TLS test).
        let cookie = try #require(
            answers.first { $0.0 == "sign-in" }?.1.headers("Set-Cookie").first { $0.hasPrefix("nightjar-session=") })
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
    }

    @Test func postsWithoutTheirSessionsFormTokenAreRefusedAndChangeNothing() throws {
        let site = try RunningSite("csrf")
        defer { site.stop() }
        let carol = SiteVisitor(site)
        let alice = SiteVisitor(site)
        #expect(try carol.signIn("carol", SiteFixture.carol).status == 303)
        #expect(try alice.signIn("alice", SiteFixture.alice).status == 303)
        let page = try carol.get("/batches/2")
        let version = try #require(page.fields("version").first)
        let carolsToken = try #require(page.fields("csrf").first)
        let alicesToken = try alice.formToken()
        #expect(carolsToken != alicesToken)
        #expect(try carol.post("/batches/2/approve", [("version", version)]).status == 403)
        #expect(try carol.post("/batches/2/approve", [("csrf", alicesToken), ("version", version)]).status == 403)
        #expect(try carol.post("/batches/2/approve", [("csrf", ""), ("version", version)]).status == 403)
        // A page from another site posting in carol's browser carries her cookie but not her token.
        let forged = try RawHTTP.request(
            port: site.port, "POST", "/batches/2/approve",
            headers: carol.cookieHeader + [("Sec-Fetch-Site", "cross-site")],
            body: "csrf=\(carolsToken)&version=\(version)")
        #expect(forged.status == 403)
        // The sign-in form needs its own pre-session token too.
        let stranger = SiteVisitor(site)
        _ = try stranger.get("/sign-in")
        #expect(try stranger.post("/sign-in", [("name", "carol"), ("passphrase", SiteFixture.carol)]).status == 403)
        #expect(try SiteTests.statuses(site)[2] == "new")
        // With the token, it works (so the refusals above were the token's doing).
        #expect(try carol.post("/batches/2/approve", [("csrf", carolsToken), ("version", version)]).status == 303)
        #expect(try SiteTests.statuses(site)[2] == "approved")
    }

    @Test func theSessionIdChangesAtSignInAndSignOutEndsItOnTheServer() throws {
        let site = try RunningSite("sessions")
        defer { site.stop() }
        let carol = SiteVisitor(site)
        // A session id planted before sign-in (session fixation) never becomes a session.
        let planted = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        carol.cookies["nightjar-session"] = planted
        #expect(try carol.signIn("carol", SiteFixture.carol).status == 303)
        let first = try #require(carol.session)
        #expect(first != planted && first.count == 43)
        // Signing in again gives a new id and ends the old one.
        #expect(try carol.signIn("carol", SiteFixture.carol).status == 303)
        let second = try #require(carol.session)
        #expect(second != first)
        let old = SiteVisitor(site)
        old.cookies["nightjar-session"] = first
        #expect(try old.get("/").status == 303)
        #expect(try carol.get("/").status == 200)
        // Sign-out ends it on the server: the same cookie, replayed, is no longer signed in.
        let token = try carol.formToken()
        let copy = SiteVisitor(site)
        copy.cookies = carol.cookies
        #expect(try carol.post("/sign-out", [("csrf", token)]).status == 303)
        #expect(carol.session == nil)
        #expect(try copy.get("/").header("Location") == "/sign-in")
        #expect(try copy.post("/batches/2/approve", [("csrf", token), ("version", "x")]).status == 403)
    }

    @Test func anotherClientsRecordsAnswer404LikeOnesThatDoNotExistAndAReviewerCannotReverse() throws {
        let site = try RunningSite("scope")
        defer { site.stop() }
        // bob is an operator granted acme only: globex does not exist for him.
        let bob = SiteVisitor(site)
        #expect(try bob.signIn("bob", SiteFixture.bob).status == 303)
        let missing = try bob.get("/batches/999999")
        for path in [
            "/batches/3", "/clients/globex/invoices/INV-G100", "/clients/globex/customers/GLX-C1",
            "/batches/3/lines/0/reassign",
            "/worklist?client=globex",
        ] {
            let answer = try bob.get(path)
            if path.hasPrefix("/worklist") {
                #expect(
                    answer.status == 200 && !answer.body.contains("INV-G100")
                        && !answer.body.contains("globex</option>"))
            } else {
                #expect(answer.status == 404, "\(path)")
                #expect(answer.body == missing.body, "\(path) must read exactly like a batch that does not exist")
            }
        }
        let morning = try bob.get("/")
        #expect(morning.body.contains("acme") && !morning.body.contains("globex"))
        let token = try bob.formToken()
        #expect(try bob.post("/batches/3/approve", [("csrf", token), ("version", "x")]).status == 404)
        #expect(try bob.get("/batches/1").status == 200)
        // An operator may work exceptions but not approve.
        #expect(try bob.get("/batches/2").status == 200)
        #expect(!(bob.lastPage?.body.contains("/batches/2/approve") ?? true))
        #expect(try bob.post("/batches/2/approve", [("csrf", token), ("version", "any")]).status == 403)

        // A reviewer approves, but reversing is for admins.
        let approve = try site.cli(
            ["batch", "approve", "2", "--as", "carol", "--passphrase-stdin"], stdin: SiteFixture.carol + "\n")
        #expect(approve.status == 0, "\(approve.stderr)")
        let carol = SiteVisitor(site)
        #expect(try carol.signIn("carol", SiteFixture.carol).status == 303)
        let page = try carol.get("/batches/2")
        #expect(page.status == 200 && !page.body.contains("/batches/2/reverse"))
        // With the batch's real version (from an admin's page), so the role is what refuses.
        let alice = SiteVisitor(site)
        #expect(try alice.signIn("alice", SiteFixture.alice).status == 303)
        let version = try #require(try alice.get("/batches/2").fields("version").first)
        let reversal = try carol.post(
            "/batches/2/reverse", [("csrf", try carol.formToken()), ("version", version), ("reason", "mine")])
        #expect(reversal.status == 403)
        #expect(try SiteTests.statuses(site)[2] == "approved")

        // Carol's review grant narrowed to acme: globex does not exist for her on the site either.
        #expect(
            try site.cli(
                ["vault", "review", "revoke", "carol", "--all-clients", "--as", "alice", "--passphrase-stdin"],
                stdin: SiteFixture.alice + "\n"
            ).status == 0)
        #expect(
            try site.cli(
                ["vault", "review", "grant", "carol", "acme", "--as", "alice", "--passphrase-stdin"],
                stdin: SiteFixture.alice + "\n"
            ).status == 0)
        let narrowed = SiteVisitor(site)
        #expect(try narrowed.signIn("carol", SiteFixture.carol).status == 303)
        #expect(try narrowed.get("/batches/3").status == 404)
        #expect(try narrowed.get("/batches/1").status == 200)
        let morningNow = try narrowed.get("/")
        #expect(morningNow.body.contains("acme") && !morningNow.body.contains("globex"))
        let globexVersion = try #require(try alice.get("/batches/3").fields("version").first)
        #expect(
            try narrowed.post("/batches/3/approve", [("csrf", try narrowed.formToken()), ("version", globexVersion)])
                .status == 404)
        #expect(try SiteTests.statuses(site)[3] == "new")
    }

    @Test func aFormDrawnBeforeTheCLIChangedTheBatchIsRefusedWithTheBatchAsItIsNow() throws {
        let site = try RunningSite("stale")
        defer { site.stop() }
        let carol = SiteVisitor(site)
        #expect(try carol.signIn("carol", SiteFixture.carol).status == 303)
        let page = try carol.get("/batches/1")
        let version = try #require(page.fields("version").first)
        let token = try #require(page.fields("csrf").first)
        // Meanwhile bob accepts the suggestion from the command line.
        let cli = try site.cli(
            [
                "batch", "accept-suggestion", "1", "3", "1", "--invoice", "INV-2001", "--as", "bob",
                "--passphrase-stdin",
            ], stdin: SiteFixture.bob + "\n")
        #expect(cli.status == 0, "\(cli.stderr)")
        // The site sees the CLI's decision at once (no page is served from before it).
        #expect(try carol.get("/batches/1").body.contains("manual.suggestion by bob"))
        #expect(
            try carol.get("/worklist").body.contains("INV-9999")
                && !(carol.lastPage?.body.contains(">INV-2010<") ?? true))
        let refused = try carol.post(
            "/batches/1/approve",
            [("csrf", token), ("version", version), ("accept_exceptions", "yes"), ("reason", "all fine")])
        #expect(refused.status == 409)
        #expect(
            refused.body.contains("changed after your page was drawn")
                && refused.body.contains("manual.suggestion by bob"))
        #expect(try SiteTests.statuses(site)[1] == "new")
        // The page it answered with carries the new version, and that one works.
        let fresh = try #require(refused.fields("version").first)
        #expect(fresh != version)
        #expect(
            try carol.post(
                "/batches/1/approve",
                [("csrf", token), ("version", fresh), ("accept_exceptions", "yes"), ("reason", "all fine")]
            ).status == 303)
        #expect(try SiteTests.statuses(site)[1] == "approved")
    }

    @Test func wrongPassphrasesAreThrottledWithAGrowingDelayAndTheRightOneStillWorks() throws {
        let site = try RunningSite("throttle", options: ["--sign-in-delays", "0,0,0,0.5,1,1.5"])
        defer { site.stop() }
        let stranger = SiteVisitor(site)
        var statuses: [Int] = []
        var retryAfter: [Int] = []
        let started = Date()
        for attempt in 0..<20 {
            let answer = try stranger.signIn("carol", "wrong-passphrase-\(attempt)")
            statuses.append(answer.status)
            if let value = answer.header("Retry-After").flatMap(Int.init) { retryAfter.append(value) }
            #expect(!answer.body.contains("wrong-passphrase"), "a passphrase is never echoed")
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(statuses.prefix(4).allSatisfy { $0 == 401 }, "\(statuses)")
        #expect(statuses.filter { $0 == 429 }.count >= 10, "\(statuses)")
        #expect(!statuses.contains(303))
        // Throttled answers come before any key derivation, so twenty attempts take little time.
        #expect(elapsed < 10, "\(elapsed)")
        #expect(retryAfter.allSatisfy { $0 >= 1 && $0 <= 2 }, "\(retryAfter)")
        // The right passphrase still works once the (capped) delay has passed: no lock-out.
        let carol = SiteVisitor(site)
        var answer = try carol.signIn("carol", SiteFixture.carol)
        if answer.status == 429 {
            Thread.sleep(forTimeInterval: Double(answer.header("Retry-After").flatMap(Int.init) ?? 2) + 0.1)
            answer = try carol.signIn("carol", SiteFixture.carol)
        }
        #expect(answer.status == 303, "\(answer.status)")
        // Failures are in the audit log under the site's key, with the operator's name, never the passphrase.
        let log = try String(contentsOfFile: site.root + "/vault/audit.log", encoding: .utf8)
        let failures = log.split(separator: "\n").filter { $0.contains("\"action\":\"site-sign-in-failed\"") }
        #expect(failures.count == statuses.filter { $0 == 401 }.count)
        #expect(
            failures.allSatisfy {
                $0.contains("operator carol") && $0.contains("\"principal\":\"site\"")
                    && !$0.contains("wrong-passphrase")
            })
        // An unknown name is recorded as such (what someone typed as a name may be a passphrase).
        _ = try SiteVisitor(site).signIn("carol-site-passphrase-typed-as-name", "x")
        let after = try String(contentsOfFile: site.root + "/vault/audit.log", encoding: .utf8)
        #expect(!after.contains("carol-site-passphrase-typed-as-name"))
    }

    @Test func keyDerivationsAreCappedBeforeTheyStart() throws {
        let site = try RunningSite("derivations")
        defer { site.stop() }
        let group = DispatchGroup()
        let results = LockedStatuses()
        for _ in 0..<8 {
            group.enter()
            Thread {
                defer { group.leave() }
                if let answer = try? SiteVisitor(site).signIn("carol", SiteFixture.carol) { results.add(answer.status) }
            }.start()
        }
        group.wait()
        let statuses = results.values
        #expect(statuses.count == 8)
        #expect(statuses.contains(303) && statuses.contains(503), "\(statuses.sorted())")
        #expect(Set(statuses).isSubset(of: [303, 503]), "\(statuses.sorted())")
    }

    @Test func malformedRequestsAre4xxAndTheServerGoesOnServing() throws {
        let site = try RunningSite("malformed")
        defer { site.stop() }
        func raw(_ text: String) throws -> Int { try RawHTTP.exchange(port: site.port, Array(text.utf8))?.status ?? 0 }
        let cases: [(String, String, Int)] = [
            (
                "bad percent-encoding in the path", "GET /batches/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                400
            ),
            ("a truncated escape", "GET /worklist%2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
            ("an escaped NUL", "GET /sign-in%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
            (
                "invalid UTF-8 in the query", "GET /sign-in?x=%e2%28 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                400
            ),
            ("dot segments", "GET /static/../sign-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
            (
                "bad escape in a form",
                "POST /sign-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\nname=%g",
                400
            ),
            (
                "a 20 KB header",
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: \(String(repeating: "a", count: 20_000))\r\n\r\n",
                431
            ),
            (
                "a 200 KB header",
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: \(String(repeating: "a", count: 200_000))\r\n\r\n",
                431
            ),
            (
                "200 header lines",
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + (0..<200).map { "X-\($0): y\r\n" }.joined()
                    + "\r\n", 431
            ),
            (
                "a 10 KB address",
                "GET /\(String(repeating: "a", count: 10_000)) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 414
            ),
            (
                "a body over the limit, by its length",
                "POST /sign-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\nname=x",
                413
            ),
            (
                "a chunked body over the limit",
                "POST /sign-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "11170\r\n" + String(repeating: "a", count: 0x11170) + "\r\n0\r\n\r\n", 413
            ),
            ("a method not served", "DELETE /batches/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
            (
                "a form of another type",
                "POST /sign-in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nname=x",
                415
            ),
        ]
        for (what, request, expected) in cases {
            #expect(try raw(request) == expected, "\(what)")
            // After each, the server still answers.
            #expect(try RawHTTP.request(port: site.port, "GET", "/sign-in").status == 200, "after \(what)")
        }
        // Many at once, too.
        let group = DispatchGroup()
        for (_, request, _) in cases {
            group.enter()
            Thread {
                defer { group.leave() }
                _ = try? RawHTTP.exchange(port: site.port, Array(request.utf8))
            }.start()
        }
        group.wait()
        let carol = SiteVisitor(site)
        #expect(try carol.signIn("carol", SiteFixture.carol).status == 303)
        #expect(try carol.get("/worklist").status == 200)
    }

    @Test func underTLSTheSiteSendsHSTSAndSecureHostOnlyCookies() throws {
        let folder = BinaryRunner.temporaryFolder("site-tls")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (made, output) = try SiteTests.tool(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem", "-days", "2",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            ])
        #expect(made == 0, "\(output)")
        let site = try RunningSite(
            "tls", options: ["--tls-cert", folder + "/cert.pem", "--tls-key", folder + "/key.pem"])
        defer { site.stop() }
        let (status, answer) = try SiteTests.tool(
            "/usr/bin/curl", ["-s", "-i", "--cacert", folder + "/cert.pem", "https://127.0.0.1:\(site.port)/sign-in"])
        #expect(status == 0, "\(answer)")
        #expect(answer.contains("Strict-Transport-Security: max-age=31536000"))
        #expect(answer.contains("Set-Cookie: __Host-nightjar-sign-in=") && answer.contains("; Secure"), "\(answer)")
        #expect(answer.contains("Content-Security-Policy: default-src 'self'"))
        // Plain HTTP to the TLS port gets nothing served.
        let (_, plain) = try SiteTests.tool(
            "/usr/bin/curl",
            ["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(site.port)/sign-in"])
        #expect(plain != "200")
    }
}

final class LockedStatuses: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Int] = []
    func add(_ value: Int) {
        lock.lock()
        list.append(value)
        lock.unlock()
    }
    var values: [Int] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}
