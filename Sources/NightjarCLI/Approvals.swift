import Foundation
import NightjarCore
import NightjarCrypto
import NightjarDocuments
import NightjarMatching
import NightjarVault

/// Approvals of the files that decide where secrets and money go (profiles and matching-rules
/// files; scraper definitions are approved by `scraper approve`): the commands that sign them
/// and the checks the night makes before it uses them.
enum FileApprovals {
    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["profile", "approve"], effect: .changesOther,
                summary: "approve this exact version of a layout profile for the night (admin)",
                discussion: """
                    The night imports files only with profiles whose exact bytes an admin approved; a changed
                    profile waits for a new approval. Recorded in the vault's signed authority chain.

                    Example:
                      nightjar profile approve sandbox-html-portal-remittance --as alice
                    """,
                arguments: [
                    ArgumentSpec(
                        "NAME", "profiles/NAME.profile, or a path",
                        names: .identifierOrPath("profile name", suffix: ".profile"))
                ], options: VaultCommands.unlockOptions,
                run: { try await approve(.profile, $0) }),
            CommandSpec(
                ["rules", "approve"], effect: .changesOther,
                summary: "approve this exact version of a matching-rules file for the night (admin)",
                discussion: """
                    A client whose rules file (rules/CLIENT.rules, else rules/default.rules) is not approved in
                    its exact bytes is not run by the night. Recorded in the vault's signed authority chain.

                    Example:
                      nightjar rules approve acme --as alice
                      nightjar rules approve default --as alice
                    """,
                arguments: [
                    ArgumentSpec(
                        "NAME", "rules/NAME.rules (a client or default), or a path",
                        names: .identifierOrPath("rules name", suffix: ".rules"))
                ], options: VaultCommands.unlockOptions,
                run: { try await approve(.rules, $0) }),
        ]
    }

    /// The file an approval names: `DIR/NAME.EXT`, or a path whose file name gives the name.
    static func file(_ subject: ApprovalSubject, _ argument: String, workspace: Workspace) throws -> (
        name: String, path: String
    ) {
        let suffix = subject == .profile ? ".profile" : ".rules"
        let directory = subject == .profile ? workspace.profilesDirectory : workspace.rulesDirectory
        if NameRule.isPath(argument, suffix: suffix) {
            let base = (argument as NSString).lastPathComponent
            let name = String(base.dropLast(suffix.count))
            try Identifier.validate(name, field: "\(subject.rawValue) name")
            return (name, Workspace.absolute(argument))
        }
        try Identifier.validate(argument, field: "\(subject.rawValue) name")
        return (argument, directory + "/" + argument + suffix)
    }

    /// Hex SHA-256 of the file's bytes (a profile or rules file, read under the 1 MiB cap).
    static func digest(_ path: String) throws -> String {
        SHA256.hash(try BoundedFile.read(path, what: path.hasSuffix(".rules") ? "rules file" : "profile")).hexString
    }

    static func approve(_ subject: ApprovalSubject, _ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        let (name, path) = try file(subject, invocation.argument("NAME")!, workspace: workspace)
        let bytes = try BoundedFile.read(path, what: subject == .profile ? "profile" : "rules file")
        let sha256 = SHA256.hash(bytes).hexString
        // A file that does not parse is never approved.
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BoundedFileError(what: subject == .profile ? "profile" : "rules file", path: path, problem: .notUTF8)
        }
        if subject == .profile {
            _ = try LayoutProfileParser.parse(text, file: path)
        } else {
            _ = try MatchingRules.parse(text, file: path)
        }
        let (paths, _, method) = try VaultCommands.context(invocation)
        try Vault.update(paths: paths, as: method) { try $0.approve(subject, name: name, sha256: sha256) }
        Output.line("approved \(path): \(subject.rawValue) \(name), sha256 \(sha256)")
        return .ok
    }

    /// The workspace's profiles whose exact bytes are approved, and a warning for each one that is not.
    static func approvedProfiles(_ workspace: Workspace, vault: Vault) throws -> (
        profiles: [LayoutProfile], unapproved: [LayoutProfile], warnings: [String]
    ) {
        var profiles: [LayoutProfile] = []
        var unapproved: [LayoutProfile] = []
        var warnings: [String] = []
        for file in workspace.namedFiles(in: workspace.profilesDirectory, suffix: ".profile") {
            let (name, path) = (file.name, file.path)
            let sha256 = try digest(path)
            guard vault.isApproved(.profile, name: name, sha256: sha256) else {
                warnings.append(
                    "profile \(name): \(path) is not approved in this version, so files only it reads are not imported (nightjar profile approve \(name))"
                )
                if let profile = try? ImportCommands.loadProfile(path, workspace: workspace) {
                    unapproved.append(profile)
                }
                continue
            }
            profiles.append(try ImportCommands.loadProfile(path, workspace: workspace))
        }
        return (profiles, unapproved, warnings)
    }

    /// Why the night may not match `client`'s batches with the rules file that applies to it, or nil.
    static func rulesProblem(_ workspace: Workspace, client: String, vault: Vault) throws -> String? {
        for name in [client, "default"] {
            let path = workspace.rulesDirectory + "/\(name).rules"
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let sha256 = try digest(path)
            if vault.isApproved(.rules, name: name, sha256: sha256) { return nil }
            return "\(client): \(path) is not approved in this version (nightjar rules approve \(name))"
        }
        return nil
    }
}
