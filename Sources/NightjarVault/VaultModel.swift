public import Foundation
public import NightjarCore

/// What a principal may do. Roles are checked by the commands; the keys enforce the rest:
/// a principal without a wrapped client key cannot read that client's entries whatever its role.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    /// Grants, revokes, rotation, operators, approving scraper definitions.
    case admin
    /// Adds and edits entries of the clients granted to it.
    case `operator`
    /// May start runs by hand.
    case runIntegrations = "run-integrations"
    /// Approves batches; never holds any client key.
    case reviewer

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The kinds of principal.
public enum PrincipalKind: String, Codable, Sendable {
    /// A person, with a passphrase.
    case `operator`
    /// A key file for unattended runs.
    case automation
    /// The offline recovery key printed at `vault init`.
    case recovery
}

/// Argon2id parameters as stored in the file.
struct KDFRecord: Codable, Sendable, Equatable {
    var memoryKiB: UInt32
    var iterations: UInt32
    var parallelism: UInt32
    var salt: Data
}

/// A principal's private keys, sealed under its passphrase (operators) or recovery key.
struct SealedKeys: Codable, Sendable, Equatable {
    /// nil for the recovery principal (its key is high-entropy; HKDF instead of Argon2id).
    var kdf: KDFRecord?
    var nonce: Data
    var ciphertext: Data
}

/// A principal as stored in the vault.
struct PrincipalRecord: Codable, Sendable, Equatable {
    var id: String
    var name: String
    var kind: PrincipalKind
    var roles: [Role]
    var exchangePublicKey: Data
    var signingPublicKey: Data
    var sealed: SealedKeys?
    var createdAt: String
    var disabledAt: String?
    /// Automation keys created with `--all-clients` receive every new client's key too.
    var allClients: Bool?
}

/// A key wrapped to one principal (age-style X25519 recipient stanza).
struct KeyWrap: Codable, Sendable, Equatable {
    var principal: String
    var ephemeral: Data
    var ciphertext: Data
}

/// One sealed field value.
struct SealedField: Codable, Sendable, Equatable {
    var nonce: Data
    var ciphertext: Data
}

/// A credential entry as stored: plain metadata and sealed fields.
struct EntryRecord: Codable, Sendable, Equatable {
    var portal: String
    var generation: Int
    var updatedAt: String
    var expires: String?
    var fields: [String: SealedField]
}

/// A client: its key wraps and its entries.
struct ClientRecord: Codable, Sendable, Equatable {
    var id: String
    var keyVersion: Int
    var wraps: [KeyWrap]
    var entries: [EntryRecord]
    var createdAt: String
}

/// A grant or revoke, kept so `vault access --at` can answer who could read a client when.
struct AccessEvent: Codable, Sendable, Equatable {
    var at: String
    var client: String
    var principal: String
    var granted: Bool
    var by: String
}

/// A password a revoked principal could read, to be changed at the portal.
public struct RotationMark: Codable, Sendable, Equatable {
    public var client: String
    public var portal: String
    public var reason: String
    public var markedAt: String
}

/// An approved version of a scraper definition.
public struct ScraperApproval: Codable, Sendable, Equatable {
    public var portal: String
    public var sha256: String
    public var approvedBy: String
    public var approvedAt: String
}

/// The authenticated body of the vault file.
struct VaultBody: Codable, Sendable, Equatable {
    var vaultID: Data
    var generation: Int
    var principals: [PrincipalRecord]
    var vaultKeyWraps: [KeyWrap]
    var clients: [ClientRecord]
    var accessHistory: [AccessEvent]
    var rotationMarks: [RotationMark]
    var approvals: [ScraperApproval]
    var writtenAt: String
    var writtenBy: String
}

