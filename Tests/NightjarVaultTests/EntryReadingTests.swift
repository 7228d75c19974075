import Foundation
import NightjarCore
import NightjarCrypto
import Testing

@_spi(Testing) @testable import NightjarVault

/// The fast paths of opening entries (binary field names, stored origins read byte by byte,
/// the audit list written without the encoder, names found in list order) give exactly what
/// the general paths give.
@Suite("Entry reading")
struct EntryReadingTests {
    static func entry(_ portal: String, label: String? = nil, at updatedAt: String = "2026-12-01T10:00:00Z")
        -> StoredEntry
    {
        StoredEntry(portal: portal, label: label, updatedAt: updatedAt, expires: nil, usernameIsSecret: false)
    }

    static func decode(_ plain: [UInt8]) throws -> [StoredEntry] {
        let result = plain.withUnsafeBytes { bytes in
            Result { () throws(VaultError) in try EntryList.decode(bytes, client: "acme") }
        }
        return try result.get()
    }

    static func text(_ secret: SecretBytes?) -> String? { secret?.unsafeUTF8String() }

    @Test func everyFieldRoundTripsThroughTheEntryList() throws {
        var full = Self.entry("northwind", label: "vendor-2", at: "2026-11-30T08:00:00Z")
        full.expires = "2027-01-31"
        full.usernameIsSecret = true
        full.allowsPlainHTTP = true
        full.username = SecretBytes(utf8: "ap@acme.example")
        full.password = SecretBytes(utf8: "pässwörd \u{1F511}")
        full.totp = SecretBytes(utf8: "otpauth://totp/nightjar?secret=JBSWY3DPEHPK3PXP")
        full.extra = ["customer_number": SecretBytes(utf8: "C-99812"), "pin": SecretBytes(utf8: "4711")]
        full.origins = "https://a.example:443\nsftp://drop.example:2222"
        full.notes = "call Jürgen first"
        var second = Self.entry("globex", at: "2026-11-30T08:00:00Z")
        second.password = SecretBytes(utf8: "second")
        var third = Self.entry("initech", at: "2026-12-01T09:00:00Z")
        third.origins = ""
        var plain = EntryList.encode([full, second, third])
        defer { SecretBytes.wipe(&plain) }
        let read = try Self.decode(plain)

        #expect(read.map(\.portal) == ["northwind", "globex", "initech"])
        #expect(read.map(\.updatedAt) == ["2026-11-30T08:00:00Z", "2026-11-30T08:00:00Z", "2026-12-01T09:00:00Z"])
        #expect(read[0].label == "vendor-2" && read[1].label == nil)
        #expect(read[0].expires == "2027-01-31" && read[1].expires == nil)
        #expect(read[0].usernameIsSecret && read[0].allowsPlainHTTP && !read[1].usernameIsSecret)
        #expect(Self.text(read[0].username) == "ap@acme.example")
        #expect(Self.text(read[0].password) == "pässwörd \u{1F511}")
        #expect(Self.text(read[0].totp) == "otpauth://totp/nightjar?secret=JBSWY3DPEHPK3PXP")
        #expect(read[0].extra.mapValues { $0.unsafeUTF8String()! } == ["customer_number": "C-99812", "pin": "4711"])
        #expect(read[0].origins == "https://a.example:443\nsftp://drop.example:2222")
        #expect(read[0].notes == "call Jürgen first")
        #expect(
            read[0].fieldNames == [
                "extra.customer_number", "extra.pin", "notes", "origins", "password", "totp", "username",
            ])
        #expect(Self.text(read[1].password) == "second" && read[1].username == nil && read[1].totp == nil)
        #expect(read[1].fieldNames == ["password"])
        #expect(read[2].origins == "" && read[2].fieldNames == ["origins"])
    }

    @Test func aDamagedListIsRefusedAtEveryCut() throws {
        var entry = Self.entry("northwind", label: "vendor-2")
        entry.password = SecretBytes(utf8: "secret")
        entry.extra = ["customer_number": SecretBytes(utf8: "C-99812")]
        entry.origins = "https://a.example:443"
        let plain = EntryList.encode([entry, Self.entry("globex")])
        _ = try Self.decode(plain)
        for length in 0..<plain.count {
            #expect(throws: VaultError.self) { try Self.decode(Array(plain[..<length])) }
        }
        #expect(throws: VaultError.self) { try Self.decode(plain + [0]) }
        // A field name the format does not know, and one that is not UTF-8.
        for name in [Array("secret".utf8), [0x65, 0x78, 0x74, 0x72, 0x61, 0x2E, 0xFF]] {
            var writer = BinaryWriter()
            writer.u8(1)
            writer.u32(1)
            for text in ["northwind", "", "2026-12-01T10:00:00Z", ""] { writer.string(text) }
            writer.u8(0)
            writer.u16(1)
            writer.u16(name.count)
            writer.raw(name)
            writer.block(Array("value".utf8))
            #expect(throws: VaultError.self) { try Self.decode(writer.bytes) }
        }
        // Text that is not UTF-8 in a timestamp.
        var writer = BinaryWriter()
        writer.u8(1)
        writer.u32(1)
        writer.string("northwind")
        writer.string("")
        writer.u16(2)
        writer.raw([0xC3, 0x28])
        writer.string("")
        writer.u8(0)
        writer.u16(0)
        #expect(throws: VaultError.self) { try Self.decode(writer.bytes) }
    }

    @Test(arguments: [
        "https://portal.example:443", "http://127.0.0.1:8080", "imaps://mail.example:993", "imap://mail.example:143",
        "sftp://drop.example:22", "smtps://smtp.example:465", "smtp://smtp.example:587", "https://a-b_c.example:1",
        "https://x.example:65535", "https://[::1]:8443", "HTTPS://Portal.Example:443", "https://x.example:0443",
        "https://x.example:0", "https://x.example:65536", "https://x.example:999999", "https://:443",
        "https://x.example:", "https://x.example", "ftp://x.example:21", "https//x.example:443", "https:/x.example:443",
        "https://user@x.example:443", "https://x.example/path:443", "https://x y.example:443", "https://é.example:443",
        "https://x.example:44a",
    ])
    func storedOriginsReadAsTheFullParserReadsThem(_ line: String) {
        let full = try? Origin(line)
        let stored = try? Origin.storedList(line)
        #expect(stored == full.map { [$0] })
    }

    @Test func storedOriginListsSkipEmptyLines() throws {
        #expect(try Origin.storedList("") == [])
        #expect(
            try Origin.storedList("\nhttps://a.example:443\n\nsftp://b.example:22\n")
                == [try Origin("https://a.example"), try Origin("sftp://b.example")])
        #expect(throws: VaultError.self) { try Origin.storedList("https://a.example:443\nnot an origin") }
    }

    @Test(arguments: [
        ["acme/northwind", "acme/northwind/vendor-2", "globex/sandbox-json-api"],
        ["acme/a\"b", "acme/c"], ["acme/a\\b", "acme/c"], ["acme/é", "acme/c"], ["acme/a\u{7F}", "acme/c"],
        ["acme/a\nb", "acme/c"], ["acme/a\tb", "acme/c"], ["acme/\u{1}", "acme/c"], ["", ""],
    ])
    func auditPayloadsAreTheEncodersBytes(_ entries: [String]) throws {
        let record = AuditRecord(
            seq: 7, at: "2026-12-01T10:00:00Z", principalID: "p-1", principal: "night", action: "use",
            client: nil, entry: nil, entries: entries, run: "r-1", detail: "\"entries\":[] \\ é", prev: "00", sig: "")
        #expect(try record.payload() == Array(try VaultFile.encoder().encode(record)))
    }

    @Test func credentialsAreFoundInAnyOrder() throws {
        let vault = TestVault("any-order")
        defer { vault.remove() }
        try vault.populate()
        let portals = ["p1", "p2", "p3"]
        try Vault.update(paths: vault.paths, as: vault.admin) { v in
            try v.addEntries(
                portals.flatMap { portal in
                    [nil, "second"].map { label in
                        (
                            CredentialName(client: "acme", portal: portal, label: label),
                            CredentialInput(password: SecretBytes(utf8: "pw-\(portal)-\(label ?? "none")"))
                        )
                    }
                })
        }
        let v = try Vault.open(paths: vault.paths, as: vault.admin)
        let listed = try v.list(client: "acme").map(\.name)
        let orders = [
            listed, listed.reversed(),
            listed.enumerated().sorted { ($0.offset * 5) % 7 < ($1.offset * 5) % 7 }.map(\.element),
        ]
        for names in orders {
            let credentials = try v.credentials(names + [names[0]], purpose: .inspect)
            #expect(credentials.map(\.credentialName) == names + [names[0]])
            for credential in credentials where credential.portal.hasPrefix("p") {
                #expect(
                    credential.password?.unsafeUTF8String() == "pw-\(credential.portal)-\(credential.label ?? "none")")
            }
        }
        #expect(throws: VaultError.self) {
            try v.credentials([listed[0], CredentialName(client: "acme", portal: "p4")], purpose: .inspect)
        }
        // Clients interleaved: each client's place in its list is kept while another's is read.
        let everyone = try v.list().map(\.name)
        let globex = everyone.filter { $0.client == "globex" }
        #expect(!globex.isEmpty)
        var interleaved: [CredentialName] = []
        for (index, name) in listed.enumerated() {
            interleaved.append(name)
            interleaved.append(globex[index % globex.count])
        }
        let credentials = try v.credentials(interleaved, purpose: .inspect)
        #expect(credentials.map(\.credentialName) == interleaved)
        for credential in credentials where credential.client == "acme" && credential.portal.hasPrefix("p") {
            #expect(credential.password?.unsafeUTF8String() == "pw-\(credential.portal)-\(credential.label ?? "none")")
        }
    }

    @Test func theFileMACIsCheckedWhereTheBytesAre() throws {
        let vault = TestVault("mac-in-place")
        defer { vault.remove() }
        try vault.populate()
        let v = try Vault.open(paths: vault.paths, as: vault.admin)
        let original = try VaultFile.read(vault.paths.vault)
        var bytes = original
        let (matches, mac) = VaultFile.checkMAC(&bytes, vaultKey: v.vaultKey)
        #expect(matches && bytes == original && mac == Array(original.suffix(VaultFile.macSize)))
        for position in [0, original.count / 2, original.count - VaultFile.macSize - 1, original.count - 1] {
            var flipped = original
            flipped[position] ^= 0x01
            let copy = flipped
            #expect(!VaultFile.checkMAC(&flipped, vaultKey: v.vaultKey).matches)
            #expect(flipped == copy)
        }
        var short = Array(original.prefix(VaultFile.macSize - 1))
        #expect(!VaultFile.checkMAC(&short, vaultKey: v.vaultKey).matches)
    }
}

/// The stored form of TOTP settings is read without a URL parser, to the same settings and
/// refusals as the general path.
@Suite("Stored TOTP settings")
struct StoredTOTPTests {
    static func outcome(_ parse: () throws -> TOTPSettings) -> String {
        do {
            let settings = try parse()
            return "\(settings.secret.unsafeArray()) \(settings.algorithm) \(settings.digits) \(settings.period)"
        } catch let error as VaultError {
            return "refused: \(error.message)"
        } catch {
            return "other error"
        }
    }

    @Test func whatTheVaultWritesIsReadWithoutTheURLParser() throws {
        for algorithm in [HMACAlgorithm.sha1, .sha256, .sha512] {
            for (digits, period) in [(6, 30), (8, 60), (7, 10), (6, 300)] {
                let written = TOTPSettings(
                    secret: SecretBytes(Array("12345678901234567890".utf8)), algorithm: algorithm, digits: digits,
                    period: period
                ).uri()
                let fast = try #require(try TOTPSettings.storedForm(written))
                #expect(Self.outcome { fast } == Self.outcome { try TOTPSettings.parseAnyForm(written) })
            }
        }
    }

    @Test(arguments: [
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA256&digits=006&period=030",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=5&period=30",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=9&period=30",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=9",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=301",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=3000",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA384&digits=6&period=30",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=sha1&digits=6&period=30",
        "otpauth://totp/nightjar?secret=gezdgnbvgy3tqojq&algorithm=SHA1&digits=6&period=30",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ====&algorithm=SHA1&digits=6&period=30",
        "otpauth://totp/nightjar?secret=GEZDG&algorithm=SHA1&digits=6&period=30",
        "otpauth://totp/nightjar?secret=&algorithm=SHA1&digits=6&period=30",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30&issuer=x",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&digits=6&algorithm=SHA1&period=30",
        "otpauth://totp/nightjar?secret=GEZD&digits=8&algorithm=SHA1&digits=6&period=30",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30\n",
        "otpauth://hotp/nightjar?secret=GEZDGNBVGY3TQOJQ&algorithm=SHA1&digits=6&period=30",
        "otpauth://totp/nightjar?secret=GEZDGNBVGY3TQOJ1&algorithm=SHA1&digits=6&period=30",
        "GEZDGNBVGY3TQOJQ",
    ])
    func anyTextGivesWhatTheGeneralPathGives(_ text: String) {
        let secret = SecretBytes(utf8: text)
        #expect(
            Self.outcome { try TOTPSettings.parse(secret) } == Self.outcome { try TOTPSettings.parseAnyForm(secret) })
    }
}
