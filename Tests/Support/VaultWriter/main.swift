// Test support for the vault's crash test: saves the vault in a loop until killed.
// Usage: nightjar-vault-writer VAULT AUDIT STATE PASSPHRASE
// Uses the cheap KDF profile, which only test code (like this program) can select.
import Foundation
import NightjarCore
@_spi(Testing) import NightjarVault

let arguments = CommandLine.arguments
guard arguments.count == 5 else {
    FileHandle.standardError.write(Data("usage: nightjar-vault-writer VAULT AUDIT STATE PASSPHRASE\n".utf8))
    exit(64)
}
VaultKDFPolicy.allowTestingProfile()
let paths = VaultPaths(vault: arguments[1], audit: arguments[2], state: arguments[3])
let method = UnlockMethod.passphrase(name: "alice", SecretBytes(utf8: arguments[4]))
var step = 0
FileHandle.standardOutput.write(Data("READY\n".utf8))
while true {
    step += 1
    do {
        try Vault.update(paths: paths, as: method) { vault in
            let name = "portal-\(getpid())-\(step)"
            try vault.addEntry(
                client: "acme", portal: name,
                CredentialInput(password: SecretBytes(utf8: "password-\(step)-long-enough")))
        }
    } catch {
        FileHandle.standardError.write(Data("writer: \(error)\n".utf8))
        exit(1)
    }
}
