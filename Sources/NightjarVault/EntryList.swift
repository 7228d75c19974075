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
        var mask = 0
        if notes != nil { mask |= 1 }
        if origins != nil { mask |= 2 }
        if password != nil { mask |= 4 }
        if totp != nil { mask |= 8 }
        if username != nil { mask |= 16 }
        if extra.isEmpty { return StoredEntry.namedFields[mask] }
        return extra.keys.sorted().map { "extra.\($0)" } + StoredEntry.namedFields[mask]
    }

    /// The names of the fields other than extra ones, in order, for each set of them (bit 0
    /// notes, 1 origins, 2 password, 3 totp, 4 username): made once, shared by every entry.
    private static let namedFields: [[String]] = (0..<32).map { mask in
        ["notes", "origins", "password", "totp", "username"].enumerated().compactMap {
            mask & (1 << $0.offset) != 0 ? $0.element : nil
        }
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
        var plain = encode(entries)
        defer { SecretBytes.wipe(&plain) }
        let nonce = SecureRandom.bytes(12)
        return nonce + (try AEAD.seal(plain, key: key, nonce: nonce, associatedData: aad, algorithm: .aes256GCM))
    }

    /// The plaintext of a list (it holds secrets: the caller wipes it).
    static func encode(_ entries: [StoredEntry]) -> [UInt8] {
        var writer = BinaryWriter(capacity: entries.count * 160 + 8)
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
        return writer.bytes
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

    /// Stored field names, matched as bytes (no `String` is made for a known name).
    private static let usernameField = Array("username".utf8)
    private static let passwordField = Array("password".utf8)
    private static let totpField = Array("totp".utf8)
    private static let originsField = Array("origins".utf8)
    private static let notesField = Array("notes".utf8)
    private static let extraPrefix = Array("extra.".utf8)

    static func decode(_ bytes: UnsafeRawBufferPointer, client: String) throws(VaultError) -> [StoredEntry] {
        var reader = BinaryReader(bytes, what: "client \(client)'s entries")
        guard try reader.u8() == 1 else { throw .damaged("client \(client)'s entries have an unknown version") }
        let count = try reader.u32()
        guard count <= reader.remaining / 12 else { throw .damaged("client \(client)'s entry count is impossible") }
        var entries: [StoredEntry] = []
        entries.reserveCapacity(count)
        // Entries written together share their timestamps: the text is made once and shared.
        var lastUpdatedAt = ""
        var lastUpdatedAtBytes = UnsafeRawBufferPointer(start: nil, count: 0)
        for _ in 0..<count {
            let portal = try reader.string()
            let label = try reader.string()
            let updatedAtStart = reader.offset
            let updatedAtBytes = try reader.stringBytes()
            let updatedAt: String
            if BinaryReader.same(updatedAtBytes, lastUpdatedAtBytes) {
                updatedAt = lastUpdatedAt
            } else {
                guard let text = BinaryReader.text(updatedAtBytes) else {
                    throw .damaged(
                        "client \(client)'s entries hold text that is not UTF-8 at byte \(updatedAtStart + 2)")
                }
                updatedAt = text
                lastUpdatedAt = text
                lastUpdatedAtBytes = updatedAtBytes
            }
            let expires = try reader.string()
            let flags = try reader.u8()
            let fieldCount = try reader.u16()
            entries.append(
                StoredEntry(
                    portal: portal, label: label.isEmpty ? nil : label, updatedAt: updatedAt,
                    expires: expires.isEmpty ? nil : expires, usernameIsSecret: flags & 1 != 0))
            // Filled in place, in the list (a half-read entry goes with the list when this throws).
            let last = entries.count - 1
            entries[last].allowsPlainHTTP = flags & 2 != 0
            for _ in 0..<fieldCount {
                let name = try reader.stringBytes()
                if BinaryReader.same(name, usernameField) {
                    entries[last].username = try reader.secretBlock()
                } else if BinaryReader.same(name, passwordField) {
                    entries[last].password = try reader.secretBlock()
                } else if BinaryReader.same(name, originsField) {
                    entries[last].origins = String(decoding: try reader.blockBytes(), as: UTF8.self)
                } else if BinaryReader.same(name, totpField) {
                    entries[last].totp = try reader.secretBlock()
                } else if BinaryReader.same(name, notesField) {
                    entries[last].notes = String(decoding: try reader.blockBytes(), as: UTF8.self)
                } else if name.starts(with: extraPrefix), let text = BinaryReader.text(name) {
                    entries[last].extra[String(text.dropFirst(extraPrefix.count))] = try reader.secretBlock()
                } else {
                    throw .damaged("client \(client)'s entries hold an unknown field")
                }
            }
        }
        guard reader.atEnd else { throw .damaged("client \(client)'s entries have unexpected trailing bytes") }
        return entries
    }
}
