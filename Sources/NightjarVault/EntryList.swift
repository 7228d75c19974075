import Foundation
import NightjarCore
import NightjarCrypto

/// One credential entry as held in memory once its client's entry list is open.
struct StoredEntry: Sendable {
    var portal: String
    var label: String?
    var updatedAt: String
    var expires: String?
    var usernameIsSecret: Bool
    /// The credential says `allow-http` (flag bit 2 of the stored entry).
    var allowsPlainHTTP = false
    var username: SecretBytes?
    var password: SecretBytes?
    /// The otpauth URI.
    var totp: SecretBytes?
    /// Extra fields by name (stored as `extra.NAME`).
    var extra: [String: SecretBytes] = [:]
    /// Not secrets (never registered with the redactor), sealed with the rest all the same:
    /// one canonical origin a line, and free notes.
    var origins: String?
    var notes: String?

    init(portal: String, label: String?, updatedAt: String, expires: String?, usernameIsSecret: Bool) {
        self.portal = portal
        self.label = label
        self.updatedAt = updatedAt
        self.expires = expires
        self.usernameIsSecret = usernameIsSecret
    }

    /// Sets a field by its stored name; false for a name this format does not know.
    @discardableResult
    mutating func set(_ name: String, _ value: SecretBytes?) -> Bool {
        switch name {
        case "username": username = value
        case "password": password = value
        case "totp": totp = value
        case "origins": origins = value.map { String(decoding: $0.unsafeArray(), as: UTF8.self) }
        case "notes": notes = value.map { String(decoding: $0.unsafeArray(), as: UTF8.self) }
        default:
            guard name.hasPrefix("extra.") else { return false }
            extra[String(name.dropFirst(6))] = value
        }
        return true
    }

    /// Every field, by stored name, in order.
    var storedFields: [(String, [UInt8])] {
        var fields: [(String, [UInt8])] = []
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) {
            fields.append(("extra.\(name)", value.unsafeArray()))
        }
        if let notes { fields.append(("notes", Array(notes.utf8))) }
        if let origins { fields.append(("origins", Array(origins.utf8))) }
        if let password { fields.append(("password", password.unsafeArray())) }
        if let totp { fields.append(("totp", totp.unsafeArray())) }
        if let username { fields.append(("username", username.unsafeArray())) }
        return fields
    }

    /// Every field's name, sorted.
    var fieldNames: [String] {
        var names = extra.keys.sorted().map { "extra.\($0)" }
        if notes != nil { names.append("notes") }
        if origins != nil { names.append("origins") }
        if password != nil { names.append("password") }
        if totp != nil { names.append("totp") }
        if username != nil { names.append("username") }
        return names
    }

    /// Whether a revoked principal could have read something to change at the portal.
    var holdsPortalSecret: Bool { password != nil || !extra.isEmpty }

    func matches(portal: String, label: String?) -> Bool { self.portal == portal && self.label == label }

    /// Portal, then label (none first), byte by byte (names are ASCII).
    static func precedes(_ a: StoredEntry, _ b: StoredEntry) -> Bool {
        if a.portal != b.portal { return a.portal.utf8.lexicographicallyPrecedes(b.portal.utf8) }
        return (a.label ?? "").utf8.lexicographicallyPrecedes((b.label ?? "").utf8)
    }
}

/// A client's entries, sealed as one AES-256-GCM message under the client's data key:
///
/// ```
/// u8 version (1) · u32 entry count · per entry: str portal · str label · str updated-at ·
/// str expires · u8 flags (bit 0: user name is secret) · u16 field count ·
/// per field: str name · u32 length · value
/// ```
/// (`str` is a u16 length and UTF-8 bytes; integers big-endian.) The associated data binds the
/// list to its vault, client, key version and the generation it was written at.
enum EntryList {
    static func associatedData(vaultID: Data, client: String, keyVersion: Int, generation: Int) -> [UInt8] {
        var aad = Array("nightjar-vault/2 entries".utf8) + [0] + Array(vaultID)
        for part in [client, String(keyVersion), String(generation)] { aad += [0] + Array(part.utf8) }
        return aad
    }

    static func seal(_ entries: [StoredEntry], key: SecretBytes, aad: [UInt8]) throws -> [UInt8] {
        var writer = BinaryWriter(capacity: entries.count * 160 + 8)
        defer { writer.wipe() }
        writer.u8(1)
        writer.u32(entries.count)
        for entry in entries {
            writer.string(entry.portal)
            writer.string(entry.label ?? "")
            writer.string(entry.updatedAt)
            writer.string(entry.expires ?? "")
            writer.u8((entry.usernameIsSecret ? 1 : 0) | (entry.allowsPlainHTTP ? 2 : 0))
            var fields = entry.storedFields
            defer { for index in fields.indices { SecretBytes.wipe(&fields[index].1) } }
            writer.u16(fields.count)
            for (name, value) in fields {
                writer.string(name)
                writer.block(value)
            }
        }
        let nonce = SecureRandom.bytes(12)
        return nonce + (try AEAD.seal(writer.bytes, key: key, nonce: nonce, associatedData: aad, algorithm: .aes256GCM))
    }

    static func open(_ sealed: [UInt8], key: SecretBytes, aad: [UInt8], client: String) throws(VaultError)
        -> [StoredEntry]
    {
        guard sealed.count >= 28 else { throw .damaged("client \(client)'s entries are cut short") }
        var plain: [UInt8]
        do {
            plain = try AEAD.open(
                Array(sealed[12...]), key: key, nonce: Array(sealed[0..<12]), associatedData: aad, algorithm: .aes256GCM
            )
        } catch {
            throw .damaged(
                "client \(client)'s entries do not authenticate (moved, swapped, put back from an older copy, or altered)"
            )
        }
        defer { SecretBytes.wipe(&plain) }
        let result = plain.withUnsafeBytes { bytes in
            Result { () throws(VaultError) in try decode(bytes, client: client) }
        }
        return try result.get()
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer, client: String) throws(VaultError) -> [StoredEntry] {
        var reader = BinaryReader(bytes, what: "client \(client)'s entries")
        guard try reader.u8() == 1 else { throw .damaged("client \(client)'s entries have an unknown version") }
        let count = try reader.u32()
        guard count <= reader.remaining / 12 else { throw .damaged("client \(client)'s entry count is impossible") }
        var entries: [StoredEntry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let portal = try reader.string()
            let label = try reader.string()
            let updatedAt = try reader.string()
            let expires = try reader.string()
            let flags = try reader.u8()
            let fieldCount = try reader.u16()
            var entry = StoredEntry(
                portal: portal, label: label.isEmpty ? nil : label, updatedAt: updatedAt,
                expires: expires.isEmpty ? nil : expires, usernameIsSecret: flags & 1 != 0)
            entry.allowsPlainHTTP = flags & 2 != 0
            for _ in 0..<fieldCount {
                let name = try reader.string()
                switch name {
                case "origins": entry.origins = String(decoding: try reader.block(), as: UTF8.self)
                case "notes": entry.notes = String(decoding: try reader.block(), as: UTF8.self)
                default:
                    guard entry.set(name, try reader.secretBlock()) else {
                        throw .damaged("client \(client)'s entries hold an unknown field")
                    }
                }
            }
            entries.append(entry)
        }
        guard reader.atEnd else { throw .damaged("client \(client)'s entries have unexpected trailing bytes") }
        return entries
    }
}
