import Foundation
import NightjarCore
@_spi(Testing) import NightjarCrypto
import NightjarVault

/// The vault at scale: open + decrypt 10,000 entries measured in a process that does nothing
/// else (so its peak memory is the vault's), beside the cryptographic floor of the same work
/// (the key unwraps and the entry lists' AES-GCM, called directly), and a 1,000-client import.
enum VaultBenchmark {
    static let childFlag = "--vault-open-child"
    static let passphrase = SecretBytes(utf8: "benchmark passphrase")

    static func paths(_ folder: String) -> VaultPaths {
        VaultPaths(vault: folder + "/v", audit: folder + "/a", state: folder + "/s")
    }

    /// Child process: open with the automation key, decrypt every entry, print the figures as JSON.
    static func measureOpenInThisProcess(folder: String) -> Int32 {
        do {
            let key = try AutomationKey.load(path: folder + "/night.key")
            let before = residentHighWaterMiB()
            var decrypted = 0
            var credentials: [Credential] = []
            var phases: [String: Double] = [:]
            let cpuBefore = processCPUSeconds()
            // Each phase's wall time and the process's CPU time in it (steadier on a busy machine).
            func phase(_ name: String, _ body: () throws -> Void) throws {
                let cpu = processCPUSeconds()
                phases["\(name)_seconds"] = try measure(body)
                phases["\(name)_cpu_seconds"] = processCPUSeconds() - cpu
            }
            let seconds = try measure {
                var vault: Vault!
                try phase("open") { vault = try Vault.open(paths: paths(folder), as: .automationKey(key)) }
                try phase("verify") { try vault.verifyAuthority() }
                var names: [CredentialName] = []
                try phase("list") { names = try vault.list().map(\.name) }
                try phase("credentials") { credentials = try vault.credentials(names, purpose: .use(run: "bench")) }
                decrypted = credentials.count
            }
            let cpu = processCPUSeconds() - cpuBefore
            var result: [String: Double] = [
                "seconds": seconds, "cpu_seconds": cpu, "decrypted": Double(decrypted),
                "growth_mib": residentHighWaterMiB() - before, "peak_mib": residentHighWaterMiB(),
            ]
            for (key, value) in phases { result[key] = value }
            // The redactor's share, measured apart: registering again, from empty, the values the
            // vault registers (the user name only where it is marked secret).
            Redactor.shared.removeAll()
            let values = credentials.flatMap { credential in
                [credential.usernameIsSecret ? credential.username : nil, credential.password, credential.totp?.secret]
                    .compactMap { $0 } + Array(credential.extra.values)
            }
            result["redactor_values"] = Double(values.count)
            let redactorCPU = processCPUSeconds()
            result["redactor_seconds"] = measure {
                for value in values { Redactor.shared.register(value) }
            }
            result["redactor_cpu_seconds"] = processCPUSeconds() - redactorCPU
            print(String(decoding: try JSONEncoder().encode(result), as: UTF8.self))
            return 0
        } catch {
            FileHandle.standardError.write(Data("vault child: \(error)\n".utf8))
            return 1
        }
    }
}

/// CPU time this process has used (all threads), in seconds: steadier than wall time on a busy machine.
func processCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

/// The process's resident high-water mark (VmHWM, which, unlike ru_maxrss, starts afresh at exec).
func residentHighWaterMiB() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
    return (Double(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
}

/// Builds the vault (one import), then measures opening it five times, each in a fresh process.
func vaultOpenAtScale(clients: Int, perClient: Int) throws -> [Figure] {
    let folder = scratchFolder("vault10k")
    defer {
        if ProcessInfo.processInfo.environment["NIGHTJAR_BENCH_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
    chmod(folder, 0o700)
    let paths = VaultBenchmark.paths(folder)
    _ = try Vault.create(paths: paths, adminName: "admin", passphrase: VaultBenchmark.passphrase)
    let keyPath = folder + "/night.key"
    var items: [(name: CredentialName, input: CredentialInput)] = []
    for client in 0..<clients {
        for portal in 0..<perClient {
            items.append(
                (
                    CredentialName(client: "client-\(client)", portal: "portal-\(portal)"),
                    CredentialInput(
                        username: SecretBytes(utf8: "user\(client)-\(portal)@example.com"),
                        password: SecretBytes(utf8: Base32.encode(SecureRandom.secretBytes(12))),
                        allowedOrigins: [try Origin("https://portal-\(portal).example.com")])
                ))
        }
    }
    try Vault.update(paths: paths, as: .passphrase(name: "admin", VaultBenchmark.passphrase)) { vault in
        try vault.addEntries(items)
        try vault.createAutomationKey(name: "night", clients: nil).write(to: keyPath)
    }
    var runs: [[String: Double]] = []
    for _ in 0..<5 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = [VaultBenchmark.childFlag, folder]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
            let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
            let figures = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Double]
        else {
            throw GeneralError(code: "bench.vault", message: "the measuring process failed")
        }
        runs.append(figures)
    }
    func median(_ key: String) -> Double { runs.map { $0[key]! }.sorted()[runs.count / 2] }

    // The floor: the same key unwraps and entry-list decryptions, straight through the primitives.
    let fileSize = (try FileManager.default.attributesOfItem(atPath: paths.vault)[.size] as? Int) ?? 0
    let keys = (0..<clients).map { _ in SecureRandom.secretBytes(32) }
    let recipient = X25519.PrivateKey.generate()
    let wraps = try keys.map { key -> (ephemeral: [UInt8], sealed: [UInt8]) in
        let ephemeral = X25519.PrivateKey.generate()
        let shared = try ephemeral.sharedSecret(with: recipient.publicKey)
        let wrapKey = try HKDF.sha256(
            inputKeyMaterial: shared,
            salt: ephemeral.publicKey.rawRepresentation + recipient.publicKey.rawRepresentation,
            info: Array("bench wrap".utf8), length: 32)
        return (
            ephemeral.publicKey.rawRepresentation,
            try key.withUnsafeBytes {
                try AEAD.seal(
                    Array($0), key: wrapKey, nonce: [UInt8](repeating: 0, count: 12), associatedData: [],
                    algorithm: .chaCha20Poly1305)
            }
        )
    }
    let listSize = max(1, fileSize / clients)
    let lists = try keys.map {
        try AEAD.seal(
            SecureRandom.bytes(listSize), key: $0, nonce: [UInt8](repeating: 1, count: 12), associatedData: [],
            algorithm: .aes256GCM)
    }
    var floors: [Double] = []
    var floorCPU: [Double] = []
    let recipientPublic = recipient.publicKey.rawRepresentation
    for _ in 0..<5 {
        let cpuBefore = processCPUSeconds()
        floors.append(
            try measure {
                let secrets = try recipient.sharedSecrets(
                    with: try wraps.map { try X25519.PublicKey(rawRepresentation: $0.ephemeral) })
                for (index, wrap) in wraps.enumerated() {
                    let wrapKey = try HKDF.sha256(
                        inputKeyMaterial: secrets[index]!, salt: wrap.ephemeral + recipientPublic,
                        info: Array("bench wrap".utf8), length: 32)
                    let key = try AEAD.openSecret(
                        wrap.sealed, key: wrapKey, nonce: [UInt8](repeating: 0, count: 12), associatedData: [],
                        algorithm: .chaCha20Poly1305)
                    _ = try AEAD.open(
                        lists[index], key: key, nonce: [UInt8](repeating: 1, count: 12), associatedData: [],
                        algorithm: .aes256GCM)
                }
            })
        floorCPU.append(processCPUSeconds() - cpuBefore)
    }
    let floor = floors.sorted()[2]
    let total = median("seconds")
    // The phases by CPU time, where the time goes whatever else the machine is doing.
    let cpuSplit = ["open", "verify", "list", "credentials", "redactor"].map { name in
        Figure(
            benchmark: "  CPU: \(name)\(name == "redactor" ? " (measured apart; inside credentials)" : "")",
            value: median("\(name)_cpu_seconds") * 1000, unit: "ms", goal: nil)
    }
    return [
        Figure(
            benchmark: "vault file: \(clients * perClient) entries, \(clients) clients",
            value: Double(fileSize) / 1_048_576, unit: "MiB", goal: nil),
        Figure(
            benchmark: "vault open (chain, root, MAC, state verified), median of 5",
            value: median("open_seconds") * 1000, unit: "ms", goal: nil),
        Figure(
            benchmark: "  verify again before the night", value: median("verify_seconds") * 1000, unit: "ms", goal: nil),
        Figure(
            benchmark: "  list (decrypts every client's entry list)", value: median("list_seconds") * 1000, unit: "ms",
            goal: nil),
        Figure(
            benchmark: "  credentials (audit record, redactor, values)", value: median("credentials_seconds") * 1000,
            unit: "ms", goal: nil),
        Figure(
            benchmark: "vault open + verify + decrypt \(Int(median("decrypted"))) entries (automation key)",
            value: total * 1000, unit: "ms", goal: "< 100 ms"),
        Figure(
            benchmark: "  the same, CPU time of the process (steadier on a busy machine)",
            value: median("cpu_seconds") * 1000, unit: "ms", goal: nil),
        Figure(
            benchmark: "  of which the redactor registering \(Int(median("redactor_values"))) values (measured apart)",
            value: median("redactor_seconds") * 1000, unit: "ms", goal: nil),
        Figure(
            benchmark: "  the vault's own part (the above less the redactor's)",
            value: (total - median("redactor_seconds")) * 1000, unit: "ms", goal: nil),
        Figure(
            benchmark: "  credentials less the redactor (audit record, lookup, values)",
            value: (median("credentials_seconds") - median("redactor_seconds")) * 1000, unit: "ms", goal: nil),
    ] + cpuSplit + [
        Figure(
            benchmark: "  CPU: credentials less the redactor",
            value: (median("credentials_cpu_seconds") - median("redactor_cpu_seconds")) * 1000, unit: "ms", goal: nil),
        Figure(
            benchmark: "vault open + decrypt: peak memory growth of the process", value: median("growth_mib"),
            unit: "MiB", goal: "< 64 MB"),
        Figure(
            benchmark: "vault open + decrypt: peak resident memory of the process", value: median("peak_mib"),
            unit: "MiB", goal: nil),
        Figure(
            benchmark:
                "baseline: \(clients) key unwraps + \(clients) AES-GCM opens of the lists' size, primitives only",
            value: floor * 1000, unit: "ms", goal: nil),
        Figure(benchmark: "  baseline CPU time", value: floorCPU.sorted()[2] * 1000, unit: "ms", goal: nil),
        Figure(benchmark: "vault open + decrypt / baseline (wall)", value: total / floor, unit: "x", goal: nil),
        Figure(
            benchmark: "vault open + decrypt / baseline (CPU)", value: median("cpu_seconds") / floorCPU.sorted()[2],
            unit: "x", goal: nil),
        Figure(benchmark: "format 1 here before this change (once, not this run)", value: 818, unit: "ms", goal: nil),
    ]
}

/// One CSV for 1,000 clients through one unlock (the real KDF) and one write.
func vaultImportAtScale(clients: Int) throws -> [Figure] {
    let folder = scratchFolder("vault-import")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let paths = VaultBenchmark.paths(folder)
    _ = try Vault.create(paths: paths, adminName: "admin", passphrase: VaultBenchmark.passphrase)
    var csv = "client,portal,label,username,password,origins\n"
    for client in 0..<clients {
        csv +=
            "client-\(client),sandbox-html-portal,,ap\(client)@client.example,\(Base32.encode(SecureRandom.secretBytes(12))),https://suppliers.sandbox-html-portal.example\n"
    }
    var imported = 0
    let seconds = try measure {
        let rows = try CredentialCSV.parse(csv, file: "clients.csv")
        try Vault.update(paths: paths, as: .passphrase(name: "admin", VaultBenchmark.passphrase)) { vault in
            try vault.addEntries(rows.map { ($0.name(defaultClient: nil)!, $0.input) })
        }
        imported = rows.count
    }
    Redactor.shared.removeAll()
    return [
        Figure(
            benchmark:
                "vault import \(imported) credentials for \(clients) clients (unlock m=64MiB + parse + one write)",
            value: seconds, unit: "s", goal: "< 10 s")
    ]
}
