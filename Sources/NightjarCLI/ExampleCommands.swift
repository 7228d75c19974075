import Foundation
import NightjarCore

/// `nightjar examples ...`: the scraper definitions, cassettes and layout profiles shipped inside
/// the binary (the sandbox portals' own), listed or copied into a workspace.
enum ExampleCommands {
    static var commands: [CommandSpec] {
        [
            CommandSpec(
                ["examples", "list"], effect: .readsOnly,
                summary: "list the example definitions, cassettes and profiles inside the binary",
                discussion: "Example:\n  nightjar examples list --json",
                run: list),
            CommandSpec(
                ["examples", "install"], effect: .changesOther,
                summary: "copy the example definitions, cassettes and profiles into the workspace",
                discussion: """
                    Writes the shipped scraper definitions and their cassettes into scrapers/ and the example
                    layout profiles into profiles/ (mode 0600). A file already there is left alone unless
                    --force is given. They describe the sandbox portals (nightjar-sandbox); copy one as the
                    start of a definition for a real portal.

                    Example:
                      nightjar examples install
                      nightjar scraper test          # replays the installed cassettes offline
                    """,
                options: [.flag("force", "overwrite files of the same name")],
                run: install),
        ]
    }

    /// One shipped file: its name in the workspace and the folder it belongs in.
    struct Example {
        let path: String
        let text: String
        var name: String { (path as NSString).lastPathComponent }
        var kind: String {
            switch (name as NSString).pathExtension {
            case "scraper": "scraper"
            case "cassette": "cassette"
            default: "profile"
            }
        }
        func destination(in workspace: Workspace) -> String {
            (kind == "profile" ? workspace.profilesDirectory : workspace.scrapersDirectory) + "/" + name
        }
    }

    static var examples: [Example] { ShippedExamples.files.map { Example(path: $0.path, text: $0.text) } }

    /// The shipped text of `path` (e.g. `scrapers/sandbox-html-portal.scraper`).
    static func text(_ path: String) -> String? { ShippedExamples.files.first { $0.path == path }?.text }

    static func list(_ invocation: Invocation) async throws -> ExitStatus {
        if invocation.json {
            struct Row: Encodable {
                let name: String
                let kind: String
                let bytes: Int
            }
            try Output.json(examples.map { Row(name: $0.name, kind: $0.kind, bytes: $0.text.utf8.count) })
        } else {
            Output.line("KIND      BYTES  NAME")
            for example in examples {
                Output.line(
                    example.kind.padding(8) + String(example.text.utf8.count).leftPadded(7) + "  " + example.name)
            }
        }
        return .ok
    }

    static func install(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        var written: [String] = []
        var kept: [String] = []
        for example in examples {
            let destination = example.destination(in: workspace)
            if FileManager.default.fileExists(atPath: destination) && !invocation.flag("force") {
                kept.append(destination)
                continue
            }
            do {
                try SecureFile.writeAtomically(Array(example.text.utf8), to: destination, mode: 0o600)
            } catch {
                throw GeneralError(
                    code: "file.cannot_create", message: "cannot write \(destination): \(error)",
                    exitStatus: .cannotCreate)
            }
            written.append(destination)
        }
        if invocation.json {
            try Output.json(["written": written, "kept": kept])
        } else {
            for path in written { Output.line("wrote \(path)") }
            for path in kept { Output.line("kept  \(path) (already there; --force overwrites)") }
        }
        return .ok
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
