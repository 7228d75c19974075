import Foundation
public import NightjarCore
public import NightjarHTTP
public import NightjarScript

/// Runs an SFTP definition for one credential: checks the server's host key against the one
/// pinned in the credential (a mismatch is `host_key_changed`, nothing is sent), signs in once,
/// lists each `files` folder, and reads each file of the night's range not read before. A file
/// whose size or time changes between the listing and the end of its download is still being
/// written: it is left for the next night. After an import the file can be moved to an archive.
public final class FileDropReader: Sendable {
    public let definition: ScraperDefinition
    let credential: ScriptCredential
    let options: SourceRunOptions
    let transport: (any FileDropTransport)?
    let memory: (any SourceMemory)?
    let loginGuard: (any LoginGuard)?
    let trace: @Sendable (String) -> Void
    let onDownload: (@Sendable (DownloadRecord) async -> Void)?
    private let used = TransportBox()

    public init(
        definition: ScraperDefinition, credential: ScriptCredential, options: SourceRunOptions,
        transport: (any FileDropTransport)? = nil,
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

    final class TransportBox: @unchecked Sendable {
        private let lock = NSLock()
        private var transport: (any FileDropTransport)?
        var value: (any FileDropTransport)? {
            get { lock.withLock { transport } }
            set { lock.withLock { transport = newValue } }
        }
    }

    /// The protocol conversation of the last run, secrets masked.
    public var conversation: [String] { used.value?.trace ?? [] }

    public var server: String { options.server(of: definition) }

    /// The live transport, with the credential's sign-in and pinned host key.
    public func liveTransport() throws -> SFTPDrop {
        let origin = SourceOrigin.canonical(server)
        guard credential.allows(origin: origin) else {
            throw ScraperFailure(
                .originRefused,
                "refused to sign in to \(origin): the credential \(credential.name) does not allow that origin (allowed: \(credential.allowedOrigins.isEmpty ? "none" : credential.allowedOrigins.joined(separator: ", ")))",
                location: definition.origins.first?.location)
        }
        guard let pinned = credential.fields["known_hosts"]?.trimmingCharacters(in: .whitespacesAndNewlines),
            !pinned.isEmpty
        else {
            throw ScraperFailure(
                .hostKeyChanged,
                "the credential \(credential.name) pins no host key: add the server's known_hosts line (ssh-keyscan -p PORT HOST) as its known_hosts field; nothing was sent",
                location: definition.origins.first?.location)
        }
        var settings = CurlConnection.Settings(protocols: "sftp")
        settings.username = try credential.requiredField("username", for: definition)
        settings.knownHosts = pinned
        if definition.signInMethod == .key {
            settings.privateKey = try credential.requiredField("private_key", for: definition)
            settings.keyPassphrase = credential.fields["passphrase"].flatMap { $0.isEmpty ? nil : $0 }
        } else {
            settings.password = try credential.requiredField("password", for: definition)
        }
        return SFTPDrop(server: server, connection: try CurlConnection(settings))
    }

    /// Runs the definition. Never throws: a failure is part of the outcome.
    public func run() async -> ScraperOutcome {
        var outcome = ScraperOutcome()
        let location = definition.sourceSettings.signInLocation ?? definition.origins.first?.location
        do {
            var attempt = try loginGuard?.begin(credential: credential.name)
            outcome.logins = 1
            trace("signing in to \(server) as \(credential.name)")
            let drop: any FileDropTransport
            do {
                if let transport { drop = transport } else { drop = try liveTransport() }
                used.value = drop
                try await drop.signIn()
            } catch {
                let failure = FileDropReader.failure(for: error, location: location)
                // Nothing was sent when the host key is refused: that counts as no sign-in.
                let journal =
                    failure.failureClass == .authFailed
                    ? "auth_failed" : failure.failureClass == .accountLocked ? "account_locked" : "unavailable"
                if let started = attempt { try? loginGuard?.finish(started, outcome: journal) }
                attempt = nil
                throw failure
            }
            if let started = attempt { try loginGuard?.finish(started, outcome: "succeeded") }
            try await read(drop, into: &outcome)
        } catch let failure as ScraperFailure {
            outcome.failure = failure
        } catch {
            outcome.failure = FileDropReader.failure(for: error, location: nil)
        }
        return outcome
    }

    static func failure(for error: any Error, location: SourceLocation?) -> ScraperFailure {
        if let failure = error as? ScraperFailure { return failure }
        guard let transfer = error as? TransferError else {
            return ScraperFailure(.portalUnavailable, "\(error)", location: location)
        }
        switch transfer {
        case .hostKeyChanged, .hostKeyUnknown, .hostKeyUnpinned:
            return ScraperFailure(.hostKeyChanged, transfer.message + "; nothing was sent", location: location)
        case .loginDenied:
            return ScraperFailure(
                .authFailed, "the server refused the sign-in (key or password); not retried tonight", location: location
            )
        case .notFound(let detail):
            return ScraperFailure(.layoutChanged, "the drop changed: \(detail)", location: location)
        default:
            return ScraperFailure(.portalUnavailable, transfer.message, location: location)
        }
    }

    /// A file's identity for the memory: its size and time (a replaced file is read again).
    static func identity(_ file: RemoteFile) -> String { "\(file.size)@\(file.modified)" }

    func read(_ drop: any FileDropTransport, into outcome: inout ScraperOutcome) async throws {
        for kind in options.kinds {
            guard let block = definition.block(for: kind) else { continue }
            for statement in block.body.statements {
                guard case .files(let query) = statement.kind else { continue }
                let folder =
                    query.folder.hasSuffix("/") && query.folder.count > 1
                    ? String(query.folder.dropLast()) : query.folder
                let names: [String]
                do {
                    names = try await drop.list(folder)
                    outcome.requests += 1
                } catch let error as TransferError {
                    if case .notFound = error {
                        throw ScraperFailure(
                            .layoutChanged, "the server has no folder \(folder)", location: statement.location)
                    }
                    throw FileDropReader.failure(for: error, location: statement.location)
                }
                let candidates = names.filter { !$0.hasPrefix(".") && NamePattern.matches(query.namePattern, $0) }
                    .sorted()
                trace(
                    "line \(statement.location.line ?? 0): \(names.count) name(s) in \(folder), \(candidates.count) match"
                )
                for name in candidates {
                    try Task.checkCancellation()
                    try await readFile(
                        folder + (folder.hasSuffix("/") ? "" : "/") + name, query: query, kind: kind, drop: drop,
                        outcome: &outcome)
                }
            }
        }
    }

    func readFile(
        _ path: String, query: FileQuery, kind: DocumentKind, drop: any FileDropTransport, outcome: inout ScraperOutcome
    ) async throws {
        guard let listed = try await drop.stat(path) else {
            trace("\(path): not a file; skipped")
            return
        }
        outcome.requests += 1
        let date: CalendarDate?
        switch query.dating {
        case .name(let format): date = FileNameDate.date(in: listed.name, format: format)
        case .modified:
            date = CalendarDate.today(
                in: options.timeZone, now: Date(timeIntervalSince1970: TimeInterval(listed.modified)))
        }
        guard let date else {
            trace("\(path): no date in its name by the pattern; skipped")
            return
        }
        guard options.range.contains(date) else { return }
        let identity = FileDropReader.identity(listed)
        if !options.readOnly, let memory,
            let earlier = await memory.wasRead(client: credential.client, source: credential.runItem, key: path),
            earlier.identity == identity
        {
            return
        }
        let limit = definition.sourceSettings.maximumBytes
        func remember(_ status: String, _ message: String?) async {
            guard !options.readOnly, let memory else { return }
            await memory.record(
                client: credential.client, source: credential.runItem, key: path, identity: identity, status: status,
                message: message)
        }
        if listed.size > limit {
            let problem = "\(path): \(listed.size) bytes, over the limit (`size max`); not read"
            outcome.refused.append(problem)
            await remember("refused", problem)
            return
        }
        let bytes: [UInt8]
        do {
            bytes = try await drop.download(path, maximumBytes: limit + 1)
            outcome.requests += 1
        } catch TransferError.tooLarge {
            outcome.notes.append(
                "\(path): still being written (it grew past the size limit while it was read); fetched next night")
            return
        }
        let after = try await drop.stat(path)
        if bytes.count != listed.size || after != listed {
            let problem =
                "\(path): still being written (\(listed.size) bytes when listed, \(bytes.count) read\(after.map { ", \($0.size) now" } ?? "")); fetched next night"
            outcome.notes.append(problem)
            trace(problem)
            return
        }
        if let problem = DocumentCheck.problem(
            bytes, expected: query.expectedType, allowPages: query.expectedType == .html)
        {
            let message = "\(path) is not kept: \(problem)"
            outcome.refused.append(message)
            await remember("refused", message)
            return
        }
        let record = try StagingFolder(path: options.downloadDirectory).save(
            bytes, name: listed.name, kind: kind, metadata: ["date": date.description])
        outcome.downloads.append(record)
        trace("\(path): saved \(record.fileName) (\(record.size) bytes, sha256 \(record.sha256.prefix(12))...)")
        await onDownload?(record)
        await remember("read", nil)
        guard !options.readOnly, case .move(let archive) = definition.sourceSettings.afterImport else { return }
        let target = (archive.hasSuffix("/") ? String(archive.dropLast()) : archive) + "/" + listed.name
        do {
            try await drop.rename(path, to: target)
            trace("\(path): moved to \(target)")
        } catch {
            outcome.notes.append(
                "\(path): imported, but could not be moved to \(target): \((error as? any NightjarError)?.message ?? "\(error)")"
            )
        }
    }
}
