import Foundation
import NightjarCore

/// Reads secrets without echo from the terminal, or line by line from standard input for
/// scripts (`--passphrase-stdin`, `--password-stdin`). Secrets never come from arguments.
final class SecretInput: @unchecked Sendable {
    private var lines: [String]?
    private let useStandardInput: Bool
    private let readAll: @Sendable () -> String

    init(useStandardInput: Bool, readAll: @escaping @Sendable () -> String) {
        self.useStandardInput = useStandardInput
        self.readAll = readAll
    }

    /// What is left of standard input after the secrets read so far (e.g. a CSV after a passphrase).
    func rest() -> String {
        if lines == nil { lines = readAll().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        defer { lines = [] }
        return (lines ?? []).joined(separator: "\n")
    }

    /// The next secret: the next line of standard input, or a no-echo prompt on the terminal.
    func next(_ prompt: String, confirm: Bool = false) throws -> SecretBytes {
        if useStandardInput {
            if lines == nil {
                lines = readAll().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            }
            guard var remaining = lines, !remaining.isEmpty, !(remaining.count == 1 && remaining[0].isEmpty) else {
                throw UsageError("standard input ended before \(prompt.lowercased())")
            }
            var line = remaining.removeFirst()
            if line.hasSuffix("\r") { line.removeLast() }
            lines = remaining
            try NULByte.refuse(in: line, field: prompt.lowercased())
            return SecretBytes(utf8: line)
        }
        let first = try Terminal.readHidden(prompt + ": ")
        try NULByte.refuse(in: first, field: prompt.lowercased())
        if confirm {
            let second = try Terminal.readHidden("Repeat " + prompt.lowercased() + ": ")
            guard first == second else { throw UsageError("the two entries differ") }
        }
        return first
    }
}

/// The controlling terminal, with echo turned off while a secret is typed.
enum Terminal {
    static func readHidden(_ prompt: String) throws -> SecretBytes {
        let descriptor = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw UsageError("no terminal to read a secret from; use --passphrase-stdin / --password-stdin")
        }
        defer { close(descriptor) }
        _ = prompt.withCString { write(descriptor, $0, strlen($0)) }
        var saved = termios()
        tcgetattr(descriptor, &saved)
        var silent = saved
        silent.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(descriptor, TCSAFLUSH, &silent)
        defer {
            tcsetattr(descriptor, TCSAFLUSH, &saved)
            _ = "\n".withCString { write(descriptor, $0, 1) }
        }
        var bytes: [UInt8] = []
        defer { SecretBytes.wipe(&bytes) }
        var byte: UInt8 = 0
        while read(descriptor, &byte, 1) == 1, byte != 10, byte != 13 {
            bytes.append(byte)
            if bytes.count > 4096 { break }
        }
        return SecretBytes(bytes)
    }
}

/// `NIGHTJAR_PASSPHRASE_COMMAND`: a command (run by /bin/sh, with `NIGHTJAR_OPERATOR` set to the
/// `--as` name) whose first line of output is that operator's passphrase, for scripted admin work
/// with a secret manager (`pass show nightjar/$NIGHTJAR_OPERATOR`). Never a passphrase in arguments.
enum PassphraseCommand {
    static func run(_ command: String, operator name: String, environment: [String: String]) throws -> SecretBytes {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var variables = environment
        variables["NIGHTJAR_OPERATOR"] = name
        process.environment = variables
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw GeneralError(
                code: "vault.passphrase_command", message: "cannot run NIGHTJAR_PASSPHRASE_COMMAND: \(error)",
                exitStatus: .noPermission)
        }
        var bytes = Array(output.fileHandleForReading.readDataToEndOfFile())
        defer { SecretBytes.wipe(&bytes) }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw GeneralError(
                code: "vault.passphrase_command",
                message: "NIGHTJAR_PASSPHRASE_COMMAND failed (exit \(process.terminationStatus)) for \(name)",
                exitStatus: .noPermission)
        }
        var end = bytes.firstIndex(of: 10) ?? bytes.count
        if end > 0, bytes[end - 1] == 13 { end -= 1 }
        guard end > 0 else {
            throw GeneralError(
                code: "vault.passphrase_command",
                message: "NIGHTJAR_PASSPHRASE_COMMAND printed no passphrase for \(name)", exitStatus: .noPermission)
        }
        return SecretBytes(bytes[0..<end])
    }
}
