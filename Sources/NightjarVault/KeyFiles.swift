import Foundation
public import NightjarCore
import NightjarCrypto

/// How a principal proves who it is.
public enum UnlockMethod: Sendable {
    /// An operator's name and passphrase.
    case passphrase(name: String, SecretBytes)
    /// An automation key (from a key file or a systemd credential).
    case automationKey(AutomationKey)
    /// The recovery key printed at `vault init`.
    case recovery(SecretBytes)
}

/// An automation principal's private keys, as kept in its key file, with the fingerprints of
/// the vault's root it belongs to (format 2; a format-1 file has none until it is sealed).
public struct AutomationKey: Sendable {
    public let principalID: String
    let keys: SecretBytes
    let roots: VaultCrypto.Roots?

    static let formatOneHeader = "nightjar-automation-key/1"
    static let header = "nightjar-automation-key/2"

    /// Whether the file carries the vault's root (format 2).
    public var carriesRoot: Bool { roots != nil }

    /// The key file's text (written 0600 by the caller).
    public func fileContents() -> SecretBytes {
        let encoded = keys.withUnsafeBytes { Data($0).base64EncodedString() }
        guard let roots else {
            return SecretBytes(utf8: "\(AutomationKey.formatOneHeader)\n\(principalID)\n\(encoded)\n")
        }
        return SecretBytes(
            utf8:
                "\(AutomationKey.header)\n\(principalID)\n\(encoded)\nroot \(roots.admin.hexString) \(roots.recovery.hexString)\n"
        )
    }

    /// Parses a key file's text (format 1 or 2).
    public init(fileContents: SecretBytes) throws(VaultError) {
        guard let text = fileContents.unsafeUTF8String(), !text.utf8.contains(0) else {
            throw .wrongKey("the key file is not text")
        }
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.count >= 3, lines[0] == AutomationKey.header || lines[0] == AutomationKey.formatOneHeader,
            let raw = Data(base64Encoded: lines[2]), raw.count == 64
        else {
            throw .wrongKey("not a Nightjar automation key file")
        }
        if lines[0] == AutomationKey.header {
            let parts = lines.count == 4 ? lines[3].split(separator: " ").map(String.init) : []
            guard parts.count == 3, parts[0] == "root", let admin = [UInt8](hex: parts[1]),
                let recovery = [UInt8](hex: parts[2]),
                admin.count == 32, recovery.count == 32
            else {
                throw .wrongKey("the key file's root line is missing or malformed")
            }
            roots = VaultCrypto.Roots(admin: admin, recovery: recovery)
        } else {
            guard lines.count == 3 else { throw .wrongKey("not a Nightjar automation key file") }
            roots = nil
        }
        principalID = lines[1]
        keys = SecretBytes(raw)
    }

    init(principalID: String, keys: SecretBytes, roots: VaultCrypto.Roots?) {
        self.principalID = principalID
        self.keys = keys
        self.roots = roots
    }

    /// Reads a key file after the StrictModes checks of `SecretFile` (file 0600 or stricter,
    /// owned by this user or root, no folder above it writable by others).
    public static func load(path: String) throws -> AutomationKey {
        do {
            return try AutomationKey(
                fileContents: try SecretFile.read(path, what: "automation key file", maximumBytes: 4096))
        } catch let error as SecretFileError {
            throw VaultError.keyFilePermissions(error.message)
        }
    }

    /// Where the night run finds its key, in order: an explicit path (option or config), the
    /// `NIGHTJAR_VAULT_KEY_FILE` variable, or the systemd credential `nightjar-vault-key`.
    public static func locate(explicit: String?, environment: [String: String]) -> String? {
        if let explicit, !explicit.isEmpty { return explicit }
        if let path = environment["NIGHTJAR_VAULT_KEY_FILE"], !path.isEmpty { return path }
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let path = directory + "/nightjar-vault-key"
            if FileManager.default.fileExists(atPath: path) { return path }
        }
        return nil
    }

    /// Writes a key file, mode 0600, refusing to overwrite.
    public func write(to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw VaultError.alreadyExists(path) }
        try replace(at: path)
    }

    /// Writes the key file over an existing one (sealing a format-1 file), mode 0600.
    func replace(at path: String) throws {
        let contents = fileContents()
        try contents.withUnsafeBytes { try SecureFile.writeAtomically(Array($0), to: path, mode: 0o600) }
    }
}

/// Passphrase files (`--passphrase-file`): one line, checked like key files.
public enum PassphraseFile {
    /// The passphrase in `path` (its first line), after the StrictModes checks.
    public static func read(_ path: String) throws -> SecretBytes {
        let contents: SecretBytes
        do {
            contents = try SecretFile.read(path, what: "passphrase file", maximumBytes: 4096)
        } catch {
            throw VaultError.keyFilePermissions(error.message)
        }
        return contents.withUnsafeBytes { bytes in
            var end = bytes.firstIndex(of: 10) ?? bytes.count
            if end > 0, bytes[end - 1] == 13 { end -= 1 }
            return SecretBytes(bytes[0..<end])
        }
    }
}

/// The recovery key as people handle it: base32 in groups of four.
public enum RecoveryKeyText {
    public static func format(_ key: SecretBytes) -> String {
        let text = Base32.encode(key)
        return stride(from: 0, to: text.count, by: 4).map { offset -> String in
            let start = text.index(text.startIndex, offsetBy: offset)
            return String(text[start..<text.index(start, offsetBy: min(4, text.count - offset))])
        }.joined(separator: "-")
    }

    public static func parse(_ text: SecretBytes) throws -> SecretBytes {
        guard let string = text.unsafeUTF8String() else { throw VaultError.wrongKey("the recovery key is not text") }
        let cleaned = string.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: " ", with: "")
        guard let key = try? Base32.decode(cleaned), key.count == 32 else {
            throw VaultError.wrongKey("not a recovery key")
        }
        return key
    }
}
