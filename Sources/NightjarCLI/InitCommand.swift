import Foundation
import NightjarCore

/// `nightjar init [DIR]`
enum InitCommand {
    static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace =
            invocation.argument("DIR").map { Workspace(root: Workspace.absolute($0)) } ?? invocation.workspace
        let timeZone = invocation.value("time-zone") ?? "UTC"
        _ = try TimeZone.named(timeZone)
        let currency = try CurrencyCode(invocation.value("currency") ?? "USD")
        let config = WorkspaceConfig(
            name: invocation.value("name") ?? "Nightjar", timeZone: timeZone, defaultCurrency: currency)
        try workspace.create(config: config)
        try WorkspaceDatabase.create(at: workspace.databasePath)
        Logger(label: "workspace").info("created workspace", [("path", .text(workspace.root))])
        if invocation.json {
            struct Created: Encodable {
                let workspace: String
                let config: String
                let database: String
                let folders: [String]
            }
            try Output.json(
                Created(
                    workspace: workspace.root, config: workspace.configPath, database: workspace.databasePath,
                    folders: workspace.directories.dropFirst().map { $0 }))
        } else {
            Output.line("Created a Nightjar workspace in \(workspace.root)")
            Output.line("  nightjar.conf   settings (time zone \(timeZone), currency \(currency))")
            Output.line("  vault/          the encrypted credential vault")
            Output.line("  scrapers/       portal scraper definitions (*.scraper)")
            Output.line("  profiles/       column layouts for CSV and Excel files")
            Output.line("  data/           the database and the inbox of downloaded files")
            Output.line("  reports/        morning reports")
            Output.line("  logs/           run logs")
            Output.line("")
            Output.line("Everything in it is readable by you only. Next: `nightjar --home \(workspace.root) status`.")
        }
        return .ok
    }
}

/// `nightjar status`
enum StatusCommand {
    struct Status: Encodable {
        let workspace: String
        let name: String
        let time_zone: String
        let default_currency: String
        let database: String
        let schema_version: Int
        let version: String
    }

    static func run(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        let config = try workspace.requireExisting()
        let schema = try WorkspaceDatabase.schemaVersion(at: workspace.databasePath)
        let status = Status(
            workspace: workspace.root, name: config.name, time_zone: config.timeZone,
            default_currency: config.defaultCurrency.code, database: workspace.databasePath,
            schema_version: schema, version: NightjarVersion.current)
        if invocation.json {
            try Output.json(status)
        } else {
            Output.line("Workspace   \(status.workspace) (\(status.name))")
            Output.line("Time zone   \(status.time_zone)")
            Output.line("Currency    \(status.default_currency)")
            Output.line("Database    \(status.database) (schema \(status.schema_version))")
        }
        return .ok
    }
}
