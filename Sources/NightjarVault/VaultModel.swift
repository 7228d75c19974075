import Foundation
import NightjarCore

/// What a principal may do. Roles are granted and revoked by admins in the signed authority
/// chain; the keys enforce the rest: a principal without a wrapped client key cannot read that
/// client's entries whatever its role.
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    /// Grants, revokes, rotation, operators, approvals of definitions, profiles and rules.
    case admin
    /// Adds and edits entries of the clients granted to it.
    case `operator`
    /// May start runs by hand.
    case runIntegrations = "run-integrations"
    /// Approves batches of the clients it holds a review grant for; never holds any client key.
    case reviewer
    /// Reads the batches of the clients it holds a review grant for; approves nothing.
    case viewer

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Roles that never hold a client key.
    var holdsNoKeys: Bool { self == .reviewer || self == .viewer }
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

/// The files whose exact bytes an admin approves: they decide where secrets and money go.
public enum ApprovalSubject: String, Codable, Sendable, CaseIterable {
    /// A scraper definition (`scrapers/PORTAL.scraper`), by portal name.
    case scraper
    /// A layout profile (`profiles/NAME.profile`), by profile name.
    case profile
    /// A matching-rules file (`rules/NAME.rules`), by file name without `.rules`.
    case rules
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
    /// 2: the keys and the vault's root fingerprints; nil (format 1): the keys alone, left by
    /// an upgrade until the principal next unlocks.
    var version: Int?
}

/// A principal's sealed keys in the file. Everything else about a principal (name, kind,
/// public keys, roles) comes from the signed chain.
struct EnvelopeRecord: Codable, Sendable, Equatable {
    var principal: String
    var sealed: SealedKeys
}

/// A key wrapped to one principal (age-style X25519 recipient stanza).
struct KeyWrap: Codable, Sendable, Equatable {
    var principal: String
    var ephemeral: Data
    var ciphertext: Data
}

/// A password a revoked principal could read, to be changed at the portal.
public struct RotationMark: Codable, Sendable, Equatable {
    public var client: String
    public var portal: String
    public var label: String?
    public var reason: String
    public var markedAt: String

    /// `CLIENT/PORTAL[/LABEL]`
    public var entry: String { CredentialName(client: client, portal: portal, label: label).description }
}

/// An approved version of a file (a scraper definition, a profile, a rules file), as the chain holds it.
public struct Approval: Codable, Sendable, Equatable {
    public var subject: ApprovalSubject
    public var name: String
    public var sha256: String
    public var approvedBy: String
    public var approvedAt: String
}

/// An approved version of a scraper definition.
public typealias ScraperApproval = Approval

/// An e-mail address an admin approved to receive a client's reports.
public struct ReportRecipient: Codable, Sendable, Equatable {
    public var client: String
    public var address: String
    public var approvedBy: String
    public var approvedAt: String
}

/// The unsigned, MAC'd part of the file's header: who holds which sealed keys and wraps,
/// rotation marks. Authority is in the chain that follows it.
struct VaultHeader: Codable, Sendable, Equatable {
    var vaultID: Data
    var generation: Int
    var envelopes: [EnvelopeRecord]
    var vaultKeyWraps: [KeyWrap]
    var rotationMarks: [RotationMark]
    var writtenAt: String
    var writtenBy: String
}

/// A client as stored: its key wraps and its entries, sealed together under its data key.
struct ClientBlock: Sendable, Equatable {
    var id: String
    var keyVersion: Int
    /// The vault generation at which `sealed` was written (bound into its associated data).
    var sealedGeneration: Int
    var wraps: [KeyWrap]
    /// nonce (12 bytes) followed by the AES-256-GCM ciphertext and tag of the entry list.
    var sealed: [UInt8]
}

/// One stored, signed authority record: the exact payload bytes and their Ed25519 signature.
struct ChainEntry: Sendable, Equatable {
    var payload: [UInt8]
    var signature: [UInt8]
}

/// The whole vault file, parsed but not yet verified.
struct VaultBody: Sendable {
    var header: VaultHeader
    var chain: [ChainEntry]
    var clients: [ClientBlock]
}

/// A credential's name: `CLIENT/PORTAL` or `CLIENT/PORTAL/LABEL` (two logins at one portal).
public struct CredentialName: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let client: String
    public let portal: String
    /// Tells two credentials of one client at one portal apart (a vendor number, a division).
    public let label: String?

    public init(client: String, portal: String, label: String? = nil) {
        self.client = client
        self.portal = portal
        self.label = label.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Parses `CLIENT/PORTAL[/LABEL]`, each part by the identifier rule.
    public init(parsing text: String) throws(VaultError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 || parts.count == 3 else {
            throw .invalidInput(
                "\"\(text)\" is not a credential name: use CLIENT/PORTAL or CLIENT/PORTAL/LABEL, e.g. acme/sandbox-html-portal/vendor-2",
                location: nil)
        }
        try VaultNames.check(parts[0], field: "client name")
        try VaultNames.check(parts[1], field: "portal name")
        if parts.count == 3 { try VaultNames.check(parts[2], field: "credential label") }
        self.init(client: parts[0], portal: parts[1], label: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String { "\(client)/\(portal)" + (label.map { "/\($0)" } ?? "") }

    /// The portal as the night's run log keys it: `PORTAL` or `PORTAL/LABEL`.
    public var runItem: String { portal + (label.map { "/\($0)" } ?? "") }

    public static func < (lhs: CredentialName, rhs: CredentialName) -> Bool {
        (lhs.client, lhs.portal, lhs.label ?? "") < (rhs.client, rhs.portal, rhs.label ?? "")
    }
}

/// The identifier rule (NightjarCore) as vault errors.
enum VaultNames {
    static func check(_ value: String, field: String, location: SourceLocation? = nil) throws(VaultError) {
        do {
            try Identifier.validate(value, field: field, location: location)
        } catch {
            throw .invalidName(error)
        }
    }

    static func refuseNUL(_ secret: SecretBytes, field: String, location: SourceLocation? = nil) throws(VaultError) {
        do {
            try NULByte.refuse(in: secret, field: field, location: location)
        } catch {
            throw .nulByte(field: error.field, location: location)
        }
    }

    static func refuseNUL(_ text: String, field: String, location: SourceLocation? = nil) throws(VaultError) {
        if text.utf8.contains(0) { throw .nulByte(field: field, location: location) }
    }
}
