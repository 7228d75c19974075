import Foundation
import Testing

/// A workspace for the review site's tests, built once through the product's own commands:
/// a vault with an admin (alice), a reviewer (carol) and an operator granted only acme (bob),
/// canary credentials for two clients, the site's own key, two clients' open invoices and
/// remittances imported from CSV and matched.
///
/// Batches: 1 (acme, check 5551: a discount, a short payment with a shortage, a transposed
/// invoice number with a suggestion, an unknown reference of 120.00), 2 (acme, check 5552, clean),
/// 3 (globex, check 7001, clean).
final class SiteFixture: @unchecked Sendable {
    static let alice = "alice-site-passphrase", carol = "carol-site-passphrase", bob = "bob-site-passphrase"
    /// Values only the vault holds; no page may ever show one.
    static let canaries = [
        "CANARY-USER-7f3a9", "CANARY-PASS-91bd4e", "NJCANARYTOTPSECRETQQ234", "CANARY-FIELD-c55e1",
        "CANARY-USER-globex-2b", "CANARY-PASS-globex-8e",
    ]

    static let shared: Result<SiteFixture, any Error> = Result { try SiteFixture() }

    let parent = BinaryRunner.temporaryFolder("site-fixture")
    var root: String { parent + "/ws" }
    var siteKey: String { parent + "/site.key" }

    init() throws {
        func run(_ arguments: [String], stdin: String = "") throws {
            let result = try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
            guard result.status == 0 else {
                throw FixtureError(message: "\(arguments.joined(separator: " ")): \(result.stderr)")
            }
        }
        func asAlice(_ arguments: [String], _ input: [String] = []) throws {
            try run(
                arguments + ["--as", "alice", "--passphrase-stdin"],
                stdin: ([SiteFixture.alice] + input).joined(separator: "\n") + "\n")
        }
        let init0 = try BinaryRunner.run(["init", root, "--name", "Acme AR"])
        guard init0.status == 0 else { throw FixtureError(message: init0.stderr) }
        try run(["vault", "init", "--admin", "alice", "--passphrase-stdin"], stdin: SiteFixture.alice + "\n")
        try asAlice(["vault", "operator", "add", "carol", "--role", "reviewer"], [SiteFixture.carol])
        try asAlice(["vault", "review", "grant", "carol", "--all-clients"])
        try asAlice(["vault", "operator", "add", "bob", "--role", "operator"], [SiteFixture.bob])
        try asAlice(
            [
                "vault", "add", "acme/sandbox-html-portal", "--username", SiteFixture.canaries[0], "--password-stdin",
                "--totp", "--field", "customer_number",
                "--origin", "https://suppliers.sandbox-html-portal.example",
            ], [SiteFixture.canaries[1], SiteFixture.canaries[2], SiteFixture.canaries[3]])
        try asAlice(
            [
                "vault", "add", "globex/sandbox-html-portal", "--username", SiteFixture.canaries[4], "--password-stdin",
                "--origin", "https://suppliers.sandbox-html-portal.example",
            ], [SiteFixture.canaries[5]])
        try asAlice(["vault", "grant", "bob", "acme"])
        try asAlice(["vault", "automation-key", "create", siteKey, "--no-clients", "--name", "site"])
        try FileManager.default.copyItem(
            atPath: ScraperCommandTests.repository + "/docs/examples/one-row-per-invoice.profile",
            toPath: root + "/profiles/one-row-per-invoice.profile")
        let files: [(String, String)] = [
            (
                "acme-open.csv",
                """
                customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms
                ACME-C1,INV-1001,2026-11-15,2026-12-15,1000.00,1000.00,USD,PO1,2/10 NET 30
                ACME-C1,INV-1002,2026-11-15,2026-12-15,500.00,500.00,USD,PO2,2/10 NET 30
                ACME-C1,INV-1003,2026-11-15,2026-12-15,800.00,800.00,USD,PO3,2/10 NET 30
                ACME-C1,INV-2001,2026-11-01,2026-12-01,300.00,300.00,USD,PO4,NET 30
                ACME-C1,INV-3001,2026-11-02,2026-12-02,120.00,120.00,USD,PO5,NET 30

                """
            ),
            (
                "acme-remit.csv",
                """
                Check Number,Payment Date,Vendor Name,Invoice Number,Invoice Amount,Paid Amount,Discount,Deduction,Reason
                5551,11/20/2026,Retail One,INV-1001,1000.00,980.00,20.00,,
                5551,11/20/2026,Retail One,INV-1002,500.00,450.00,0.00,50.00,06
                5551,11/20/2026,Retail One,INV-2010,300.00,300.00,0.00,,
                5551,11/20/2026,Retail One,INV-9999,120.00,120.00,0.00,,

                """
            ),
            (
                "acme-remit-2.csv",
                """
                Check Number,Payment Date,Vendor Name,Invoice Number,Invoice Amount,Paid Amount,Discount,Deduction,Reason
                5552,11/24/2026,Retail One,INV-1003,800.00,800.00,0.00,,

                """
            ),
            (
                "globex-open.csv",
                """
                customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number,terms
                GLX-C1,INV-G100,2026-11-10,2026-12-10,250.00,250.00,USD,PG1,NET 30

                """
            ),
            (
                "globex-remit.csv",
                """
                Check Number,Payment Date,Vendor Name,Invoice Number,Invoice Amount,Paid Amount,Discount,Deduction,Reason
                7001,11/21/2026,Globex Buyer,INV-G100,250.00,250.00,0.00,,

                """
            ),
        ]
        for (name, text) in files { try text.write(toFile: parent + "/" + name, atomically: true, encoding: .utf8) }
        try run(["invoices", "import", parent + "/acme-open.csv", "--client", "acme"])
        try run(["invoices", "import", parent + "/globex-open.csv", "--client", "globex"])
        try run(["customers", "alias", "add", "Retail One", "ACME-C1", "--client", "acme"])
        try run(["customers", "alias", "add", "Globex Buyer", "GLX-C1", "--client", "globex"])
        try run(["import", parent + "/acme-remit.csv", "--client", "acme"])
        try run(["import", parent + "/acme-remit-2.csv", "--client", "acme"])
        try run(["import", parent + "/globex-remit.csv", "--client", "globex"])
        try run(["match"])
    }

    /// A private copy of the shared fixture (its folder; the workspace is `/ws` inside).
    static func copy(_ label: String) throws -> String {
        let fixture = try SiteFixture.shared.get()
        let parent = BinaryRunner.temporaryFolder(label)
        try FileManager.default.removeItem(atPath: parent)
        try FileManager.default.copyItem(atPath: fixture.parent, toPath: parent)
        chmod(parent + "/site.key", 0o600)
        return parent
    }

    struct FixtureError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

/// `nightjar serve` on its own copy of the fixture, on a free port; stopped with SIGTERM.
final class RunningSite: @unchecked Sendable {
    let parent: String
    var root: String { parent + "/ws" }
    let process = Process()
    let port: Int
    let output = Pipe(), errors = Pipe()

    init(_ label: String, options: [String] = []) throws {
        parent = try SiteFixture.copy("site-" + label)
        process.executableURL = BinaryRunner.executable("nightjar")
        process.arguments =
            ["--home", parent + "/ws", "serve", "--listen", "127.0.0.1:0", "--key-file", parent + "/site.key"] + options
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "NIGHTJAR_HOME")
        process.environment = environment
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        var line = Data()
        let deadline = Date().addingTimeInterval(20)
        while !line.contains(10), Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: "127.0.0.1:"), let port = Int(text[range.upperBound...].prefix { $0.isNumber })
        else {
            process.terminate()
            throw SiteFixture.FixtureError(
                message:
                    "the site did not start: \(text) \(String(decoding: errors.fileHandleForReading.availableData, as: UTF8.self))"
            )
        }
        self.port = port
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// Runs the CLI on this site's workspace.
    func cli(_ arguments: [String], stdin: String = "") throws -> BinaryRunner.Result {
        try BinaryRunner.run(["--home", root] + arguments, stdin: stdin)
    }

    /// Stops the server and returns what it wrote to standard error.
    @discardableResult
    func stop() -> String {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        let log = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        try? FileManager.default.removeItem(atPath: parent)
        return log
    }
}

/// One HTTP answer.
struct HTTPAnswer {
    let status: Int
    let headers: [(name: String, value: String)]
    let body: String

    func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
    func headers(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The value of every hidden field `name` in the page, in order.
    func fields(_ name: String) -> [String] {
        body.components(separatedBy: "name=\"\(name)\" value=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }
}

/// HTTP/1.1 over a plain socket, byte for byte as given (so a test can send what no client library would).
enum RawHTTP {
    /// Sends `request` and reads the answer until the server closes the connection.
    static func exchange(port: Int, _ request: [UInt8], timeout: Int = 15) throws -> HTTPAnswer? {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw SiteFixture.FixtureError(message: "no socket") }
        defer { close(socket) }
        var wait = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw SiteFixture.FixtureError(message: "cannot connect to port \(port)") }
        var offset = 0
        while offset < request.count {
            // MSG_NOSIGNAL: a server that hangs up on an oversized request must not kill the test with SIGPIPE.
            let sent = request[offset...].withUnsafeBytes {
                send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent <= 0 { break }
            offset += sent
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        return parse(received)
    }

    static func parse(_ bytes: [UInt8]) -> HTTPAnswer? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<end.lowerBound].components(separatedBy: "\r\n")
        guard let statusLine = head.first, statusLine.hasPrefix("HTTP/1."),
            let status = Int(statusLine.split(separator: " ")[1])
        else { return nil }
        let headers = head.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return HTTPAnswer(status: status, headers: headers, body: String(text[end.upperBound...]))
    }

    static func request(
        port: Int, _ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil
    ) throws -> HTTPAnswer {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body {
            text += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n"
        }
        text += "\r\n" + (body ?? "")
        guard let answer = try exchange(port: port, Array(text.utf8)) else {
            throw SiteFixture.FixtureError(message: "no answer to \(method) \(path)")
        }
        return answer
    }
}

/// A browser without script: it keeps cookies and posts forms.
final class SiteVisitor {
    let port: Int
    var cookies: [String: String] = [:]
    var lastPage: HTTPAnswer?

    init(_ site: RunningSite) { port = site.port }

    func remember(_ answer: HTTPAnswer) {
        for header in answer.headers("Set-Cookie") {
            let pair = header.split(separator: ";")[0].split(
                separator: "=", maxSplits: 1, omittingEmptySubsequences: false
            ).map(String.init)
            guard pair.count == 2 else { continue }
            if pair[1].isEmpty || header.contains("Max-Age=0") {
                cookies[pair[0]] = nil
            } else {
                cookies[pair[0]] = pair[1]
            }
        }
    }

    var cookieHeader: [(String, String)] {
        cookies.isEmpty ? [] : [("Cookie", cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; "))]
    }

    @discardableResult
    func get(_ path: String) throws -> HTTPAnswer {
        let answer = try RawHTTP.request(port: port, "GET", path, headers: cookieHeader)
        remember(answer)
        lastPage = answer
        return answer
    }

    @discardableResult
    func post(_ path: String, _ fields: [(String, String)]) throws -> HTTPAnswer {
        let body = fields.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        let answer = try RawHTTP.request(port: port, "POST", path, headers: cookieHeader, body: body)
        remember(answer)
        return answer
    }

    func encode(_ text: String) -> String {
        text.addingPercentEncoding(
            withAllowedCharacters: CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    /// The session's form token, from a page that has the sign-out form.
    func formToken() throws -> String {
        let page = try get("/")
        return try #require(page.fields("csrf").first)
    }

    /// Opens the sign-in page and posts the form; returns the answer to the post.
    @discardableResult
    func signIn(_ name: String, _ passphrase: String) throws -> HTTPAnswer {
        let form = try get("/sign-in")
        let token = try #require(form.fields("csrf").first)
        return try post("/sign-in", [("csrf", token), ("name", name), ("passphrase", passphrase)])
    }

    var session: String? { cookies["nightjar-session"] }
}
