import Foundation
import NightjarCore
import Testing

@_spi(Testing) @testable import NightjarVault

/// A vault in a fresh temporary folder, with the cheap KDF profile only test code can select.
struct TestVault {
    let folder: String
    let paths: VaultPaths

    static let adminPassphrase = SecretBytes(utf8: "admin passphrase é&<")

    init(_ label: String = "vault") {
        VaultKDFPolicy.allowTestingProfile()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("nj-\(label)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        paths = VaultPaths(
            vault: folder + "/nightjar.vault", audit: folder + "/audit.log", state: folder + "/vault-state")
    }

    var admin: UnlockMethod { .passphrase(name: "alice", TestVault.adminPassphrase) }

    /// Creates the vault with admin alice and two clients with one entry each.
    @discardableResult
    func populate() throws -> SecretBytes {
        let (_, recovery) = try Vault.create(paths: paths, adminName: "alice", passphrase: TestVault.adminPassphrase)
        try Vault.update(paths: paths, as: admin) { vault in
            try vault.addEntry(
                client: "acme", portal: "sandbox-html-portal",
                CredentialInput(
                    username: SecretBytes(utf8: "ap@acme.example"),
                    password: SecretBytes(utf8: "acme-sandbox-html-portal-pw"),
                    totp: try TOTPSettings.parse(SecretBytes(utf8: "JBSWY3DPEHPK3PXP")),
                    extra: ["customer_number": SecretBytes(utf8: "C-99812")],
                    allowedOrigins: [try Origin("https://suppliers.sandbox-html-portal.example")]))
            try vault.addEntry(
                client: "globex", portal: "sandbox-json-api",
                CredentialInput(
                    username: SecretBytes(utf8: "ar@globex.example"),
                    password: SecretBytes(utf8: "globex-sandbox-json-api-pw"),
                    allowedOrigins: [try Origin("https://portal.sandbox-json-api.example")]))
        }
        return recovery
    }

    func bytes() -> [UInt8] { Array(FileManager.default.contents(atPath: paths.vault)!) }
    /// Overwrites the vault file in place (no fsync: sweeps write it thousands of times).
    func write(_ bytes: [UInt8]) {
        let descriptor = open(paths.vault, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(descriptor >= 0)
        _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
    }

    func remove() { try? FileManager.default.removeItem(atPath: folder) }
}
