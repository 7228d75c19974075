import Foundation
public import NightjarCore
import NightjarDocuments
public import NightjarHTTP
public import NightjarScript

/// Runs a mailbox definition for one credential: signs in once, searches each `messages` query
/// over the night's range, reads each message not read before (by folder, UIDVALIDITY and UID,
/// and by Message-ID), picks its documents by the `attachments` and `body` rules, and hands each
/// one over like a portal download. A message that cannot be read is reported and the run goes on.
public final class MailboxReader: Sendable {
    public let definition: ScraperDefinition
    let credential: ScriptCredential
    let options: SourceRunOptions
    let transport: (any MailboxTransport)?
    let memory: (any SourceMemory)?
    let loginGuard: (any LoginGuard)?
    let trace: @Sendable (String) -> Void
    let onDownload: (@Sendable (DownloadRecord) async -> Void)?

    /// `transport` nil: the live server of the definition (or `options.originOverride`).
    public init(
        definition: ScraperDefinition, credential: ScriptCredential, options: SourceRunOptions,
        transport: (any MailboxTransport)? = nil,
        memory: (any SourceMemory)? = nil, loginGuard: (any LoginGuard)? = nil,
        trace: @escaping @Sendable (String) -> Void = { _ in },
        onDownload: (@Sendable (DownloadRecord) async -> Void)? = nil
    ) {
        self.definition = definition
        self.credential = credential
        self.options = options
        self.transport = transport
        self.memory = memory
        self.loginGuard = loginGuard
        self.trace = trace
        self.onDownload = onDownload
    }

    /// The server a run talks to: the override, else the definition's origin.
    public var server: String { options.server(of: definition) }

    /// The live transport a run would use, signed in with the credential (and a fresh OAuth
    /// access token). Throws a `ScraperFailure` for what the night must report.
    public func liveTransport() async throws -> IMAPMailbox {
        let origin = SourceOrigin.canonical(server)
        guard credential.allows(origin: origin) else {
            throw ScraperFailure(
                .originRefused,
                "refused to sign in to \(origin): the credential \(credential.name) does not allow that origin (allowed: \(credential.allowedOrigins.isEmpty ? "none" : credential.allowedOrigins.joined(separator: ", ")))",
                location: definition.origins.first?.location)
        }
        var settings = CurlConnection.Settings(protocols: "imaps,imap")
        settings.username = try credential.requiredField("username", for: definition)
        settings.tls = options.tls
        if definition.signInMethod == .oauth2 {
            let token = try await OAuth2.refresh(credential, definition: definition, tls: options.tls)
            trace(
                "access token refreshed at the credential's token endpoint"
                    + (token.expiresIn.map { " (valid \($0) s)" } ?? ""))
            if token.rotatedRefreshToken {
                trace(
                    "warning: the token endpoint issued a new refresh token; Nightjar keeps using the stored one (store the new one if the provider retires old tokens)"
                )
            }
            settings.bearerToken = token.token
        } else {
            settings.password = try credential.requiredField("password", for: definition)
        }
        return IMAPMailbox(server: server, connection: try CurlConnection(settings))
    }

    /// Runs the definition. Never throws: a failure is part of the outcome.
    public func run() async -> ScraperOutcome {
        var outcome = ScraperOutcome()
        var attempt: Int64?
        do {
            // The one sign-in of the night is journalled before anything carrying the credential
            // leaves, the token refresh included.
            if let loginGuard { attempt = try loginGuard.begin(credential: credential.name) }
            outcome.logins = 1
            trace("signing in to \(server) as \(credential.name)")
            let mailbox: any MailboxTransport
            do {
                if let transport { mailbox = transport } else { mailbox = try await liveTransport() }
                used.value = mailbox
                try await mailbox.signIn()
            } catch let failure as ScraperFailure {
                if let attempt {
                    try? loginGuard?.finish(attempt, outcome: MailboxReader.journalOutcome(failure.failureClass))
                }
                attempt = nil
                throw failure
            } catch {
                let failure = MailboxReader.failure(
                    for: error,
                    location: definition.sourceSettings.signInLocation ?? definition.origins.first?.location,
                    signingIn: true)
                if let attempt {
                    try? loginGuard?.finish(attempt, outcome: MailboxReader.journalOutcome(failure.failureClass))
                }
                attempt = nil
                throw failure
            }
            if let attempt { try loginGuard?.finish(attempt, outcome: "succeeded") }
            attempt = nil
            try await read(mailbox, into: &outcome)
        } catch let failure as ScraperFailure {
            outcome.failure = failure
        } catch {
            outcome.failure = MailboxReader.failure(for: error, location: nil, signingIn: false)
        }
        return outcome
    }

    /// The conversation of the last run (commands and answers, secrets masked), for the trace file.
    public var conversation: [String] { used.value?.trace ?? [] }
    private let used = TransportBox()

    final class TransportBox: @unchecked Sendable {
        private let lock = NSLock()
        private var transport: (any MailboxTransport)?
        var value: (any MailboxTransport)? {
            get { lock.withLock { transport } }
            set { lock.withLock { transport = newValue } }
        }
    }

    static func journalOutcome(_ failureClass: FailureClass) -> String {
        switch failureClass {
        case .portalUnavailable, .rateLimited, .originRefused: "unavailable"
        default: failureClass.rawValue
        }
    }

    /// How a transport error ends the credential's run.
    static func failure(for error: any Error, location: SourceLocation?, signingIn: Bool) -> ScraperFailure {
        if let failure = error as? ScraperFailure { return failure }
        guard let transfer = error as? TransferError else {
            return ScraperFailure(.portalUnavailable, "\(error)", location: location)
        }
        switch transfer {
        case .loginDenied:
            return ScraperFailure(
                .authFailed,
                "the server refused the sign-in: check the credential (a mail provider may need an app password or OAuth2); not retried tonight",
                location: location)
        case .hostKeyChanged, .hostKeyUnknown, .hostKeyUnpinned:
            return ScraperFailure(.hostKeyChanged, transfer.message, location: location)
        case .notFound(let detail) where !signingIn:
            return ScraperFailure(.layoutChanged, "the mailbox changed: \(detail)", location: location)
        default:
            return ScraperFailure(.portalUnavailable, transfer.message, location: location)
        }
    }

    // MARK: Reading

    func read(_ mailbox: any MailboxTransport, into outcome: inout ScraperOutcome) async throws {
        let folder = definition.sourceSettings.folder ?? SourceDeclarations.defaultFolder
        let uidValidity: UInt64
        do {
            uidValidity = try await mailbox.uidValidity(of: folder)
        } catch let error as TransferError {
            if case .notFound = error {
                throw ScraperFailure(
                    .layoutChanged, "the mailbox has no folder \(folder)", location: definition.declarations["folder"])
            }
            throw MailboxReader.failure(for: error, location: definition.declarations["folder"], signingIn: false)
        }
        let criteriaRange = options.range
        for kind in options.kinds {
            guard let block = definition.block(for: kind) else { continue }
            for statement in block.body.statements {
                guard case .messages(let query, let rules) = statement.kind else { continue }
                let criteria = MailSearch(
                    since: criteriaRange.from, before: criteriaRange.to.adding(days: 1), from: query.from, to: query.to,
                    subject: query.subject)
                var uids = try await mailbox.search(folder, criteria)
                outcome.requests += 1
                if let limit = query.limit, uids.count > limit { uids = Array(uids.suffix(limit)) }
                var unread: [UInt64] = []
                for uid in uids {
                    let key = MailboxReader.key(folder: folder, uidValidity: uidValidity, uid: uid)
                    if !options.readOnly, let memory,
                        await memory.wasRead(client: credential.client, source: credential.runItem, key: key) != nil
                    {
                        continue
                    }
                    unread.append(uid)
                }
                trace(
                    "line \(statement.location.line ?? 0): \(uids.count) message(s) in \(folder) for \(criteriaRange.from) to \(criteriaRange.to), \(unread.count) not read before"
                )
                guard !unread.isEmpty else { continue }
                let summaries = try await mailbox.summaries(folder, uids: unread)
                outcome.requests += 1
                for uid in unread {
                    try Task.checkCancellation()
                    try await readMessage(
                        uid, folder: folder, uidValidity: uidValidity, summary: summaries[uid], criteria: criteria,
                        rules: rules.statements,
                        kind: kind, mailbox: mailbox, outcome: &outcome)
                }
            }
        }
    }

    /// `25 MB`, `512 KB`.
    static func size(_ bytes: Int) -> String {
        bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 ? "\(bytes / 1024 / 1024) MB" : "\(bytes / 1024) KB"
    }

    static func key(folder: String, uidValidity: UInt64, uid: UInt64) -> String {
        "\(folder);UIDVALIDITY=\(uidValidity);UID=\(uid)"
    }

    func remember(_ key: String, identity: String?, status: String, message: String?) async {
        guard !options.readOnly, let memory else { return }
        await memory.record(
            client: credential.client, source: credential.runItem, key: key, identity: identity, status: status,
            message: message)
    }

    func readMessage(
        _ uid: UInt64, folder: String, uidValidity: UInt64, summary: MessageSummary?, criteria: MailSearch,
        rules: [Statement],
        kind: DocumentKind, mailbox: any MailboxTransport, outcome: inout ScraperOutcome
    ) async throws {
        let key = MailboxReader.key(folder: folder, uidValidity: uidValidity, uid: uid)
        let limit = definition.sourceSettings.maximumBytes
        let messageLimit = definition.sourceSettings.maximumMessageBytes
        let label = "message \(uid) in \(folder)"
        if let summary, summary.size > messageLimit {
            let problem =
                "\(label): \(summary.size) bytes, more than a message with documents of at most \(MailboxReader.size(limit)) (`size max`) can be; not read"
            outcome.refused.append(problem)
            trace(problem)
            await remember(key, identity: nil, status: "refused", message: problem)
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try await mailbox.fetch(folder, uidValidity: uidValidity, uid: uid, maximumBytes: messageLimit)
            outcome.requests += 1
        } catch TransferError.tooLarge {
            let problem =
                "\(label): more than \(messageLimit) bytes, larger than a message with documents of at most \(MailboxReader.size(limit)) can be; not read"
            outcome.refused.append(problem)
            await remember(key, identity: nil, status: "refused", message: problem)
            return
        }
        // Fetching marks a message read on the server; it is left as it was unless the
        // definition says `after import flag seen`.
        let keepsSeen = definition.sourceSettings.afterImport == .flagSeen && !options.readOnly
        if let summary, !summary.seen, !keepsSeen { try? await mailbox.setSeen(folder, uid: uid, false) }
        let message: MailMessage
        do {
            message = try MailMessage.parse(bytes)
        } catch {
            let problem = "\(label): \(error.message)"
            outcome.refused.append(problem)
            trace(problem)
            await remember(key, identity: nil, status: "refused", message: problem)
            return
        }
        let described =
            "\(label) (\(message.subject.map { "\"\($0.prefix(60))\"" } ?? "no subject") from \(message.from.first ?? "?"))"
        guard criteria.matches(message, arrival: summary?.arrival) else {
            trace("\(described): does not match the query on a closer look; skipped")
            await remember(key, identity: message.messageID, status: "not_matching", message: nil)
            return
        }
        if let id = message.messageID, !options.readOnly, let memory,
            let earlier = await memory.wasRead(client: credential.client, source: credential.runItem, identity: id)
        {
            trace("\(described): a copy of \(earlier.key) (same Message-ID, read \(earlier.readAt)); skipped")
            await remember(key, identity: id, status: "duplicate", message: "a copy of \(earlier.key)")
            return
        }
        let selection = DocumentSelection.select(
            message, rules: rules, maximumBytes: limit, subjectFallback: "message-\(uid)")
        for problem in selection.problems {
            outcome.refused.append("\(described): \(problem)")
            trace("\(described): \(problem)")
        }
        var metadata: [String: String] = [:]
        if let date = message.date ?? summary?.arrival {
            metadata["date"] =
                CalendarDate.today(in: options.timeZone, now: Date(timeIntervalSince1970: TimeInterval(date)))
                .description
        }
        if let sender = message.from.first { metadata["sender"] = sender }
        let staging = StagingFolder(path: options.downloadDirectory)
        var saved = 0
        for document in selection.documents {
            let record = try staging.save(document.bytes, name: document.name, kind: kind, metadata: metadata)
            outcome.downloads.append(record)
            saved += 1
            trace(
                "\(described): saved \(record.fileName) (\(record.size) bytes, sha256 \(record.sha256.prefix(12))...)")
            await onDownload?(record)
        }
        if selection.documents.isEmpty && selection.problems.isEmpty {
            trace("\(described): no attachment or body matches; skipped")
        }
        let status = selection.documents.isEmpty && !selection.problems.isEmpty ? "refused" : "read"
        await remember(
            key, identity: message.messageID, status: status,
            message: selection.problems.isEmpty ? nil : selection.problems.joined(separator: "; "))
        guard saved > 0, !options.readOnly else { return }
        switch definition.sourceSettings.afterImport {
        case .leave: break
        case .flagSeen:
            do { try await mailbox.setSeen(folder, uid: uid, true) } catch {
                outcome.notes.append(
                    "\(described): could not be flagged seen: \((error as? any NightjarError)?.message ?? "\(error)")")
            }
        case .move(let target):
            do {
                try await mailbox.move(folder, uid: uid, to: target)
                trace("\(described): moved to \(target)")
            } catch {
                outcome.notes.append(
                    "\(described): could not be moved to \(target): \((error as? any NightjarError)?.message ?? "\(error)")"
                )
            }
        }
    }
}

/// Which parts of a message are its documents, by the `attachments` and `body` rules in order.
public enum DocumentSelection {
    public struct Document: Sendable {
        public let name: String
        public let bytes: [UInt8]
    }

    /// The documents, and what was left out that someone should know about.
    public static func select(_ message: MailMessage, rules: [Statement], maximumBytes: Int, subjectFallback: String)
        -> (documents: [Document], problems: [String])
    {
        var documents: [Document] = []
        var problems: [String] = []
        var used = Set<Int>()
        func consider(_ name: String, _ bytes: [UInt8], rule: AttachmentRule) {
            let leaf = (name.replacingOccurrences(of: "\\", with: "/") as NSString).lastPathComponent
            guard NamePattern.matches(rule.namePattern, leaf) else { return }
            if bytes.count > maximumBytes {
                problems.append(
                    "\(HTTPSession.sanitise(leaf)) is \(bytes.count) bytes, over the \(MailboxReader.size(maximumBytes)) limit (`size max`); not kept"
                )
                return
            }
            if let problem = DocumentCheck.problem(
                bytes, expected: rule.expectedType, allowPages: rule.expectedType == .html)
            {
                problems.append("\(HTTPSession.sanitise(leaf)) is not kept: \(problem)")
                return
            }
            documents.append(Document(name: leaf, bytes: bytes))
        }
        for statement in rules {
            switch statement.kind {
            case .attachments(let rule):
                for (index, part) in message.parts.enumerated() where part.isAttachment && !used.contains(index) {
                    let name = part.fileName ?? "attachment-\(index + 1)"
                    if case .zip = DocumentFormat.detect(part.content) {
                        do {
                            var limits = ZipAttachment.Limits()
                            limits.maximumEntryBytes = maximumBytes
                            limits.maximumTotalBytes = max(limits.maximumTotalBytes, maximumBytes)
                            let contents = try ZipAttachment.open(
                                part.content, name: HTTPSession.sanitise(name), limits: limits)
                            used.insert(index)
                            for entry in contents.entries { consider(entry.name, entry.bytes, rule: rule) }
                            problems += contents.skipped.map { "\(HTTPSession.sanitise(name)): \($0)" }
                        } catch {
                            used.insert(index)
                            problems.append(error.message)
                        }
                        continue
                    }
                    let before = documents.count + problems.count
                    consider(name, part.content, rule: rule)
                    if documents.count + problems.count > before { used.insert(index) }
                }
            case .body(let rule):
                let wanted = rule.type == .html ? "text/html" : "text/plain"
                guard
                    let index = message.parts.indices.first(where: {
                        !message.parts[$0].isAttachment && message.parts[$0].mediaType == wanted && !used.contains($0)
                    })
                else { continue }
                used.insert(index)
                let part = message.parts[index]
                let bytes = Array((part.text ?? String(decoding: part.content, as: UTF8.self)).utf8)
                var name = (message.subject ?? subjectFallback).trimmingCharacters(in: .whitespaces)
                if name.isEmpty { name = subjectFallback }
                name = String(name.prefix(80)) + (rule.type == .html ? ".html" : ".txt")
                if bytes.count > maximumBytes {
                    problems.append("the body is \(bytes.count) bytes, over the limit; not kept")
                } else if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
                    problems.append("the body is empty; not kept")
                } else {
                    documents.append(Document(name: name, bytes: bytes))
                }
            default:
                continue
            }
        }
        return (documents, problems)
    }
}
