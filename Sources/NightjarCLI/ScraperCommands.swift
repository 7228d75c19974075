import Foundation
import NightjarAgent
import NightjarCore
import NightjarCrypto
import NightjarFileDrop
import NightjarHTTP
import NightjarLedger
import NightjarMail
import NightjarScript
import NightjarVault

/// `nightjar scraper ...`: check, try, record, test and approve scraper definitions.
enum ScraperCommands {
    static let runOptions: [OptionSpec] =
        [
            .client("the client whose credential CLIENT/PORTAL is used"),
            .value(
                "label", "LABEL", names: .identifier("credential label"),
                "which of the client's logins at the portal (CLIENT/PORTAL/LABEL)"),
            .value("from", "DATE", "first date of the range (YYYY-MM-DD)"),
            .value("to", "DATE", "last date of the range (YYYY-MM-DD)"),
            .value(
                "kind", "KIND", repeatable: true,
                "what to fetch: remittance (default), invoice, purchase_order, statement, other"),
            .value(
                "origin", "NAME=URL", repeatable: true,
                "run against another host for one origin, e.g. main=https://test.portal.example"),
            .value("har", "FILE", "record every exchange as a HAR file (redacted)"),
            .value("out", "DIR", "where downloads go (default: data/downloads/CLIENT/PORTAL)"),
            .flag(
                "retry-login", "you fixed the credential: allow one more login although one failed in the last 12 hours"
            ),
        ] + VaultCommands.unlockOptions

    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["scraper", "check"], effect: .readsOnly, summary: "check scraper definitions without sending anything",
                discussion: """
                    Parses and checks each FILE: unknown steps, names, functions and filters (with suggestions),
                    wrong types, vault values aimed at origins they may not reach, loops without a bound, blocks
                    that can never download. Errors are `file:line:column: message`. Exits 65 when any is found.

                    Example:
                      nightjar scraper check scrapers/*.scraper
                    """,
                arguments: [ArgumentSpec("FILE", "definition files", variadic: true)], run: check),
            CommandSpec(
                ["scraper", "try"], effect: .readsOnly,
                summary: "run one definition with one credential and report what it downloads",
                discussion: """
                    Uses scrapers/PORTAL.scraper (or a path to a .scraper file) with the vault entry CLIENT/PORTAL.
                    Logs in, fetches the range (split into the portal's window), saves each file and prints its
                    size, sha256 and what the page said about it. A definition an admin has not approved runs only
                    for an operator (--as) and only for that operator's clients; an automation key needs approval.
                    On failure it names the class (auth_failed, account_locked, mfa_required, portal_unavailable,
                    layout_changed, rate_limited, origin_refused, login_refused) and the step and line that raised it;
                    for layout_changed the surprising page is saved next to the HAR (or in reports/).

                    --dry-run resolves everything it can and prints the requests it would send, secrets redacted,
                    and sends nothing. --interactive asks for one-time codes a person must type (`ask` steps).

                    Example:
                      nightjar scraper try sandbox-html-portal --client acme --from 2026-11-01 --to 2026-11-30 --har nw.har --as bob
                    """,
                arguments: [
                    ArgumentSpec(
                        "PORTAL", "portal name or .scraper file",
                        names: .identifierOrPath("portal name", suffix: ".scraper"))
                ],
                options: runOptions + [
                    .flag("dry-run", "print the requests, send nothing"),
                    .flag("interactive", "ask for one-time codes (e-mail, SMS) on the terminal"),
                ],
                run: tryRun),
            CommandSpec(
                ["scraper", "record"], effect: .changesOther,
                summary: "run a definition live and save the run as a cassette for `scraper test`",
                discussion: """
                    Like `scraper try`, and saves every exchange to a cassette (default scrapers/PORTAL.cassette):
                    secrets redacted, bank account numbers masked, the live host replaced by the definition's origin,
                    so it replays anywhere. The cassette also lists the downloads a replay must produce.

                    Example:
                      nightjar scraper record sandbox-html-portal --client acme --from 2026-10-01 --to 2026-11-30 --as bob
                    """,
                arguments: [
                    ArgumentSpec(
                        "PORTAL", "portal name or .scraper file",
                        names: .identifierOrPath("portal name", suffix: ".scraper"))
                ],
                options: runOptions + [.value("cassette", "FILE", "where to write the cassette")], run: record),
            CommandSpec(
                ["scraper", "test"], effect: .readsOnly,
                summary: "replay cassettes offline; fails if a definition no longer downloads the same files",
                discussion: """
                    For each definition (default: every scrapers/*.scraper that has a .cassette beside it), replays
                    its cassette without the network and compares the downloads (names, hashes, captured metadata).

                    Example:
                      nightjar scraper test
                      nightjar scraper test scrapers/sandbox-html-portal.scraper
                    """,
                arguments: [ArgumentSpec("FILE", "definitions to test", optional: true, variadic: true)],
                options: [.value("dir", "DIR", "the folder of definitions (default: the workspace's scrapers/)")],
                run: test),
            CommandSpec(
                ["scraper", "approve"], effect: .changesOther,
                summary: "approve this exact version of a definition for the night run (admin)",
                discussion: """
                    Records the file's SHA-256 in the vault, signed into the audit log. The night run refuses a
                    definition whose hash is not approved; any edit needs a new approval.

                    Example:
                      nightjar scraper approve scrapers/sandbox-html-portal.scraper --as alice
                    """,
                arguments: [ArgumentSpec("FILE", "the definition")], options: VaultCommands.unlockOptions, run: approve),
        ]
    }

    // MARK: check

    static func check(_ invocation: Invocation) async throws -> ExitStatus {
        var failed = false
        struct Report: Encodable {
            let file: String
            let ok: Bool
            let portal: String?
            let sha256: String?
            let errors: [String]
        }
        var reports: [Report] = []
        for file in invocation.arguments {
            let read = Result { () throws(BoundedFileError) in
                try BoundedFile.readText(file, what: "scraper definition")
            }
            guard case .success(let text) = read else {
                guard case .failure(let error) = read, error.problem != .missing else {
                    throw GeneralError(code: "scraper.missing", message: "cannot read \(file)", exitStatus: .noInput)
                }
                // Too large or not UTF-8: refused before anything is parsed.
                failed = true
                let line =
                    error.problem == .notUTF8 ? "\(file):1:1: the file is not UTF-8 text" : "\(file): \(error.message)"
                reports.append(Report(file: file, ok: false, portal: nil, sha256: nil, errors: [line]))
                if !invocation.json { Console.standardError.line(line) }
                continue
            }
            do {
                let definition = try ScraperChecker.load(text, file: file)
                reports.append(
                    Report(file: file, ok: true, portal: definition.portal, sha256: definition.sha256, errors: []))
                if !invocation.json {
                    let blocks = (definition.login == nil ? [] : ["login"]) + definition.documents.map(\.kind.blockName)
                    Output.line(
                        "\(file): ok — portal \(definition.portal), origins \(definition.origins.map { "\($0.name) \($0.url)" }.joined(separator: ", ")); "
                            + "blocks \(blocks.joined(separator: ", ")); uses \(definition.vaultFields.map { "vault.\($0)" }.joined(separator: ", "))"
                    )
                }
            } catch {
                failed = true
                let lines = error.errors.map { "\($0.location?.description ?? file): \($0.message)" }
                reports.append(Report(file: file, ok: false, portal: nil, sha256: nil, errors: lines))
                if !invocation.json { for line in lines { Console.standardError.line(line) } }
            }
        }
        if invocation.json { try Output.json(reports) }
        return failed ? .dataError : .ok
    }

    // MARK: Loading

    /// A definition by portal name (from the workspace's scrapers/) or by a path ending in
    /// .scraper, read under the 1 MiB cap.
    static func loadDefinition(_ argument: String, workspace: Workspace) throws -> (ScraperDefinition, String) {
        let path: String
        if NameRule.isPath(argument, suffix: ".scraper") {
            path = argument
        } else {
            try Identifier.validate(argument, field: "portal name")
            path = workspace.scrapersDirectory + "/\(argument).scraper"
        }
        guard let text = try BoundedFile.readTextIfPresent(path, what: "scraper definition") else {
            throw GeneralError(code: "scraper.missing", message: "no definition at \(path)", exitStatus: .noInput)
        }
        return (try ScraperChecker.load(text, file: path), path)
    }

    static func dateRange(_ invocation: Invocation) throws -> DateRange {
        guard let from = invocation.value("from"), let to = invocation.value("to") else {
            throw UsageError("give the range with --from DATE --to DATE", command: invocation.command.name)
        }
        return try DateRange(from: try CalendarDate(iso: from), to: try CalendarDate(iso: to))
    }

    static func kinds(_ invocation: Invocation) throws -> [DocumentKind] {
        let names = invocation.values("kind")
        if names.isEmpty { return [.remittance] }
        return try names.map { name in
            guard let kind = DocumentKind(rawValue: name) else {
                throw UsageError(
                    "unknown kind `\(name)` (remittance, invoice, purchase_order, statement, other)",
                    command: invocation.command.name)
            }
            return kind
        }
    }

    /// What a run needs, from the workspace, the vault and the options.
    struct Prepared {
        let definition: ScraperDefinition
        let credential: ScriptCredential
        let options: ScraperRunOptions
        let workspace: Workspace
        let client: String
        let input: SecretInput
    }

    static func prepare(_ invocation: Invocation, dryRun: Bool) throws -> Prepared {
        let workspace = invocation.workspace
        let config = try workspace.requireExisting()
        guard let portalArgument = invocation.arguments.first else {
            throw UsageError("name the portal", command: invocation.command.name)
        }
        let (definition, _) = try loadDefinition(portalArgument, workspace: workspace)
        guard let client = invocation.value("client") else {
            throw UsageError("say which client: --client C", command: invocation.command.name)
        }
        let range = try dateRange(invocation)
        let (paths, input, method) = try VaultCommands.context(invocation)
        let vault = try Vault.open(paths: paths, as: method)
        if !vault.isApproved(portal: definition.portal, sha256: definition.sha256) {
            guard case .passphrase = method else {
                throw GeneralError(
                    code: "scraper.unapproved",
                    message:
                        "this version of \(definition.portal).scraper (sha256 \(definition.sha256.prefix(12))...) is not approved; an admin runs `nightjar scraper approve`, or an operator tries it with --as for their own clients",
                    exitStatus: .noPermission)
            }
            Logger(label: "scraper").notice(
                "\(definition.portal).scraper is not approved: running it for \(vault.principalName)'s own client \(client) only"
            )
        }
        let runID = "try-\(Logger.timestamp())"
        let entry = try vault.credential(
            client: client, portal: definition.portal, label: invocation.value("label"), purpose: .use(run: runID))
        let credential = scriptCredential(entry)
        var overrides = config.originOverrides(
            client: client, portal: definition.portal, firstOrigin: definition.origins[0].name)
        for pair in invocation.values("origin") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, definition.origins.contains(where: { $0.name == parts[0] }) else {
                throw UsageError(
                    "--origin takes NAME=URL with NAME one of \(definition.origins.map(\.name).joined(separator: ", "))",
                    command: invocation.command.name)
            }
            overrides[parts[0]] = parts[1]
        }
        let directory =
            invocation.value("out").map { Workspace.absolute($0) }
            ?? workspace.dataDirectory + "/downloads/\(client)/\(definition.portal)"
        return Prepared(
            definition: definition, credential: credential,
            options: ScraperRunOptions(
                range: range, kinds: try kinds(invocation), originOverrides: overrides,
                downloadDirectory: directory, dryRun: dryRun),
            workspace: workspace, client: client, input: input)
    }

    /// The interpreter's view of a vault credential.
    static func scriptCredential(_ entry: Credential) -> ScriptCredential {
        var fields: [String: String] = [:]
        if let username = entry.username?.unsafeUTF8String() { fields["username"] = username }
        if let password = entry.password?.unsafeUTF8String() { fields["password"] = password }
        for (name, value) in entry.extra { fields[name] = value.unsafeUTF8String() }
        let totp = entry.totp
        var generator: (@Sendable (UInt64) -> String)?
        if let totp {
            generator = { time in totp.code(at: time) }
        }
        return ScriptCredential(
            client: entry.client, portal: entry.portal, label: entry.label, fields: fields,
            allowedOrigins: entry.allowedOrigins.map(\.description), totp: generator, totpPeriod: totp?.period ?? 30,
            usernameIsSecret: entry.usernameIsSecret, allowsPlainHTTP: entry.allowsPlainHTTP)
    }

    // MARK: try / record

    static func tryRun(_ invocation: Invocation) async throws -> ExitStatus {
        let prepared = try prepare(invocation, dryRun: invocation.flag("dry-run"))
        if prepared.definition.source != .portal {
            let (outcome, _) = try await executeSource(prepared, invocation: invocation, recording: false)
            return report(outcome, prepared: prepared, invocation: invocation)
        }
        let (outcome, _) = try await execute(prepared, invocation: invocation, recording: false)
        return report(outcome, prepared: prepared, invocation: invocation)
    }

    static func record(_ invocation: Invocation) async throws -> ExitStatus {
        let prepared = try prepare(invocation, dryRun: false)
        if prepared.definition.source != .portal { return try await recordSource(prepared, invocation: invocation) }
        let (outcome, recorder) = try await execute(prepared, invocation: invocation, recording: true)
        let status = report(outcome, prepared: prepared, invocation: invocation)
        guard outcome.failure == nil, let recorder else { return status }
        let live = prepared.definition.origins.map { declaration -> (live: String, recorded: String) in
            let url = prepared.options.originOverrides[declaration.name] ?? declaration.url
            return (url.hasSuffix("/") ? String(url.dropLast()) : url, declaration.url)
        }
        var cassette = recorder.cassette(
            portal: prepared.definition.portal, range: prepared.options.range, kinds: prepared.options.kinds,
            origins: live)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "nightjar-replay-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (replayed, _) = await Cassette.verify(cassette, definition: prepared.definition, directory: scratch)
        if let failure = replayed.failure {
            throw GeneralError(
                code: "scraper.cassette_unreplayable", message: "the recording does not replay: \(failure.message)",
                exitStatus: .software)
        }
        guard replayed.downloads.count == outcome.downloads.count else {
            throw GeneralError(
                code: "scraper.cassette_unreplayable",
                message:
                    "the recording replays to \(replayed.downloads.count) downloads, the live run made \(outcome.downloads.count)",
                exitStatus: .software)
        }
        cassette.downloads = replayed.downloads.map {
            Cassette.ExpectedDownload(
                kind: $0.kind, fileName: $0.fileName, size: $0.size, sha256: $0.sha256, metadata: $0.metadata)
        }
        let path =
            invocation.value("cassette").map { Workspace.absolute($0) }
            ?? prepared.workspace.scrapersDirectory + "/\(prepared.definition.portal).cassette"
        let bytes = try cassette.encoded()
        // The cassette is already redacted and masked; once more through the redactor, owner-only.
        try SecureFile.writeAtomically(recorder.mask.redact(bytes: bytes), to: path, mode: 0o600)
        say(
            "cassette: \(path) (\(cassette.interactions.count) exchanges, \(cassette.downloads.count) downloads)",
            invocation)
        return status
    }

    /// A line for the person watching: on standard output, or on standard error under `--json`
    /// (where standard output holds the JSON report alone).
    static func say(_ line: String, _ invocation: Invocation) {
        if invocation.json { Console.standardError.line(line) } else { Output.line(line) }
    }

    /// A mailbox or SFTP drop tried or recorded: read only (nothing remembered, flagged or
    /// moved), with the workspace's CA bundle; recording keeps what the server gave.
    static func executeSource(_ prepared: Prepared, invocation: Invocation, recording: Bool) async throws
        -> (ScraperOutcome, (write: (String) throws -> Void, data: String)?)
    {
        let definition = prepared.definition
        let config = try prepared.workspace.requireExisting()
        let options = SourceRunOptions(
            range: prepared.options.range, kinds: prepared.options.kinds,
            originOverride: definition.origins.first.flatMap { prepared.options.originOverrides[$0.name] },
            downloadDirectory: prepared.options.downloadDirectory,
            timeZone: TimeZone(identifier: config.timeZone) ?? .current,
            tls: config.sourceCABundle.map { TLSSettings(caBundle: Workspace.absolute($0)) } ?? TLSSettings(),
            readOnly: true)
        let verbose = invocation.value("log-level") == "debug" || invocation.value("log-level") == "info"
        let trace: @Sendable (String) -> Void = { line in
            if verbose { Output.line("  " + line) } else { Logger(label: "scraper").debug(line) }
        }
        let loginGuard = DatabaseLoginGuard(open: WorkspaceDatabase.opener(prepared.workspace))
        func failed(_ error: any Error) -> ScraperOutcome {
            var outcome = ScraperOutcome()
            outcome.failure =
                error as? ScraperFailure
                ?? ScraperFailure(
                    .portalUnavailable, (error as? any NightjarError)?.message ?? "\(error)", location: nil)
            return outcome
        }
        switch definition.source {
        case .mailbox:
            let probe = MailboxReader(definition: definition, credential: prepared.credential, options: options)
            var recorder: RecordingMailbox?
            if recording {
                do { recorder = RecordingMailbox(try await probe.liveTransport()) } catch {
                    return (failed(error), nil)
                }
            }
            let reader = MailboxReader(
                definition: definition, credential: prepared.credential, options: options, transport: recorder,
                loginGuard: loginGuard, trace: trace)
            let outcome = await reader.run()
            if verbose { for line in reader.conversation { Output.line("    " + line) } }
            return (
                outcome, recorder.map { recorder in ({ try recorder.write(to: $0) }, "\(definition.portal).maildir") }
            )
        default:
            let probe = FileDropReader(definition: definition, credential: prepared.credential, options: options)
            var recorder: RecordingDrop?
            if recording {
                do { recorder = RecordingDrop(try probe.liveTransport()) } catch { return (failed(error), nil) }
            }
            let reader = FileDropReader(
                definition: definition, credential: prepared.credential, options: options, transport: recorder,
                loginGuard: loginGuard, trace: trace)
            let outcome = await reader.run()
            if verbose { for line in reader.conversation { Output.line("    " + line) } }
            return (outcome, recorder.map { recorder in ({ try recorder.write(to: $0) }, "\(definition.portal).drop") })
        }
    }

    /// `scraper record` for a mailbox or drop: the messages (a Maildir) or files it read beside
    /// `PORTAL.cassette`, which names the range and the documents a replay must produce.
    static func recordSource(_ prepared: Prepared, invocation: Invocation) async throws -> ExitStatus {
        let (outcome, recording) = try await executeSource(prepared, invocation: invocation, recording: true)
        let status = report(outcome, prepared: prepared, invocation: invocation)
        guard outcome.failure == nil, let recording else { return status }
        let path =
            invocation.value("cassette").map { Workspace.absolute($0) }
            ?? prepared.workspace.scrapersDirectory + "/\(prepared.definition.portal).cassette"
        let folder = (path as NSString).deletingLastPathComponent
        try recording.write(folder + "/" + recording.data)
        var cassette = SourceCassette(
            source: prepared.definition.source, portal: prepared.definition.portal, range: prepared.options.range,
            kinds: prepared.options.kinds, data: recording.data, downloads: [])
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
            "nightjar-replay-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let (replayed, _) = try await replaySource(
            cassette, definition: prepared.definition, cassettePath: path, directory: scratch)
        if let failure = replayed.failure {
            throw GeneralError(
                code: "scraper.cassette_unreplayable", message: "the recording does not replay: \(failure.message)",
                exitStatus: .software)
        }
        // A copy of a message read live (nothing is remembered while recording) is read once on replay.
        guard Set(replayed.downloads.map(\.sha256)) == Set(outcome.downloads.map(\.sha256)) else {
            throw GeneralError(
                code: "scraper.cassette_unreplayable",
                message:
                    "the recording replays to \(replayed.downloads.count) downloads, the live run made \(outcome.downloads.count)",
                exitStatus: .software)
        }
        cassette = SourceCassette(
            source: prepared.definition.source, portal: prepared.definition.portal, range: prepared.options.range,
            kinds: prepared.options.kinds, data: recording.data, downloads: replayed.downloads)
        try SecureFile.writeAtomically(Redactor.shared.redact(bytes: try cassette.encoded()), to: path, mode: 0o600)
        Output.line("cassette: \(path) (\(recording.data), \(cassette.downloads.count) downloads)")
        return status
    }

    /// A one-time code typed by a person (`--interactive`).
    struct PersonPrompt: OneTimeCodePrompt {
        let input: SecretInput
        func code(prompt: String, credential: String) async -> String? {
            (try? input.next("\(credential): \(prompt)"))?.unsafeUTF8String()?.trimmingCharacters(in: .whitespaces)
        }
    }

    static func execute(_ prepared: Prepared, invocation: Invocation, recording: Bool) async throws -> (
        ScraperOutcome, RecordingTransport?
    ) {
        let definition = prepared.definition
        if invocation.flag("retry-login") {
            let cleared = try LoginAttempts(database: try WorkspaceDatabase.open(at: prepared.workspace.databasePath))
                .clear(credential: prepared.credential.name)
            Logger(label: "scraper").notice(
                "cleared \(cleared) failed login(s) of \(prepared.credential.name); one more attempt is allowed")
        }
        let recorder =
            invocation.value("har") != nil
            ? HARRecorder(sensitiveNames: prepared.definition.settings.sensitiveNames) : nil
        let origins = definition.origins.map {
            ScraperChecker.origin(of: prepared.options.originOverrides[$0.name] ?? $0.url)
        }
        let session = await ScraperInterpreter.session(for: definition, origins: origins, recorder: recorder)
        let recording =
            recording ? RecordingTransport(session, sensitiveNames: prepared.definition.settings.sensitiveNames) : nil
        let verbose =
            invocation.flag("dry-run") || invocation.flag("verbose") || invocation.value("log-level") == "debug"
            || invocation.value("log-level") == "info"
        let interpreter = ScraperInterpreter(
            definition: definition, credential: prepared.credential, transport: recording ?? session,
            options: prepared.options,
            loginGuard: prepared.options.dryRun
                ? nil : DatabaseLoginGuard(open: WorkspaceDatabase.opener(prepared.workspace)),
            prompt: invocation.flag("interactive") ? PersonPrompt(input: prepared.input) : nil,
            totp: TOTPCodeSource(store: DatabaseTOTPStore(open: WorkspaceDatabase.opener(prepared.workspace))),
            trace: { line in if verbose { say("  " + line, invocation) } else { Logger(label: "scraper").debug(line) } }
        )
        let outcome = await interpreter.run()
        if let recorder, let har = invocation.value("har") {
            try recorder.write(to: Workspace.absolute(har))
            say("HAR: \(Workspace.absolute(har)) (\(recorder.count) exchanges)", invocation)
        }
        if let failure = outcome.failure, failure.failureClass == .layoutChanged, let page = failure.page {
            let folder =
                invocation.value("har").map { (Workspace.absolute($0) as NSString).deletingLastPathComponent }
                ?? prepared.workspace.reportsDirectory
            let path = folder + "/\(prepared.client)-\(definition.portal)-layout-changed.html"
            try RedactedFile.write(String(decoding: page, as: UTF8.self), to: path)
            say("the page that surprised us: \(path) (from \(failure.pageURL ?? "?"))", invocation)
        }
        return (outcome, recording)
    }

    struct DownloadLine: Encodable {
        let kind: String
        let file: String
        let path: String
        let size: Int
        let sha256: String
        let metadata: [String: String]
    }

    struct TryReport: Encodable {
        let portal: String
        let client: String
        let from: String
        let to: String
        let status: String
        let requests: Int
        let logins: Int
        let downloads: [DownloadLine]
        let failure: FailureLine?
    }

    struct FailureLine: Encodable {
        let failureClass: String
        let message: String
        let location: String?
        let step: String
        let advice: String
        enum CodingKeys: String, CodingKey {
            case failureClass = "class", message, location, step, advice
        }
    }

    static func report(_ outcome: ScraperOutcome, prepared: Prepared, invocation: Invocation) -> ExitStatus {
        let failure = outcome.failure.map {
            FailureLine(
                failureClass: $0.failureClass.rawValue, message: $0.problem, location: $0.location?.description,
                step: $0.step,
                advice: $0.failureClass.advice)
        }
        let lines = outcome.downloads.map {
            DownloadLine(
                kind: $0.kind.rawValue, file: $0.fileName, path: $0.path, size: $0.size, sha256: $0.sha256,
                metadata: $0.metadata)
        }
        if invocation.json {
            try? Output.json(
                TryReport(
                    portal: prepared.definition.portal, client: prepared.client,
                    from: prepared.options.range.from.description,
                    to: prepared.options.range.to.description, status: outcome.status, requests: outcome.requests,
                    logins: outcome.logins, downloads: lines, failure: failure))
        } else {
            for line in lines {
                let metadata = line.metadata.keys.sorted().map { "\($0)=\(line.metadata[$0]!)" }.joined(separator: " ")
                Output.line(
                    "\(line.kind.padding(11))\(line.file.padding(28)) \(String(line.size).padding(8)) sha256 \(line.sha256.prefix(16))  \(metadata)"
                )
            }
            if let failure {
                Output.line(
                    "\(prepared.credential.name): \(failure.failureClass) at \(failure.location ?? "?") (step `\(failure.step)`): \(failure.message)"
                )
                Output.line("  \(failure.advice)")
            } else {
                Output.line(
                    "\(prepared.credential.name): \(outcome.status) — \(outcome.downloads.count) file(s) in \(prepared.options.downloadDirectory), \(outcome.requests) request(s)"
                )
            }
        }
        return outcome.failure == nil ? .ok : .failure
    }

    // MARK: test

    static func test(_ invocation: Invocation) async throws -> ExitStatus {
        var files = invocation.arguments
        if files.isEmpty {
            let directory =
                invocation.value("dir").map { Workspace.absolute($0) } ?? invocation.workspace.scrapersDirectory
            files = invocation.workspace.namedFiles(in: directory, suffix: ".scraper").map(\.path)
            if files.isEmpty {
                throw GeneralError(
                    code: "scraper.none", message: "no definitions in \(directory)", exitStatus: .noInput)
            }
        }
        /// One definition's replay, as `--json` prints it.
        struct Replay: Encodable {
            let file: String
            let ok: Bool
            /// What was replayed (`3 downloads replayed from 12 exchanges`), or why there was nothing to replay.
            let summary: String
            let downloads: Int
            let problems: [String]
        }
        var replays: [Replay] = []
        for file in files {
            let (definition, path) = try loadDefinition(file, workspace: invocation.workspace)
            let cassettePath = (path as NSString).deletingPathExtension + ".cassette"
            guard let bytes = FileManager.default.contents(atPath: cassettePath) else {
                replays.append(
                    Replay(
                        file: path, ok: false,
                        summary: "no cassette (record one with `nightjar scraper record \(definition.portal)`)",
                        downloads: 0, problems: []))
                continue
            }
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
                "nightjar-replay-\(UUID().uuidString)"
            ).path
            defer { try? FileManager.default.removeItem(atPath: scratch) }
            if SourceCassette.isSourceCassette(Array(bytes)) {
                let cassette = try SourceCassette.decode(Array(bytes), file: cassettePath)
                let (outcome, problems) = try await replaySource(
                    cassette, definition: definition, cassettePath: cassettePath, directory: scratch)
                replays.append(
                    Replay(
                        file: path, ok: problems.isEmpty,
                        summary:
                            "\(outcome.downloads.count) downloads replayed from the recorded \(definition.source == .mailbox ? "mailbox" : "drop")"
                            + (outcome.refused.isEmpty ? "" : ", \(outcome.refused.count) refused as recorded"),
                        downloads: outcome.downloads.count, problems: problems))
                continue
            }
            let cassette = try Cassette.decode(Array(bytes), file: cassettePath)
            let (outcome, problems) = await Cassette.verify(cassette, definition: definition, directory: scratch)
            replays.append(
                Replay(
                    file: path, ok: problems.isEmpty,
                    summary:
                        "\(outcome.downloads.count) downloads replayed from \(cassette.interactions.count) exchanges",
                    downloads: outcome.downloads.count, problems: problems))
        }
        let failed = replays.filter { !$0.ok }.count
        if invocation.json {
            struct Report: Encodable {
                let ok: Bool
                let definitions: [Replay]
            }
            try Output.json(Report(ok: failed == 0, definitions: replays))
        } else {
            let paint = Console.standardOutput.paint
            for replay in replays {
                if replay.ok {
                    Output.line("\(paint("ok", .green))   \(replay.file): \(replay.summary)")
                } else if replay.problems.isEmpty {
                    Output.line("\(paint("FAIL", .red)) \(replay.file): \(replay.summary)")
                } else {
                    Output.line("\(paint("FAIL", .red)) \(replay.file):")
                    for problem in replay.problems { Output.line("       \(problem)") }
                }
            }
        }
        return failed == 0 ? .ok : .failure
    }

    /// Runs a mailbox or SFTP definition against its recording (a Maildir, a listing and its
    /// files) as a night would, and says how the outcome differs from the recorded one.
    static func replaySource(
        _ cassette: SourceCassette, definition: ScraperDefinition, cassettePath: String, directory: String
    ) async throws
        -> (ScraperOutcome, [String])
    {
        let data = (cassettePath as NSString).deletingLastPathComponent + "/" + cassette.data
        let credential = ScriptCredential(
            client: "replay", portal: definition.portal, fields: [:],
            allowedOrigins: definition.origins.map { SourceOrigin.canonical($0.url) })
        let options = SourceRunOptions(range: cassette.range, kinds: cassette.kinds, downloadDirectory: directory)
        let outcome: ScraperOutcome
        switch definition.source {
        case .mailbox:
            outcome = await MailboxReader(
                definition: definition, credential: credential, options: options,
                transport: try MaildirMailbox(path: data),
                memory: TransientSourceMemory()
            ).run()
        case .sftp:
            outcome = await FileDropReader(
                definition: definition, credential: credential, options: options,
                transport: try RecordedDrop(folder: data),
                memory: TransientSourceMemory()
            ).run()
        case .portal:
            throw GeneralError(
                code: "cassette.kind",
                message: "\(cassettePath) records a mailbox or SFTP drop, but \(definition.portal) is a portal",
                exitStatus: .dataError)
        }
        return (outcome, cassette.problems(with: outcome))
    }

    // MARK: approve

    static func approve(_ invocation: Invocation) async throws -> ExitStatus {
        guard let file = invocation.arguments.first else {
            throw UsageError("name the definition file", command: invocation.command.name)
        }
        let (definition, path) = try loadDefinition(file, workspace: invocation.workspace)
        let (paths, _, method) = try VaultCommands.context(invocation)
        try Vault.update(paths: paths, as: method) { vault in
            try vault.approveScraper(portal: definition.portal, sha256: definition.sha256)
        }
        Output.line("approved \(path): portal \(definition.portal), sha256 \(definition.sha256)")
        return .ok
    }
}
