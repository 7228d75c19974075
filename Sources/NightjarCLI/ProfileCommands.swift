import Foundation
import NightjarCore
import NightjarDocuments

/// `nightjar profile check`, `profile try`, `profile draft`: onboarding a sender's file layout
/// as `scraper check/try` onboard a portal.
enum ProfileCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["profile", "check"], effect: .readsOnly, summary: "check layout profiles without reading any file",
                discussion: """
                    Parses each FILE (the language is in docs/file-formats.md): unknown settings, sections and
                    fields (with suggestions), sources that do not suit the format, patterns that are not valid,
                    required fields unmapped. Errors are `file:line:column: message`; exits 65 when any is found.
                    A profile that would fit any file of its format (no header names, no row kinds, no [match])
                    gets a warning: it would claim other senders' files.

                    Example:
                      nightjar profile check profiles/*.profile
                    """,
                arguments: [ArgumentSpec("FILE", "profile files", variadic: true)], run: check),
            CommandSpec(
                ["profile", "try"], effect: .readsOnly,
                summary: "read a sample file by profile and show how each row was read; nothing is stored",
                discussion: """
                    Shows the table(s) found (header row, preamble values), then every row: where it is, the role
                    it was given (payment, line, deduction, total, trailer, skip) and the rule that gave it, and
                    the fields read; then the batches the file would make, their totals and balance, and any total
                    or count the file states that its rows do not add up to. Without --profile, every profile of
                    the workspace is tried and the one that fits is used (each that does not fit says why).

                    Example:
                      nightjar profile try remittance-2026-02.csv --profile harbor-line-type
                    """,
                arguments: [ArgumentSpec("SAMPLE", "a file to read")],
                options: [
                    .value(
                        "profile", "NAME", names: .identifierOrPath("profile name", suffix: ".profile"),
                        "profiles/NAME.profile, or a path to a .profile file"),
                    .value(
                        "currency", "CODE", "currency for files that name none (default: the workspace's, else USD)"),
                ],
                run: tryProfile),
            CommandSpec(
                ["profile", "draft"], effect: .readsOnly, summary: "write a starting profile from a sample file",
                discussion: """
                    Detects the format, encoding, separator, decimal mark and date formats, finds the header row
                    (or the record types of a file without one) and a preamble above it, maps the header names it
                    knows to fields, and recognises row kinds (INVOICE/DEDUCTION, RE/AB) and total rows. What it
                    could not decide is a `# check:` comment. The draft passes `profile check`; edit it, then
                    `profile try` it on the sample.

                    Example:
                      nightjar profile draft sample.csv --name acme-remittance --out profiles/acme-remittance.profile
                    """,
                arguments: [ArgumentSpec("SAMPLE", "a file to draft from")],
                options: [
                    .value(
                        "name", "NAME", names: .identifier("profile name"),
                        "the profile's name (default: from the file name)"),
                    .value("out", "FILE", "write the profile here (refused if it exists) instead of printing it"),
                ],
                run: draft),
        ]
    }

    static func readSample(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw GeneralError(code: "file.missing", message: "no file \(path)", exitStatus: .noInput)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GeneralError(code: "file.unreadable", message: "cannot read \(path)", exitStatus: .noInput)
        }
        return Array(data)
    }

    /// Whether a profile would fit any file of its format: nothing in it is particular to one sender.
    static func fitsAnything(_ profile: LayoutProfile) -> Bool {
        !profile.usesHeaderNames && profile.rowRules.allSatisfy { $0.role == .skip } && profile.matchFileNames.isEmpty
            && profile.matchContains.isEmpty
            && profile.format != .json
    }

    static func check(_ invocation: Invocation) async throws -> ExitStatus {
        struct Report: Encodable {
            let file: String
            let ok: Bool
            let name: String?
            let kind: String?
            let format: String?
            let errors: [String]
            let warnings: [String]
        }
        var reports: [Report] = []
        for file in invocation.arguments {
            let read = Result { () throws(BoundedFileError) in
                try BoundedFile.read(file, what: "profile", maximumBytes: LayoutProfileParser.maximumSize)
            }
            guard case .success(let bytes) = read else {
                if case .failure(let error) = read {
                    if error.problem == .missing { throw error }
                    reports.append(
                        Report(
                            file: file, ok: false, name: nil, kind: nil, format: nil,
                            errors: ["\(file): \(error.message)"], warnings: []))
                }
                continue
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                reports.append(
                    Report(
                        file: file, ok: false, name: nil, kind: nil, format: nil,
                        errors: ["\(file):1:1: the profile is not UTF-8 text"], warnings: []))
                continue
            }
            do {
                let profile = try LayoutProfileParser.parse(text, file: file)
                var warnings: [String] = []
                if fitsAnything(profile) {
                    warnings.append(
                        "\(file): this profile names no header, no row kinds and no [match]: it fits any \(profile.format == .auto ? "text" : profile.format.rawValue) file; add [match] file_name = \"…\""
                    )
                }
                reports.append(
                    Report(
                        file: file, ok: true, name: profile.name, kind: profile.kind.rawValue,
                        format: profile.format.rawValue, errors: [],
                        warnings: warnings))
            } catch {
                reports.append(
                    Report(
                        file: file, ok: false, name: nil, kind: nil, format: nil,
                        errors: ["\(error.location?.description ?? file): \(error.message)"],
                        warnings: []))
            }
        }
        if invocation.json {
            try Output.json(reports)
        } else {
            for report in reports {
                if report.ok {
                    Output.line(
                        "\(report.file): ok — profile \(report.name!), \(report.kind!), format \(report.format!)")
                }
                for error in report.errors {
                    Console.standardError.line("\(Console.standardError.paint("error:", .red)) \(error)")
                }
                for warning in report.warnings { Console.standardError.line("warning: \(warning)") }
            }
        }
        return reports.allSatisfy(\.ok) ? .ok : .dataError
    }

    /// The profile named by --profile (a name in the workspace or a path).
    static func namedProfile(_ name: String, invocation: Invocation) throws -> LayoutProfile {
        try ImportCommands.loadProfile(name, workspace: invocation.workspace)
    }

    static func tryProfile(_ invocation: Invocation) async throws -> ExitStatus {
        let path = invocation.argument("SAMPLE")!
        let bytes = try readSample(path)
        let name = (path as NSString).lastPathComponent
        let workspaceConfig = try? invocation.workspace.requireExisting()
        let currency =
            try invocation.value("currency").map { try CurrencyCode($0) } ?? workspaceConfig?.defaultCurrency ?? .usd
        var profile: LayoutProfile
        var tried: [(String, String)] = []
        if let explicit = invocation.value("profile") {
            profile = try namedProfile(explicit, invocation: invocation)
        } else {
            guard workspaceConfig != nil else {
                throw UsageError("outside a workspace, give --profile", command: "profile try")
            }
            let all = try ImportCommands.workspaceProfiles(invocation.workspace)
            let kind = all.first { ProfileSelection.fits($0, bytes: bytes, fileName: name) }?.kind ?? .remittance
            switch ProfileSelection.choose(all, kind: kind, bytes: bytes, fileName: name) {
            case .success(let chosen):
                profile = chosen
            case .failure(let refusal) where refusal.fitting.isEmpty:
                throw GeneralError(
                    code: "profile.none_fits", message: "no profile fits \(name): \(refusal.explanation)",
                    exitStatus: .dataError)
            case .failure(let refusal):
                throw GeneralError(
                    code: "profile.several_fit",
                    message:
                        "profiles \(refusal.fitting.joined(separator: " and ")) both fit \(name); the import would refuse it. Narrow one with [match], or give --profile",
                    exitStatus: .dataError)
            }
            tried = all.filter { $0.name != profile.name }.compactMap { other in
                ProfileSelection.misfit(other, bytes: bytes, fileName: name).map { (other.name, $0) }
            }
        }
        let reading = try LayoutReader.read(bytes, profile: profile, file: name)
        var advices: [RemittanceAdvice] = []
        var findings: [DocumentFinding] = []
        var failure: (any NightjarError)?
        switch profile.kind {
        case .remittance:
            do {
                let result = try RemittanceLayoutReader.readWithRows(
                    bytes, profile: profile, defaultCurrency: currency, file: name)
                advices = result.advices
                findings = result.findings
            } catch { failure = error }
        case .openInvoices:
            do { _ = try OpenInvoiceReader.read(bytes, profile: profile, defaultCurrency: currency, file: name) } catch
            { failure = error }
        case .supplierInvoices:
            do {
                _ = try SupplierInvoiceTableReader.read(bytes, profile: profile, defaultCurrency: currency, file: name)
            } catch { failure = error }
        }
        if invocation.json {
            struct Row: Encodable {
                let location: String
                let line: Int?
                let role: String
                let rule: String
                let fields: [String: String]
            }
            struct Table: Encodable {
                let name: String?
                let header_line: Int?
                let header: [String]
                let preamble: [String: String]
            }
            struct Report: Encodable {
                let file: String
                let profile: String
                let format: String
                let encoding: String?
                let tables: [Table]
                let rows: [Row]
                let batches: String
                let findings: [DocumentFinding]
                let error: String?
                let error_code: String?
                let not_fitting: [String: String]
            }
            try Output.json(
                Report(
                    file: name, profile: profile.name, format: reading.format.rawValue,
                    encoding: reading.encoding?.rawValue,
                    tables: reading.tables.map {
                        Table(
                            name: $0.name, header_line: $0.headerLine, header: $0.header,
                            preamble: Dictionary(
                                $0.preamble.map { ($0.label, $0.value) }, uniquingKeysWith: { first, _ in first }))
                    },
                    rows: reading.rows.map {
                        Row(
                            location: $0.location.description, line: $0.location.line, role: $0.role.rawValue,
                            rule: $0.rule,
                            fields: $0.values.mapValues(\.text))
                    },
                    batches: RemittanceAdviceText.render(advices), findings: findings, error: failure?.description,
                    error_code: failure?.code,
                    not_fitting: Dictionary(tried, uniquingKeysWith: { first, _ in first })))
        } else {
            Output.line(
                "\(name): profile \(profile.name) (\(profile.kind.rawValue)), read as \(reading.format.rawValue)"
                    + (reading.encoding.map { ", encoding \($0.rawValue)" } ?? ""))
            for (other, reason) in tried { Output.line("  (profile \(other) does not fit: \(reason))") }
            for table in reading.tables {
                let name = table.name.map { "\($0): " } ?? ""
                if let line = table.headerLine {
                    Output.line(
                        "\(name)header on line \(line): \(table.header.filter { !$0.isEmpty }.joined(separator: " | "))"
                    )
                }
                for (label, value) in table.preamble { Output.line("  preamble \"\(label)\" = \(value)") }
            }
            Output.line("")
            for row in reading.rows {
                Output.line(
                    "\(row.location.line.map { "line \($0)" } ?? row.location.place ?? "")".padding(10)
                        + row.role.rawValue.padding(11) + row.rule)
                let fields = row.values.keys.sorted().map { "\($0) = \(row.values[$0]!.text)" }
                if !fields.isEmpty { Output.line("          " + fields.joined(separator: ", ")) }
            }
            Output.line("")
            if profile.kind == .remittance, failure == nil {
                Output.line("\(advices.count) batch\(advices.count == 1 ? "" : "es"):")
                Console.standardOutput.write(RemittanceAdviceText.render(advices))
            }
            if let failure {
                Console.standardError.line("\(Console.standardError.paint("error:", .red)) \(failure.description)")
            }
        }
        return failure == nil ? .ok : failure!.exitStatus
    }

    static func draft(_ invocation: Invocation) async throws -> ExitStatus {
        let path = invocation.argument("SAMPLE")!
        let bytes = try readSample(path)
        let fileName = (path as NSString).lastPathComponent
        var name = invocation.value("name") ?? String(fileName.prefix { $0 != "." })
        // A name by the identifier rule: ASCII letters, digits, - and _, at most 64 bytes; starting
        // with a letter, as a profile's `name` must (a file named `2026-11.csv`, an inbox's `SHA256-...`).
        name = String(
            name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) || $0 == "-" || $0 == "_" ? $0 : "-" })
        if let first = name.first, !(first.isASCII && first.isLetter) { name = "profile-" + name }
        name = String(name.prefix(Identifier.maximumBytes))
        let draft = try ProfileDraft.make(bytes, fileName: fileName, name: name.isEmpty ? "draft" : name)
        // The draft must be a valid profile: a failure here is a fault of ours, never the user's.
        _ = try LayoutProfileParser.parse(draft.text, file: "\(name).profile")
        let detected =
            "format \(draft.format.rawValue)" + (draft.encoding.map { ", encoding \($0.rawValue)" } ?? "")
            + (draft.separator.map { ", separator \($0 == "\t" ? "tab" : String($0))" } ?? "")
            + ", decimal \(draft.decimal)"
            + (draft.dateFormats.isEmpty ? "" : ", dates \(draft.dateFormats.joined(separator: " / "))")
        if invocation.json {
            struct Report: Encodable {
                let profile: String
                let format: String
                let encoding: String?
                let separator: String?
                let decimal: String
                let date_formats: [String]
                let notes: [String]
                let written_to: String?
            }
            if let out = invocation.value("out") { try write(draft.text, to: out) }
            try Output.json(
                Report(
                    profile: draft.text, format: draft.format.rawValue, encoding: draft.encoding?.rawValue,
                    separator: draft.separator.map { $0 == "\t" ? "tab" : String($0) }, decimal: String(draft.decimal),
                    date_formats: draft.dateFormats, notes: draft.notes,
                    written_to: invocation.value("out").map(Workspace.absolute)))
        } else if let out = invocation.value("out") {
            try write(draft.text, to: out)
            Output.line(
                "wrote \(Workspace.absolute(out)) (\(detected)); \(draft.notes.count) thing\(draft.notes.count == 1 ? "" : "s") to check"
            )
        } else {
            Console.standardError.line("detected: \(detected)")
            Console.standardOutput.write(draft.text)
        }
        return .ok
    }

    static func write(_ text: String, to path: String) throws {
        let absolute = Workspace.absolute(path)
        guard !FileManager.default.fileExists(atPath: absolute) else {
            throw GeneralError(
                code: "profile.exists", message: "\(absolute) exists; choose another --out or remove it",
                exitStatus: .cannotCreate)
        }
        guard FileManager.default.createFile(atPath: absolute, contents: Data(text.utf8)) else {
            throw GeneralError(code: "profile.write", message: "cannot write \(absolute)", exitStatus: .cannotCreate)
        }
    }
}
