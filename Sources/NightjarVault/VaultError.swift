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
    /// A name breaks the identifier rule (NightjarCore's `Identifier`).
    case invalidName(IdentifierError)
    /// A NUL byte in a secret, a name or a text field.
    case nulByte(field: String, location: SourceLocation?)
    /// An input larger than its cap (a credential file, a TOTP secret), refused before it is read.
    case tooLarge(String, location: SourceLocation?)
    /// The file is an older format that must be upgraded by an admin first.
    case formatOutdated(version: Int)
    /// A record of the authority chain does not verify: forged, claiming another signer,
    /// granting what its signer does not hold, or the file disagrees with the chain.
    case authority(String)
    /// The chain does not start at the root this principal's sealed keys name: it was replaced.
    case rootReplaced(String)
    /// Records were removed from the end of the chain since this workspace last saw it.
    case chainCut(found: Int, expected: Int)
    /// The chain this workspace saw was rewritten (a record changed or reordered).
    case chainRewritten(Int)
    /// The rollback state file is missing.
    case stateMissing(String)
    /// The rollback state file cannot be read, does not verify, or belongs to another vault.
    case stateInvalid(String)

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
        case .invalidName(let error): error.code
        case .nulByte: "input.nul_byte"
        case .tooLarge: "input.too_large"
        case .formatOutdated: "vault.format_outdated"
        case .authority: "vault.authority_invalid"
        case .rootReplaced: "vault.root_replaced"
        case .chainCut: "vault.chain_cut"
        case .chainRewritten: "vault.chain_rewritten"
        case .stateMissing: "vault.state_missing"
        case .stateInvalid: "vault.state_invalid"
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
        case .kdfOutOfBounds(let detail): "the vault's key derivation settings are outside the policy: \(detail)"
        case .keyFilePermissions(let detail): detail
        case .noUnlockSource:
            "no automation key: pass --key-file, set NIGHTJAR_VAULT_KEY_FILE, or provide the systemd credential nightjar-vault-key"
        case .auditWriteFailed(let detail): "the audit record could not be written, so nothing was done: \(detail)"
        case .auditBroken(let detail): "the audit log does not verify: \(detail)"
        case .locked(let detail): "the vault is being written by another process: \(detail)"
        case .invalidInput(let detail, _): detail
        case .invalidName(let error): error.message
        case .nulByte(let field, _): "the \(field) contains a NUL byte, which is never allowed"
        case .tooLarge(let detail, _): detail
        case .formatOutdated(let version):
            "this vault is format \(version): its roles and approvals are not signed, so it is not opened. An admin upgrades it after reviewing what will be signed: `nightjar vault upgrade --as ADMIN` (see docs/vault-format.md)"
        case .authority(let detail): "the vault's authority chain does not verify, so nothing was done: \(detail)"
        case .rootReplaced(let detail):
            "the vault's authority chain was replaced: \(detail). Restore the vault from a backup you trust; see docs/vault-format.md"
        case .chainCut(let found, let expected):
            "the vault's authority chain holds \(found) records but this workspace has seen \(expected): records were removed (a revocation, a withdrawn approval). If an older vault file was restored on purpose, an admin accepts it with `nightjar vault accept-rollback --as ADMIN`"
        case .chainRewritten(let record):
            "record \(record) of the vault's authority chain differs from the one this workspace saw: the chain was rewritten. If an older vault file was restored on purpose, an admin accepts it with `nightjar vault accept-rollback --as ADMIN`"
        case .stateMissing(let path):
            "the vault's rollback state \(path) is missing, so an older vault file put back could not be told apart; nothing was opened. After a restore or a move to a new machine, an admin accepts the vault as it is with `nightjar vault accept-rollback --as ADMIN`"
        case .stateInvalid(let detail):
            "the vault's rollback state cannot be trusted: \(detail); nothing was opened. An admin who knows why accepts the vault as it is with `nightjar vault accept-rollback --as ADMIN`"
        }
    }

    public var location: SourceLocation? {
        switch self {
        case .invalidInput(_, let location), .nulByte(_, let location), .tooLarge(_, let location): return location
        case .invalidName(let error): return error.location
        default: return nil
        }
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .damaged, .rollback, .auditBroken: .dataError
        case .wrongPassphrase, .wrongKey, .notGranted, .roleRequired, .keyFilePermissions, .noUnlockSource:
            .noPermission
        case .noVault, .unknownPrincipal, .unknownClient, .unknownEntry: .noInput
        case .alreadyExists, .entryExists, .duplicatePrincipal: .cannotCreate
        case .kdfOutOfBounds: .dataError
        case .auditWriteFailed, .locked: .ioError
        case .invalidInput, .invalidName, .nulByte, .tooLarge: .dataError
        case .formatOutdated: .config
        case .authority, .rootReplaced, .chainCut, .chainRewritten, .stateInvalid: .dataError
        case .stateMissing: .noPermission
        }
    }
}
