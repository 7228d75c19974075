import Foundation
import NightjarCore

/// A CSV of credentials, as a BPO onboards its clients, or a KeePassXC CSV export.
public enum CredentialCSV {
    /// The largest credential CSV read (50 MB).
    public static let maximumBytes = 50 * 1024 * 1024

    /// One credential to add.
    public struct Row: Sendable {
        /// From the `client` column; nil when the file has none (the importer's `--client` then applies).
        public let client: String?
        public let portal: String
        public let label: String?
        public let input: CredentialInput
        public let line: Int

        /// The credential's name, with `client` standing in when the row names none.
        public func name(defaultClient: String?) -> CredentialName? {
            guard let client = client ?? defaultClient else { return nil }
            return CredentialName(client: client, portal: portal, label: label)
        }
    }

    /// Reads the file by header names (case-insensitive): client, portal|title, label,
    /// username|user name|login, password, totp|otp, origins|url, notes, expires,
    /// username_is_secret, extra.NAME. Errors name file and line.
    public static func parse(_ text: String, file: String, defaultClient: String? = nil) throws -> [Row] {
        guard text.utf8.count <= maximumBytes else {
            throw VaultError.tooLarge(
                "the file is \(text.utf8.count) bytes; credential files are at most 50 MB",
                location: SourceLocation(file: file))
        }
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let rows = try DelimitedText.parse(body, file: file).filter {
            !$0.fields.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
        guard let header = rows.first else {
            throw VaultError.invalidInput("the file is empty", location: SourceLocation(file: file, line: 1))
        }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        func column(_ candidates: [String]) -> Int? { names.firstIndex { candidates.contains($0) } }
        guard let portalColumn = column(["portal", "title"]) else {
            throw VaultError.invalidInput(
                "no portal (or Title) column", location: SourceLocation(file: file, line: header.line))
        }
        let clientColumn = column(["client"])
        if let defaultClient, clientColumn == nil { try VaultNames.check(defaultClient, field: "client name") }
        let labelColumn = column(["label"])
        let usernameColumn = column(["username", "user name", "login"])
        let passwordColumn = column(["password"])
        let totpColumn = column(["totp", "otp"])
        let originsColumn = column(["origins", "origin", "url"])
        let notesColumn = column(["notes"])
        let expiresColumn = column(["expires", "expiry"])
        let secretUsernameColumn = column(["username_is_secret", "username is secret"])
        let extraColumns = names.enumerated().filter { $0.element.hasPrefix("extra.") }
            .map { ($0.offset, String(header.fields[$0.offset].trimmingCharacters(in: .whitespaces).dropFirst(6))) }
        for (_, name) in extraColumns {
            try VaultNames.check(
                name, field: "extra field name", location: SourceLocation(file: file, line: header.line))
        }
        var result: [Row] = []
        var seen: Set<String> = []
        for row in rows.dropFirst() {
            let location = SourceLocation(file: file, line: row.line)
            func value(_ index: Int?) -> String? {
                guard let index, index < row.fields.count else { return nil }
                let text = row.fields[index]
                return text.isEmpty ? nil : text
            }
            for (index, field) in row.fields.enumerated() where field.utf8.contains(0) {
                let name =
                    index < header.fields.count
                    ? header.fields[index].trimmingCharacters(in: .whitespaces) : "column \(index + 1)"
                throw VaultError.nulByte(field: name, location: location)
            }
            guard let rawPortal = value(portalColumn) else {
                throw VaultError.invalidInput("the portal name is empty", location: location)
            }
            let portal = rawPortal.lowercased().replacingOccurrences(of: " ", with: "-")
            try VaultNames.check(portal, field: "portal name", location: location)
            let client = value(clientColumn)?.trimmingCharacters(in: .whitespaces)
            if let client { try VaultNames.check(client, field: "client name", location: location) }
            if clientColumn != nil, client == nil, defaultClient == nil {
                throw VaultError.invalidInput(
                    "the client is empty (give it in the client column or with --client)", location: location)
            }
            let label = value(labelColumn)?.trimmingCharacters(in: .whitespaces)
            if let label { try VaultNames.check(label, field: "credential label", location: location) }
            let key = CredentialName(client: client ?? defaultClient ?? "", portal: portal, label: label).description
            guard seen.insert(key).inserted else {
                throw VaultError.invalidInput("\(key) appears twice", location: location)
            }
            var input = CredentialInput()
            input.username = value(usernameColumn).map { SecretBytes(utf8: $0) }
            input.password = value(passwordColumn).map { SecretBytes(utf8: $0) }
            do {
                input.totp = try value(totpColumn).map { try TOTPSettings.parse(SecretBytes(utf8: $0)) }
                input.allowedOrigins = try (value(originsColumn) ?? "").split(whereSeparator: { $0 == " " || $0 == ";" }
                ).map { try Origin(String($0)) }
                input.expires = try value(expiresColumn).map { try CalendarDate(iso: $0) }
            } catch let error as any NightjarError {
                throw VaultError.invalidInput(error.message, location: location)
            }
            if let flag = value(secretUsernameColumn)?.lowercased() {
                switch flag {
                case "true", "yes", "1", "y": input.usernameIsSecret = true
                case "false", "no", "0", "n": input.usernameIsSecret = false
                default:
                    throw VaultError.invalidInput(
                        "username_is_secret is \"\(flag)\"; use yes or no", location: location)
                }
            }
            input.notes = value(notesColumn)
            for (index, name) in extraColumns {
                if let text = value(index) { input.extra[name] = SecretBytes(utf8: text) }
            }
            result.append(Row(client: client, portal: portal, label: label, input: input, line: row.line))
        }
        return result
    }
}
