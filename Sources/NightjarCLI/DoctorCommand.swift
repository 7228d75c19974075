import Foundation
import NightjarCore
import NightjarCrypto
import NightjarStore

/// `nightjar doctor`: self-checks an operator runs before leaving a machine to work at night.
enum DoctorCommand {
    struct Check: Encodable {
        let name: String
        let ok: Bool
        let detail: String
    }

    static func run(_ invocation: Invocation) async throws -> ExitStatus {
        var checks: [Check] = []
        checks.append(hardening())
        checks.append(timeZones())
        checks += SystemLibraries.checks()
        checks.append(redaction())
        checks.append(workspacePermissions(invocation.workspace))
        let failed = checks.filter { !$0.ok }
        if invocation.json {
            struct Report: Encodable {
                let ok: Bool
                let checks: [Check]
            }
            try Output.json(Report(ok: failed.isEmpty, checks: checks))
        } else {
            let paint = Console.standardOutput.paint
            for check in checks {
                Output.line(
                    "\(check.ok ? paint("ok", .green) + "  " : paint("FAIL", .red)) \(check.name.padding(20))\(check.detail)"
                )
            }
            Output.line(
                failed.isEmpty ? "\nAll checks passed." : "\n" + paint("\(failed.count) check(s) failed.", .red))
        }
        return failed.isEmpty ? .ok : .failure
    }

    static func hardening() -> Check {
        let nonDumpable = ProcessHardening.isNonDumpable
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_CORE.rawValue), &limit)
        let ok = nonDumpable && limit.rlim_cur == 0
        return Check(
            name: "process hardening", ok: ok,
            detail: "non-dumpable: \(nonDumpable ? "yes" : "no"), core files: \(limit.rlim_cur == 0 ? "off" : "on")")
    }

    static func timeZones() -> Check {
        let zones = ["America/New_York", "America/Chicago", "Europe/London"]
        let missing = zones.filter { TimeZone(identifier: $0) == nil }
        return Check(
            name: "time zones", ok: missing.isEmpty,
            detail: missing.isEmpty
                ? "IANA database present" : "missing \(missing.joined(separator: ", ")) (install tzdata)")
    }

    /// Registers random canaries in a private redactor and checks their encoded forms are caught.
    static func redaction() -> Check {
        let redactor = Redactor()
        let canary = "c@n+a/r%y\"<&é " + UUID().uuidString.prefix(8)
        redactor.register(text: canary)
        let missed = encodedForms(of: canary).filter { _, form in redactor.redact("x \(form) y").contains(form) }
        return Check(
            name: "redaction", ok: missed.isEmpty,
            detail: missed.isEmpty
                ? "raw, URL, JSON, HTML and base64 forms redacted"
                : "not redacted: \(missed.map(\.0).joined(separator: ", "))")
    }

    static func workspacePermissions(_ workspace: Workspace) -> Check {
        guard workspace.exists else {
            return Check(name: "workspace", ok: true, detail: "no workspace at \(workspace.root) (skipped)")
        }
        var loose: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: workspace.root)
        var paths = [workspace.root]
        while let relative = enumerator?.nextObject() as? String { paths.append(workspace.root + "/" + relative) }
        for path in paths {
            if let mode = SecureFile.mode(of: path), mode & 0o077 != 0 { loose.append(path) }
        }
        return Check(
            name: "workspace", ok: loose.isEmpty,
            detail: loose.isEmpty
                ? "\(workspace.root): \(paths.count) entries, owner-only"
                : "readable by others: \(loose.prefix(5).joined(separator: ", ")) (chmod go-rwx)")
    }
}

/// Versions and a working call of each system library the binary links.
enum SystemLibraries {
    static func checks() -> [DoctorCommand.Check] {
        var checks: [DoctorCommand.Check] = []
        do {
            let key = SecureRandom.secretBytes(32)
            let nonce = SecureRandom.bytes(12)
            let sealed = try AEAD.seal(
                Array("doctor".utf8), key: key, nonce: nonce, associatedData: [], algorithm: .aes256GCM)
            let opened = try AEAD.open(sealed, key: key, nonce: nonce, associatedData: [], algorithm: .aes256GCM)
            checks.append(
                .init(
                    name: "libcrypto", ok: opened == Array("doctor".utf8),
                    detail: "\(cryptoLibraryVersion); AES-256-GCM round trip"))
        } catch {
            checks.append(.init(name: "libcrypto", ok: false, detail: "\(error)"))
        }
        do {
            let key = try Argon2id.deriveKey(
                password: SecretBytes(utf8: "doctor"), salt: Array(repeating: 1, count: 16),
                parameters: Argon2Parameters(memoryKiB: 1024, iterations: 1, parallelism: 1))
            checks.append(.init(name: "libargon2", ok: key.count == 32, detail: "Argon2id derivation"))
        } catch {
            checks.append(.init(name: "libargon2", ok: false, detail: "\(error)"))
        }
        do {
            let database = try Database(path: ":memory:")
            let value = try database.scalar(Int64.self, "SELECT 6 * 7")
            checks.append(.init(name: "sqlite3", ok: value == 42, detail: "SQLite \(sqliteLibraryVersion)"))
        } catch {
            checks.append(.init(name: "sqlite3", ok: false, detail: "\(error)"))
        }
        return checks
    }
}
