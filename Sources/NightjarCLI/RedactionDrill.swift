import Foundation
import NightjarCore

/// `nightjar doctor redaction-drill`: secrets from stdin pushed through every output path.
extension DoctorCommand {
    /// The encodings a secret meets on its way out, made with Foundation's own encoders (not the
    /// redactor's), so the drill checks the redactor against independent output.
    static func encodedForms(of secret: String) -> [(String, String)] {
        var forms: [(String, String)] = [("raw", secret)]
        var components = URLComponents()
        components.queryItems = [URLQueryItem(name: "p", value: secret)]
        forms.append(("url-query", components.percentEncodedQuery ?? ""))
        forms.append(("url-path", secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        let form = (secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        forms.append(("form", form.replacingOccurrences(of: "%20", with: "+")))
        if let json = try? JSONEncoder().encode([secret]) {
            forms.append(("json", String(decoding: json, as: UTF8.self)))
        }
        let html = secret.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
        forms.append(("html", html))
        forms.append(("base64", Data(secret.utf8).base64EncodedString()))
        forms.append(("basic-auth", "Basic " + Data("operator:\(secret)".utf8).base64EncodedString()))
        return forms
    }

    static func redactionDrill(_ invocation: Invocation) async throws -> ExitStatus {
        let workspace = invocation.workspace
        _ = try workspace.requireExisting()
        let secrets = invocation.standardInput().split(whereSeparator: \.isNewline).map(String.init).filter {
            !$0.isEmpty
        }
        guard !secrets.isEmpty else {
            throw UsageError("give at least one secret on standard input", command: "doctor redaction-drill")
        }
        for secret in secrets {
            guard Redactor.shared.register(SecretBytes(utf8: secret)) else {
                throw UsageError(
                    "secrets must be at least \(Redactor.minimumSearchableLength) bytes",
                    command: "doctor redaction-drill")
            }
        }
        Logger.configure(level: .debug, sinks: Logger.sinks + [try FileSink(path: workspace.logPath)])
        let logger = Logger(label: "drill")
        var report = "<!doctype html><title>redaction drill</title><ul>\n"
        var lines: [[String: String]] = []
        for (index, secret) in secrets.enumerated() {
            for (kind, form) in encodedForms(of: secret) {
                logger.warning("secret \(index) as \(kind): \(form)", [("value", .text(form))])
                report += "<li>\(kind): \(form)</li>\n"
                lines.append(["secret": String(index), "form": kind, "value": form])
            }
            logger.notice("short field", [("pin", .secret)])
        }
        try RedactedFile.write(report + "</ul>\n", to: workspace.reportsDirectory + "/redaction-drill.html")
        try Output.json(["drill": lines])
        let all = secrets.flatMap { encodedForms(of: $0).map(\.1) }.joined(separator: " | ")
        throw GeneralError(code: "doctor.drill_error", message: "a drill error carrying \(all)", exitStatus: .dataError)
    }
}
