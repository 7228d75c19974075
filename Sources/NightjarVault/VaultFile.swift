import Foundation
import NightjarCore
import NightjarCrypto

/// Where a vault's files live.
public struct VaultPaths: Sendable {
    /// The vault file.
    public let vault: String
    /// The audit log (JSON lines).
    public let audit: String
    /// The rollback state: last generation and audit head seen, authenticated.
    public let state: String

    public init(vault: String, audit: String, state: String) {
        self.vault = vault
        self.audit = audit
        self.state = state
    }

    /// The lock file that keeps writers apart.
    var lock: String { vault + ".lock" }
}

/// The vault file's bytes: header line, body line, MAC line.
enum VaultFile {
    static let header = "nightjar-vault/1"

    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Splits and parses the file without any key: structure only.
    static func parse(_ bytes: [UInt8]) throws(VaultError) -> (body: VaultBody, bodyBytes: [UInt8], mac: [UInt8]) {
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.count == 4, lines[3].isEmpty, Array(lines[0]) == Array(header.utf8) else {
            throw .damaged("not a Nightjar vault file, or cut short (expected a header, a body and a MAC line)")
        }
        let macLine = String(decoding: lines[2], as: UTF8.self)
        let macText = String(macLine.dropFirst(4))
        // Canonical base64 only: a decoder that ignores padding bits would accept altered text.
        guard macLine.hasPrefix("mac "), let mac = Data(base64Encoded: macText), mac.count == 32,
              mac.base64EncodedString() == macText else {
            throw .damaged("the MAC line is missing or malformed")
        }
        let bodyBytes = Array(lines[1])
        let body: VaultBody
        do {
            body = try JSONDecoder().decode(VaultBody.self, from: Data(bodyBytes))
        } catch {
            throw .damaged("the body does not parse")
        }
        guard body.vaultID.count == 16, body.generation >= 1 else { throw .damaged("the body has an invalid id or generation") }
        return (body, bodyBytes, Array(mac))
    }

    static func macInput(_ bodyBytes: [UInt8]) -> [UInt8] { Array("\(header)\n".utf8) + bodyBytes }

    static func mac(_ bodyBytes: [UInt8], vaultKey: SecretBytes) -> [UInt8] {
        vaultKey.withUnsafeBytes { HMAC.authenticate(macInput(bodyBytes), key: Array($0), algorithm: .sha256) }
    }

    /// The file's bytes for `body`, authenticated with `vaultKey`.
    static func serialize(_ body: VaultBody, vaultKey: SecretBytes) throws -> [UInt8] {
        let bodyBytes = Array(try encoder().encode(body))
        let tag = mac(bodyBytes, vaultKey: vaultKey)
        return Array("\(header)\n".utf8) + bodyBytes + Array("\nmac \(Data(tag).base64EncodedString())\n".utf8)
    }

    static func read(_ path: String) throws(VaultError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .noVault(path) }
        return Array(data)
    }
}

/// An exclusive lock on the vault (flock on a side file), held while reading, changing and writing.
final class VaultLock {
    private let descriptor: Int32

    init(path: String, wait: Bool = true) throws(VaultError) {
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .locked("cannot open \(path)") }
        if flock(descriptor, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            close(descriptor)
            throw .locked("another process holds \(path)")
        }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

/// The last vault generation and audit head this workspace has seen, authenticated with the
/// vault key so it cannot be edited to accept an older file.
struct VaultState: Codable, Equatable {
    var vaultID: Data
    var generation: Int
    var auditCount: Int
    var auditHead: String

    static func load(_ path: String, vaultKey: SecretBytes) throws(VaultError) -> VaultState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let lines = data.split(separator: UInt8(ascii: "\n"))
        guard lines.count == 2, let mac = Data(base64Encoded: Data(lines[1])) else {
            throw .damaged("the vault state file \(path) is malformed")
        }
        let body = Array(lines[0])
        let expected = vaultKey.withUnsafeBytes { HMAC.authenticate(body, key: Array($0), algorithm: .sha256) }
        guard ConstantTime.equals(expected, Array(mac)) else {
            throw .damaged("the vault state file \(path) does not authenticate")
        }
        do {
            return try JSONDecoder().decode(VaultState.self, from: Data(body))
        } catch {
            throw .damaged("the vault state file \(path) does not parse")
        }
    }

    func save(_ path: String, vaultKey: SecretBytes) throws {
        let body = Array(try VaultFile.encoder().encode(self))
        let mac = vaultKey.withUnsafeBytes { HMAC.authenticate(body, key: Array($0), algorithm: .sha256) }
        try SecureFile.writeAtomically(body + [10] + Array(Data(mac).base64EncodedString().utf8) + [10], to: path)
    }
}
