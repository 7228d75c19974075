import Foundation
import NightjarCore
import NightjarVault

/// The version printed by `nightjar --version`.
public enum NightjarVersion {
    public static let current = "0.1.0"
}

/// The `nightjar` command table. Every command, its help and its options are declared here.
public enum NightjarCommands {
    public static let table = CommandTable(
        commands: [
            CommandSpec(
                ["init"], effect: .changesOther, summary: "create a workspace (config, vault/, scrapers/, database)",
                discussion: """
                    Creates DIR (default: --home, $NIGHTJAR_HOME, or the current folder) with nightjar.conf,
                    the folders vault/, scrapers/, profiles/, data/ (SQLite database and inbox), reports/
                    and logs/, all readable by you only. An existing workspace is never overwritten.

                    Example:
                      nightjar init ~/ar-night --time-zone America/New_York --name "Acme AR"
                    """,
                arguments: [ArgumentSpec("DIR", "folder for the new workspace", optional: true)],
                options: [
                    .value("name", "TEXT", "a name for people (default: Nightjar)"),
                    .value("time-zone", "ZONE", "IANA zone for business dates (default: UTC)"),
                    .value("currency", "CODE", "default ISO 4217 currency (default: USD)"),
                ],
                run: InitCommand.run),
            CommandSpec(
                ["status"], effect: .readsOnly,
                summary: "show the workspace: where it is, its settings and its database",
                discussion: "Example:\n  nightjar status --json",
                run: StatusCommand.run),
            CommandSpec(
                ["doctor"], effect: .readsOnly,
                summary: "check libraries, permissions, process hardening and redaction",
                discussion: """
                    Runs self-checks an operator can trust before leaving a machine to run at night:
                    the system libraries and their versions, the workspace's file permissions, that
                    core dumps are off, that encryption works, and that secrets are redacted in every
                    encoding. Exits 1 when a check fails.
                    """,
                run: DoctorCommand.run),
            CommandSpec(
                ["doctor", "redaction-drill"], effect: .readsOnly,
                summary: "push secrets read from stdin through every output path (diagnostic)",
                discussion: """
                    Reads one secret per line from standard input, registers each with the redactor,
                    then writes them raw and URL-, JSON-, HTML- and base64-encoded to log lines (stderr
                    and the workspace log), JSON output, an error message and a file in reports/.
                    Every copy must come out as [REDACTED]; tests grep all of it.
                    """,
                hidden: true, run: DoctorCommand.redactionDrill),
            CommandSpec(
                ["demo"], effect: .changesOther, summary: "run the demonstration night in a throw-away workspace",
                discussion: "What exists of the night so far; `make demo` runs this after building.",
                options: [.value("keep", "DIR", "create the demo workspace in DIR and keep it")],
                run: DemoCommand.run),
        ] + DocumentCommands.commands + ExampleCommands.commands + VaultCommands.commands + FileApprovals.commands
            + ScraperCommands.commands + ProfileCommands.commands + NightCommands.commands + InboxCommands.commands
            + ImportCommands.commands + ReviewCommands.commands + ReviewCommands.accountCommands
            + SupplierCommands.commands + ServeCommand.commands + ClientCommands.commands + [
                CommandSpec(
                    ["help"], effect: .readsOnly, summary: "show help for a command",
                    arguments: [ArgumentSpec("COMMAND", "a command", optional: true, variadic: true)],
                    run: { _ in .ok })
            ],
        programSummary: "overnight portal automation for accounts receivable")

    /// Runs the command line and returns the exit status. The executable's whole `main`.
    public static func main(arguments: [String], environment: [String: String]) async -> Int32 {
        ProcessHardening.apply()
        let wantsJSON = arguments.contains("--json")
        let parsed: ParsedCommandLine
        do {
            parsed = try table.parse(arguments, environment: environment, standardInput: { readStandardInput() })
        } catch {
            Output.error(error, json: wantsJSON)
            // Under --json, standard error holds the JSON object alone.
            if !wantsJSON, let name = error.commandName, let command = table.commands.first(where: { $0.name == name })
            {
                Console.standardError.line("Usage: \(command.usageLine)\nSee `nightjar help \(name)`.")
            }
            return ExitStatus.usage.rawValue
        }
        switch parsed {
        case .version:
            Output.line("nightjar \(NightjarVersion.current)")
            return 0
        case .help(let command, let topic):
            if let command {
                Output.line(table.help(for: command))
            } else if topic.isEmpty {
                Output.line(table.overview(version: NightjarVersion.current))
            } else {
                Output.line(table.groupHelp(topic))
            }
            return 0
        case .run(let invocation):
            do {
                try configureLogging(invocation)
                defer {
                    if let peak = ProcessResources.peakResidentKiB() {
                        Logger(label: "process").debug("peak memory \(peak) KiB (VmHWM)")
                    }
                }
                return try await invocation.command.run(invocation).rawValue
            } catch let error as any NightjarError {
                Output.error(error, json: invocation.json)
                return error.exitStatus.rawValue
            } catch {
                let wrapped = GeneralError(code: "internal", message: "\(error)")
                Output.error(wrapped, json: invocation.json)
                return ExitStatus.software.rawValue
            }
        }
    }

    static func configureLogging(_ invocation: Invocation) throws {
        let chosen: LogLevel = invocation.flag("verbose") ? .info : invocation.flag("quiet") ? .warning : .notice
        let level = invocation.value("log-level").flatMap(LogLevel.init(name:)) ?? chosen
        var sinks: [any LogSink] = [StandardErrorSink()]
        if let file = invocation.value("log-file") { sinks.append(try FileSink(path: file)) }
        Logger.configure(level: level, sinks: sinks)
    }

    /// The most of standard input a command reads: a credential CSV (50 MB) after the secrets
    /// before it. Past this the rest is never read, so an endless or huge stream costs bounded
    /// memory, and the reader of what was read refuses it by its own cap.
    static let standardInputLimit = CredentialCSV.maximumBytes + 1024 * 1024

    static func readStandardInput() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= standardInputLimit {
            let wanted = min(chunk.count, standardInputLimit + 1 - bytes.count)
            let count = chunk.withUnsafeMutableBytes { Foundation.read(STDIN_FILENO, $0.baseAddress!, wanted) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Invocation {
    /// The workspace this invocation acts on.
    public var workspace: Workspace { Workspace.locate(option: value("home"), environment: environment) }
}
