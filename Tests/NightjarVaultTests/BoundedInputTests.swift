import Foundation
import NightjarCore
@_spi(Testing) import NightjarCrypto
import Testing

@_spi(Testing) @testable import NightjarVault

/// Bad input at the vault's door: derivation settings, leftover files, key and passphrase files
/// others could swap, NUL bytes, names.
@Suite("Vault: bounded and well-formed input")
struct BoundedInputTests {
    @Test(arguments: [
        (UInt32(4 * 1024 * 1024), UInt32(3), UInt32(4)),  // the old maximum, 4 GiB
        (UInt32(1024 * 1024 + 1), UInt32(3), UInt32(4)),  // just over 1 GiB
        (UInt32(64 * 1024), UInt32(11), UInt32(4)),  // 11 passes
        (UInt32(64 * 1024), UInt32(3), UInt32(9)),  // 9 lanes
    ])
    func derivationSettingsOutsideThePolicyAreRefusedBeforeAnyDerivation(memory: UInt32, passes: UInt32, lanes: UInt32)
        throws
    {
        let vault = TestVault("kdf-policy")
        defer { vault.remove() }
        try vault.populate()
        let opened = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false)
        var body = opened.body
        let index = body.header.envelopes.firstIndex { $0.principal == opened.actorID }!
        body.header.envelopes[index].sealed.kdf!.memoryKiB = memory
        body.header.envelopes[index].sealed.kdf!.iterations = passes
        body.header.envelopes[index].sealed.kdf!.parallelism = lanes
        vault.write(try VaultFile.serialize(body, vaultKey: opened.vaultKey))
        let before = VaultKDFPolicy.derivations(memoryKiB: memory)
        #expect {
            try Vault.open(paths: vault.paths, as: vault.admin)
        } throws: { error in
            let error = error as? VaultError
            return error?.code == "vault.kdf_out_of_bounds"
                && error?.message.hasPrefix("the vault's key derivation settings are outside the policy") == true
                && error?.message.contains("wrong passphrase") == false
        }
        #expect(VaultKDFPolicy.derivations(memoryKiB: memory) == before, "a derivation ran")
    }

    @Test func leftoverTemporaryFilesAreRemovedButNeverALiveWritersOne() throws {
        let vault = TestVault("leftovers")
        defer { vault.remove() }
        try vault.populate()
        let dead = vault.folder + "/" + SecureFile.temporaryPrefix(for: vault.paths.vault) + "dead01"
        let deadState = vault.folder + "/" + SecureFile.temporaryPrefix(for: vault.paths.state) + "dead02"
        let live = vault.folder + "/" + SecureFile.temporaryPrefix(for: vault.paths.vault) + "live01"
        for path in [dead, deadState, live] {
            #expect(
                FileManager.default.createFile(
                    atPath: path, contents: Data("half a vault".utf8), attributes: [.posixPermissions: 0o600]))
        }
        // A live writer holds its temporary file locked until it renames it.
        let writer = open(live, O_RDWR | O_CLOEXEC)
        #expect(writer >= 0)
        defer { close(writer) }
        #expect(flock(writer, LOCK_EX | LOCK_NB) == 0)
        _ = try Vault.open(paths: vault.paths, as: vault.admin)
        #expect(!FileManager.default.fileExists(atPath: dead))
        #expect(!FileManager.default.fileExists(atPath: deadState))
        #expect(FileManager.default.fileExists(atPath: live))
        // Once its writer is gone, it goes too.
        flock(writer, LOCK_UN)
        _ = try Vault.open(paths: vault.paths, as: vault.admin)
        #expect(!FileManager.default.fileExists(atPath: live))
    }

    @Test func keyAndPassphraseFilesAreCheckedLikeStrictModes() throws {
        let vault = TestVault("strict")
        defer { vault.remove() }
        try vault.populate()
        let folder = vault.folder + "/keys"
        try FileManager.default.createDirectory(
            atPath: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let keyPath = folder + "/night.key"
        try Vault.update(paths: vault.paths, as: vault.admin) {
            try $0.createAutomationKey(name: "night", clients: nil).write(to: keyPath)
        }
        let passphrasePath = folder + "/alice.pass"
        _ = FileManager.default.createFile(
            atPath: passphrasePath, contents: Data("admin passphrase é&<\n".utf8),
            attributes: [.posixPermissions: 0o600])
        #expect(throws: Never.self) { try AutomationKey.load(path: keyPath) }
        #expect(try PassphraseFile.read(passphrasePath) == TestVault.adminPassphrase)
        func refused(
            _ body: () throws -> Void, _ phrase: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
        ) {
            #expect(sourceLocation: sourceLocation) { try body() } throws: { error in
                (error as? VaultError)?.code == "vault.key_file_permissions"
                    && (error as? VaultError)?.message.contains(phrase) == true
            }
        }
        // A 0600 file in a folder others can write: the file could be swapped.
        for mode in [mode_t(0o777), 0o770, 0o722] {
            chmod(folder, mode)
            refused({ _ = try AutomationKey.load(path: keyPath) }, "writable by group or others")
            refused({ _ = try PassphraseFile.read(passphrasePath) }, "writable by group or others")
        }
        chmod(folder, 0o700)
        // The file itself readable by others.
        for mode in [mode_t(0o644), 0o640, 0o604, 0o660] {
            chmod(keyPath, mode)
            chmod(passphrasePath, mode)
            refused({ _ = try AutomationKey.load(path: keyPath) }, "chmod 600")
            refused({ _ = try PassphraseFile.read(passphrasePath) }, "chmod 600")
        }
        chmod(keyPath, 0o400)
        #expect(throws: Never.self) { try AutomationKey.load(path: keyPath) }
        // A link in place of the file.
        let link = folder + "/link.key"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: keyPath)
        refused({ _ = try AutomationKey.load(path: link) }, "symbolic link")
    }

    @Test(arguments: ["username", "password", "extra field customer_number", "notes", "passphrase"])
    func nulBytesAreRefusedInEverySecretAndTextFieldWithTheFieldNamed(field: String) throws {
        let vault = TestVault("nul")
        defer { vault.remove() }
        try vault.populate()
        let nul = SecretBytes([0x61, 0x62, 0x00, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68])
        #expect {
            try Vault.update(paths: vault.paths, as: vault.admin) { v in
                switch field {
                case "username":
                    try v.addEntry(client: "acme", portal: "sandbox-json-api", CredentialInput(username: nul))
                case "password":
                    try v.addEntry(client: "acme", portal: "sandbox-json-api", CredentialInput(password: nul))
                case "notes":
                    try v.addEntry(client: "acme", portal: "sandbox-json-api", CredentialInput(notes: "a\u{0}b"))
                case "passphrase": try v.addOperator(name: "dana", roles: [.viewer], passphrase: nul)
                default:
                    try v.editEntry(
                        client: "acme", portal: "sandbox-html-portal", CredentialInput(extra: ["customer_number": nul]))
                }
            }
        } throws: { error in
            (error as? VaultError)?.code == "input.nul_byte"
                && (error as? VaultError)?.message == "the \(field) contains a NUL byte, which is never allowed"
        }
        #expect(try Vault.open(paths: vault.paths, as: vault.admin).list().count == 2)
    }

    @Test func nulBytesInACredentialFileAreRefusedWithTheColumnAndLine() throws {
        #expect {
            try CredentialCSV.parse(
                "portal,username,password\nsandbox-html-portal,ap,ok-pass\nsandbox-json-api,ar,bad\u{0}pass\n",
                file: "creds.csv", defaultClient: "acme")
        } throws: { error in
            let error = error as? VaultError
            return error?.code == "input.nul_byte" && error?.message.contains("password") == true
                && error?.location?.line == 3
        }
        #expect {
            try CredentialCSV.parse(
                "portal,password\n" + String(repeating: "x", count: CredentialCSV.maximumBytes), file: "big.csv",
                defaultClient: "acme")
        } throws: { error in
            (error as? VaultError)?.code == "input.too_large"
                && (error as? VaultError)?.message.contains("at most 50 MB") == true
        }
    }

    @Test(arguments: [
        ".", "..", "a/b", "../..", "acme/../..", "acme%2F..", ".hidden", "a b", "ünïcode", "",
        String(repeating: "x", count: 65), "a\u{0}b",
    ])
    func namesTheRuleRefusesNeverEnterTheVault(name: String) throws {
        let vault = TestVault("names")
        defer { vault.remove() }
        try vault.populate()
        let attempts: [(String, (Vault) throws -> Void)] = [
            (
                "client name",
                {
                    try $0.addEntry(
                        client: name, portal: "sandbox-html-portal",
                        CredentialInput(password: SecretBytes(utf8: "password-1")))
                }
            ),
            (
                "portal name",
                {
                    try $0.addEntry(
                        client: "acme", portal: name, CredentialInput(password: SecretBytes(utf8: "password-1")))
                }
            ),
            (
                "credential label",
                {
                    try $0.addEntry(
                        client: "acme", portal: "sandbox-html-portal", label: name,
                        CredentialInput(password: SecretBytes(utf8: "password-1")))
                }
            ),
            (
                "operator name",
                { try $0.addOperator(name: name, roles: [.viewer], passphrase: SecretBytes(utf8: "passphrase-1")) }
            ),
            ("automation key name", { _ = try $0.createAutomationKey(name: name, clients: nil) }),
            ("client name", { try $0.addClient(name) }),
            ("client name", { try $0.addReportRecipient(client: name, address: "ap@acme.example") }),
            ("scraper name", { try $0.approve(.scraper, name: name, sha256: String(repeating: "0", count: 64)) }),
        ]
        for (field, attempt) in attempts where !(name.isEmpty && field == "credential label") {
            #expect {
                try Vault.update(paths: vault.paths, as: vault.admin) { try attempt($0) }
            } throws: { error in
                let error = error as? VaultError
                return (error?.code == "input.invalid_name" && error?.message.contains("the \(field) ") == true)
                    || error?.code == "input.nul_byte"
            }
        }
        #expect(throws: VaultError.self) { try CredentialName(parsing: "acme/sandbox-html-portal/\(name)") }
        #expect(
            try Vault.open(paths: vault.paths, as: vault.admin).list().map(\.name.description) == [
                "acme/sandbox-html-portal", "globex/sandbox-json-api",
            ])
    }

    /// A TOTP secret or otpauth URI is a few hundred bytes at most; one past the cap (a CSV field
    /// may be a mebibyte) is refused before it is parsed or decoded.
    @Test func aTOTPSecretOrURIOverTheCapIsRefusedBeforeItIsParsed() throws {
        let secret = "JBSWY3DPEHPK3PXP"
        #expect(try TOTPSettings.parse(SecretBytes(utf8: secret)).digits == 6)
        let uri =
            "otpauth://totp/Acme:ap?secret=\(secret)&issuer="
            + String(repeating: "a", count: TOTPSettings.maximumTextBytes)
        let long = String(repeating: secret, count: TOTPSettings.maximumTextBytes / secret.count + 1)
        for text in [uri, long] {
            #expect { try TOTPSettings.parse(SecretBytes(utf8: text)) } throws: { error in
                (error as? VaultError)?.code == "input.too_large"
                    && (error as? VaultError)?.message.contains("at most \(TOTPSettings.maximumTextBytes)") == true
            }
        }
        let atTheCap = String(repeating: "A", count: TOTPSettings.maximumTextBytes)
        #expect(
            try TOTPSettings.parse(SecretBytes(utf8: atTheCap)).secret.count == TOTPSettings.maximumTextBytes * 5 / 8)
    }
}
