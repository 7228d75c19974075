public import Foundation
public import NightjarAgent
public import NightjarCore
import Synchronization

/// A workspace: the folder that holds one firm's configuration, vault, scraper definitions,
/// database, inbox of downloaded files, reports and logs. Everything in it is readable by the
/// owner only.
public struct Workspace: Sendable {
    /// The workspace folder.
    public let root: String

    public init(root: String) {
        self.root = (root as NSString).standardizingPath
    }

    public var configPath: String { root + "/nightjar.conf" }
    public var vaultDirectory: String { root + "/vault" }
    public var scrapersDirectory: String { root + "/scrapers" }
    public var profilesDirectory: String { root + "/profiles" }
    /// Per-client matching rules: `rules/CLIENT.rules`, `rules/default.rules`.
    public var rulesDirectory: String { root + "/rules" }
    public var dataDirectory: String { root + "/data" }
    public var databasePath: String { dataDirectory + "/nightjar.sqlite" }
    public var inboxDirectory: String { dataDirectory + "/inbox" }
    public var reportsDirectory: String { root + "/reports" }
    public var logsDirectory: String { root + "/logs" }
    public var logPath: String { logsDirectory + "/nightjar.log" }

    /// Folders `init` creates, in order.
    public var directories: [String] {
        [
            root, vaultDirectory, scrapersDirectory, profilesDirectory, dataDirectory, inboxDirectory, reportsDirectory,
            logsDirectory,
        ]
    }

    /// The workspace chosen by `--home`, else `$NIGHTJAR_HOME`, else the current folder.
    public static func locate(option: String?, environment: [String: String]) -> Workspace {
        if let option { return Workspace(root: absolute(option)) }
        if let home = environment["NIGHTJAR_HOME"], !home.isEmpty { return Workspace(root: absolute(home)) }
        return Workspace(root: FileManager.default.currentDirectoryPath)
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Whether a workspace exists here (its config file does).
    public var exists: Bool { FileManager.default.fileExists(atPath: configPath) }

    /// Opens an existing workspace, or explains how to make one. The first open in a process
    /// also says which of its files have names the identifier rule refuses, and how to rename them.
    public func requireExisting() throws(WorkspaceError) -> WorkspaceConfig {
        guard exists else { throw .missing(root) }
        let text: String
        do {
            text = try BoundedFile.readText(configPath, what: "workspace config")
        } catch {
            if case .unreadable(let reason) = error.problem { throw .unreadable(configPath, reason) }
            throw .invalid(SourceLocation(file: configPath, line: 1), error.message)
        }
        let config = try WorkspaceConfig.parse(text, file: configPath)
        if Workspace.firstOpen(of: root) {
            for problem in misnamedFiles() { Logger(label: "workspace").warning(problem) }
        }
        return config
    }

    private static let opened = Mutex<Set<String>>([])

    /// True the first time this process asks about `key`.
    static func firstOpen(of key: String) -> Bool {
        opened.withLock { $0.insert(key).inserted }
    }

    /// A file of the workspace named for what it is: `profiles/NAME.profile`, `rules/NAME.rules`, `scrapers/NAME.scraper`.
    public struct NamedFile: Sendable, Equatable {
        public let name: String
        public let path: String
    }

    /// The files of `directory` ending in `suffix` whose names the identifier rule admits, sorted by name;
    /// the others are left out (and reported at open by `misnamedFiles`).
    public func namedFiles(in directory: String, suffix: String) -> [NamedFile] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return entries.filter { $0.hasSuffix(suffix) }.sorted().compactMap { entry in
            let name = String(entry.dropLast(suffix.count))
            return Identifier.isValid(name) ? NamedFile(name: name, path: directory + "/" + entry) : nil
        }
    }

    /// One sentence per file in scrapers/, profiles/ or rules/ whose name the identifier rule
    /// refuses (such files are never read), with the command that renames it.
    public func misnamedFiles() -> [String] {
        var problems: [String] = []
        for (directory, suffix, field) in [
            (scrapersDirectory, ".scraper", "portal name"), (profilesDirectory, ".profile", "profile name"),
            (rulesDirectory, ".rules", "rules name"),
        ] {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for entry in entries.sorted() where entry.hasSuffix(suffix) {
                let name = String(entry.dropLast(suffix.count))
                guard let reason = Identifier.problem(name) else { continue }
                let folder = (directory as NSString).lastPathComponent
                let message = IdentifierError(field: field, value: name, reason: reason).message
                problems.append(
                    "\(folder)/\(entry) is not read: \(message); rename it: mv \(Workspace.shellQuoted(directory + "/" + entry)) "
                        + Workspace.shellQuoted(directory + "/" + Identifier.suggestedName(for: name) + suffix))
            }
        }
        return problems
    }

    /// `value` quoted for a POSIX shell when it needs it.
    static func shellQuoted(_ value: String) -> String {
        let plain = value.unicodeScalars.allSatisfy {
            $0.properties.isAlphabetic && $0.isASCII || ("0"..."9").contains($0)
                || "/._-+:=@".unicodeScalars.contains($0)
        }
        return plain && !value.isEmpty ? value : "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Creates the folders and the config file. Refuses when a workspace already exists here.
    public func create(config: WorkspaceConfig) throws(WorkspaceError) {
        guard !exists else { throw .alreadyExists(root) }
        do {
            for directory in directories { try SecureFile.createPrivateDirectory(directory) }
            try SecureFile.writeAtomically(Array(config.rendered().utf8), to: configPath, mode: 0o600)
        } catch {
            throw .cannotCreate(root, "\(error)")
        }
    }
}

/// The workspace's settings, from `nightjar.conf` (`key = value` lines, `#` comments, `[sections]`).
public struct WorkspaceConfig: Sendable, Equatable, Codable {
    /// A name for people: the firm or team.
    public var name: String
    /// The zone business dates and windows are read in, e.g. America/New_York.
    public var timeZone: String
    /// Currency for amounts a document gives without one.
    public var defaultCurrency: CurrencyCode
    /// Where portals really are, overriding their definitions' origins (`[origins]`): keys are
    /// `PORTAL` (its first origin), `PORTAL.NAME`, or `CLIENT/PORTAL` and `CLIENT/PORTAL.NAME`
    /// for one credential (a retailer's test host, the sandbox's ports).
    public var origins: [String: String]
    /// When the daemon visits each portal (`[schedule]`): `PORTAL = "11:30 15:00 23:00 America/New_York"`,
    /// and `default` for the others (default: 02:00 in the workspace's zone).
    public var schedules: [String: String] = [:]
    /// The largest file any importer reads (`max_file_size`, e.g. `2 GB`); larger ones are refused with their size.
    public var maximumFileBytes = InputFile.defaultMaximumBytes
    /// When the night must be over (`night_ends = "07:00"`, the workspace's zone): a portal's
    /// `Retry-After` that would wait past it is not waited out (the credential is `rate_limited`).
    public var nightEnds: String?
    /// CA certificates (PEM) that mailbox servers are verified with instead of the system's, for
    /// a server with a private CA (`[sources] ca_bundle`).
    public var sourceCABundle: String?
    /// The morning mail (`[mail]`): nil when it is not set up.
    public var mail: MailConfig?

    /// How the morning mail is sent (`[mail]`).
    public struct MailConfig: Sendable, Equatable, Codable {
        /// `smtps://host[:port]` or `smtp://host[:port]` (STARTTLS required).
        public var server: String
        /// The sender of every message.
        public var from: String
        /// Who is told when a night fails (comma-separated in the file).
        public var operators: [String] = []
        /// The vault entry (`CLIENT/PORTAL`) whose username and password sign in, when the server wants it.
        public var credential: String?
        /// Plain SMTP to a loopback test server only.
        public var allowPlaintextLoopback = false
        /// The review site's address, for a link in each message.
        public var reviewURL: String?

        enum CodingKeys: String, CodingKey {
            case server, from, operators, credential
            case allowPlaintextLoopback = "allow_plaintext_loopback"
            case reviewURL = "review_url"
        }
    }

    public init(name: String, timeZone: String, defaultCurrency: CurrencyCode, origins: [String: String] = [:]) {
        self.name = name
        self.timeZone = timeZone
        self.defaultCurrency = defaultCurrency
        self.origins = origins
    }

    enum CodingKeys: String, CodingKey {
        case name, origins, schedules
        case nightEnds = "night_ends"
        case sourceCABundle = "source_ca_bundle"
        case mail
        case timeZone = "time_zone"
        case defaultCurrency = "default_currency"
    }

    /// Origin overrides for one credential's run: origin name → URL (the first origin is `base`).
    public func originOverrides(client: String, portal: String, firstOrigin: String) -> [String: String] {
        var result: [String: String] = [:]
        for key in [portal, "\(client)/\(portal)"] {
            if let url = origins[key] { result[firstOrigin] = url }
            for (name, url) in origins where name.hasPrefix(key + ".") {
                result[String(name.dropFirst(key.count + 1))] = url
            }
        }
        return result
    }

    /// The config file's text.
    public func rendered() -> String {
        """
        # Nightjar workspace configuration.
        # Lines are `key = "value"`; `#` starts a comment. See docs/operating.md.

        [workspace]
        # A name for people: the firm or team this workspace belongs to.
        name = "\(name)"
        # IANA time zone for business dates, delivery windows and cutoffs.
        time_zone = "\(timeZone)"
        # ISO 4217 currency for amounts a document gives without one.
        default_currency = "\(defaultCurrency)"

        """
            + (origins.isEmpty
                ? ""
                : "\n[origins]\n# Where portals really are: PORTAL, PORTAL.ORIGIN, CLIENT/PORTAL or CLIENT/PORTAL.ORIGIN.\n"
                    + origins.keys.sorted().map { "\($0) = \"\(origins[$0]!)\"" }.joined(separator: "\n") + "\n")
            + (sourceCABundle.map {
                "\n[sources]\n# CA certificates mailbox servers are verified with instead of the system's.\nca_bundle = \"\($0)\"\n"
            } ?? "")
            + (schedules.isEmpty
                ? ""
                : "\n[schedule]\n# When the daemon visits each portal: times of day and a time zone; `default` for the rest.\n"
                    + schedules.keys.sorted().map { "\($0) = \"\(schedules[$0]!)\"" }.joined(separator: "\n") + "\n")
    }

    /// Parses the config file, with line numbers in errors.
    public static func parse(_ text: String, file: String) throws(WorkspaceError) -> WorkspaceConfig {
        guard text.utf8.count <= BoundedFile.textFileLimit else {
            throw .invalid(
                SourceLocation(file: file, line: 1),
                "the workspace config is \(text.utf8.count) bytes, more than the 1 MiB it may be")
        }
        if let location = NULByte.location(in: text, file: file) {
            let line = text.textLines.dropFirst((location.line ?? 1) - 1).first.map(String.init) ?? ""
            let key =
                line.split(separator: "=", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            let field = line.contains("=") && !key.utf8.contains(0) ? "value of `\(key)`" : "workspace config"
            throw .invalid(location, NULByteError(field: field).message)
        }
        var values: [String: (String, Int)] = [:]
        var section = ""
        for (offset, rawLine) in text.textLines.enumerated() {
            let lineNumber = offset + 1
            var line = Substring(rawLine).trimmingSpaces()
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw .invalid(
                        SourceLocation(file: file, line: lineNumber, column: 1), "a section header needs a closing ]")
                }
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw .invalid(SourceLocation(file: file, line: lineNumber, column: 1), "expected `key = value`")
            }
            let key = line[..<equals].trimmingSpaces()
            line = line[line.index(after: equals)...].trimmingSpaces()
            var value = String(line)
            if value.hasPrefix("\"") {
                guard let close = value.dropFirst().firstIndex(of: "\"") else {
                    throw .invalid(
                        SourceLocation(file: file, line: lineNumber, column: equals.utf16Offset(in: rawLine) + 2),
                        "unterminated string")
                }
                value = String(value[value.index(after: value.startIndex)..<close])
            } else if let hash = value.firstIndex(of: "#") {
                value = String(value[..<hash]).trimmingCharacters(in: .whitespaces)
            }
            let fullKey = section.isEmpty ? String(key) : "\(section).\(key)"
            values[fullKey] = (value, lineNumber)
        }
        let known = [
            "workspace.name", "workspace.time_zone", "workspace.default_currency", "workspace.max_file_size",
            "workspace.night_ends", "sources.ca_bundle",
            "mail.server", "mail.from", "mail.operators", "mail.credential", "mail.allow_plaintext_loopback",
            "mail.review_url",
        ]
        var origins: [String: String] = [:]
        for (key, value) in values where key.hasPrefix("origins.") {
            try checkOriginKey(
                String(key.dropFirst("origins.".count)), location: SourceLocation(file: file, line: value.1, column: 1))
            guard ["http://", "https://", "imaps://", "imap://", "sftp://"].contains(where: { value.0.hasPrefix($0) })
            else {
                throw .invalid(
                    SourceLocation(file: file, line: value.1, column: 1),
                    "`\(key)` must be an http(s), imap(s) or sftp URL")
            }
            origins[String(key.dropFirst("origins.".count))] = value.0
        }
        var schedules: [String: String] = [:]
        for (key, value) in values where key.hasPrefix("schedule.") {
            if let reason = Identifier.problem(String(key.dropFirst("schedule.".count))) {
                let name = String(key.dropFirst("schedule.".count))
                throw .invalid(
                    SourceLocation(file: file, line: value.1, column: 1),
                    "[schedule]: " + IdentifierError(field: "portal name", value: name, reason: reason).message)
            }
            do {
                _ = try PortalSchedule.parse(
                    value.0, defaultZone: TimeZone(identifier: values["workspace.time_zone"]?.0 ?? "UTC") ?? .gmt)
            } catch {
                throw .invalid(SourceLocation(file: file, line: value.1, column: 1), "`\(key)`: \(error.message)")
            }
            schedules[String(key.dropFirst("schedule.".count))] = value.0
        }
        if let unknown = values.keys.sorted().first(where: {
            !known.contains($0) && !$0.hasPrefix("origins.") && !$0.hasPrefix("schedule.")
        }) {
            throw .invalid(
                SourceLocation(file: file, line: values[unknown]!.1, column: 1), "unknown setting `\(unknown)`")
        }
        let timeZone = values["workspace.time_zone"]?.0 ?? "UTC"
        if TimeZone(identifier: timeZone) == nil {
            throw .invalid(
                SourceLocation(file: file, line: values["workspace.time_zone"]?.1, column: 1),
                "unknown time zone \"\(timeZone)\" (use an IANA name such as America/New_York)")
        }
        let currencyText = values["workspace.default_currency"]?.0 ?? "USD"
        let currency: CurrencyCode
        do {
            currency = try CurrencyCode(currencyText)
        } catch {
            throw .invalid(
                SourceLocation(file: file, line: values["workspace.default_currency"]?.1, column: 1), error.message)
        }
        var config = WorkspaceConfig(
            name: values["workspace.name"]?.0 ?? "Nightjar", timeZone: timeZone, defaultCurrency: currency,
            origins: origins)
        config.schedules = schedules
        if let (text, line) = values["workspace.max_file_size"] {
            guard let bytes = WorkspaceConfig.byteCount(text), bytes > 0 else {
                throw .invalid(
                    SourceLocation(file: file, line: line, column: 1),
                    "`max_file_size` must be a size such as 500 MB or 4 GB, not \"\(text)\"")
            }
            config.maximumFileBytes = bytes
        }
        if let (path, _) = values["sources.ca_bundle"] { config.sourceCABundle = path }
        if let (server, line) = values["mail.server"] {
            guard server.lowercased().hasPrefix("smtps://") || server.lowercased().hasPrefix("smtp://") else {
                throw .invalid(
                    SourceLocation(file: file, line: line, column: 1),
                    "`mail.server` must be an smtps:// or smtp:// URL")
            }
            guard let from = values["mail.from"]?.0, from.contains("@") else {
                throw .invalid(
                    SourceLocation(file: file, line: line, column: 1), "[mail] needs `from`, the sender's address")
            }
            var mail = MailConfig(server: server, from: from)
            mail.operators = (values["mail.operators"]?.0 ?? "").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }.filter { !$0.isEmpty }
            mail.credential = values["mail.credential"]?.0
            mail.allowPlaintextLoopback = values["mail.allow_plaintext_loopback"]?.0 == "true"
            mail.reviewURL = values["mail.review_url"]?.0
            config.mail = mail
        }
        if let (text, line) = values["workspace.night_ends"] {
            guard let zone = TimeZone(identifier: timeZone),
                let parsed = try? PortalSchedule.parse(text, defaultZone: zone), parsed.times.count == 1
            else {
                throw .invalid(
                    SourceLocation(file: file, line: line, column: 1), "night_ends is one time of day, e.g. \"07:00\"")
            }
            config.nightEnds = text
        }
        return config
    }

    /// `[origins]` keys: `PORTAL`, `PORTAL.ORIGIN`, `CLIENT/PORTAL` or `CLIENT/PORTAL.ORIGIN`, each part a name.
    static func checkOriginKey(_ key: String, location: SourceLocation) throws(WorkspaceError) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let checks: [(String, String)] =
            parts.count == 2 ? [(parts[0], "client name"), (parts[1], "portal name")] : [(key, "portal name")]
        for (part, field) in checks {
            if let reason = Identifier.problem(part) {
                throw .invalid(
                    location,
                    "[origins]: " + IdentifierError(field: field, value: part, reason: reason).message
                        + " (keys are PORTAL, PORTAL.ORIGIN, CLIENT/PORTAL or CLIENT/PORTAL.ORIGIN)")
            }
        }
    }

    /// `4 GB`, `500MB`, `1048576`: a size in bytes (KB, MB, GB are powers of 1000; KiB, MiB, GiB of 1024).
    static func byteCount(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).uppercased()
        let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
        guard let number = Int(digits) else { return nil }
        let units: [String: Int] = [
            "": 1, "B": 1, "KB": 1000, "MB": 1_000_000, "GB": 1_000_000_000, "KIB": 1024, "MIB": 1 << 20,
            "GIB": 1 << 30,
        ]
        guard let unit = units[trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)] else { return nil }
        let (value, overflow) = number.multipliedReportingOverflow(by: unit)
        return overflow ? nil : value
    }

    /// The instant the night that starts at `start` must end by, or nil when none is set.
    public func nightDeadline(after start: Date) -> Date? {
        guard let nightEnds, let zone = TimeZone(identifier: timeZone),
            let schedule = try? PortalSchedule.parse(nightEnds, defaultZone: zone)
        else { return nil }
        return schedule.next(after: start, count: 1).first
    }

    /// When supplier documents are looked for: `supplier_documents`, else three times a day.
    public var supplierSchedule: PortalSchedule {
        let zone = TimeZone(identifier: timeZone) ?? .gmt
        return (try? PortalSchedule.parse(schedules["supplier_documents"] ?? "08:00 13:00 18:00", defaultZone: zone))
            ?? PortalSchedule(times: [.init(hour: 8, minute: 0)], timeZone: zone)
    }

    /// The schedule of a portal: its own, else `default`, else 02:00 in the workspace's zone.
    public func schedule(for portal: String) -> PortalSchedule {
        let zone = TimeZone(identifier: timeZone) ?? .gmt
        let text = schedules[portal] ?? schedules["default"] ?? "02:00"
        return (try? PortalSchedule.parse(text, defaultZone: zone))
            ?? PortalSchedule(times: [.init(hour: 2, minute: 0, second: 0)], timeZone: zone)
    }
}

/// Problems with a workspace.
public enum WorkspaceError: NightjarError {
    case missing(String)
    case alreadyExists(String)
    case cannotCreate(String, String)
    case unreadable(String, String)
    case invalid(SourceLocation, String)

    public var code: String {
        switch self {
        case .missing: "workspace.missing"
        case .alreadyExists: "workspace.exists"
        case .cannotCreate: "workspace.cannot_create"
        case .unreadable: "workspace.unreadable"
        case .invalid: "workspace.invalid_config"
        }
    }

    public var message: String {
        switch self {
        case .missing(let root):
            "no Nightjar workspace at \(root) (create one with `nightjar init \(root)`, or pass --home)"
        case .alreadyExists(let root): "a workspace already exists at \(root); nothing was changed"
        case .cannotCreate(let root, let reason): "cannot create a workspace at \(root): \(reason)"
        case .unreadable(let path, let reason): "cannot read \(path): \(reason)"
        case .invalid(_, let reason): reason
        }
    }

    public var location: SourceLocation? {
        if case .invalid(let location, _) = self { return location }
        return nil
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .missing: .noInput
        case .alreadyExists, .cannotCreate: .cannotCreate
        case .unreadable: .ioError
        case .invalid: .config
        }
    }
}
