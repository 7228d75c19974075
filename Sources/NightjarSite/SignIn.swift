public import Foundation
public import NightjarCore
import NightjarCrypto
public import NightjarVault
import Synchronization

/// How long a sign-in must wait after failures: the delay after the n-th failure in a row is
/// `delays[n-1]` (the last value repeats). The delay grows but is capped, so a stranger who
/// types wrong passphrases for someone else's name slows them down at most by the last value,
/// and never locks them out.
public struct ThrottleSchedule: Sendable, Equatable {
    public var delays: [TimeInterval]
    /// Failures older than this are forgotten.
    public var forgetAfter: TimeInterval

    public init(delays: [TimeInterval] = [0, 0, 0, 1, 2, 4, 8, 15, 30, 60], forgetAfter: TimeInterval = 15 * 60) {
        self.delays = delays.isEmpty ? [0] : delays
        self.forgetAfter = forgetAfter
    }

    /// Parses `0,0,0,1,2,4` (seconds, decimals allowed).
    public static func parse(_ text: String) throws -> ThrottleSchedule {
        let values = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Double($0.trimmingCharacters(in: .whitespaces))
        }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 && $0! <= 3600 }) else {
            throw GeneralError(
                code: "serve.sign_in_delays",
                message: "--sign-in-delays takes seconds separated by commas, e.g. 0,0,0,1,2,4,8 (each at most 3600)",
                exitStatus: .usage)
        }
        return ThrottleSchedule(delays: values.map { $0! })
    }

    func delay(afterFailures count: Int) -> TimeInterval {
        count <= 0 ? 0 : delays[min(count, delays.count) - 1]
    }
}

/// Failed sign-ins per operator name and per client address, each with its own growing delay.
/// A success clears the operator's count (not the address's: one valid account must not reset
/// the count of guesses at others). Tables are bounded; the oldest entries go first.
public final class SignInThrottle: Sendable {
    struct Failures {
        var count: Int
        var last: Date
    }
    struct Tables {
        var byOperator: [String: Failures] = [:]
        var byAddress: [String: Failures] = [:]
    }

    public let schedule: ThrottleSchedule
    let maximumEntries: Int
    private let tables = Mutex(Tables())

    public init(schedule: ThrottleSchedule = ThrottleSchedule(), maximumEntries: Int = 10_000) {
        self.schedule = schedule
        self.maximumEntries = maximumEntries
    }

    /// Seconds to wait before `name` may try again from `address` (0: now).
    public func wait(operatorName name: String, address: String, now: Date = Date()) -> TimeInterval {
        tables.withLock { tables in
            func remaining(_ entry: Failures?) -> TimeInterval {
                guard let entry, now.timeIntervalSince(entry.last) < schedule.forgetAfter else { return 0 }
                return max(
                    0, entry.last.addingTimeInterval(schedule.delay(afterFailures: entry.count)).timeIntervalSince(now))
            }
            return max(remaining(tables.byOperator[name]), remaining(tables.byAddress[address]))
        }
    }

    public func failed(operatorName name: String, address: String, now: Date = Date()) {
        tables.withLock { tables in
            func bump(_ table: inout [String: Failures], _ key: String) {
                var entry = table[key] ?? Failures(count: 0, last: now)
                if now.timeIntervalSince(entry.last) >= schedule.forgetAfter { entry.count = 0 }
                entry.count += 1
                entry.last = now
                table[key] = entry
                if table.count > maximumEntries {
                    let expired = table.filter { now.timeIntervalSince($0.value.last) >= schedule.forgetAfter }.map(
                        \.key)
                    for key in expired { table[key] = nil }
                    if table.count > maximumEntries, let oldest = table.min(by: { $0.value.last < $1.value.last }) {
                        table[oldest.key] = nil
                    }
                }
            }
            bump(&tables.byOperator, name)
            bump(&tables.byAddress, address)
        }
    }

    public func succeeded(operatorName name: String) {
        _ = tables.withLock { $0.byOperator.removeValue(forKey: name) }
    }
}

/// Caps the key derivations (Argon2id, 64 MiB each) running at once. A sign-in that finds the
/// cap reached is answered "busy" before it derives anything.
public final class DerivationGate: Sendable {
    public let limit: Int
    private let running = Atomic<Int>(0)

    public init(limit: Int) { self.limit = max(1, limit) }

    /// Takes a slot, or returns false at once when all are taken.
    public func tryEnter() -> Bool {
        var current = running.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = running.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    public func leave() { running.subtract(1, ordering: .releasing) }

    public var inUse: Int { running.load(ordering: .relaxed) }
}

/// A principal as the site needs it: name, roles and the clients whose keys it holds.
public struct SitePrincipal: Sendable, Equatable {
    public let name: String
    public let roles: [Role]
    /// Clients whose keys it holds.
    public let clients: [String]
    /// What the vault's review grants let it read and approve.
    public let review: NightjarVault.ReviewScope
}

/// The vault as the site uses it: it verifies an operator's name and passphrase, reads who holds
/// which role, and writes the site's audit records. It never decrypts a credential: the site's
/// own key (an automation key) holds no client key, and an operator's unlocked vault is dropped
/// as soon as the sign-in is recorded.
public final class SiteVault: Sendable {
    public enum Verdict: Sendable {
        case signedIn(SitePrincipal)
        /// Name unknown or passphrase wrong (the two are not told apart).
        case refused
    }

    public let paths: VaultPaths
    let siteKey: AutomationKey
    private let directory = Mutex<(stamp: [Int], principals: [String: SitePrincipal])?>(nil)

    /// Opens the vault with the site's key once, to check it and that it holds no client key.
    public init(paths: VaultPaths, siteKey: AutomationKey) throws {
        self.paths = paths
        self.siteKey = siteKey
        let vault = try Vault.open(paths: paths, as: .automationKey(siteKey), auditUnlock: false)
        guard vault.accessibleClients.isEmpty else {
            throw GeneralError(
                code: "serve.site_key",
                message: """
                    the site's key \(vault.principalName) can read \(vault.accessibleClients.count) client(s)' credentials; the site needs a key that \
                    holds none: nightjar vault automation-key create FILE --no-clients --name site --as ADMIN
                    """, exitStatus: .noPermission)
        }
    }

    /// Checks `name` and `passphrase` (one Argon2id derivation, also for an unknown name, so the
    /// time taken does not tell names apart) and records the sign-in as the operator.
    public func verify(name: String, passphrase: SecretBytes, address: String) throws -> Verdict {
        let vault: Vault
        do {
            vault = try Vault.open(paths: paths, as: .passphrase(name: name, passphrase), auditUnlock: false)
        } catch VaultError.unknownPrincipal {
            _ = try? Argon2id.deriveKey(
                password: passphrase, salt: SecureRandom.bytes(16), parameters: VaultKDFPolicy.standard)
            return .refused
        } catch VaultError.wrongPassphrase {
            return .refused
        }
        let summary = vault.principals().first { $0.name == vault.principalName }
        let principal = SitePrincipal(
            name: vault.principalName, roles: vault.roles, clients: summary?.clients ?? [],
            review: try vault.reviewScope(of: nil))
        try vault.audit(AuditEvent("site-sign-in", detail: "review site, from \(address)"))
        return .signedIn(principal)
    }

    /// Records an event no signed-in person can sign (a failed sign-in, a sign-out, a timeout)
    /// under the site's own key. Throws when it cannot be made durable.
    public func audit(_ event: AuditEvent) throws {
        let vault = try Vault.open(paths: paths, as: .automationKey(siteKey), auditUnlock: false)
        try vault.audit(event)
    }

    /// The operator `name` as the vault has it now (re-read when the vault file changes), or nil
    /// when removed.
    public func principal(named name: String) throws -> SitePrincipal? {
        try principals()[name]
    }

    /// Whether `name` is an operator of this vault (so only real names go into audit details).
    public func isOperator(_ name: String) throws -> Bool { try principals()[name] != nil }

    func principals() throws -> [String: SitePrincipal] {
        var info = stat()
        guard stat(paths.vault, &info) == 0 else { throw VaultError.noVault(paths.vault) }
        let stamp = [Int(info.st_ino), Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
        if let cached = directory.withLock({ $0 }), cached.stamp == stamp { return cached.principals }
        let vault = try Vault.open(paths: paths, as: .automationKey(siteKey), auditUnlock: false)
        var table: [String: SitePrincipal] = [:]
        for principal in vault.principals() where principal.kind == .operator {
            table[principal.name] = SitePrincipal(
                name: principal.name, roles: principal.roles, clients: principal.clients,
                review: NightjarVault.ReviewScope(principal))
        }
        directory.withLock { $0 = (stamp, table) }
        return table
    }
}
