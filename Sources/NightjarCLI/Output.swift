import Foundation
public import NightjarCore

/// Everything the CLI prints goes through here, and so through the redactor.
public enum Output {
    /// Prints a line to standard output.
    public static func line(_ text: String = "") { Console.standardOutput.line(text) }

    /// Prints `message` to standard error as `nightjar: error: ...`, the prefix in red on a terminal.
    public static func errorLine(_ message: String) {
        Console.standardError.line("nightjar: \(Console.standardError.paint("error:", .red)) \(message)")
    }

    /// Prints a note for the person to standard error (`nightjar: note: ...`), out of the way of output that is piped.
    public static func note(_ text: String) { Console.standardError.line("nightjar: note: \(text)") }

    /// Prints `value` as pretty, key-sorted JSON to standard output.
    public static func json<T: Encodable>(_ value: T) throws {
        Console.standardOutput.line(try jsonText(value))
    }

    /// `value` as pretty, key-sorted JSON text.
    public static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Prints an error as `nightjar: error: ...`, or as a JSON object with its code when `json`.
    public static func error(_ error: any NightjarError, json: Bool) {
        if json {
            struct Body: Encodable {
                let code: String
                let message: String
                let location: String?
                let exit_status: Int32
            }
            let body = [
                "error": Body(
                    code: error.code, message: error.message, location: error.location?.description,
                    exit_status: error.exitStatus.rawValue)
            ]
            Console.standardError.line((try? jsonText(body)) ?? "{\"error\":{\"code\":\"\(error.code)\"}}")
        } else {
            errorLine(error.description)
        }
    }
}
