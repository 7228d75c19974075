import Foundation
import NightjarCore
@_spi(Testing) import NightjarCrypto
import NightjarDocuments
import NightjarHTTP
import NightjarLedger
import NightjarStore
import NightjarVault

/// A scratch folder on tmpfs when there is one (setup speed), else the temporary folder.
func scratchFolder(_ label: String) -> String {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(base)/nightjar-bench-\(label)-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func aeadThroughput(_ algorithm: AEADAlgorithm, size: Int, label: String) throws -> [Figure] {
    let key = SecureRandom.secretBytes(32)
    let nonce = SecureRandom.bytes(12)
    let message = SecureRandom.bytes(size)
    let aad = Array("bench".utf8)
    var sealed: [UInt8] = []
    let sealTime = try timePerIteration {
        sealed = try AEAD.seal(message, key: key, nonce: nonce, associatedData: aad, algorithm: algorithm)
    }
    let openTime = try timePerIteration {
        _ = try AEAD.open(sealed, key: key, nonce: nonce, associatedData: aad, algorithm: algorithm)
    }
    let megabytes = Double(size) / 1_000_000
    return [
        Figure(benchmark: "\(algorithm.rawValue) seal \(label)", value: megabytes / sealTime, unit: "MB/s", goal: nil),
        Figure(benchmark: "\(algorithm.rawValue) open \(label)", value: megabytes / openTime, unit: "MB/s", goal: nil),
    ]
}

/// The invoice number a generated 820 pays on `line` of `payment`: unique after normalisation
/// (`INV12-003` is 12003; no two payments' numbers normalise alike, which would be twins).
func benchInvoiceNumber(payment: Int, line: Int) -> String { "INV\(payment + 1)-\(String(format: "%03d", line + 1))" }

/// A large 820: `payments` transaction sets of `lines` RMR lines each, with REF, DTM and ADX.
func generated820(payments: Int, lines: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    emit820(payments: payments, lines: lines) { bytes.append(contentsOf: $0.utf8) }
    return bytes
}

/// Hands the text of a generated 820 to `emit` a payment at a time: `payments` transaction sets
/// of `lines` RMR lines each, with REF, DTM and ADX (one generator for the benchmarks that hold
/// it in memory and those that write it to a file).
func emit820(payments: Int, lines: Int, _ emit: (String) throws -> Void) rethrows {
    try emit(
        "ISA*00*          *00*          *ZZ*RETAILER       *ZZ*SUPPLIER       *261124*0100*U*00401*000000001*0*P*>~\n")
    try emit("GS*RA*RETAILER*SUPPLIER*20261124*0100*1*X*004010~\n")
    for payment in 0..<payments {
        let control = String(format: "%04d", payment + 1)
        var body: [String] = []
        var total = 0
        for line in 0..<lines {
            let cents = 10_000 + (payment * 7 + line * 13) % 90_000
            total += cents - 100
            body.append(
                "RMR*IV*\(benchInvoiceNumber(payment: payment, line: line))*PI*\(cents / 100).\(String(format: "%02d", cents % 100))*\(cents / 100).\(String(format: "%02d", cents % 100))"
            )
            body.append("REF*PO*PO\(line)")
            body.append("DTM*003*20261101")
            body.append("ADX*-1.00*01")
        }
        let head = [
            "ST*820*\(control)",
            "BPR*C*\(total / 100).\(String(format: "%02d", total % 100))*C*ACH*CTX*01*111000025*DA*123456789*1234567890**01*222000025*DA*987654321*20261124",
            "TRN*1*TRACE\(payment)*1234567890", "N1*PR*RETAILER CO*92*V123", "N1*PE*SUPPLIER INC", "ENT*1",
        ]
        let all = head + body
        try emit(all.joined(separator: "~\n") + "~\nSE*\(all.count + 1)*\(control)~\n")
    }
    try emit("GE*\(payments)*1~\nIEA*1*000000001~\n")
}

/// `nightjar-sandbox` beside this binary, with added latency, as a child process.
final class SandboxProcess {
    let process = Process()
    private let input = Pipe(), output = Pipe()
    private(set) var description: [String: Any] = [:]
    private var stopped = false

    init(latencyMilliseconds: Int) throws {
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("nightjar-sandbox")
        process.arguments = ["--json", "--until-stdin-closes", "--latency-ms", String(latencyMilliseconds)]
        process.standardOutput = output
        process.standardInput = input
        try process.run()
        var line = Data()
        while !line.contains(10) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        description = try JSONSerialization.jsonObject(with: line) as? [String: Any] ?? [:]
    }

    var origins: [String: String] { description["portals"] as? [String: String] ?? [:] }
    var accounts: [[String: Any]] { description["accounts"] as? [[String: Any]] ?? [] }

    /// Stops the sandbox; returns the requests each portal answered and the sandbox's own CPU seconds.
    @discardableResult
    func stop() -> (requests: [String: Int], cpuSeconds: Double) {
        guard !stopped else { return ([:], 0) }
        stopped = true
        try? input.fileHandleForWriting.close()
        let rest = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var usage = rusage()
        getrusage(Int32(RUSAGE_CHILDREN.rawValue), &usage)
        let cpu =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
                usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        let line = String(decoding: rest, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        return ((object?["requests"] as? [String: Int]) ?? [:], cpu)
    }

    deinit { stop() }
}

/// CPU seconds (user and system) this process has used.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
        usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}

/// One portal session: log in, list one date range, download five files.
func farmSession(base: String, username: String, password: String) async throws -> Int {
    let session = HTTPSession()
    let page = try await session.send(HTTPRequest(.get, base + "/login")).text
    guard let range = page.range(of: "name=\"__RequestVerificationToken\" value=\"") else {
        throw HTTPError.other("no token")
    }
    let token = String(page[range.upperBound...].prefix { $0 != "\"" })
    _ = try await session.send(
        HTTPRequest(
            .post, base + "/login",
            body: .form([("__RequestVerificationToken", token), ("UserName", username), ("Password", password)])))
    let list = try await session.send(
        HTTPRequest(.get, base + "/payments/remittance?fromDate=08/01/2026&toDate=12/31/2026")
    ).text
    let links = list.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }.filter {
        $0.hasSuffix("/download")
    }
    var bytes = 0
    for link in links.prefix(5) { bytes += try await session.send(HTTPRequest(.get, base + link)).body.count }
    return bytes
}

let benchmarks: [Benchmark] = [
    Benchmark(
        name: "redact", summary: "redaction throughput over a HAR-like text with 10 and 10,000 secrets, beside memmem"
    ) {
        try redactionThroughput()
    },
    Benchmark(
        name: "match-1m",
        summary: "matching 1,000,000 lines against 1,000,000 open invoices through the store, beside a Python baseline"
    ) {
        try matchingAtScale(
            count: Int(ProcessInfo.processInfo.environment["NIGHTJAR_MATCH_LINES"] ?? "1000000") ?? 1_000_000)
    },
    Benchmark(
        name: "import-match-100k", summary: "importing a 100,000-line 820 and matching it against 100,000 open invoices"
    ) {
        try importAndMatch(
            count: Int(ProcessInfo.processInfo.environment["NIGHTJAR_IMPORT_MATCH_LINES"] ?? "100000") ?? 100_000)
    },
    Benchmark(
        name: "night",
        summary: "the night at scale: 500 credentials through definitions, inbox, imports and matching, 50 ms latency"
    ) {
        try nightAtScale(
            credentials: Int(ProcessInfo.processInfo.environment["NIGHTJAR_NIGHT_CREDENTIALS"] ?? "500") ?? 500,
            portals: ["sandbox-html-portal", "sandbox-json-api"], perHost: 50, overall: 100, label: "night")
    },
    Benchmark(
        name: "night-1000",
        summary:
            "the night at 1,000 credentials on one portal, 64 at a time, 50 ms latency: elapsed, CPU and memory against their goals"
    ) {
        try nightAtScale(
            credentials: Int(ProcessInfo.processInfo.environment["NIGHTJAR_NIGHT_CREDENTIALS"] ?? "1000") ?? 1000,
            portals: ["sandbox-html-portal"], perHost: 64, overall: 64, label: "night 1000")
    },
    Benchmark(
        name: "portal-farm",
        summary: "1,000 portal sessions (login, list, 5 downloads) with 50 ms added to every answer"
    ) {
        let sandbox = try SandboxProcess(latencyMilliseconds: 50)
        let base = sandbox.origins["sandbox-html-portal"] ?? ""
        let accounts: [(username: String, password: String)] = sandbox.accounts
            .filter { ($0["portal"] as? String) == "sandbox-html-portal" }
            .map { ($0["username"] as? String ?? "", $0["password"] as? String ?? "") }
        let sessions = Int(ProcessInfo.processInfo.environment["NIGHTJAR_FARM_SESSIONS"] ?? "1000") ?? 1000
        let concurrency = 200
        let requestsPerSession = 9  // login page, login POST, dashboard redirect, list, 5 downloads
        let semaphore = FarmGate(concurrency)
        let seconds = try measure {
            let group = DispatchGroup()
            let failures = FarmCounter()
            for index in 0..<sessions {
                group.enter()
                Task.detached {
                    await semaphore.enter()
                    let account = accounts[index % accounts.count]
                    do {
                        _ = try await farmSession(base: base, username: account.username, password: account.password)
                    } catch {
                        failures.add()
                    }
                    await semaphore.leave()
                    group.leave()
                }
            }
            group.wait()
            if failures.value > 0 { throw HTTPError.other("\(failures.value) sessions failed") }
        }
        let requests = sandbox.stop().requests["sandbox-html-portal"] ?? sessions * requestsPerSession
        let bound = (Double(sessions) / Double(concurrency)).rounded(.up) * Double(requests) / Double(sessions) * 0.050
        return [
            Figure(
                benchmark:
                    "portal farm: \(sessions) sessions, concurrency \(concurrency), \(requests) requests, elapsed",
                value: seconds, unit: "s", goal: nil),
            Figure(
                benchmark: "portal farm: latency bound (sessions/concurrency × requests per session × 50 ms)",
                value: bound, unit: "s", goal: nil),
            Figure(benchmark: "portal farm: elapsed / bound", value: seconds / bound, unit: "x", goal: "<= 1.3x"),
            Figure(
                benchmark: "portal farm: requests per second", value: Double(requests) / seconds, unit: "req/s",
                goal: nil),
        ]
    },
    Benchmark(
        name: "site",
        summary: "the review site: a 1,000-line batch page's server time, then 50 signed-in users loading pages at once"
    ) {
        try siteAtScale(
            users: Int(ProcessInfo.processInfo.environment["NIGHTJAR_SITE_USERS"] ?? "50") ?? 50,
            seconds: Double(ProcessInfo.processInfo.environment["NIGHTJAR_SITE_SECONDS"] ?? "10") ?? 10)
    },
    Benchmark(
        name: "import-1m",
        summary:
            "importing 1,000,000 remittance lines from an 820 file (hash, parse, store), beside raw inserts of the same rows"
    ) {
        try importMillionLines()
    },
    Benchmark(
        name: "x12-820", summary: "X12 820 parsing throughput on one core, beside a memchr scan of the same bytes"
    ) {
        try x12ParseThroughput()
    },
    Benchmark(
        name: "import-1gb-csv", summary: "importing a 1 GB delimited payments export by profile, in bounded memory"
    ) {
        try importLargeDelimited(
            megabytes: Int(ProcessInfo.processInfo.environment["NIGHTJAR_BIG_CSV_MB"] ?? "1000") ?? 1000)
    },
    Benchmark(name: "aead", summary: "AES-256-GCM and ChaCha20-Poly1305 seal/open, 4 KiB and 1 MiB messages") {
        var figures: [Figure] = []
        for algorithm in AEADAlgorithm.allCases {
            figures += try aeadThroughput(algorithm, size: 4096, label: "4 KiB")
            figures += try aeadThroughput(algorithm, size: 1 << 20, label: "1 MiB")
        }
        return figures
    },
    Benchmark(name: "argon2id", summary: "Argon2id at the default parameters (64 MiB, t=3, p=4)") {
        let password = SecretBytes(utf8: "correct horse battery staple")
        let salt = SecureRandom.bytes(16)
        var times: [Double] = []
        for _ in 0..<5 {
            times.append(
                try measure { _ = try Argon2id.deriveKey(password: password, salt: salt, parameters: .rfc9106Second) })
        }
        return [
            Figure(
                benchmark: "argon2id m=64MiB t=3 p=4 (median of 5)", value: times.sorted()[2] * 1000, unit: "ms",
                goal: nil)
        ]
    },
    Benchmark(name: "sqlite-insert", summary: "1,000,000 small rows in one transaction") {
        let folder = scratchFolder("sqlite")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = NSTemporaryDirectory() + "/nightjar-bench-sqlite-\(getpid()).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let database = try Database(path: path)
        try database.execute(
            "CREATE TABLE line (id INTEGER PRIMARY KEY, batch INTEGER, reference TEXT, amount INTEGER)")
        let rows = 1_000_000
        let seconds = try measure {
            try database.transaction {
                // One prepared statement bound by position: SQLite's own cost, not the convenience API's.
                let insert = try database.prepared("INSERT INTO line (batch, reference, amount) VALUES (?, ?, ?)")
                for index in 0..<rows {
                    insert.bind(Int64(index / 100), at: 1)
                    insert.bind("INV-\(index)", at: 2)
                    insert.bind(Int64(index * 7), at: 3)
                    try insert.run()
                }
            }
        }
        return [
            Figure(
                benchmark: "sqlite insert 1,000,000 rows, one transaction", value: Double(rows) / seconds,
                unit: "rows/s", goal: nil)
        ]
    },
    Benchmark(name: "vault-unlock", summary: "unlocking the vault at the default KDF parameters") {
        let folder = scratchFolder("unlock")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let paths = VaultPaths(vault: folder + "/v", audit: folder + "/a", state: folder + "/s")
        let passphrase = SecretBytes(utf8: "benchmark passphrase")
        _ = try Vault.create(paths: paths, adminName: "admin", passphrase: passphrase)
        var times: [Double] = []
        for _ in 0..<5 {
            times.append(try measure { _ = try Vault.open(paths: paths, as: .passphrase(name: "admin", passphrase)) })
        }
        return [
            Figure(
                benchmark: "vault unlock, Argon2id m=64MiB t=3 p=4 (median of 5)", value: times.sorted()[2] * 1000,
                unit: "ms", goal: nil)
        ]
    },
    Benchmark(
        name: "vault-open-10k",
        summary: "open a vault of 10,000 entries across 500 clients and decrypt every entry, in a fresh process"
    ) {
        try vaultOpenAtScale(clients: 500, perClient: 20)
    },
    Benchmark(
        name: "vault-import-1k",
        summary: "onboard 1,000 credentials for 1,000 clients from one CSV: one unlock, one write"
    ) {
        try vaultImportAtScale(clients: 1000)
    },
]

if CommandLine.arguments.count == 4, CommandLine.arguments[1] == "--prepare-match" {
    // The match-1m workspace, built in a process of its own.
    do {
        try prepareMatching(folder: CommandLine.arguments[2], count: Int(CommandLine.arguments[3]) ?? 1_000_000)
    } catch {
        FileHandle.standardError.write(Data("prepare-match: \(error)\n".utf8))
        exit(1)
    }
    exit(0)
}
if CommandLine.arguments.count == 3, CommandLine.arguments[1] == VaultBenchmark.childFlag {
    exit(VaultBenchmark.measureOpenInThisProcess(folder: CommandLine.arguments[2]))
}
exit(Runner.main(benchmarks: benchmarks))

/// Bounds how many farm sessions run at once.
actor FarmGate {
    private var available: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []
    init(_ count: Int) { available = count }
    func enter() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
    func leave() {
        if waiting.isEmpty { available += 1 } else { waiting.removeFirst().resume() }
    }
}

final class FarmCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() {
        lock.lock()
        count += 1
        lock.unlock()
    }
    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}
