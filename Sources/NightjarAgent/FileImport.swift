import Foundation
public import NightjarCore
public import NightjarDocuments
public import NightjarLedger
public import NightjarMatching

/// What became of one file handed to the importer.
public enum FileImport: Sendable {
    case imported(ImportResult)
    /// Kept but not imported, with a stable code and what to do: `wrong_kind` (another kind of
    /// document, and the command that reads it), `no_profile`, `several_profiles`,
    /// `unsupported_document` (a PDF, an archive, binary data).
    case skipped(code: String, message: String)
}

/// Reads a remittance file by its detected format — X12 820, or text, Excel, HTML or JSON by the
/// one profile that fits it — and imports it into the ledger in one transaction, once per content
/// hash. When two profiles fit, the file is refused and both are named: never a silent choice.
public struct RemittanceFileImporter: Sendable {
    public let defaultCurrency: CurrencyCode
    public let profiles: [LayoutProfile]
    /// Profiles in the workspace an admin has not approved in their present version: never used,
    /// but a file only one of them fits says so instead of "no profile fits".
    public let unapproved: [LayoutProfile]
    /// Files larger than this are refused with their size named (`max_file_size`).
    public let maximumFileBytes: Int

    public init(
        defaultCurrency: CurrencyCode, profiles: [LayoutProfile], unapproved: [LayoutProfile] = [],
        maximumFileBytes: Int = InputFile.defaultMaximumBytes
    ) {
        self.defaultCurrency = defaultCurrency
        self.profiles = profiles
        self.unapproved = unapproved
        self.maximumFileBytes = maximumFileBytes
    }

    public func importFile(
        _ bytes: [UInt8], name: String, client: ClientID, portal: String?, into ledger: Ledger,
        profile explicit: LayoutProfile? = nil
    ) throws -> FileImport {
        try importFile(
            MemorySource(bytes, name: name), name: name, client: client, portal: portal, into: ledger, profile: explicit
        )
    }

    /// Imports a file read in chunks: memory stays bounded whatever its size (one payment at a
    /// time, plus fixed buffers). `sha256`, when the caller already has it, saves a pass.
    public func importFile(
        _ source: any ByteSource, name: String, client: ClientID, portal: String?, into ledger: Ledger,
        profile explicit: LayoutProfile? = nil, sha256: String? = nil
    ) throws -> FileImport {
        switch try plan(source, name: name, client: client, profile: explicit) {
        case .skipped(let code, let message):
            return .skipped(code: code, message: message)
        case .read(let format, let read):
            let sha = try sha256 ?? Ledger.sha256(of: source)
            return .imported(
                try ledger.importRemittances(
                    sha256: sha, size: source.size, name: name, client: client, format: format, portal: portal
                ) { writer in try read(writer) })
        }
    }

    /// Files up to this size are read ahead of their import, whole (`readAhead`); larger ones are
    /// read in chunks inside the import. The same size as the start of a text file that choosing
    /// its profile reads, so a file read ahead is read from disk once.
    public static let readAheadBytes = 256 * 1024

    /// Reads a file's payments without the ledger: detects its format, chooses its profile and
    /// reads it, keeping what the import will store (`importReadAhead`) or why it stores nothing.
    /// Reading many files this way at once, each in its own task, leaves the import itself only
    /// the writes. `bytes` is the whole file.
    public func readAhead(_ bytes: [UInt8], name: String, client: ClientID) -> ReadAheadRemittances {
        let source = MemorySource(bytes, name: name)
        do {
            switch try plan(source, name: name, client: client, profile: nil, whole: bytes) {
            case .skipped(let code, let message):
                return ReadAheadRemittances(size: bytes.count, content: .skipped(code: code, message: message))
            case .read(let format, let read):
                let recorder = ReadAheadRemittances.Recorder()
                var failure: (any Error)?
                do { try read(recorder) } catch { failure = error }
                return ReadAheadRemittances(
                    size: bytes.count,
                    content: .payments(format: format, handed: recorder.handed, failure: failure))
            }
        } catch {
            return ReadAheadRemittances(size: bytes.count, content: .failed(error))
        }
    }

    /// Imports a file read ahead (`readAhead`) in one transaction, once per content hash: the
    /// same rows, the same outcome and the same error as `importFile` over the same bytes.
    public func importReadAhead(
        _ file: ReadAheadRemittances, sha256: String, name: String, client: ClientID, portal: String?,
        into ledger: Ledger
    ) throws -> FileImport {
        switch file.content {
        case .skipped(let code, let message):
            return .skipped(code: code, message: message)
        case .failed(let error):
            throw error
        case .payments(let format, let handed, let failure):
            return .imported(
                try ledger.importRemittances(
                    sha256: sha256, size: file.size, name: name, client: client, format: format, portal: portal,
                    inMemory: true
                ) { writer in
                    // The writer is handed what the reader handed over, in the same order, and then
                    // meets the reader's error, if it had one: a failure of the writer comes first, as
                    // it would have.
                    for payment in handed {
                        switch payment {
                        case .write(let advice, let position): try writer.write(advice, position: position)
                        case .amend(let position, let findings, let isBalanced):
                            try writer.amend(position: position, findings: findings, isBalanced: isBalanced)
                        }
                    }
                    if let failure { throw failure }
                })
        }
    }

    /// How a file will be read: not at all (with the code and message of `FileImport.skipped`),
    /// or by a reader handing payments to a sink, stored under `format`.
    enum Plan {
        case skipped(code: String, message: String)
        case read(format: String, (any RemittanceSink) throws -> Void)
    }

    /// `whole`, when given, is every byte of `source`: the rows choosing the profile read are then
    /// not read again.
    func plan(
        _ source: any ByteSource, name: String, client: ClientID, profile explicit: LayoutProfile?,
        whole: [UInt8]? = nil
    ) throws -> Plan {
        let format = try DocumentFormat.detect(source)
        switch format {
        case .x12(let functionalID) where functionalID == "RA" || functionalID == nil:
            let defaultCurrency = defaultCurrency
            return .read(format: "x12-820") { sink in
                source.rewind()
                try RemittanceAdviceReader.forEach(source, defaultCurrency: defaultCurrency, file: name) {
                    try sink.write($0, position: nil)
                }
            }
        case .x12(let functionalID):
            let what = functionalID == "IN" ? "an X12 810 invoice" : "an X12 \(functionalID ?? "") document"
            let hint =
                functionalID == "IN"
                ? "; `nightjar po import \(name) --client \(client)` reads it into purchase orders" : ""
            return .skipped(code: "wrong_kind", message: "\(name): \(what), not a remittance (820)\(hint)")
        case .pdf, .zip, .unknown:
            return .skipped(
                code: "unsupported_document",
                message: "\(name): \(format.description), which Nightjar cannot read yet; kept in the inbox")
        case .text, .xlsx, .json, .html:
            let profile: LayoutProfile
            var choice: ProfileSelection.Choice?
            if let explicit {
                profile = explicit
            } else {
                let chosen =
                    whole.map { ProfileSelection.chooseReading(profiles, kind: .remittance, bytes: $0, fileName: name) }
                    ?? ProfileSelection.choose(profiles, kind: .remittance, source: source, fileName: name).map {
                        ProfileSelection.Choice(profile: $0)
                    }
                switch chosen {
                case .success(let chosen):
                    profile = chosen.profile
                    choice = chosen
                case .failure(let refusal) where refusal.fitting.isEmpty:
                    if !unapproved.isEmpty, let trial = try? ProfileSelection.trialBytes(source),
                        let waiting = ProfileSelection.fitting(
                            unapproved, kind: .remittance, bytes: trial, fileName: name
                        ).first
                    {
                        return .skipped(
                            code: "profile_unapproved",
                            message:
                                "\(name): profile \(waiting.name) fits it but is not approved in its present version (nightjar profile approve \(waiting.name))"
                        )
                    }
                    return .skipped(
                        code: "no_profile",
                        message:
                            "\(name): no profile fits \(format.description) (\(refusal.explanation)); `nightjar profile draft \(name)` starts one"
                    )
                case .failure(let refusal):
                    return .skipped(
                        code: "several_profiles",
                        message:
                            "\(name): profiles \(refusal.fitting.joined(separator: " and ")) both fit it; give --profile, or narrow one with [match]"
                    )
                }
            }
            let defaultCurrency = defaultCurrency
            if let choice, let whole {
                return .read(format: "profile:\(profile.name)") { sink in
                    try RemittanceLayoutReader.read(
                        choice, bytes: whole, defaultCurrency: defaultCurrency, file: name, into: sink)
                }
            }
            return .read(format: "profile:\(profile.name)") { sink in
                try RemittanceLayoutReader.read(
                    source, profile: profile, defaultCurrency: defaultCurrency, file: name, into: sink)
            }
        }
    }
}

/// A remittance file read ahead of its import (`RemittanceFileImporter.readAhead`): the payments
/// its reader handed over, in order, and the error it ended with; or why it is not imported.
public struct ReadAheadRemittances: Sendable {
    /// One thing the reader did with a payment.
    enum Handed: Sendable {
        case write(RemittanceAdvice, position: Int?)
        case amend(position: Int, findings: [DocumentFinding], isBalanced: Bool)
    }

    enum Content: Sendable {
        case skipped(code: String, message: String)
        /// The file could not be read at all (its format, its first bytes).
        case failed(any Error)
        case payments(format: String, handed: [Handed], failure: (any Error)?)
    }

    /// The file's size in bytes.
    let size: Int
    let content: Content

    /// Keeps what a reader hands over.
    final class Recorder: RemittanceSink {
        var handed: [Handed] = []

        func write(_ advice: RemittanceAdvice, position: Int?) throws {
            handed.append(.write(advice, position: position))
        }

        func amend(position: Int, findings: [DocumentFinding], isBalanced: Bool) throws {
            handed.append(.amend(position: position, findings: findings, isBalanced: isBalanced))
        }
    }
}

/// Each client's matching rules: `rules/CLIENT.rules`, else `rules/default.rules`, else the
/// documented defaults.
public struct MatchingRulesFiles: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    /// The rules for a client, and the file they came from (nil: the defaults). A path is made
    /// from the client's name only when the identifier rule admits it; a client stored under a
    /// name from before the rule (to be renamed) is matched by rules/default.rules.
    public func rules(for client: String) throws -> (MatchingRules, String?) {
        let own = Identifier.isValid(client) ? ["\(client).rules"] : []
        for name in own + ["default.rules"] {
            let path = directory + "/" + name
            guard let text = try BoundedFile.readTextIfPresent(path, what: "rules file") else { continue }
            return (try MatchingRules.parse(text, file: path), path)
        }
        return (.standard, nil)
    }
}
