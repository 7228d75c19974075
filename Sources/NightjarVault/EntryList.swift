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
    /// `username`, `password`, `totp` (otpauth URI), `extra.NAME`.
    var fields: [String: SecretBytes]
    /// Fields that are not secrets (never registered with the redactor): `origins` (one
    /// canonical origin a line) and `notes`. Sealed with the rest all the same.
    var texts: [String: String] = [:]

    static let textFields: Set<String> = ["origins", "notes"]

    /// Every field's name.
    var fieldNames: [String] { (Array(fields.keys) + Array(texts.keys)).sorted() }

    func matches(portal: String, label: String?) -> Bool { self.portal == portal && self.label == label }
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
            writer.u8(entry.usernameIsSecret ? 1 : 0)
            writer.u16(entry.fields.count + entry.texts.count)
            for (name, value) in entry.fields.sorted(by: { $0.key < $1.key }) {
                writer.string(name)
                writer.block(value)
            }
            for (name, text) in entry.texts.sorted(by: { $0.key < $1.key }) {
                writer.string(name)
                writer.block(Array(text.utf8))
            }
        }
        let nonce = SecureRandom.bytes(12)
        return nonce + (try AEAD.seal(writer.bytes, key: key, nonce: nonce, associatedData: aad, algorithm: .aes256GCM))
    }

    static func open(_ sealed: [UInt8], key: SecretBytes, aad: [UInt8], client: String) throws(VaultError) -> [StoredEntry] {
        guard sealed.count >= 28 else { throw .damaged("client \(client)'s entries are cut short") }
        var plain: [UInt8]
        do {
            plain = try AEAD.open(Array(sealed[12...]), key: key, nonce: Array(sealed[0..<12]), associatedData: aad, algorithm: .aes256GCM)
        } catch {
            throw .damaged("client \(client)'s entries do not authenticate (moved, swapped, put back from an older copy, or altered)")
        }
        defer { SecretBytes.wipe(&plain) }
        let result = plain.withUnsafeBytes { bytes in Result { () throws(VaultError) in try decode(bytes, client: client) } }
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
            var fields: [String: SecretBytes] = [:]
            var texts: [String: String] = [:]
            fields.reserveCapacity(fieldCount)
            for _ in 0..<fieldCount {
                let name = try reader.string()
                if StoredEntry.textFields.contains(name) {
                    texts[name] = String(decoding: try reader.block(), as: UTF8.self)
                } else {
                    fields[name] = try reader.secretBlock()
                }
            }
            entries.append(StoredEntry(portal: portal, label: label.isEmpty ? nil : label, updatedAt: updatedAt,
                                       expires: expires.isEmpty ? nil : expires, usernameIsSecret: flags & 1 != 0, fields: fields, texts: texts))
        }
        guard reader.atEnd else { throw .damaged("client \(client)'s entries have unexpected trailing bytes") }
        return entries
    }
}
