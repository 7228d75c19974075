public import NightjarCore

/// What an argument or option names, when the identifier rule (NightjarCore's `Identifier`)
/// governs it: the parser checks it before any command runs, and refuses it with exit 64.
public enum NameRule: Sendable, Equatable {
    /// One name; the string names the field in errors ("client name").
    case identifier(String)
    /// A name, or a path to a file ending in `suffix` (`sandbox-html-portal`, or `scrapers/sandbox-html-portal.scraper`).
    case identifierOrPath(String, suffix: String)
    /// `CLIENT/PORTAL[/LABEL]`, each part a name.
    case credentialName

    /// Whether `value` is a path to a file rather than a name: it ends in `suffix`.
    public static func isPath(_ value: String, suffix: String) -> Bool { value.hasSuffix(suffix) }

    /// The first part of `value` the rule refuses, as the identifier error for it.
    public func problem(_ value: String) -> IdentifierError? {
        func check(_ part: String, _ field: String) -> IdentifierError? {
            Identifier.problem(part).map { IdentifierError(field: field, value: part, reason: $0) }
        }
        switch self {
        case .identifier(let field):
            return check(value, field)
        case .identifierOrPath(let field, let suffix):
            return NameRule.isPath(value, suffix: suffix) ? nil : check(value, field)
        case .credentialName:
            let parts = value.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            if parts.count > 3 {
                return IdentifierError(
                    field: "credential label", value: parts[2...].joined(separator: "/"), reason: .slash)
            }
            for (part, field) in zip(parts, ["client name", "portal name", "credential label"]) {
                if let problem = check(part, field) { return problem }
            }
            return nil
        }
    }
}

/// One option of a command, e.g. `--client C` or the flag `--json`.
public struct OptionSpec: Sendable {
    /// Long name without dashes, e.g. `client`.
    public let name: String
    public let short: Character?
    /// Placeholder for the value (`C`, `FILE`), or nil for a flag.
    public let valueName: String?
    public let help: String
    public let repeatable: Bool
    /// The identifier rule's part in the value, when it names a client, portal, label, operator, profile or rules file.
    public let names: NameRule?

    public static func flag(_ name: String, short: Character? = nil, _ help: String) -> OptionSpec {
        OptionSpec(name: name, short: short, valueName: nil, help: help, repeatable: false, names: nil)
    }

    public static func value(
        _ name: String, _ valueName: String, short: Character? = nil, repeatable: Bool = false,
        names: NameRule? = nil, _ help: String
    ) -> OptionSpec {
        OptionSpec(name: name, short: short, valueName: valueName, help: help, repeatable: repeatable, names: names)
    }

    /// `--client C`: a client's name.
    public static func client(repeatable: Bool = false, _ help: String) -> OptionSpec {
        .value("client", "C", repeatable: repeatable, names: .identifier("client name"), help)
    }

    var usage: String {
        var text = "--\(name)"
        if let valueName { text += " \(valueName)" }
        return text
    }
}

/// One positional argument of a command.
public struct ArgumentSpec: Sendable {
    public let name: String
    public let help: String
    public let optional: Bool
    public let variadic: Bool
    /// The identifier rule's part in the value, when it names a client, portal, label, operator, profile or rules file.
    public let names: NameRule?

    public init(_ name: String, _ help: String, optional: Bool = false, variadic: Bool = false, names: NameRule? = nil)
    {
        self.name = name
        self.help = help
        self.optional = optional
        self.variadic = variadic
        self.names = names
    }

    var usage: String {
        var text = name + (variadic ? "..." : "")
        if optional { text = "[\(text)]" }
        return text
    }
}

/// What a command may change. Every command says it; a test runs every `changesBooks` command
/// against an approved, exported batch and checks that nothing of it changed.
public enum CommandEffect: Sendable, Equatable {
    /// Prints, checks or serves; writes nothing a person relies on.
    case readsOnly
    /// Batches, lines, decisions, invoices, credits or exports: what review and the GL see.
    case changesBooks
    /// The vault, the workspace's files, inbox marks, purchase orders: never a batch.
    case changesOther
}

/// A command of the table: its words, its help, its arguments and options, and what it does.
public struct CommandSpec: Sendable {
    /// The words that name it, e.g. `["vault", "add"]`.
    public let path: [String]
    /// One line for the command list.
    public let summary: String
    /// A paragraph or more for `--help`, with examples.
    public let discussion: String
    public let arguments: [ArgumentSpec]
    public let options: [OptionSpec]
    /// Hidden commands work but are left out of the list (internal diagnostics).
    public let hidden: Bool
    public let effect: CommandEffect
    public let run: @Sendable (Invocation) async throws -> ExitStatus

    public init(
        _ path: [String], effect: CommandEffect, summary: String, discussion: String = "",
        arguments: [ArgumentSpec] = [],
        options: [OptionSpec] = [], hidden: Bool = false,
        run: @escaping @Sendable (Invocation) async throws -> ExitStatus
    ) {
        self.path = path
        self.summary = summary
        self.discussion = discussion
        self.arguments = arguments
        self.options = options
        self.hidden = hidden
        self.effect = effect
        self.run = run
    }

    public var name: String { path.joined(separator: " ") }

    var usageLine: String {
        var parts = ["nightjar", name]
        if !options.isEmpty { parts.append("[options]") }
        parts += arguments.map(\.usage)
        return parts.joined(separator: " ")
    }
}

/// Options every command accepts.
public enum GlobalOptions {
    public static let all: [OptionSpec] = [
        .value("home", "DIR", "workspace folder (default: $NIGHTJAR_HOME, else the current folder)"),
        .flag("json", "print machine-readable JSON (the stable API of listing commands)"),
        .value("log-level", "LEVEL", "debug, info, notice (default), warning or error"),
        .value("log-file", "FILE", "also append log lines to FILE (created mode 0600)"),
        .flag("verbose", short: "v", "log more (the info level; --log-level debug for everything)"),
        .flag("quiet", short: "q", "log only warnings and errors"),
        .flag("help", short: "h", "show help for the command"),
    ]

    /// The global options as `nightjar COMMAND --help` lists them on one line.
    static var summary: String {
        all.map { option in (option.short.map { "-\($0)/" } ?? "") + option.usage }.joined(separator: ", ")
    }
}

/// A parsed command line, handed to a command's `run`.
public struct Invocation: Sendable {
    public let command: CommandSpec
    /// Positional arguments in order.
    public let arguments: [String]
    /// Option values by long name; flags hold an empty string.
    public let options: [String: [String]]
    /// Environment variables the command may consult.
    public let environment: [String: String]
    /// Text the program reads from standard input when a command asks for it.
    public let standardInput: @Sendable () -> String

    public func flag(_ name: String) -> Bool { options[name] != nil }
    public func value(_ name: String) -> String? { options[name]?.last }
    public func values(_ name: String) -> [String] { options[name] ?? [] }
    public var json: Bool { flag("json") }

    /// The positional argument `name` as declared, if given.
    public func argument(_ name: String) -> String? {
        guard let index = command.arguments.firstIndex(where: { $0.name == name }), index < arguments.count else {
            return nil
        }
        return arguments[index]
    }
}

/// A command line the table cannot accept. Exit status 64.
public struct UsageError: NightjarError {
    public let message: String
    public let commandName: String?
    /// `usage`, or what was wrong with a value: `input.invalid_name`, `input.nul_byte`.
    public let code: String
    public var exitStatus: ExitStatus { .usage }

    public init(_ message: String, command: String? = nil, code: String = "usage") {
        self.message = message
        self.commandName = command
        self.code = code
    }
}

/// What the parser decided to do with a command line.
public enum ParsedCommandLine: Sendable {
    case run(Invocation)
    case help(CommandSpec?, topic: [String])
    case version
}

/// The one declarative table of commands, from which parsing, usage errors and every `--help` come.
public struct CommandTable: Sendable {
    public let commands: [CommandSpec]
    public let programSummary: String

    public init(commands: [CommandSpec], programSummary: String) {
        self.commands = commands
        self.programSummary = programSummary
    }

    /// Parses `arguments` (without the program name).
    public func parse(
        _ arguments: [String], environment: [String: String] = [:],
        standardInput: @escaping @Sendable () -> String = { "" }
    ) throws(UsageError) -> ParsedCommandLine {
        var words: [String] = []
        var rest: [String] = []
        var index = 0
        // Leading words that are not options name the command; global options may come first.
        var leadingOptions: [String] = []
        while index < arguments.count {
            let word = arguments[index]
            if (word == "--version" || word == "-V") && words.isEmpty { return .version }
            if word.hasPrefix("-") {
                // A global option before the command words.
                if let spec = GlobalOptions.all.first(where: {
                    "--\($0.name)" == word.split(separator: "=").first.map(String.init)
                }),
                    spec.valueName != nil, !word.contains("=")
                {
                    leadingOptions.append(word)
                    if index + 1 < arguments.count { leadingOptions.append(arguments[index + 1]) }
                    index += 2
                    continue
                }
                leadingOptions.append(word)
                index += 1
                continue
            }
            let candidate = words + [word]
            if commands.contains(where: { $0.path.starts(with: candidate) }) {
                words = candidate
                index += 1
            } else {
                break
            }
        }
        rest = leadingOptions + Array(arguments[index...])
        if words == ["help"] {
            if rest.contains("--help") || rest.contains("-h"),
                let command = commands.first(where: { $0.path == ["help"] })
            {
                return .help(command, topic: ["help"])
            }
            let topic = rest.filter { !$0.hasPrefix("-") }
            if topic.isEmpty { return .help(nil, topic: []) }
            guard let command = commands.first(where: { $0.path == topic }) else {
                if commands.contains(where: { $0.path.starts(with: topic) }) { return .help(nil, topic: topic) }
                throw UsageError(
                    "no command \"\(topic.joined(separator: " "))\"" + suggestion(for: topic.joined(separator: " ")))
            }
            return .help(command, topic: topic)
        }
        guard let command = commands.first(where: { $0.path == words }) else {
            // Only global options and no command (`nightjar -v`): the overview, as with nothing at all.
            let onlyGlobalOptions = rest.allSatisfy { word in
                GlobalOptions.all.contains { "--\($0.name)" == word || $0.short.map { "-\($0)" } == word }
                    || leadingOptions.contains(word) && !word.hasPrefix("-")
            }
            if rest.contains("--help") || rest.contains("-h") || words.isEmpty && onlyGlobalOptions {
                return .help(nil, topic: words)
            }
            if !words.isEmpty, commands.contains(where: { $0.path.starts(with: words) }) {
                let next = rest.first(where: { !$0.hasPrefix("-") })
                if let next {
                    throw UsageError(
                        "unknown command \"\((words + [next]).joined(separator: " "))\""
                            + suggestion(for: (words + [next]).joined(separator: " "))
                            + "; see `nightjar help \(words.joined(separator: " "))`")
                }
                return .help(nil, topic: words)
            }
            guard let attempted = rest.first(where: { !$0.hasPrefix("-") && !leadingOptions.contains($0) }) else {
                let option =
                    rest.first { word in
                        word.hasPrefix("-")
                            && !GlobalOptions.all.contains {
                                "--\($0.name)" == word || $0.short.map { "-\($0)" } == word
                            }
                    } ?? ""
                throw UsageError("unknown option \(option) before the command; see `nightjar --help`")
            }
            throw UsageError(
                "unknown command \"\(attempted)\"" + suggestion(for: attempted) + "; see `nightjar --help`")
        }
        let options = command.options + GlobalOptions.all
        var positional: [String] = []
        var values: [String: [String]] = [:]
        var onlyPositional = false
        var cursor = 0
        while cursor < rest.count {
            let word = rest[cursor]
            cursor += 1
            if onlyPositional || !word.hasPrefix("-") || word == "-" {
                positional.append(word)
                continue
            }
            if word == "--" {
                onlyPositional = true
                continue
            }
            var name: String
            var inlineValue: String?
            if word.hasPrefix("--") {
                let body = word.dropFirst(2)
                if let equals = body.firstIndex(of: "=") {
                    name = String(body[..<equals])
                    inlineValue = String(body[body.index(after: equals)...])
                } else {
                    name = String(body)
                }
            } else {
                let letters = Array(word.dropFirst())
                guard letters.count == 1, let spec = options.first(where: { $0.short == letters[0] }) else {
                    throw UsageError("unknown option \(word) for `nightjar \(command.name)`", command: command.name)
                }
                name = spec.name
            }
            guard let spec = options.first(where: { $0.name == name }) else {
                let known = options.map { "--" + $0.name }
                throw UsageError(
                    "unknown option --\(name) for `nightjar \(command.name)`"
                        + suggestion(for: "--" + name, among: known), command: command.name)
            }
            if spec.name == "help" { return .help(command, topic: command.path) }
            if spec.valueName != nil {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard cursor < rest.count else {
                        throw UsageError("option --\(name) needs a value (\(spec.valueName!))", command: command.name)
                    }
                    value = rest[cursor]
                    cursor += 1
                }
                if values[name] != nil && !spec.repeatable {
                    throw UsageError("option --\(name) is given twice", command: command.name)
                }
                values[name, default: []].append(value)
            } else {
                guard inlineValue == nil else {
                    throw UsageError("option --\(name) takes no value", command: command.name)
                }
                values[name] = [""]
            }
        }
        let required = command.arguments.filter { !$0.optional }.count
        if positional.count < required {
            let missing = command.arguments[positional.count]
            throw UsageError("missing argument \(missing.name) (\(missing.help))", command: command.name)
        }
        if positional.count > command.arguments.count && !(command.arguments.last?.variadic ?? false) {
            throw UsageError("unexpected argument \"\(positional[command.arguments.count])\"", command: command.name)
        }
        try checkValues(command, positional: positional, options: values, specs: options)
        if let level = values["log-level"]?.last, LogLevel(name: level) == nil {
            throw UsageError(
                "--log-level must be one of \(LogLevel.allCases.map(\.description).joined(separator: ", "))",
                command: command.name)
        }
        return .run(
            Invocation(
                command: command, arguments: positional, options: values, environment: environment,
                standardInput: standardInput))
    }

    /// Refuses NUL bytes in every value, and names the identifier rule refuses, naming the argument or option.
    func checkValues(_ command: CommandSpec, positional: [String], options: [String: [String]], specs: [OptionSpec])
        throws(UsageError)
    {
        func refuse(_ value: String, _ rule: NameRule?, given: String) throws(UsageError) {
            if value.utf8.contains(0) {
                throw UsageError(
                    NULByteError(field: "value of \(given)").message, command: command.name, code: "input.nul_byte")
            }
            if let rule, let problem = rule.problem(value) {
                throw UsageError("\(given): \(problem.message)", command: command.name, code: problem.code)
            }
        }
        for (index, value) in positional.enumerated() {
            let spec = index < command.arguments.count ? command.arguments[index] : command.arguments.last
            try refuse(value, spec?.names, given: spec?.name ?? "an argument")
        }
        for spec in specs {
            for value in options[spec.name] ?? [] { try refuse(value, spec.names, given: "--\(spec.name)") }
        }
    }

    /// " (did you mean `x`?)" when a close name exists.
    func suggestion(for word: String, among candidates: [String]? = nil) -> String {
        guard word.count <= 64 else { return "" }
        let names = candidates ?? commands.filter { !$0.hidden }.map(\.name)
        let best = names.map { ($0, Self.editDistance(word, $0)) }.min { $0.1 < $1.1 }
        guard let best, best.1 <= max(2, word.count / 3), !word.isEmpty else { return "" }
        return " (did you mean `\(best.0)`?)"
    }

    /// Levenshtein distance.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a)
        let y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        for i in 1...x.count {
            var current = [i] + Array(repeating: 0, count: y.count)
            for j in 1...y.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[y.count]
    }

    // MARK: Help

    /// `nightjar --help`: the commands grouped by their first word, global options, exit codes.
    public func overview(version: String) -> String {
        var text =
            "nightjar \(version): \(programSummary)\n\nUsage: nightjar [--home DIR] COMMAND [options] [arguments]\n\nCommands:\n"
        let visible = commands.filter { !$0.hidden }
        let labels = visible.map(\.name) + GlobalOptions.all.map { ($0.short.map { "-\($0), " } ?? "") + $0.usage }
        let width = min(30, (labels.map(\.count).max() ?? 10) + 2)
        for command in visible {
            text += "  " + command.name.padding(width) + command.summary + "\n"
        }
        text += "\nGlobal options:\n"
        for option in GlobalOptions.all {
            let label = (option.short.map { "-\($0), " } ?? "") + option.usage
            text += "  " + label.padding(width) + option.help + "\n"
        }
        text += "  " + "-V, --version".padding(width) + "print the version\n"
        text += "\nExit codes:\n"
        for status in ExitStatus.allCases {
            text += "  " + String(status.rawValue).padding(6) + status.summary + "\n"
        }
        text += "\nRun `nightjar help COMMAND` (or `nightjar COMMAND --help`) for a command's options and examples.\n"
        return text
    }

    /// Help for a group such as `nightjar help vault`.
    public func groupHelp(_ prefix: [String]) -> String {
        let members = commands.filter { $0.path.starts(with: prefix) && !$0.hidden }
        var text = "Commands under `nightjar \(prefix.joined(separator: " "))`:\n"
        let width = min(28, (members.map { $0.name.count }.max() ?? 10) + 2)
        for command in members { text += "  " + command.name.padding(width) + command.summary + "\n" }
        return text
    }

    /// `nightjar COMMAND --help`.
    public func help(for command: CommandSpec) -> String {
        var text = "Usage: \(command.usageLine)\n\n\(command.summary)\n"
        if !command.discussion.isEmpty { text += "\n\(command.discussion)\n" }
        if !command.arguments.isEmpty {
            text += "\nArguments:\n"
            let width = (command.arguments.map { $0.usage.count }.max() ?? 4) + 2
            for argument in command.arguments { text += "  " + argument.usage.padding(width) + argument.help + "\n" }
        }
        let width = min(28, ((command.options + GlobalOptions.all).map { $0.usage.count + 4 }.max() ?? 10) + 2)
        if !command.options.isEmpty {
            text += "\nOptions:\n"
            for option in command.options {
                let label = (option.short.map { "-\($0), " } ?? "") + option.usage
                let help = option.help.replacingOccurrences(of: " (repeatable)", with: "")
                text += "  " + label.padding(width) + help + (option.repeatable ? " (repeatable)" : "") + "\n"
            }
        }
        text += "\nGlobal options: \(GlobalOptions.summary)\n"
        return text
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self + "  " : self + String(repeating: " ", count: width - count)
    }
}
