public import NightjarCore

/// Everything that can go wrong with the vault. Codes are stable; messages never contain a secret.
public enum VaultError: NightjarError, Equatable {
    /// The file is not a vault, is truncated, or was altered (MAC or structure).
    case damaged(String)
    /// The passphrase does not open this principal's keys.
    case wrongPassphrase(principal: String)
    /// The key file does not belong to this vault or principal.
    case wrongKey(String)
    /// An older (but valid) vault file was put back in place.
    case rollback(found: Int, expected: Int)
    case noVault(String)
    case alreadyExists(String)
    case unknownPrincipal(String)
    case unknownClient(String)
    case unknownEntry(String)
    case entryExists(String)
    case duplicatePrincipal(String)
    case notGranted(principal: String, client: String)
    case roleRequired(principal: String, role: Role)
    case kdfOutOfBounds(String)
    case keyFilePermissions(String)
    case noUnlockSource
    case auditWriteFailed(String)
    case auditBroken(String)
    case locked(String)
    case invalidInput(String, location: SourceLocation?)

    public var code: String {
        switch self {
        case .damaged: "vault.damaged"
        case .wrongPassphrase: "vault.wrong_passphrase"
        case .wrongKey: "vault.wrong_key"
        case .rollback: "vault.rollback"
        case .noVault: "vault.missing"
        case .alreadyExists: "vault.exists"
        case .unknownPrincipal: "vault.unknown_principal"
        case .unknownClient: "vault.unknown_client"
        case .unknownEntry: "vault.unknown_entry"
        case .entryExists: "vault.entry_exists"
        case .duplicatePrincipal: "vault.duplicate_principal"
        case .notGranted: "vault.not_granted"
        case .roleRequired: "vault.role_required"
        case .kdfOutOfBounds: "vault.kdf_out_of_bounds"
        case .keyFilePermissions: "vault.key_file_permissions"
        case .noUnlockSource: "vault.no_unlock_source"
        case .auditWriteFailed: "vault.audit_write_failed"
        case .auditBroken: "vault.audit_broken"
        case .locked: "vault.busy"
        case .invalidInput: "vault.invalid_input"
        }
    }

    public var message: String {
        switch self {
        case .damaged(let detail): "the vault file is damaged or was altered: \(detail)"
        case .wrongPassphrase(let principal): "wrong passphrase for \(principal)"
        case .wrongKey(let detail): "the key does not open this vault: \(detail)"
        case .rollback(let found, let expected):
            "the vault file is generation \(found) but this workspace has already seen generation \(expected): an older copy was put back. If that was intended, an admin can accept it with `nightjar vault accept-rollback --as ADMIN`"
        case .noVault(let path): "no vault at \(path) (create one with `nightjar vault init`)"
        case .alreadyExists(let path): "a vault already exists at \(path); nothing was changed"
        case .unknownPrincipal(let name): "no principal named \(name) in the vault"
        case .unknownClient(let client): "no client \(client) in the vault"
        case .unknownEntry(let entry): "no entry \(entry) in the vault"
        case .entryExists(let entry): "entry \(entry) already exists (use `nightjar vault edit`)"
        case .duplicatePrincipal(let name): "a principal named \(name) already exists"
        case .notGranted(let principal, let client): "\(principal) has no access to client \(client)"
        case .roleRequired(let principal, let role): "\(principal) lacks the \(role.rawValue) role"
        case .kdfOutOfBounds(let detail): "key-derivation parameters refused: \(detail)"
        case .keyFilePermissions(let detail): "automation key file refused: \(detail)"
        case .noUnlockSource:
            "no automation key: pass --key-file, set NIGHTJAR_VAULT_KEY_FILE, or provide the systemd credential nightjar-vault-key"
        case .auditWriteFailed(let detail): "the audit record could not be written, so nothing was done: \(detail)"
        case .auditBroken(let detail): "the audit log does not verify: \(detail)"
        case .locked(let detail): "the vault is being written by another process: \(detail)"
        case .invalidInput(let detail, _): detail
        }
    }

    public var location: SourceLocation? {
        if case .invalidInput(_, let location) = self { return location }
        return nil
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .damaged, .rollback, .auditBroken: .dataError
        case .wrongPassphrase, .wrongKey, .notGranted, .roleRequired, .keyFilePermissions, .noUnlockSource: .noPermission
        case .noVault, .unknownPrincipal, .unknownClient, .unknownEntry: .noInput
        case .alreadyExists, .entryExists, .duplicatePrincipal: .cannotCreate
        case .kdfOutOfBounds: .dataError
        case .auditWriteFailed, .locked: .ioError
        case .invalidInput: .dataError
        }
    }
}
