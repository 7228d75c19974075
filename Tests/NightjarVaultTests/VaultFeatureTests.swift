import Foundation
import NightjarCore
import NightjarCrypto
import Testing

@_spi(Testing) @testable import NightjarVault

/// Logins per client, one-write imports, review grants, report recipients, approvals of every kind.
@Suite("Vault: logins per client, review scope, recipients")
struct VaultFeatureTests {
    @Test func twoLoginsOfOneClientAtOnePortalAreTwoCredentials() throws {
        let vault = TestVault("labels")
        defer { vault.remove() }
        try vault.populate()
        try Vault.update(paths: vault.paths, as: vault.admin) { v in
            try v.addEntry(
                client: "acme", portal: "sandbox-html-portal", label: "vendor-2",
                CredentialInput(
                    username: SecretBytes(utf8: "ap2@acme.example"), password: SecretBytes(utf8: "second-vendor-pw"),
                    usernameIsSecret: true))
            #expect(throws: VaultError.entryExists("acme/sandbox-html-portal/vendor-2")) {
                try v.addEntry(
                    client: "acme", portal: "sandbox-html-portal", label: "vendor-2",
                    CredentialInput(password: SecretBytes(utf8: "again-pw-1")))
            }
        }
        let opened = try Vault.open(paths: vault.paths, as: vault.admin)
        #expect(
            try opened.list(client: "acme").map(\.name.description) == [
                "acme/sandbox-html-portal", "acme/sandbox-html-portal/vendor-2",
            ])
        let first = try opened.credential(client: "acme", portal: "sandbox-html-portal", purpose: .inspect)
        let second = try opened.credential(
            try CredentialName(parsing: "acme/sandbox-html-portal/vendor-2"), purpose: .inspect)
        #expect(first.password?.unsafeUTF8String() == "acme-sandbox-html-portal-pw" && !first.usernameIsSecret)
        #expect(second.password?.unsafeUTF8String() == "second-vendor-pw" && second.usernameIsSecret)
        #expect(second.name == "acme/sandbox-html-portal/vendor-2" && second.label == "vendor-2")
        // Both in one run: one audit record naming each.
        let both = try opened.credentials(try opened.list(client: "acme").map(\.name), purpose: .use(run: "r1"))
        #expect(both.map(\.name) == ["acme/sandbox-html-portal", "acme/sandbox-html-portal/vendor-2"])
        #expect(
            try opened.auditRecords().last?.entries == [
                "acme/sandbox-html-portal", "acme/sandbox-html-portal/vendor-2",
            ])
        // Removing one leaves the other.
        try Vault.update(paths: vault.paths, as: vault.admin) {
            try $0.removeEntry(client: "acme", portal: "sandbox-html-portal", label: "vendor-2")
        }
        #expect(
            try Vault.open(paths: vault.paths, as: vault.admin).list(client: "acme").map(\.name.description) == [
                "acme/sandbox-html-portal"
            ])
        try Vault.update(paths: vault.paths, as: vault.admin) {
            try $0.editEntry(client: "acme", portal: "sandbox-html-portal", CredentialInput(usernameIsSecret: true))
        }
        #expect(
            try Vault.open(paths: vault.paths, as: vault.admin).credential(
                client: "acme", portal: "sandbox-html-portal", purpose: .inspect
            ).usernameIsSecret)
    }

    @Test func oneFileOnboardsManyClientsInOneWriteOrNoneAtAll() throws {
        let vault = TestVault("import")
        defer { vault.remove() }
        try vault.populate()
        var csv = "client,portal,label,username,password,origins,username_is_secret\n"
        for client in 0..<50 {
            csv +=
                "c\(client),sandbox-html-portal,,user\(client),pw-\(client)-secret,https://suppliers.sandbox-html-portal.example,no\n"
        }
        csv += "c7,sandbox-html-portal,vendor-2,user7b,pw-7b-secret,https://suppliers.sandbox-html-portal.example,yes\n"
        let rows = try CredentialCSV.parse(csv, file: "clients.csv")
        #expect(rows.count == 51)
        let generation = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false).generation
        let auditBefore = try AuditLog.readAll(vault.paths.audit).count
        try Vault.update(paths: vault.paths, as: vault.admin) {
            try $0.addEntries(rows.map { ($0.name(defaultClient: nil)!, $0.input) })
        }
        let opened = try Vault.open(paths: vault.paths, as: vault.admin, auditUnlock: false)
        #expect(opened.generation == generation + 1)
        let records = try AuditLog.readAll(vault.paths.audit).dropFirst(auditBefore)
        #expect(records.count == 1 && records.first?.action == "import" && records.first?.entries?.count == 51)
        #expect(opened.accessibleClients.count == 52)
        #expect(
            try opened.credential(client: "c7", portal: "sandbox-html-portal", label: "vendor-2", purpose: .inspect)
                .usernameIsSecret)
        #expect(
            try opened.credential(client: "c49", portal: "sandbox-html-portal", purpose: .inspect).password?
                .unsafeUTF8String() == "pw-49-secret")
        // The clients were made in one signed record.
        #expect(opened.authorityRecords().last?.operations.filter { $0.hasPrefix("add client") }.count == 50)
        // A bad row anywhere: nothing imported.
        let bad = try CredentialCSV.parse(
            "client,portal,password\nnew-1,sandbox-html-portal,pw-aaaa-1\nacme,sandbox-html-portal,pw-bbbb-2\n",
            file: "bad.csv")
        #expect(throws: VaultError.entryExists("acme/sandbox-html-portal")) {
            try Vault.update(paths: vault.paths, as: vault.admin) {
                try $0.addEntries(bad.map { ($0.name(defaultClient: nil)!, $0.input) })
            }
        }
        #expect(!(try Vault.open(paths: vault.paths, as: vault.admin).accessibleClients.contains("new-1")))
        // The same name twice in one file, with the line.
        #expect {
            try CredentialCSV.parse(
                "client,portal,label,password\na,p,x,pw-1\nb,p,x,pw-2\na,p,x,pw-3\n", file: "dup.csv")
        } throws: { error in
            (error as? VaultError)?.location?.line == 4
                && (error as? VaultError)?.message.contains("a/p/x appears twice") == true
        }
        // An operator cannot create clients through an import.
        let bob = SecretBytes(utf8: "bob passphrase 1")
        try Vault.update(paths: vault.paths, as: vault.admin) {
            try $0.addOperator(name: "bob", roles: [.operator], passphrase: bob)
        }
        #expect(throws: VaultError.unknownClient("new-2")) {
            try Vault.update(paths: vault.paths, as: .passphrase(name: "bob", bob)) { vault in
                try vault.addEntries([
                    (
                        CredentialName(client: "new-2", portal: "p"),
                        CredentialInput(password: SecretBytes(utf8: "pw-cccc-3"))
                    )
                ])
            }
        }
    }

    @Test func reviewGrantsDecideWhatEachPrincipalReadsAndApproves() throws {
        let vault = TestVault("scope")
        defer { vault.remove() }
        try vault.populate()
        let pass = SecretBytes(utf8: "a passphrase 1")
        try Vault.update(paths: vault.paths, as: vault.admin) { v in
            try v.addOperator(name: "carol", roles: [.reviewer], passphrase: pass)
            try v.addOperator(name: "dana", roles: [.viewer], passphrase: pass)
            try v.addOperator(name: "erin", roles: [.reviewer], passphrase: pass)
            try v.addOperator(name: "bob", roles: [.operator], passphrase: pass)
            try v.grantReview(to: "carol", client: "acme")
            try v.grantReview(to: "carol", client: "initech")  // a client with no credentials in the vault
            try v.grantReview(to: "dana", client: "acme")
            try v.grantReview(to: "erin", client: nil)
            #expect(throws: VaultError.self) { try v.grantReview(to: "bob", client: "acme") }
            #expect(throws: VaultError.self) { try v.grant("dana", client: "acme") }
        }
        let admin = try Vault.open(paths: vault.paths, as: vault.admin)
        let alice = admin.reviewScope
        #expect(alice.mayRead(client: "anything") && alice.mayApprove(client: "anything") && alice.mayReverse)
        let carol = try admin.reviewScope(of: "carol")
        #expect(
            carol.mayRead(client: "acme") && carol.mayApprove(client: "acme") && carol.mayApprove(client: "initech"))
        #expect(!carol.mayRead(client: "globex") && !carol.mayApprove(client: "globex") && !carol.mayReverse)
        let dana = try Vault.open(paths: vault.paths, as: .passphrase(name: "dana", pass)).reviewScope
        #expect(dana.mayRead(client: "acme") && !dana.mayApprove(client: "acme") && !dana.mayRead(client: "globex"))
        let erin = try admin.reviewScope(of: "erin")
        #expect(erin.approvesAllClients && erin.mayApprove(client: "a-client-added-later"))
        let bob = try admin.reviewScope(of: "bob")
        #expect(!bob.readsAllClients && bob.readableClients.isEmpty && bob.approvableClients.isEmpty)
        // Grants end; roles change; only admins do either.
        #expect(throws: VaultError.roleRequired(principal: "carol", role: .admin)) {
            try Vault.update(paths: vault.paths, as: .passphrase(name: "carol", pass)) {
                try $0.grantReview(to: "carol", client: "globex")
            }
        }
        try Vault.update(paths: vault.paths, as: vault.admin) { v in
            try v.revokeReview(from: "carol", client: "acme")
            try v.grantRole(.viewer, to: "bob")
            try v.grantReview(to: "bob", client: "globex")
            #expect(throws: VaultError.self) { try v.revokeRole(.reviewer, from: "erin") }  // her only role
            try v.grantRole(.viewer, to: "erin")
            try v.revokeRole(.reviewer, from: "erin")
        }
        let after = try Vault.open(paths: vault.paths, as: vault.admin)
        #expect(!(try after.reviewScope(of: "carol")).mayRead(client: "acme"))
        #expect(
            try after.reviewScope(of: "bob").mayRead(client: "globex")
                && !(try after.reviewScope(of: "bob")).mayApprove(client: "globex"))
        let erinAfter = try after.reviewScope(of: "erin")
        #expect(erinAfter.readsAllClients && !erinAfter.approvesAllClients && !erinAfter.mayApprove(client: "acme"))
        #expect(after.principals().first { $0.name == "erin" }?.roles == [.viewer])
    }

    @Test func reportRecipientsAreApprovedPerClientByAnAdmin() throws {
        let vault = TestVault("recipients")
        defer { vault.remove() }
        try vault.populate()
        try Vault.update(paths: vault.paths, as: vault.admin) { v in
            try v.addReportRecipient(client: "acme", address: "ar-team@ACME.Example")
            try v.addReportRecipient(client: "acme", address: "controller@acme.example")
            try v.addReportRecipient(client: "globex", address: "ap@globex.example")
            for bad in [
                "not an address", "a@b", "x@-bad-.example", "two@@at.example", "a@b.example\r\nBcc: evil@x.example",
                "ü@acme.example",
            ] {
                #expect(throws: VaultError.self) { try v.addReportRecipient(client: "acme", address: bad) }
            }
        }
        let opened = try Vault.open(paths: vault.paths, as: vault.admin)
        #expect(
            opened.reportRecipients(client: "acme").map(\.address) == [
                "ar-team@acme.example", "controller@acme.example",
            ])
        #expect(opened.reportRecipients(client: "acme").first?.approvedBy == "alice")
        #expect(opened.reportRecipients(client: "initech").isEmpty)
        #expect(opened.reportRecipients().count == 3)
        let bob = SecretBytes(utf8: "bob passphrase 1")
        try Vault.update(paths: vault.paths, as: vault.admin) {
            try $0.addOperator(name: "bob", roles: [.operator], passphrase: bob)
        }
        #expect(throws: VaultError.roleRequired(principal: "bob", role: .admin)) {
            try Vault.update(paths: vault.paths, as: .passphrase(name: "bob", bob)) {
                try $0.addReportRecipient(client: "acme", address: "bob@evil.example")
            }
        }
        try Vault.update(paths: vault.paths, as: vault.admin) {
            try $0.removeReportRecipient(client: "acme", address: "controller@acme.example")
        }
        #expect(
            try Vault.open(paths: vault.paths, as: vault.admin).reportRecipients(client: "acme").map(\.address) == [
                "ar-team@acme.example"
            ])
    }

    @Test func profilesAndRulesFilesAreApprovedByTheirExactBytes() throws {
        let vault = TestVault("approvals")
        defer { vault.remove() }
        try vault.populate()
        let profile = SHA256.hash(Array("kind = remittance\n".utf8)).hexString
        let rules = SHA256.hash(Array("reason.04 = promotion\n".utf8)).hexString
        try Vault.update(paths: vault.paths, as: vault.admin) { v in
            try v.approve(.profile, name: "sandbox-html-portal-remittance", sha256: profile)
            try v.approve(.rules, name: "acme", sha256: rules)
            #expect(throws: VaultError.self) { try v.approve(.rules, name: "acme", sha256: "not-a-digest") }
        }
        let opened = try Vault.open(paths: vault.paths, as: vault.admin)
        #expect(opened.isApproved(.profile, name: "sandbox-html-portal-remittance", sha256: profile))
        #expect(!opened.isApproved(.profile, name: "sandbox-html-portal-remittance", sha256: rules))
        #expect(!opened.isApproved(.rules, name: "globex", sha256: rules))
        #expect(opened.approval(.rules, name: "acme", sha256: rules)?.approvedBy == "alice")
        try Vault.update(paths: vault.paths, as: vault.admin) {
            try $0.withdrawApproval(.rules, name: "acme", sha256: rules)
        }
        #expect(!(try Vault.open(paths: vault.paths, as: vault.admin)).isApproved(.rules, name: "acme", sha256: rules))
    }
}
