import Foundation
public import NightjarCore

/// A CSV of credentials, as a BPO onboards a client, or a KeePassXC CSV export.
public enum CredentialCSV {
    /// One credential to add.
    public struct Row: Sendable {
        public let portal: String
        public let input: CredentialInput
        public let line: Int
    }

    /// Reads the file by header names (case-insensitive): portal|title, username|user name|login,
    /// password, totp|otp, origins|url, notes, expires, extra.NAME. Errors name file and line.
    public static func parse(_ text: String, file: String) throws -> [Row] {
        let body = text.hasPrefix("\u{FEFF}") ? String(text.dropFirst()) : text
        let rows = try DelimitedText.parse(body, file: file).filter { !$0.fields.allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty } }
        guard let header = rows.first else { throw VaultError.invalidInput("the file is empty", location: SourceLocation(file: file, line: 1)) }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        func column(_ candidates: [String]) -> Int? { names.firstIndex { candidates.contains($0) } }
        guard let portalColumn = column(["portal", "title"]) else {
            throw VaultError.invalidInput("no portal (or Title) column", location: SourceLocation(file: file, line: header.line))
        }
        let usernameColumn = column(["username", "user name", "login"])
        let passwordColumn = column(["password"])
        let totpColumn = column(["totp", "otp"])
        let originsColumn = column(["origins", "origin", "url"])
        let notesColumn = column(["notes"])
        let expiresColumn = column(["expires", "expiry"])
        let extraColumns = names.enumerated().filter { $0.element.hasPrefix("extra.") }.map { ($0.offset, String(header.fields[$0.offset].trimmingCharacters(in: .whitespaces).dropFirst(6))) }
        var result: [Row] = []
        var seen: Set<String> = []
        for row in rows.dropFirst() {
            func value(_ index: Int?) -> String? {
                guard let index, index < row.fields.count else { return nil }
                let text = row.fields[index]
                return text.isEmpty ? nil : text
            }
            let location = SourceLocation(file: file, line: row.line)
            guard let rawPortal = value(portalColumn) else { throw VaultError.invalidInput("the portal name is empty", location: location) }
            let portal = rawPortal.lowercased().replacingOccurrences(of: " ", with: "-")
            guard seen.insert(portal).inserted else { throw VaultError.invalidInput("portal \(portal) appears twice", location: location) }
            var input = CredentialInput()
            input.username = value(usernameColumn).map { SecretBytes(utf8: $0) }
            input.password = value(passwordColumn).map { SecretBytes(utf8: $0) }
            do {
                input.totp = try value(totpColumn).map { try TOTPSettings.parse(SecretBytes(utf8: $0)) }
                input.allowedOrigins = try (value(originsColumn) ?? "").split(whereSeparator: { $0 == " " || $0 == ";" }).map { try Origin(String($0)) }
                input.expires = try value(expiresColumn).map { try CalendarDate(iso: $0) }
            } catch let error as any NightjarError {
                throw VaultError.invalidInput(error.message, location: location)
            }
            input.notes = value(notesColumn)
            for (index, name) in extraColumns {
                if let text = value(index) { input.extra[name] = SecretBytes(utf8: text) }
            }
            result.append(Row(portal: portal, input: input, line: row.line))
        }
        return result
    }
}
