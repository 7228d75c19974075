import Foundation
import NightjarCore
import NightjarDocuments
import NightjarLedger
import NightjarSite
import NightjarStore
import NightjarVault

/// HTTP/1.1 over one kept-alive socket, as a load generator needs it (no library in between).
final class KeptAliveConnection {
    let socket: Int32
    var pending: [UInt8] = []

    init(port: UInt16) throws {
        socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var wait = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw GeneralError(code: "bench.connect", message: "cannot connect to \(port)") }
    }

    deinit { close(socket) }

    /// Sends one request and reads its answer (status, Set-Cookie values, body).
    func exchange(_ method: String, _ path: String, cookie: String?, body: String? = nil) throws -> (
        status: Int, cookies: [String], body: String
    ) {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if let cookie { text += "Cookie: \(cookie)\r\n" }
        if let body {
            text += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n"
        }
        text += "\r\n" + (body ?? "")
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw GeneralError(code: "bench.send", message: "send failed") }
            offset += sent
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        func fill() throws {
            let count = recv(socket, &buffer, buffer.count, 0)
            guard count > 0 else { throw GeneralError(code: "bench.recv", message: "the server closed the connection") }
            pending += buffer[0..<count]
        }
        var headerEnd: Int?
        while headerEnd == nil {
            if let index = pending.firstRange(of: [13, 10, 13, 10]) {
                headerEnd = index.upperBound
            } else {
                try fill()
            }
        }
        let head = String(decoding: pending[..<headerEnd!], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var length = 0
        var cookies: [String] = []
        for line in lines.dropFirst() {
            let lower = line.lowercased()
            if lower.hasPrefix("content-length:") {
                length = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) ?? 0
            }
            if lower.hasPrefix("set-cookie:") {
                cookies.append(String(line.dropFirst(11).trimmingCharacters(in: .whitespaces)))
            }
        }
        while pending.count < headerEnd! + length { try fill() }
        let answer = String(decoding: pending[headerEnd!..<(headerEnd! + length)], as: UTF8.self)
        pending.removeFirst(headerEnd! + length)
        return (status, cookies, answer)
    }
}

final class LatencyLog: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Double] = []
    private var failures = 0
    func add(_ value: Double) {
        lock.lock()
        values.append(value)
        lock.unlock()
    }
    func fail() {
        lock.lock()
        failures += 1
        lock.unlock()
    }
    var sorted: [Double] {
        lock.lock()
        defer { lock.unlock() }
        return values.sorted()
    }
    var failed: Int {
        lock.lock()
        defer { lock.unlock() }
        return failures
    }
}

/// CPU time of the calling thread, in milliseconds (unaffected by other processes on the machine).
func threadCPUMilliseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1000 + Double(time.tv_nsec) / 1e6
}

/// The 1-minute load average (other work on the machine while the figures were taken).
func loadAverage() -> Double {
    var loads = [Double](repeating: 0, count: 3)
    return getloadavg(&loads, 3) > 0 ? loads[0] : .nan
}

func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
}

/// The review site at scale: a workspace with a 1,000-line batch among 6,000 lines; the batch
/// page's server time, then 50 signed-in users loading pages at once over loopback.
func siteAtScale(users: Int, seconds: Double) throws -> [Figure] {
    let folder = scratchFolder("site")
    // NIGHTJAR_BENCH_KEEP=1 keeps the workspace for a look with sqlite3.
    defer {
        if ProcessInfo.processInfo.environment["NIGHTJAR_BENCH_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
    let databasePath = folder + "/site.sqlite"
    let migrations = LedgerSchema.statements.enumerated().map {
        Migration(version: $0.offset + 1, name: $0.element.name, sql: $0.element.sql)
    }
    let database = try Database(path: databasePath)
    try Migrator.migrate(database, migrations)
    let ledger = Ledger(database: database)
    // Invoices for four lines in five (the fifth is an unknown reference); one in ten short-paid by the ADX.
    var invoices = "customer_id,invoice_number,invoice_date,due_date,amount,open_amount,currency,po_number\n"
    let shape: [(payments: Int, lines: Int)] = [(1, 1_000), (20, 250)]
    var remittances: [[UInt8]] = []
    for (index, (payments, lines)) in shape.enumerated() {
        for payment in 0..<payments {
            for line in 0..<lines where line % 5 != 0 {
                let cents = 10_000 + (payment * 7 + line * 13) % 90_000 + (line % 10 == 1 ? 500 : 100)
                invoices +=
                    "C1,INV\(index)\(payment)-\(line),2026-11-01,2026-12-01,\(cents / 100).\(String(format: "%02d", cents % 100)),"
                    + "\(cents / 100).\(String(format: "%02d", cents % 100)),USD,PO\(line)\n"
            }
        }
        let text = String(decoding: generated820(payments: payments, lines: lines), as: UTF8.self)
            .replacingOccurrences(of: "RMR*IV*INV", with: "RMR*IV*INV\(index)").replacingOccurrences(
                of: "TRN*1*TRACE", with: "TRN*1*TRACE\(index)-")
        remittances.append(Array(text.utf8))
    }
    let invoiceBytes = Array(invoices.utf8)
    _ = try ledger.importOpenInvoices(
        try OpenInvoiceReader.read(invoiceBytes, defaultCurrency: .usd), bytes: invoiceBytes, name: "invoices.csv",
        client: "bench")
    for (index, bytes) in remittances.enumerated() {
        _ = try ledger.importRemittances(
            try RemittanceAdviceReader.read(bytes, defaultCurrency: .usd, file: "bench-\(index).x12"), bytes: bytes,
            name: "bench-\(index).x12", client: "bench", format: "x12-820")
    }
    try ledger.addCustomerAlias(client: "bench", alias: "V123", customerID: "C1")
    _ = try ledger.match(batches: try ledger.unmatchedBatches(client: "bench"))
    let bigBatch =
        try database.scalar(Int64.self, "SELECT batch_id FROM remittance_line GROUP BY batch_id HAVING count(*) = 1000")
        ?? 1
    let lineCount = try database.scalar(Int64.self, "SELECT count(*) FROM remittance_line") ?? 0

    // A vault with a reviewer (the standard Argon2id parameters) and the site's key.
    let paths = VaultPaths(
        vault: folder + "/nightjar.vault", audit: folder + "/audit.log", state: folder + "/vault-state")
    let adminPassphrase = SecretBytes(utf8: "bench-admin-passphrase")
    _ = try Vault.create(paths: paths, adminName: "alice", passphrase: adminPassphrase)
    let siteKey = try Vault.update(paths: paths, as: .passphrase(name: "alice", adminPassphrase)) {
        vault -> AutomationKey in
        try vault.addOperator(
            name: "carol", roles: [.reviewer], passphrase: SecretBytes(utf8: "bench-carol-passphrase"))
        return try vault.createAutomationKey(name: "site", clients: [])
    }
    let configuration = SiteConfiguration(
        title: "Bench", workspaceRoot: folder,
        openDatabase: {
            let database = try Database(path: databasePath)
            try Migrator.migrate(database, migrations)
            return database
        }, vault: try SiteVault(paths: paths, siteKey: siteKey))
    let site = ReviewSite(configuration: configuration)
    let server = try HTTPServer(
        listen: ListenAddress(host: "127.0.0.1", port: 0), tls: nil, handler: { site.handle($0) })
    defer { server.stop() }

    // Sign the users in (one after the other: sign-in speed is not what is measured here).
    var cookies: [String] = []
    for _ in 0..<users {
        let connection = try KeptAliveConnection(port: server.port)
        let form = try connection.exchange("GET", "/sign-in", cookie: nil)
        let preCookie = form.cookies.first?.split(separator: ";").first.map(String.init) ?? ""
        let token =
            form.body.components(separatedBy: "name=\"csrf\" value=\"").dropFirst().first?.prefix { $0 != "\"" } ?? ""
        let signedIn = try connection.exchange(
            "POST", "/sign-in", cookie: preCookie, body: "csrf=\(token)&name=carol&passphrase=bench-carol-passphrase")
        guard signedIn.status == 303, let session = signedIn.cookies.first(where: { $0.hasPrefix("nightjar-session=") })
        else {
            throw GeneralError(code: "bench.sign_in", message: "sign-in answered \(signedIn.status)")
        }
        cookies.append(String(session.split(separator: ";")[0]))
    }

    // A write by someone else (another clerk's decision, a night's import): every page read
    // after it is read afresh from the database.
    var touches = 0
    func touch() throws {
        touches += 1
        try database.execute(
            "INSERT INTO login_attempt (credential, started_at) VALUES ('bench/touch', ?)", [String(touches)])
    }

    // The 1,000-line batch page, server time only (the handler, in-process), each time just after a write.
    let request = SiteRequest(method: "GET", path: "/batches/\(bigBatch)", headers: ["cookie": cookies[0]])
    var renders: [Double] = []
    var renderCPU: [Double] = []
    var warm: [Double] = []
    var size = 0
    for _ in 0..<40 {
        let warmCPU = threadCPUMilliseconds()
        _ = site.handle(request)
        warm.append(threadCPUMilliseconds() - warmCPU)
        try touch()
        let start = DispatchTime.now().uptimeNanoseconds
        let cpu = threadCPUMilliseconds()
        let response = site.handle(request)
        renderCPU.append(threadCPUMilliseconds() - cpu)
        renders.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        guard response.status == 200 else {
            throw GeneralError(code: "bench.batch", message: "batch page answered \(response.status)")
        }
        size = response.body.count
    }
    renders.sort()
    renderCPU.sort()
    warm.sort()

    // 50 users at once, each on its own connection, round the pages a clerk opens.
    let pages: [String] = [
        "/", "/worklist", "/worklist?sort=age&order=asc&page=7", "/worklist?kind=unknown_reference&sort=payer",
        "/batches/\(bigBatch + 1)",
        "/batches/\(bigBatch + 5)", "/clients/bench/invoices/INV10-1", "/exports", "/batches/\(bigBatch)",
    ]
    // Each page alone, in-process, for the record.
    var perPage: [Figure] = []
    for page in pages {
        let parts = page.split(separator: "?", maxSplits: 1)
        let query =
            parts.count > 1 ? (try? FormFields.parse(urlEncoded: Array(parts[1].utf8))) ?? FormFields() : FormFields()
        let request = SiteRequest(method: "GET", path: String(parts[0]), query: query, headers: ["cookie": cookies[0]])
        var times: [Double] = []
        for _ in 0..<15 {
            try touch()
            let cpu = threadCPUMilliseconds()
            _ = site.handle(request)
            times.append(threadCPUMilliseconds() - cpu)
        }
        perPage.append(
            Figure(
                benchmark: "site: CPU, fresh read: \(page.count > 40 ? String(page.prefix(37)) + "..." : page)",
                value: percentile(times.sorted(), 0.5), unit: "ms", goal: nil))
    }
    let latencies = LatencyLog()
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    let cpuBefore =
        Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000 + Double(
            usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000
    let group = DispatchGroup()
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
    for (user, cookie) in cookies.enumerated() {
        group.enter()
        Thread {
            defer { group.leave() }
            guard let connection = try? KeptAliveConnection(port: server.port) else {
                latencies.fail()
                return
            }
            var index = user
            while DispatchTime.now().uptimeNanoseconds < deadline {
                let start = DispatchTime.now().uptimeNanoseconds
                guard let answer = try? connection.exchange("GET", pages[index % pages.count], cookie: cookie),
                    answer.status == 200
                else {
                    latencies.fail()
                    return
                }
                latencies.add(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                index += 1
            }
        }.start()
    }
    // Meanwhile, two writes a second (decisions, imports) keep the pages' reads honest.
    let writerDone = DispatchSemaphore(value: 0)
    let writes = FarmCounter()
    Thread {
        defer { writerDone.signal() }
        guard let writer = try? Database(path: databasePath) else { return }
        while DispatchTime.now().uptimeNanoseconds < deadline {
            try? writer.execute("INSERT INTO login_attempt (credential, started_at) VALUES ('bench/load', 'x')")
            writes.add()
            Thread.sleep(forTimeInterval: 0.5)
        }
    }.start()
    group.wait()
    writerDone.wait()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    let cpuUsed =
        Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000 + Double(
            usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000 - cpuBefore
    let sorted = latencies.sorted
    return [
        Figure(
            benchmark: "site: 1,000-line batch page, fresh read, server time (p50)", value: percentile(renders, 0.5),
            unit: "ms", goal: "< 50 ms"),
        Figure(
            benchmark: "site: 1,000-line batch page, fresh read, server time (max)", value: renders.last ?? .nan,
            unit: "ms", goal: nil),
        Figure(
            benchmark: "site: 1,000-line batch page, fresh read, CPU time (p50)", value: percentile(renderCPU, 0.5),
            unit: "ms", goal: nil),
        Figure(
            benchmark: "site: 1,000-line batch page, read before, CPU time (p50)", value: percentile(warm, 0.5),
            unit: "ms", goal: nil),
        Figure(benchmark: "site: 1,000-line batch page, size", value: Double(size) / 1024, unit: "KiB", goal: nil),
        Figure(
            benchmark: "site: \(users) users at once, 9 pages, 2 writes/s: p50", value: percentile(sorted, 0.5),
            unit: "ms", goal: nil),
        Figure(
            benchmark: "site: \(users) users at once, 9 pages, 2 writes/s: p99", value: percentile(sorted, 0.99),
            unit: "ms", goal: "< 200 ms"),
        Figure(
            benchmark: "site: \(users) users at once: pages per second (\(latencies.failed) failed)",
            value: Double(sorted.count) / seconds, unit: "pages/s", goal: nil),
        Figure(
            benchmark: "site: CPU per page under load (server and load generator)",
            value: cpuUsed / Double(max(1, sorted.count)), unit: "ms", goal: nil),
        Figure(
            benchmark: "site: workspace lines (\(writes.value) writes during the load)", value: Double(lineCount),
            unit: "lines", goal: nil),
        Figure(
            benchmark: "site: machine load average after the run (other work)", value: loadAverage(), unit: "",
            goal: nil),
    ] + perPage
}
